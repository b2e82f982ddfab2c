"""Benchmark: what the inspector adds to each request and to each stream event.

    python tests/perf/inspect_latency.py [--requests 200]

The simulator at time scale 0 (only processing, no simulated latency), the same requests sent
directly and through ``cachescope-inspect``'s proxy, both on this machine: the medians of the
round trips and of whole streams (request to last event), their differences in milliseconds, and
a stream's difference divided by its events."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx2 as httpx  # noqa: E402

from app.facts.catalogue import default_catalogue  # noqa: E402
from app.inspect.observer import Observer  # noqa: E402
from app.inspect.proxy import InspectProxy  # noqa: E402
from app.simulator.runner import ServerThread, SimulatorThread  # noqa: E402
from app.simulator.server import SimulatorConfig  # noqa: E402

BODY = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 100,
    "system": [
        {"type": "text", "text": "A long contract. " * 800, "cache_control": {"type": "ephemeral"}}
    ],
    "messages": [{"role": "user", "content": "What is clause 1?"}],
}
HEADERS = {"x-api-key": "bench", "anthropic-version": "2023-06-01"}


def round_trips(client: httpx.Client, base: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        client.post(f"{base}/v1/messages", json=BODY, headers=HEADERS).raise_for_status()
        out.append((time.perf_counter() - started) * 1000)
    return out


def streams(client: httpx.Client, base: str, n: int) -> tuple[list[float], int]:
    """Each stream's time from the request to its last event (ms), and the events in one."""
    spans, events = [], 0
    for _ in range(n):
        started, events = time.perf_counter(), 0
        with client.stream(
            "POST",
            f"{base}/v1/messages",
            json={**BODY, "stream": True},
            headers=HEADERS | {"x-sim-reply-tokens": "400"},
        ) as response:
            for line in response.iter_lines():
                if line.startswith("event:"):
                    events += 1
        spans.append((time.perf_counter() - started) * 1000)
    return spans, events


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with SimulatorThread(SimulatorConfig(time_scale=0, first_token_floor_s=0)) as sim:
        proxy = InspectProxy(sim.base_url, Observer(default_catalogue()))
        with ServerThread(proxy.make_app) as inspector, httpx.Client(timeout=60) as client:
            round_trips(client, sim.base_url, 20)  # warm both paths
            round_trips(client, inspector.base_url, 20)
            direct = round_trips(client, sim.base_url, args.requests)
            through = round_trips(client, inspector.base_url, args.requests)
            count = max(5, args.requests // 10)
            direct_spans, events = streams(client, sim.base_url, count)
            through_spans, _ = streams(client, inspector.base_url, count)
    result = {
        "requests": args.requests,
        "direct_ms_p50": round(statistics.median(direct), 3),
        "through_ms_p50": round(statistics.median(through), 3),
        "added_ms_per_request_p50": round(
            statistics.median(through) - statistics.median(direct), 3
        ),
        "events_per_stream": events,
        "stream_direct_ms_p50": round(statistics.median(direct_spans), 3),
        "stream_through_ms_p50": round(statistics.median(through_spans), 3),
        "added_ms_per_event": round(
            (statistics.median(through_spans) - statistics.median(direct_spans)) / events, 4
        ),
        "lines_recorded": len(proxy.lines),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
