"""Context management benchmark: what a build costs when the builder counts the prompt as the
API clears or compacts it (app/caching/api_view.py), and what a compaction saves in dollars.

    python tests/perf/context_management.py [--uses 200] [--json]

- clearing: a tool loop of ``--uses`` calls (1,000-token results) on Sonnet 4.6, built when only
  the last message is new (the case of every send), with and without tool-result clearing; the
  ratio is what mirroring the clearing adds to a build (it is past the trigger, so every build
  clears; the facts of the cleared messages are remade each time).
- compaction: the same conversation built before and after a compaction block near its end; the
  ratio is what sending what the API keeps saves per build.
- dollars (the simulator, Sonnet 4.6): an 810,000-token conversation, warm: what the offer priced,
  what the compaction turn was billed, and the turn after it against the same turn uncompacted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")

RUNS = 15


def tool_loop(uses: int, result_tokens: int = 1000):
    from app.conversation.blocks import RawBlock, TextBlock, ToolResultBlock, ToolUseBlock
    from app.conversation.conversation import Conversation
    from tests.helpers import SONNET_46, text_of
    from tests.test_context_editing import READ_FILE

    conv = Conversation(model=SONNET_46, max_tokens=400, pattern="smart", ttl="5m")
    conv.set_system_text(text_of(3000, "system"))
    conv.tools = (READ_FILE,)
    conv.add_user_text("Read every file.")
    for k in range(uses):
        conv.add("assistant", ToolUseBlock.create(f"toolu_{k}", "read_file", {"path": f"f{k}"}))
        result = (TextBlock(text_of(result_tokens, f"file {k}")),)
        conv.add("user", ToolResultBlock(f"toolu_{k}", result))
    summary = RawBlock.create({"type": "compaction", "content": "Summary. " * 200})
    return conv, summary


def timed_builds(engine, session) -> list[float]:
    """Build times (ms) when only the last message is new, as at every send."""
    from app.conversation.blocks import TextBlock

    out = []
    conv = session.conversation
    engine.build(session)  # the messages' facts made once
    for i in range(RUNS):
        conv.add("user", TextBlock(f"and now {i}?"))
        started = time.perf_counter()
        engine.build(session)
        out.append((time.perf_counter() - started) * 1000)
        conv.messages.pop()
    return out


def builds(uses: int) -> dict:
    from app.conversation.blocks import TextBlock
    from app.engine.engine import Engine
    from app.engine.session import Session

    engine = Engine(None)
    conv, summary = tool_loop(uses)
    session = Session(conv)
    plain = timed_builds(engine, session)
    conv.context_editing = ("tool_results",)
    cleared = timed_builds(engine, session)
    conv.context_editing = ()
    conv.add("assistant", summary, TextBlock("Here is where we are."))
    compacted = timed_builds(engine, session)
    tokens = engine.build(session).flat.total_tokens
    conv.messages.pop()
    whole = engine.build(session).flat.total_tokens
    med = statistics.median
    return {
        "uses": uses,
        "build_ms_median": round(med(plain), 2),
        "with_clearing_ms_median": round(med(cleared), 2),
        "clearing_ratio": round(med(cleared) / med(plain), 2),
        "after_compaction_ms_median": round(med(compacted), 2),
        "compaction_ratio": round(med(compacted) / med(plain), 3),
        "tokens_sent_before_after_compaction": [whole, tokens],
    }


def dollars() -> dict:
    """The offer's price, the compaction turn's bill and the turn after it, on the simulator."""
    import asyncio

    from app.caching.costs import Kind
    from app.engine.session import Session
    from app.simulator.runner import SimulatorThread
    from app.simulator.server import SimulatorConfig
    from app.workspace.chat import Chat
    from tests.helpers import Harness
    from tests.test_compaction import long_conversation

    async def run(base_url, compact: bool):
        h = Harness(base_url)
        session = Session(long_conversation(810_000))
        session.conversation.ttl = "5m"
        chat = Chat(h.engine, session)
        await chat.send("What does it say?")
        chat.changed(set(), "looked")
        offer = chat.compaction.offer()
        if compact:
            chat.compaction.ask()
        await chat.send("And what follows from it?")
        await chat.send("Go on.")
        await h.client.close()
        chat.close()
        turns = [r for r in session.totals.records if r.kind == Kind.TURN]
        return offer, turns

    with SimulatorThread(SimulatorConfig(time_scale=0)) as sim:
        offer, compacted = asyncio.run(run(sim.base_url, True))
    with SimulatorThread(SimulatorConfig(time_scale=0)) as sim:
        _, plain = asyncio.run(run(sim.base_url, False))
    return {
        "offer_compaction_usd": round(offer.compaction_usd, 4),
        "offer_saved_per_turn_usd": round(offer.saved_per_turn_usd, 4),
        "compacting_turn_usd": round(compacted[1].cost.paid_usd, 4),
        "same_turn_uncompacted_usd": round(plain[1].cost.paid_usd, 4),
        "turn_after_usd": round(compacted[2].cost.paid_usd, 4),
        "turn_after_uncompacted_usd": round(plain[2].cost.paid_usd, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uses", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    found = {**builds(args.uses), **dollars()}
    if args.json:
        print(json.dumps(found))
        return
    for key, value in found.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
