"""What would it have cost, for a session somebody paid for: a Claude Code session or project
folder, a captured run of the inspector, or a conversation export. It begins with how well the
replay reproduces what was billed (``app.replay.calibration``) and compares policies only where
that holds. ``cachescope-replay`` hands such inputs here (``replay_billed``); a trace goes the
replay's usual way.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from app.agents.calls import Call, Pricer
from app.agents.sources import InputError, kind_of, load
from app.engine.settings import from_preferences
from app.replay.calibration import (
    LAYOUTS,
    TOLERANCE,
    CalibratedReplay,
    Progress,
    Segment,
    replay_runs,
    replay_segments,
)
from app.replay.ours import ours_at, settings_for
from app.replay.report import Report, pauses_of
from app.replay.saved import saved_session
from app.replay.trace import TraceError
from app.storage.preferences import Preferences

OTHER_PROGRAMS = {k: LAYOUTS[k] for k in ("claude_code", "automatic", "last_user_message")}
CLAUDE_CODE = {"claude_code": LAYOUTS["claude_code"]}


def conversation_segment(conversation, records: list[dict]) -> tuple[Segment, list[str]]:
    """A conversation of this app (open, or exported) as one segment: every branch replayed in
    the order it was made (``app.replay.saved``), each send against its turn's record, with
    what the history paid for the same requests (warm-ups and pings included). TraceError when
    it has nothing to replay."""
    saved = saved_session(conversation, records)
    trace, notes = saved.trace, saved.notes
    turns = []
    for i, r in enumerate(saved.turn_records):
        if r is None:
            continue
        u = r.get("usage") or {}
        counts = [int(u.get(k, 0)) for k in ("read", "write_5m", "write_1h", "uncached", "output")]
        at = float(r.get("at") or 0)
        turns.append(Call(f"message {i + 1}", at, at, str(r.get("model")), *counts, None))
    segment = Segment(trace.name, turns, "the start", trace, paid=saved.paid_usd, whole=True)
    if records and saved.tool_rounds:
        segment.problem = (
            f"{saved.tool_rounds} turn(s) called tools, several requests each, which the replay"
            " sends as one: the replay cannot be matched to them"
        )
        segment.trace = None
    elif records and len(turns) != trace.sends:
        segment.problem = (
            f"{trace.sends - len(turns)} of {trace.sends} messages have no turn record in the"
            " history: the replay cannot be matched to them"
        )
        segment.trace = None
    return segment, notes


def export_segment(path: Path) -> tuple[Segment, list[str], dict]:
    """A conversation export as one segment (``conversation_segment``), and Cachescope's rows
    at its settings (a new install's, with what the conversation chose for itself)."""
    from app.storage.export import ExportFileError, import_json

    try:
        conversation, records = import_json(path)
        segment, notes = conversation_segment(conversation, records)
    except (ExportFileError, TraceError, ValueError, KeyError) as exc:
        raise InputError(f"{path.name}: {exc}") from None
    defaults = from_preferences(Preferences())
    return segment, notes, ours_at(settings_for(conversation, defaults))


def calibrated(
    path: Path,
    policies: list[str] | None,
    tolerance: float = TOLERANCE,
    progress: Progress | None = None,
) -> CalibratedReplay | None:
    """The calibrated replay of ``path``; None for a trace; InputError for what cannot be used."""
    kind = kind_of(path)
    if kind == "trace":
        return None
    if kind == "export":
        segment, notes, ours = export_segment(path)
        layouts = {"cachescope": ours["cachescope"]}
        return replay_segments(
            segment.name, [segment], policies, layouts, "5m", tolerance, progress, notes, ours
        )
    runs = load(path, Pricer())
    layouts = OTHER_PROGRAMS if kind == "captured" else CLAUDE_CODE
    return replay_runs(runs, policies, layouts, None, tolerance, progress)


def table(report: Report) -> str:
    lines = [f"{'policy':40}{'dollars':>11}{'median wait':>13}{'worst wait':>12}{'extra':>7}"]
    for row in report.rows:
        cost = "—" if row.cost_usd is None else f"${row.cost_usd:.4f}"
        p50 = "—" if row.p50_ttft_s is None else f"{row.p50_ttft_s:.2f} s"
        worst = "—" if row.worst_ttft_s is None else f"{row.worst_ttft_s:.2f} s"
        lines.append(f"{row.label:40}{cost:>11}{p50:>13}{worst:>12}{row.extra_requests:>7}")
    return "\n".join(lines)


def replay_billed(path: Path, policies: list[str], as_json: bool, tolerance: float) -> int | None:
    """``cachescope-replay`` for a billed input: prints the calibration, then the policies where
    it holds; returns the exit code, or None when ``path`` is not such an input (a trace, or
    something the replay's own checks should answer)."""
    try:
        kind_of(path)
    except InputError:
        return None
    try:
        result = calibrated(path, policies, tolerance)
    except InputError as exc:
        print(f"cachescope-replay: {exc}", file=sys.stderr)
        return 2
    if result is None:
        return None
    pauses = [p for s in result.segments if s.trace is not None for p in pauses_of(s.trace)]
    sentence = result.sentence(pauses)
    if as_json:
        out = result.as_json()
        out["sentence"] = sentence
        for name, entry in out["traces"].items():
            report = result.per_segment[name]
            entry["sentence"] = report.sentence(pauses_of(_trace(result, name)))
        print(json.dumps(out))
        return 0
    print(result.calibration.sentence())
    if result.report is None:
        for note in result.notes:
            print(f"note: {note}")
    else:
        print()
        print(table(result.report))
        if result.report.actual_usd is not None:
            print(f"\nwhat was paid over the parts compared: ${result.report.actual_usd:.4f}")
        for note in result.report.notes:
            print(f"note: {note}")
        print(result.report.sentence(pauses))
    return 0


def _trace(result: CalibratedReplay, name: str):
    return next(s.trace for s in result.segments if s.name == name)
