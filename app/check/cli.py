"""``cachescope-check PATH... [--min-hit-rate R] [--max-miss-usd X] [--json]``: a gate for CI.

Each PATH is a Claude Code session file (its subagents included), a project folder (or a
``projects`` folder), a captured run of the inspector, a conversation export, or a trace (replayed
under ``--policy``, Cachescope's engine by default, in simulated time). Exit 0 when the runs hold
the thresholds (no threshold: they hold, and the figures are printed), 1 with the reasons when
they do not, 2 with one line on stderr for an input that cannot be used. Nothing is sent
anywhere: a trace is replayed against the built-in simulator, in this process.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.agents.calls import Call, Pricer
from app.agents.gate import Thresholds, check
from app.agents.sources import InputError, document, kind_of, load
from app.agents.summary import Run
from app.replay.policies import EPOCH, LABELS
from app.replay.runner import replay
from app.replay.trace import TraceError, parse

DEFAULT_POLICY = "cachescope"


class OneLineParser(argparse.ArgumentParser):
    """Argument errors as one line on stderr and exit code 2."""

    def error(self, message: str):
        print(f"cachescope-check: {message}", file=sys.stderr)
        sys.exit(2)


def trace_run(path: Path, policy: str, pricer: Pricer) -> Run:
    """A trace replayed under ``policy``: each send is a billed request (its warm-ups and pings
    are in the note); what the trace says changed before a send is the reason for its miss."""
    try:
        trace = parse(document(path), path.name)
    except TraceError as exc:
        raise InputError(str(exc)) from None
    try:
        result = replay(trace, policy, price=False)
    except (RuntimeError, ValueError, KeyError) as exc:
        raise InputError(f"{path}: the replay failed ({exc})") from None
    said, calls = [], []
    pending = ""
    for event in trace.events:
        if event.do == "set_system":
            pending = "the system prompt changed (set_system in the trace)"
        elif event.do == "edit_last":
            said.append(("prefix", "the last message was edited (edit_last in the trace)"))
            pending = ""
        elif event.do == "regenerate":
            said.append(("prefix", "an earlier message was answered again (regenerate)"))
            pending = ""
        elif event.do == "send" and "after" in event.fields:
            said.append(("prefix", "the conversation went back to an earlier reply (after)"))
            pending = ""
        elif event.do == "send":
            said.append(("system", pending) if pending else ("", ""))
            pending = ""
    for i, (usage, at) in enumerate(zip(result.sent_usage, result.sent_at, strict=False)):
        kind, words = said[i] if i < len(said) else ("", "")
        when = EPOCH + at
        ttft = result.ttft_s[i] if i < len(result.ttft_s) else 0.0
        calls.append(
            Call(
                f"{path.name}#{i + 1}",
                when,
                when + ttft,
                trace.model,
                usage.read,
                usage.write_5m,
                usage.write_1h,
                usage.uncached,
                usage.output,
                pricer.cost(trace.model, when, usage),
                said=words,
                said_kind=kind,
            )
        )
    extra = result.requests - len(calls)
    notes = [f"replayed under {LABELS.get(policy, policy)} in simulated time"]
    if extra:
        notes.append(f"its {extra} warm-up(s) and ping(s) are not counted as requests")
    return Run(trace.name, calls, pricer, notes)


def _runs(paths: list[Path], policy: str, pricer: Pricer) -> list[Run]:
    runs: list[Run] = []
    for path in paths:
        if kind_of(path) == "trace":
            runs.append(trace_run(path, policy, pricer))
        else:
            runs += load(path, pricer)
    return runs


def _rate(text: str) -> float:
    value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text}: a hit rate is between 0 and 1 (or 0% and 100%)")
    return value


def _usd(text: str) -> float:
    value = float(text.lstrip("$"))
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text}: a budget is not negative")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(
        prog="cachescope-check",
        description="Fail a CI job when prompt caching got worse: the hit rate (tokens read over"
        " every input token) and what the misses cost, with the reason for each miss.",
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    parser.add_argument("--min-hit-rate", type=_rate, metavar="R", help="e.g. 0.8 or 80%%")
    parser.add_argument("--max-miss-usd", type=_usd, metavar="X", help="e.g. 0.50")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    parser.add_argument(
        "--policy",
        default=DEFAULT_POLICY,
        choices=sorted(LABELS),
        help="the policy a trace is replayed under (default: cachescope, the app's engine)",
    )
    args = parser.parse_args(argv)
    pricer = Pricer()
    try:
        runs = _runs(args.paths, args.policy, pricer)
    except InputError as exc:
        print(f"cachescope-check: {exc}", file=sys.stderr)
        return 2
    verdict = check(runs, Thresholds(args.min_hit_rate, args.max_miss_usd))
    print(json.dumps(verdict.as_json()) if args.json else verdict.text())
    return 0 if verdict.holds else 1


if __name__ == "__main__":
    sys.exit(main())
