"""``cachescope-replay FILE [--json]``: what a session would have cost under every caching policy.

FILE is a trace (``app.replay.trace``'s format) or a conversation exported as JSON (Conversation
→ Export); an export is replayed with its own times, and what its history says was paid is shown
beside the policies. ``--json`` prints one object with the keys of ``tests/perf/sessions.py
--json`` (``traces`` and ``summary``), plus, per trace, ``actual_paid_usd``, ``notes`` and
``sentence``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.replay.billed import TOLERANCE, replay_billed
from app.replay.policies import LABELS, POLICIES, TTL_CHOICES
from app.replay.report import pauses_of
from app.replay.saved import saved_session
from app.replay.tables import run, table
from app.replay.trace import Trace, TraceError, parse


def session_of(path: Path) -> tuple[Trace, float | None, list[str]]:
    """The trace in FILE, what the history says was paid (None for a trace), and the notes."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TraceError(f"{path.name}: {exc}") from None
    if isinstance(data, dict) and "events" in data:
        return parse(data, path.name), None, []
    from app.storage.export import ExportFileError, import_json

    try:
        conversation, records = import_json(path)
    except (ExportFileError, ValueError, KeyError) as exc:
        raise TraceError(
            f"{path.name}: neither a trace nor a conversation export ({exc})"
        ) from None
    saved = saved_session(conversation, records)
    return saved.trace, saved.paid_usd, saved.notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="cachescope-replay",
        description="What a session would have cost under every caching policy, replayed in "
        "simulated time through Cachescope's simulator, rules and prices.",
    )
    parser.add_argument("file", type=Path, help="a trace, or a conversation exported as JSON")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    parser.add_argument(
        "--policies",
        default=",".join([*POLICIES, *TTL_CHOICES]),
        help="comma-separated; default: every policy and Cachescope at each TTL",
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=TOLERANCE,
        help="how near a replayed cache read must be to the billed one (default 0.02: 2 %%)",
    )
    args = parser.parse_args(argv)
    policies = [p for p in args.policies.split(",") if p]
    unknown = [p for p in policies if p not in LABELS]
    if unknown:
        parser.error(f"unknown policies {unknown}; known: {', '.join(LABELS)}")
    # A Claude Code session or project, a captured run, an export: calibrated first.
    billed = replay_billed(args.file, policies, args.json, args.tolerance)
    if billed is not None:
        return billed
    try:
        trace, paid, notes = session_of(args.file)
        result = run([trace], policies)
    except TraceError as exc:
        print(f"cachescope-replay: {exc}", file=sys.stderr)
        return 2
    except (RuntimeError, ValueError) as exc:  # a policy that failed, a model priced by tiers
        print(f"cachescope-replay: {args.file.name}: {exc}", file=sys.stderr)
        return 1
    entry = result["traces"][trace.name]
    entry["actual_paid_usd"] = None if paid is None else round(paid, 6)
    entry["notes"] = notes
    costs = {p: r["cost_usd"] for p, r in entry["policies"].items()}
    best = min(costs, key=costs.get)
    against = paid if paid is not None else costs.get("cachescope")
    long = sum(p > 300 for p in pauses_of(trace))
    entry["sentence"] = (
        f"{LABELS[best]} would have cost ${costs[best]:.4f}"
        + (
            f", ${against - costs[best]:.4f} less than {'you paid' if paid else 'Cachescope'}"
            if against is not None and against > costs[best]
            else ""
        )
        + (f"; {long} of the pauses were over 5 minutes" if long else "")
        + "."
    )
    if args.json:
        print(json.dumps(result))
        return 0
    print(table(result, policies))
    if paid is not None:
        print(f"\nwhat you paid (the history): ${paid:.4f}")
    for note in notes:
        print(f"note: {note}")
    print(entry["sentence"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
