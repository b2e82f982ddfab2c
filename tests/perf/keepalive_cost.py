"""Benchmark: what a program's session of N turns with pauses costs through
``cachescope-inspect`` with and without ``--keep-alive``, in simulated dollars and seconds.

    python tests/perf/keepalive_cost.py [--turns 40] [--tokens 30000] [--model claude-sonnet-4-6]

The official SDK runs one conversation through the inspector in front of the simulator (no
delays: ``time_scale`` 0), the pauses between its turns made with the simulator's clock control:
a system prompt of ``--tokens`` tokens with a breakpoint, the conversation marked at its last
user message (Claude Code's layout), and a cycle of ten think-times from 20 s to 20 min (five of
them past the 5-minute lifetime). The clock is moved to each moment the keep-alive may act (its
ping's due time, read from the inspector's ledger) and then on to the next turn, so every ping is
decided as it would be in real time.

Printed for each run: what the program's requests cost and what the pings cost (the lines' own
figures, which the tests check against the simulator's usage), the program's simulated seconds to
the first token (the simulator's latency model at scale 1: what the program would have waited),
how many of its requests wrote a prefix again after a pause, the pings sent (and the times the
keep-alive stopped), and what the pings cost once the program never came back (an hour idle
after its last turn: included in the pings' dollars)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import anthropic  # noqa: E402

from app.simulator.latency import LatencyModel  # noqa: E402
from app.simulator.runner import SimulatorThread  # noqa: E402
from app.simulator.server import SimulatorConfig  # noqa: E402
from tests.helpers import raw_post, text_of  # noqa: E402
from tests.keepalive_kit import KEY, Kept, advance  # noqa: E402

PAUSES_S = (20, 45, 90, 150, 240, 330, 420, 540, 720, 1200)  # think-times, in a cycle


def due(kept: Kept) -> float | None:
    """When the keep-alive may act next (its watched entry's due time), or None."""
    for watch in list(kept.keepalive.watches.values()):
        entry = kept.observer.live(watch.key, watch.model, watch.fingerprint)
        if entry is not None:
            return entry.expires_at - kept.keepalive.margin_s
    return None


def wait_settled(kept: Kept, before: int) -> None:
    """Until the keep-alive has said something (a ping or a stop) after ``before`` lines, or
    had nothing to say within a second."""
    deadline = time.monotonic() + 1.0
    while kept.proxy.lines.total == before and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(0.03)


def idle_until(sim, kept: Kept, end: float, keep_alive: bool) -> None:
    """The program idle until ``end`` on the simulator's clock, stopping at each moment the
    keep-alive may act."""
    clock = sim.simulator.store.clock
    while keep_alive:
        at = due(kept)
        if at is None or at >= end:
            break
        advance(sim.base_url, max(0.0, at - clock.now()) + 1)
        wait_settled(kept, kept.proxy.lines.total)
    advance(sim.base_url, max(0.0, end - clock.now()))


def session(sim, keep_alive: bool, turns: int, tokens: int, model: str) -> dict:
    raw_post(sim.base_url, "/_sim/reset", {})
    clock = sim.simulator.store.clock
    system = [
        {
            "type": "text",
            "text": text_of(tokens, "contract"),
            "cache_control": {"type": "ephemeral"},
        }
    ]
    messages: list[dict] = []
    with Kept(sim.base_url, clock.now, keep_alive=keep_alive) as kept:
        client = anthropic.Anthropic(base_url=kept.base_url, api_key=KEY, max_retries=0)
        for turn in range(turns):
            if turn:
                idle_until(
                    sim, kept, clock.now() + PAUSES_S[(turn - 1) % len(PAUSES_S)], keep_alive
                )
            for message in messages:  # one breakpoint in the conversation: on its last turn
                if message["role"] == "user":
                    message["content"][-1].pop("cache_control", None)
            question = {"type": "text", "text": f"Question {turn}: what does clause {turn} say?"}
            messages.append(
                {"role": "user", "content": [{**question, "cache_control": {"type": "ephemeral"}}]}
            )
            before = kept.proxy.lines.total
            reply = client.messages.create(
                model=model, max_tokens=200, system=system, messages=messages
            )
            messages.append(
                {"role": "assistant", "content": [b.model_dump() for b in reply.content]}
            )
            kept.wait_lines(before + 1)
        last = kept.proxy.lines.total
        idle_until(sim, kept, clock.now() + 3600, keep_alive)  # the program never comes back
        time.sleep(0.1)
        lines = kept.lines
    latency = LatencyModel(scale=1.0)
    program = [x for x in lines if x.kind in ("turn", "stream")]
    pings = [x for x in lines if x.kind == "ping"]
    return {
        "program_usd": sum(x.cost_usd or 0 for x in program),
        "pings_usd": sum(x.cost_usd or 0 for x in pings),
        "tail_usd": sum(x.cost_usd or 0 for x in lines[last:] if x.kind == "ping"),
        "tail": sum(1 for x in lines[last:] if x.kind == "ping"),
        "seconds": sum(
            latency.time_to_first_token(x.uncached + x.written_5m + x.written_1h, x.read)
            for x in program
        ),
        "rewrites": sum(1 for x in program if x.rewrite),
        "pings": len(pings),
        "stops": sum(1 for x in lines if x.kind == "keep-alive"),
        "requests": len(program),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=40)
    parser.add_argument("--tokens", type=int, default=30_000)
    parser.add_argument("--model", default="claude-sonnet-4-6")
    args = parser.parse_args()
    with SimulatorThread(SimulatorConfig(time_scale=0)) as sim:
        results = {
            label: session(sim, on, args.turns, args.tokens, args.model)
            for label, on in (("without --keep-alive", False), ("with --keep-alive", True))
        }
    print(
        f"{args.turns} turns of {args.model}, a {args.tokens:,}-token system prompt, pauses"
        f" cycling {', '.join(str(p) for p in PAUSES_S)} s"
    )
    print(
        "| run | program $ | pings $ | total $ | program s to first token"
        " | rewrites after a pause | pings (stops) | pings after the last turn |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, r in results.items():
        total = r["program_usd"] + r["pings_usd"]
        print(
            f"| {label} | ${r['program_usd']:.4f} | ${r['pings_usd']:.4f} | ${total:.4f} |"
            f" {r['seconds']:.1f} | {r['rewrites']} of {r['requests']} |"
            f" {r['pings']} ({r['stops']}) | ${r['tail_usd']:.4f} ({r['tail']}) |"
        )
    off, on = results.values()
    ratio = (on["program_usd"] + on["pings_usd"]) / (off["program_usd"] + off["pings_usd"])
    print(f"with / without: dollars {ratio:.3f}x, seconds {on['seconds'] / off['seconds']:.3f}x")


if __name__ == "__main__":
    main()
