"""The user's defaults, a small JSON file in the data folder. It never holds the API key: the
key lives in the OS keyring or the environment (``app.storage.keys``)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import platformdirs

FILE_NAME = "preferences.json"
APP_DIR_NAME = "cachescope"
MAX_PINGS = 12  # keep-alive pings after a turn (each one is billed)
TTLS = ("5m", "1h", "adaptive")
# What a second less waiting for the first token is worth to the user: a warm-up is sent only
# when the seconds it saves at the send, at this rate, outweigh the dollars it adds
# (app.engine.economics). $0.02 a second is $72 an hour.
WAIT_USD_PER_S = 0.02
MAX_WAIT_USD_PER_S = 10.0


def data_dir(override: str | os.PathLike | None = None) -> Path:
    """--data-dir, else $CACHESCOPE_DATA_DIR, else the platform's user data folder."""
    chosen = override or os.environ.get("CACHESCOPE_DATA_DIR")
    return Path(chosen) if chosen else Path(platformdirs.user_data_dir(APP_DIR_NAME))


@dataclass
class Preferences:
    base_url: str = ""  # empty: the real API when a key is set, else the built-in simulator
    model: str = ""  # empty: the catalogue's default
    strategy: str = "smart"
    ttl: str = "adaptive"
    warming: bool = True
    keepalive_pings: int = MAX_PINGS  # at most this many after a turn, each only if it pays
    wait_usd_per_s: float = WAIT_USD_PER_S  # what a second less waiting is worth
    enter_sends: bool = True  # False: Ctrl+Enter sends and Enter adds a line
    appearance: str = "system"  # "light" or "dark" override the system's palette
    window_geometry: str = ""  # base64 of Qt's saveGeometry(), kept at close
    window_state: str = ""  # base64 of saveState(): the docks
    last_conversation: str = ""  # id of the conversation open at close
    last_folder: str = ""  # where the file dialogs open: the folder last attached from
    update_prices: bool = False  # fetch genai-prices' published data hourly (off: as installed)
    # MCP tools the user always allows, per server: {"server": ["tool", ...]}
    always_allow: dict = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path) -> Preferences:
        """Defaults for a missing or unreadable file, and for any value the app cannot use; a
        file that had such a value is kept aside (``preferences.json.broken``), not lost."""
        path = folder / FILE_NAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError, RecursionError):
            _set_aside(path, move=True)
            return cls()
        prefs, refused = cls(), []
        for name, value in data.items() if isinstance(data, dict) else ():
            clean = _CLEAN.get(name)
            usable = clean(value) if clean is not None else None
            if usable is not None:
                setattr(prefs, name, usable)
            elif clean is not None:
                refused.append(name)
        if refused or not isinstance(data, dict):
            _set_aside(path, move=False)
        return prefs

    def save(self, folder: Path) -> None:
        """Written to a temporary file and renamed, so a full disk leaves the old file intact."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / FILE_NAME
        temp = path.with_suffix(".json.tmp")
        temp.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        os.replace(temp, path)


def _set_aside(path: Path, move: bool) -> None:
    """Keep a copy of a preferences file the app could not use whole, beside it."""
    aside = path.with_suffix(".json.broken")
    try:
        if move:
            path.replace(aside)
        else:
            aside.write_bytes(path.read_bytes())
    except OSError:
        pass


def _text(value) -> str | None:
    return value if isinstance(value, str) and len(value) <= 100_000 else None


def _flag(value) -> bool | None:
    return value if isinstance(value, bool) else None


def _one_of(*choices: str):
    return lambda value: value if value in choices else None


def _pings(value) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return max(0, min(value, MAX_PINGS))
    return None


def _wait_value(value) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) if 0 <= value <= MAX_WAIT_USD_PER_S else None
    return None


def _always_allow(value) -> dict[str, list[str]] | None:
    """{"server": ["tool", ...]}: every server name and tool name a string, nothing else."""
    if not isinstance(value, dict):
        return None
    if not all(
        isinstance(server, str)
        and isinstance(tools, list)
        and all(isinstance(t, str) for t in tools)
        for server, tools in value.items()
    ):
        return None
    return {server: sorted(set(tools)) for server, tools in value.items()}


# How each field is read from the file: the value the app can use, or None to keep the default.
_CLEAN = {
    "base_url": _text,
    "model": _text,
    "strategy": _text,  # the settings fall back to "smart" for a pattern they do not know
    "ttl": _one_of(*TTLS),
    "warming": _flag,
    "update_prices": _flag,
    "keepalive_pings": _pings,
    "wait_usd_per_s": _wait_value,
    "enter_sends": _flag,
    "appearance": _one_of("system", "light", "dark"),
    "window_geometry": _text,
    "window_state": _text,
    "last_conversation": _text,
    "last_folder": _text,
    "always_allow": _always_allow,
}
