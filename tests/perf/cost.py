"""Benchmark: what each cache strategy pays on scripted conversations, against the simulator.

    python tests/perf/cost.py [--json]

Every scenario is replayed through the simulator (time-scale 0, its clock advanced for the pauses)
under every strategy. Assistant replies are scripted, so each strategy sends the same requests.
Dollars are input dollars (read, written, uncached), the part caching changes; output is the same
for every strategy. For each, it prints the cost relative to no caching and relative to a
hindsight lower bound: each token written once at the cheapest rate whose lifetime survives every
gap until its last reuse (5m, else 1h; never rewritten unless a gap exceeds an hour), read at 0.1x
otherwise, and paid in full when it is never reused.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import anthropic  # noqa: E402

from app.caching.builder import BuiltRequest, RequestBuilder  # noqa: E402
from app.caching.costs import input_cost_usd  # noqa: E402
from app.caching.ledger import Usage  # noqa: E402
from app.caching.strategies import STRATEGIES, CacheSettings  # noqa: E402
from app.conversation.blocks import TextBlock, ToolDefinition, ToolResultBlock, ToolUseBlock  # noqa: E402
from app.conversation.conversation import Conversation  # noqa: E402
from app.facts.catalogue import default_catalogue  # noqa: E402
from app.simulator.runner import SimulatorThread  # noqa: E402
from app.simulator.server import SimulatorConfig  # noqa: E402
from tests.helpers import raw_post, text_of  # noqa: E402
from tests.perf.build import photo  # noqa: E402

MODEL = "claude-sonnet-4-6"


# -- scenarios: lists of steps; ("user", text, attachments), ("assistant", blocks),
#    ("send",), ("wait", seconds), ("truncate", n), ("tools", defs), ("system", text)


def reply(n: int) -> tuple:
    return ("assistant", (TextBlock(text_of(150, f"answer {n}")),))


def document_then_questions():
    steps = [("user", text_of(100_000, "the document") + " Summarise it.", ()), ("send",), reply(0)]
    for i in range(1, 11):
        steps += [
            ("wait", 40),
            ("user", f"Question {i}: what does part {i} say?", ()),
            ("send",),
            reply(i),
        ]
    return steps


def tools_and_30_turns():
    tools = tuple(
        ToolDefinition.create(f"tool_{k}", text_of(400, f"tool {k}"), {"type": "object"})
        for k in range(5)
    )
    steps = [("tools", tools), ("system", text_of(8000, "house rules"))]
    for i in range(30):
        steps += [("user", f"Short question {i}?", ()), ("send",), reply(i), ("wait", 20)]
    return steps


def screenshots_then_followups():
    shots = tuple(photo(100 + k) for k in range(3))
    steps = [("user", "What is wrong in these three screenshots?", shots), ("send",), reply(0)]
    for i in range(1, 9):
        steps += [("wait", 30), ("user", f"And about detail {i}?", ()), ("send",), reply(i)]
    return steps


def pauses():
    steps = [
        ("system", text_of(4000, "assistant persona")),
        ("user", text_of(20_000, "a long report") + " Read this.", ()),
        ("send",),
        reply(0),
    ]
    gaps = [30, 30, 420, 30, 30, 1200, 30, 30]
    for i, gap in enumerate(gaps, 1):
        steps += [("wait", gap), ("user", f"Follow-up {i}", ()), ("send",), reply(i)]
    return steps


def tool_loop():
    tools = (ToolDefinition.create("read_file", text_of(300, "read a file"), {"type": "object"}),)
    steps = [
        ("tools", tools),
        ("system", text_of(3000, "agent rules")),
        ("user", "Review the repository.", ()),
        ("send",),
    ]
    for rnd in range(6):
        calls = tuple(
            ToolUseBlock.create(f"t{rnd}_{k}", "read_file", {"path": f"f{rnd}_{k}.py"})
            for k in range(12)
        )
        steps += [
            ("assistant", (TextBlock(f"Reading batch {rnd}."), *calls)),
            (
                "user_blocks",
                tuple(ToolResultBlock(c.id, (TextBlock(text_of(250, c.id)),)) for c in calls),
            ),
            ("wait", 5),
            ("send",),
        ]
    steps.append(reply(99))
    return steps


def edit_and_resend():
    contract = (TextBlock(text_of(20_000, "contract")),)  # an attachment: a block of its own
    steps = [("user", "Is clause 4 fair?", contract), ("send",), reply(0)]
    for attempt in range(3):
        steps += [
            ("wait", 60),
            ("truncate", 1),
            ("user", f"Is clause 4 fair? (rephrased {attempt})", contract),
            ("send",),
            reply(attempt + 1),
        ]
    for i in range(3):
        steps += [("wait", 45), ("user", f"And clause {5 + i}?", ()), ("send",), reply(10 + i)]
    return steps


SCENARIOS = {
    "document_then_questions": document_then_questions,
    "tools_and_30_turns": tools_and_30_turns,
    "screenshots_then_followups": screenshots_then_followups,
    "pauses_7_and_20_min": pauses,
    "tool_loop_over_20_blocks": tool_loop,
    "edit_and_resend": edit_and_resend,
}


def run(steps, strategy: str, base_url: str) -> tuple[list[tuple[float, BuiltRequest]], float]:
    raw_post(base_url, "/_sim/reset", {})
    conv = Conversation(model=MODEL, max_tokens=50)
    builder = RequestBuilder()
    settings = CacheSettings(ttl="adaptive" if strategy == "smart" else "5m")
    catalogue = default_catalogue()
    model = catalogue.require(MODEL)
    now, dollars, sent = 1_000_000.0, 0.0, []
    with anthropic.Anthropic(base_url=base_url, api_key="bench", max_retries=0) as client:
        for step in steps:
            kind = step[0]
            if kind == "tools":
                conv.tools = step[1]
            elif kind == "system":
                conv.set_system_text(step[1])
            elif kind == "user":
                conv.add_user_text(step[1], *step[2], created_at=now)
            elif kind == "user_blocks":
                conv.add("user", *step[1], created_at=now)
            elif kind == "assistant":
                conv.add("assistant", *step[1], created_at=now)
            elif kind == "truncate":
                conv.truncate(len(conv.messages) - 1 - step[1])
            elif kind == "wait":
                now += step[1]
                raw_post(base_url, "/_sim/clock/advance", {"seconds": step[1]})
            elif kind == "send":
                built = builder.build(conv, strategy, settings)
                usage = Usage.from_api(client.messages.create(**built.body).usage)
                dollars += input_cost_usd(usage, model)
                sent.append((now, built))
    return sent, dollars


def hindsight_bound(sent: list[tuple[float, BuiltRequest]]) -> float:
    catalogue = default_catalogue()
    model = catalogue.require(MODEL)
    uses: dict[str, list[float]] = {}
    for at, built in sent:
        for block in built.flat.blocks:
            uses.setdefault(block.fingerprint, []).append(at)
    last_use: dict[str, float] = {}
    total = 0.0
    for at, built in sent:
        blocks = built.flat.blocks
        read_to = 0
        for block in blocks:
            seen = last_use.get(block.fingerprint)
            if seen is not None and at - seen <= 3600:
                read_to = block.cumulative
        usage_read, w5, w1, full = read_to, 0, 0, 0
        for block in blocks:
            if block.cumulative <= read_to:
                continue
            later = [t for t in uses[block.fingerprint] if t > at]
            chain, previous = [], at
            for t in later:
                if t - previous > 3600:
                    break
                chain.append(t - previous)
                previous = t
            if not chain:
                full += block.tokens
            elif max(chain) <= 300:
                w5 += block.tokens
            else:
                w1 += block.tokens
        total += input_cost_usd(Usage(usage_read, w5, w1, full), model)
        for block in blocks:
            last_use[block.fingerprint] = at
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out: dict = {"scenarios": {}}
    with SimulatorThread(SimulatorConfig(time_scale=0)) as sim:
        for name, make in SCENARIOS.items():
            steps = make()
            results, bound, no_cache = {}, None, None
            for strategy in STRATEGIES:
                sent, dollars = run(steps, strategy, sim.base_url)
                if bound is None:
                    bound = hindsight_bound(sent)
                if strategy == "none":
                    no_cache = dollars
                results[strategy] = dollars
            out["scenarios"][name] = {
                s: {
                    "cost_usd": round(c, 6),
                    "vs_no_cache": round(c / no_cache, 4),
                    "vs_bound": round(c / bound, 4),
                }
                for s, c in results.items()
            }
            out["scenarios"][name]["_bound_usd"] = round(bound, 6)
    if args.json:
        print(json.dumps(out))
        return 0
    for name, table in out["scenarios"].items():
        print(f"\n{name} (bound ${table['_bound_usd']:.4f})")
        for strategy, row in table.items():
            if strategy.startswith("_"):
                continue
            print(
                f"  {strategy:>22}: ${row['cost_usd']:.4f}  vs no cache {row['vs_no_cache']:.3f}"
                f"  vs bound {row['vs_bound']:.3f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
