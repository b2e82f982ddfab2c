"""Benchmark: time to first token, cold, with speculative warming, and with a warm cache.

    python tests/perf/ttft.py [--json] [--time-scale 0.1] [--typing-s 3] [--composer-s 30]

The cookbook scenario against the simulator's calibrated latency: a ~150k-token context, a user who
types for ``--typing-s`` simulated seconds. Cold: no warming. Speculative: the engine warms when the
user starts typing; if the warm-up is in flight at send, the send waits for it. Warm: the cache
was already warm (the limit). Every delay is multiplied by ``--time-scale``; figures are printed in
simulated seconds (measured / scale) so ratios match the real service's.

TTFT is reported from the moment the turn's request is sent (the cookbook's accounting) and from
the user's click (adding any wait for an in-flight warm-up). A second speculative run has the user
in the composer for ``--composer-s`` (reading, then typing) before sending.
Also printed: the client's own overhead per send at that size (build, serialise, hand the request
to the SDK's transport), measured with a transport that answers at once.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import anthropic  # noqa: E402

from app.conversation.blocks import TextBlock  # noqa: E402
from app.conversation.conversation import Conversation  # noqa: E402
from app.engine import events as ev  # noqa: E402
from app.engine.engine import Engine, EngineSettings  # noqa: E402
from app.engine.session import Session  # noqa: E402
from app.simulator.runner import SimulatorThread  # noqa: E402
from app.simulator.server import SimulatorConfig  # noqa: E402
from tests.helpers import raw_post, text_of  # noqa: E402

MODEL = "claude-sonnet-4-6"


def conversation() -> Conversation:
    conv = Conversation(model=MODEL, max_tokens=360)
    conv.set_system_text("You answer questions about the SQLite source code.")
    conv.add_user_text(text_of(151_000, "sqlite source"), created_at=1.0)
    conv.add("assistant", TextBlock("I have read the source. Ask away."), created_at=2.0)
    return conv


async def one_send(base_url: str, mode: str, composer_s: float, scale: float) -> dict:
    raw_post(base_url, "/_sim/reset", {})
    settings = EngineSettings(warming=mode != "cold", warm_wait_s=120)
    client = anthropic.AsyncAnthropic(base_url=base_url, api_key="bench", max_retries=0)
    engine = Engine(client, settings)
    session = Session(conversation())
    sent_at: list[float] = []
    engine.subscribe(
        lambda e: (
            sent_at.append(time.perf_counter())
            if isinstance(e, ev.RequestBuilt) and e.kind == "turn"
            else None
        )
    )
    if mode == "warm":
        await engine.drafts.activity(session)
        engine.settings.warming = False
    elif mode == "speculative":
        engine.drafts.activity(session)  # the user starts typing (or focuses the composer)
    await asyncio.sleep(composer_s * scale)
    session.conversation.add_user_text("Where is the B-tree balanced?")
    clicked = time.perf_counter()
    firsts: list[float] = []
    engine.subscribe(
        lambda e: firsts.append(time.perf_counter()) if isinstance(e, ev.FirstToken) else None
    )
    await engine.run_turn(session)
    await client.close()
    turn = [r for r in session.totals.records if r.kind == "turn"][0]
    return {
        "from_request_s": (firsts[0] - sent_at[0]) / scale,
        "from_click_s": (firsts[0] - clicked) / scale,
        "waited_for_warm_s": (sent_at[0] - clicked) / scale,
        "read_tokens": turn.usage.read,
    }


def client_overhead_ms(runs: int = 9) -> float:
    """Build + serialise + hand to the SDK, with a transport that answers at once."""
    httpx = next(
        importlib.import_module(n) for n in ("httpx2", "httpx") if importlib.util.find_spec(n)
    )
    from app.caching.builder import RequestBuilder

    handed: list[float] = []
    canned = {
        "id": "msg_x",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [{"type": "text", "text": "ok"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }

    def handler(request):
        handed.append(time.perf_counter())
        return httpx.Response(200, json=canned)

    client = anthropic.Anthropic(
        api_key="bench",
        base_url="http://bench.invalid",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    conv = conversation()
    builder = RequestBuilder()
    builder.build(conv, "smart")
    times = []
    for i in range(runs):
        conv.add_user_text(f"question {i}")
        start = time.perf_counter()
        built = builder.build(conv, "smart")
        client.messages.create(**built.body)
        times.append((handed[-1] - start) * 1000)
        conv.truncate(len(conv.messages) - 1)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--time-scale", type=float, default=0.1)
    parser.add_argument("--typing-s", type=float, default=3.0)
    parser.add_argument("--composer-s", type=float, default=30.0)
    args = parser.parse_args()
    scale = args.time_scale
    with SimulatorThread(SimulatorConfig(time_scale=scale)) as sim:
        cold = asyncio.run(one_send(sim.base_url, "cold", args.typing_s, scale))
        spec = asyncio.run(one_send(sim.base_url, "speculative", args.typing_s, scale))
        long_spec = asyncio.run(one_send(sim.base_url, "speculative", args.composer_s, scale))
        warm = asyncio.run(one_send(sim.base_url, "warm", args.typing_s, scale))
    result = {
        "time_scale": scale,
        "context_tokens": 151_000,
        "typing_s": args.typing_s,
        "cold_ttft_s": round(cold["from_request_s"], 2),
        "speculative_ttft_s": round(spec["from_request_s"], 2),
        "speculative_from_click_s": round(spec["from_click_s"], 2),
        "speculative_waited_for_warm_s": round(spec["waited_for_warm_s"], 2),
        "composer_s": args.composer_s,
        "speculative_long_composer_from_click_s": round(long_spec["from_click_s"], 2),
        "warm_ttft_s": round(warm["from_request_s"], 2),
        "speculative_over_warm": round(spec["from_request_s"] / warm["from_request_s"], 3),
        "cold_over_speculative": round(cold["from_request_s"] / spec["from_request_s"], 2),
        "cold_over_speculative_from_click": round(cold["from_click_s"] / spec["from_click_s"], 2),
        "cold_over_long_composer_from_click": round(
            cold["from_click_s"] / long_spec["from_click_s"], 2
        ),
        "reads": [
            cold["read_tokens"],
            spec["read_tokens"],
            long_spec["read_tokens"],
            warm["read_tokens"],
        ],
        "client_overhead_ms": round(client_overhead_ms(), 2),
    }
    print(
        json.dumps(result) if args.json else "\n".join(f"{k:>40}: {v}" for k, v in result.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
