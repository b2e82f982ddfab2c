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
import os
import stat
import sys
from pathlib import Path

from app.replay.billed import TOLERANCE, replay_billed
from app.replay.policies import LABELS, POLICIES, TTL_CHOICES
from app.replay.saved import saved_session
from app.replay.trace import MAX_FILE_BYTES, Trace, TraceError, parse

PROG = "cachescope-replay"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 (argparse adds the usage)
        print(f"{PROG}: {message}", file=sys.stderr)
        sys.exit(2)


def _not_json(constant: str):
    raise TraceError(f"{constant} is not a number JSON allows")


def read_file(path: Path) -> bytes:
    """A regular file's bytes, at most ``MAX_FILE_BYTES``: a FIFO, a device (``/dev/zero``) or a
    folder is refused before anything is read (opened without blocking, then checked)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise TraceError(f"{path.name}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise TraceError(f"{path.name}: not a regular file (a trace or an export is a file)")
        if info.st_size > MAX_FILE_BYTES:
            raise TraceError(
                f"{path.name}: {info.st_size / 1e6:,.0f} MB, over the "
                f"{MAX_FILE_BYTES // (1024 * 1024)} MB a trace or an export may hold here"
            )
        chunks, size = [], 0
        while size <= MAX_FILE_BYTES:
            chunk = os.read(fd, 1024 * 1024)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
    except OSError as exc:
        raise TraceError(f"{path.name}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        raise TraceError(f"{path.name}: grew past {MAX_FILE_BYTES // (1024 * 1024)} MB")
    return data


def session_of(path: Path) -> tuple[Trace, float | None, list[str]]:
    """The trace in FILE, what the history says was paid (None for a trace), and the notes."""
    raw = read_file(path)
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_not_json)
    except TraceError as exc:
        raise TraceError(f"{path.name}: {exc}") from None
    except RecursionError:
        raise TraceError(f"{path.name}: nested too deeply to be a trace or an export") from None
    except ValueError as exc:  # not JSON, or not UTF-8
        raise TraceError(f"{path.name}: not JSON ({exc})") from None
    if isinstance(data, dict) and "events" in data:
        return parse(data, path.name), None, []
    from app.storage.export import ExportFileError, import_json

    try:
        conversation, records = import_json(path)
    except (ExportFileError, ValueError, KeyError, TypeError) as exc:
        raise TraceError(
            f"{path.name}: neither a trace nor a conversation export ({exc})"
        ) from None
    try:
        saved = saved_session(conversation, records)
    except TraceError as exc:
        raise TraceError(f"{path.name}: {exc}") from None
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        raise TraceError(f"{path.name}: the export is damaged ({exc})") from None
    return saved.trace, saved.paid_usd, saved.notes


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(
        prog=PROG,
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
        trace, paid, notes = session_of(args.file)  # checked before the replay is even loaded
        from app.replay.report import pauses_of
        from app.replay.tables import run, table

        result = run([trace], policies)
    except TraceError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    except (RuntimeError, ValueError) as exc:  # a policy that failed, a model priced by tiers
        print(f"{PROG}: {args.file.name}: {exc}", file=sys.stderr)
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
