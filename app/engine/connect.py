"""The API client the engine talks to: the real API with a key (or another base URL), else the
built-in simulator started on a local port."""

from __future__ import annotations

import os
import secrets

from app.facts.redact import has_login, redact

FRESH_SIMULATOR = (
    "The built-in simulator started afresh: nothing is cached in it yet (a cache lives as long "
    "as its simulator runs)."
)
BASE_URL_ENV = "ANTHROPIC_BASE_URL"  # the SDK's own: read by it when no base URL is given


class BaseUrlRefused(ValueError):
    """A base URL the app will not send the key to, with the sentence the user sees."""


def base_url_problem(url: str | None) -> str | None:
    """Why this base URL cannot be used (None: it can). A login in it (``user:password@host``)
    makes the HTTP library send ``Authorization: Basic`` in place of the SDK's ``Authorization:
    Bearer`` with the key (SDK 2.17): the key would never be sent and the user would read "The
    API key was refused". The sentence never holds the password."""
    if not url or not has_login(url):
        return None
    return (
        f"The base URL {redact(url.strip())[:200]!r} holds a login (user:password@): the HTTP "
        "library would send that login in place of the API key, so the key would never reach "
        "the API. Give the URL without it."
    )


def connect(key: str | None, where: str, base_url: str | None, time_scale: float):
    """(client, mode, simulator): runs in a worker thread, as the SDK takes a while to import.
    ``BaseUrlRefused`` for a base URL (given, or the SDK's ``ANTHROPIC_BASE_URL``) that would
    lose the key, before anything is sent."""
    from_sdk = os.environ.get(BASE_URL_ENV) if key is not None else None
    problem = base_url_problem(base_url or from_sdk)
    if problem is not None:
        raise BaseUrlRefused(problem)
    import anthropic

    simulator = None
    if key is None and not base_url:
        from app.simulator.runner import SimulatorThread
        from app.simulator.server import SimulatorConfig

        simulator = SimulatorThread(SimulatorConfig(time_scale=time_scale)).start()
        # Its cache lives as long as it runs: a key of its own for each start is a workspace of
        # its own, so nothing is ever taken for cached in a simulator that is gone.
        key = f"offline-simulator-{secrets.token_hex(8)}"
        base_url, mode = simulator.base_url, f"Offline simulator: {where}"
    else:
        mode = f"Claude API ({where})" if not base_url else f"API at {redact(base_url)}"
        key = key or "none"
    client = anthropic.AsyncAnthropic(api_key=key, base_url=base_url, max_retries=2)
    return client, mode, simulator
