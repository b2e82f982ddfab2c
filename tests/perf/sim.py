"""Benchmark: the simulator's own processing time at time-scale 0.

    python tests/perf/sim.py [--json]

Measures (1) one 150,000-token request, end to end through the SDK and in-process (validation,
flattening, caching rules, reply) without HTTP, cold and warm; (2) 50 concurrent streams.
Prints medians in milliseconds; the machine is noisy, so compare runs as ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import anthropic  # noqa: E402

from app.facts.prefix import flatten_request  # noqa: E402
from app.facts.rules import plan_request, resolve_breakpoints  # noqa: E402
from app.simulator.replies import compose  # noqa: E402
from app.simulator.runner import SimulatorThread  # noqa: E402
from app.simulator.server import SimulatorConfig  # noqa: E402
from app.simulator.validation import validate_request  # noqa: E402

MODEL = "claude-sonnet-4-6"


def big_request(tokens: int = 150_000, chunks: int = 60) -> dict:
    each = tokens // chunks
    words = "the quick brown fox jumps over the lazy dog "
    content = [
        {
            "type": "text",
            "text": (f"chapter {i} " + words * (each * 4 // len(words) + 1))[: each * 4],
        }
        for i in range(chunks)
    ]
    content[-1]["cache_control"] = {"type": "ephemeral"}
    return {
        "model": MODEL,
        "max_tokens": 400,
        "system": [{"type": "text", "text": "You answer questions about the book."}],
        "messages": [
            {"role": "user", "content": content},
            {"role": "assistant", "content": "Read it."},
            {"role": "user", "content": "What happens in chapter 3?"},
        ],
    }


def in_process_ms(sim: SimulatorThread, body: dict, runs: int) -> float:
    catalogue = sim.simulator.catalogue
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        model = validate_request(body, catalogue)
        flat = flatten_request(body)
        points = resolve_breakpoints(flat, None)
        plan = plan_request(flat, points, model.min_cacheable_tokens, lambda fp: False)
        compose(body, plan, flat, model)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def end_to_end_ms(sim: SimulatorThread, body: dict, runs: int) -> tuple[float, float, int]:
    with anthropic.Anthropic(base_url=sim.base_url, api_key="bench", max_retries=0) as client:
        start = time.perf_counter()
        cold = client.messages.create(**body)
        cold_ms = (time.perf_counter() - start) * 1000
        warm = []
        for _ in range(runs):
            start = time.perf_counter()
            msg = client.messages.create(**body)
            warm.append(time.perf_counter() - start)
    total = cold.usage.cache_creation_input_tokens + cold.usage.input_tokens
    assert msg.usage.cache_read_input_tokens > 0
    return cold_ms, statistics.median(warm) * 1000, total


async def concurrent_streams_ms(base_url: str, n: int) -> float:
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="bench", max_retries=0) as c:

        async def one(i: int) -> None:
            async with c.messages.stream(
                model=MODEL, max_tokens=400, messages=[{"role": "user", "content": f"stream {i}"}]
            ) as s:
                await s.get_final_message()

        start = time.perf_counter()
        await asyncio.gather(*[one(i) for i in range(n)])
        return (time.perf_counter() - start) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    body = big_request()
    with SimulatorThread(SimulatorConfig(time_scale=0)) as sim:
        process_ms = in_process_ms(sim, body, args.runs)
        cold_ms, warm_ms, tokens = end_to_end_ms(sim, body, args.runs)
        streams = [asyncio.run(concurrent_streams_ms(sim.base_url, 50)) for _ in range(3)]
    result = {
        "request_tokens": tokens,
        "in_process_ms": round(process_ms, 1),
        "end_to_end_cold_ms": round(cold_ms, 1),
        "end_to_end_warm_ms": round(warm_ms, 1),
        "concurrent_streams": 50,
        "concurrent_streams_wall_ms": round(statistics.median(streams), 1),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>28}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
