"""Benchmark: a turn stopped 0.25 s after Enter, on the simulator at real speed (time scale 1).

    python tests/perf/stop.py [TOKENS ...]

For each conversation size (its system prompt, default 3,000, 30,000 and 108,000 tokens): one
turn that writes the cache, then a question sent and stopped 0.25 s later through the Chat (as
Esc does), then, after a 1 s pause, the next question. Prints, per size: how long the stop took
from Esc to the turn's end (it waits for ``message_start``), what the stopped request's record
holds (read, written, its cost) against what the simulator billed for it, and the next turn's
predicted and actual cache read (equal when the ledger learnt what the stopped request wrote).
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.caching.costs import Kind  # noqa: E402
from app.engine.session import Session  # noqa: E402
from app.simulator.runner import SimulatorThread  # noqa: E402
from app.simulator.server import SimulatorConfig  # noqa: E402
from app.workspace.chat import Chat  # noqa: E402
from tests.helpers import Harness, conversation  # noqa: E402

ESC_AFTER_S = 0.25


def billed(sim) -> dict[str, int]:
    out: dict[str, int] = {}
    for counts in list(sim.simulator.bill.values()):
        for name, value in dict(counts).items():
            out[name] = out.get(name, 0) + value
    return out


async def one(sim, tokens: int) -> dict:
    h = Harness(sim.base_url)
    chat = Chat(h.engine, Session(conversation(tokens=tokens)))
    await chat.send("first question")
    before = billed(sim)
    turn = chat.send("a question stopped at once")
    await asyncio.sleep(ESC_AFTER_S)
    pressed = time.perf_counter()
    chat.stop()
    try:
        await turn
    except asyncio.CancelledError:
        pass
    took = time.perf_counter() - pressed
    after = billed(sim)
    await asyncio.sleep(1.0)
    await chat.send("and the next one")
    await h.client.close()
    _, stopped, third = [r for r in chat.session.totals.records if r.kind == Kind.TURN]
    return {
        "tokens": tokens,
        "stop_s": took,
        "how": stopped.stopped,
        "read": stopped.usage.read,
        "written": stopped.usage.write,
        "sim_read": after["cache_read_input_tokens"] - before["cache_read_input_tokens"],
        "sim_written": after["cache_creation_input_tokens"] - before["cache_creation_input_tokens"],
        "cost": stopped.cost.paid_usd,
        "next_predicted": third.predicted.read,
        "next_read": third.usage.read,
    }


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [3_000, 30_000, 108_000]
    print(
        "tokens   stop (s)  stopped  read      written  sim read  sim wrote  cost     "
        "next predicted/read"
    )
    for tokens in sizes:
        with SimulatorThread(SimulatorConfig(time_scale=1.0)) as sim:
            r = asyncio.run(one(sim, tokens))
        print(
            f"{r['tokens']:>7,}  {r['stop_s']:>7.2f}  {r['how']:<7}  {r['read']:>8,}  "
            f"{r['written']:>7,}  {r['sim_read']:>8,}  {r['sim_written']:>9,}  "
            f"${r['cost']:.4f}  {r['next_predicted']:,}/{r['next_read']:,}"
        )


if __name__ == "__main__":
    main()
