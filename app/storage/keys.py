"""The API key: from the environment or the OS keyring, never from a file.

keyring calls can block (a locked collection) or fail (no backend): they run in a worker thread
with a timeout, and every failure means "no key" with the reason kept for the UI.
"""

from __future__ import annotations

import asyncio
import os

SERVICE = "cachescope"
ACCOUNT = "anthropic-api-key"
TIMEOUT_S = 3.0


def _read_keyring() -> str | None:
    import keyring
    from keyring.errors import KeyringError

    try:
        return keyring.get_password(SERVICE, ACCOUNT)
    except KeyringError:
        return None


ENV_NAME = "ANTHROPIC_API_KEY"
_from_environment: str | None = None


def take_environment_key() -> None:
    """Move the key out of the process environment, once, at start: every process the app starts
    later (a tool server, the PDF reader, the thumbnail maker) inherits ``os.environ``, and none
    of them may get the key."""
    global _from_environment
    value = os.environ.pop(ENV_NAME, None)
    if value:
        _from_environment = value


async def find_key() -> tuple[str | None, str]:
    """(key, where it came from or why there is none)."""
    take_environment_key()
    if _from_environment:
        return _from_environment, "environment"
    try:
        key = await asyncio.wait_for(asyncio.to_thread(_read_keyring), TIMEOUT_S)
    except TimeoutError:
        return None, "the keyring did not answer in time"
    except Exception as exc:  # a broken backend must not stop the app
        return None, f"the keyring failed: {type(exc).__name__}"
    return (key, "keyring") if key else (None, "no API key set")


async def store_key(key: str) -> str | None:
    """Save the key in the keyring; returns an error message, or None on success."""
    import keyring
    from keyring.errors import KeyringError

    def save() -> bool:
        keyring.set_password(SERVICE, ACCOUNT, key)
        return keyring.get_password(SERVICE, ACCOUNT) == key  # some backends keep nothing

    try:
        kept = await asyncio.wait_for(asyncio.to_thread(save), TIMEOUT_S)
    except TimeoutError:
        return "The keyring did not answer; the key is kept for this session only."
    except KeyringError as exc:
        return f"No working keyring ({exc}); the key is kept for this session only."
    if not kept:
        return "The keyring does not keep keys here; the key is kept for this session only."
    return None
