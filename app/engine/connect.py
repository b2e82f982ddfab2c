"""The API client the engine talks to: the real API with a key (or another base URL), else the
built-in simulator started on a local port."""

from __future__ import annotations

import secrets

FRESH_SIMULATOR = (
    "The built-in simulator started afresh: nothing is cached in it yet (a cache lives as long "
    "as its simulator runs)."
)


def connect(key: str | None, where: str, base_url: str | None, time_scale: float):
    """(client, mode, simulator): runs in a worker thread, as the SDK takes a while to import."""
    import anthropic

    from app.facts.redact import redact

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
