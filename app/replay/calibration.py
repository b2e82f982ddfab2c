"""A calibrated replay: before comparing policies on a session somebody paid for, replay it the
way it was sent and say how well that reproduces what was billed ("reproduces the cache reads of
77 of 78 requests within 2 %"); compare policies only over the parts where it does.

What is replayed (``app.replay.trace`` cannot shrink a conversation or switch its model, so a
run is cut into segments where it does): a thread (a session's own, or a subagent's) is cut at a
compaction, a model switch, a rewind and wherever the prompt got shorter. A segment becomes a
trace of the same shape: its first prompt as the system prompt and the first question, then per
request the tokens it added after the previous request and its reply (the estimator's per-message
overhead taken off, the model's tokenizer scale divided out), after the same pauses.

The way it was sent (the layout): Claude Code's (a breakpoint on the system prompt and one moving
marker at the end: ``policies.ClaudeCode``) at the TTL the session wrote with; for a captured run
of another program, whichever of Claude Code's layout, automatic caching and lm-deluge's last user
message reproduces the most reads (said in the result); for the app's own conversation, the app's
engine at a new install's settings (``policies.Cachescope``).

A request is reproduced when its replayed cache read is within ``TOLERANCE`` (2 %) of the billed
one (of the prompt, for a request that read nothing). The first request of a segment that read
what an earlier segment had cached is not comparable (its replay starts cold) and is left out of
both counts, and said. A segment holds when at least ``HOLDS_AT`` (90 %) of its comparable
requests are reproduced; only held segments are replayed under the policies (docs/choices.md).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

import anthropic

from app.agents.calls import Call
from app.agents.summary import Run
from app.facts.catalogue import default_catalogue
from app.facts.tokens import MESSAGE_OVERHEAD_TOKENS
from app.replay.policies import (
    LABELS,
    Actor,
    Automatic,
    Cachescope,
    ClaudeCode,
    LastUserMessage,
)
from app.replay.report import Report, Row, run_all
from app.replay.runner import replay
from app.replay.spending import Spending
from app.replay.trace import Trace, TraceError, parse

TOLERANCE = 0.02
HOLDS_AT = 0.9
MAX_PAUSE_S = 24 * 3600.0  # a longer pause is replayed as a day: every entry has expired anyway


def with_ttl(actor: type[Actor], ttl: str) -> type[Actor]:
    """``actor``'s layout with every breakpoint at ``ttl``."""
    if ttl == "5m":
        return actor

    class Timed(actor):
        def body(self, body):
            body = super().body(body)
            marks = [body.get("cache_control")] + [
                b.get("cache_control")
                for part in (body.get("system") or [], *(m["content"] for m in body["messages"]))
                for b in part
                if isinstance(b, dict)
            ]
            for mark in marks:
                if mark:
                    mark["ttl"] = ttl
            return body

    Timed.__name__ = f"{actor.__name__}{ttl}"
    return Timed


LAYOUTS: dict[str, type[Actor]] = {
    "claude_code": ClaudeCode,
    "automatic": Automatic,
    "last_user_message": LastUserMessage,
    "cachescope": Cachescope,  # the app's own conversations: its engine (TTL by its settings)
}


MISSES_NAMED = 3  # requests not reproduced that the sentence names


@dataclass
class Segment:
    name: str
    calls: list[Call]
    starts: str  # why it starts here
    trace: Trace | None = None
    problem: str = ""  # why it cannot be replayed
    replayed: list[int] = field(default_factory=list)  # each request's replayed read
    layout: str = ""
    paid: float | None = None  # what was paid over it, when more than its requests' own costs
    whole: bool = False  # a whole conversation of this app: nothing cached before it began

    @property
    def comparable(self) -> list[bool]:
        """The first request is not comparable when it read what an earlier segment cached
        (a ``whole`` conversation of this app has none: what its first request read, its own
        warm-up wrote, and the replay warms as it did)."""
        return [i > 0 or c.read == 0 or self.whole for i, c in enumerate(self.calls)]

    def reproduced(self, tolerance: float = TOLERANCE) -> list[bool]:
        if len(self.replayed) != len(self.calls):
            return [False] * len(self.calls)
        return [
            abs(got - c.read) <= tolerance * (c.read or c.prompt)
            for got, c in zip(self.replayed, self.calls, strict=True)
        ]

    def counts(self, tolerance: float = TOLERANCE) -> tuple[int, int]:
        """(reproduced, comparable) requests."""
        pairs = [
            ok for ok, use in zip(self.reproduced(tolerance), self.comparable, strict=True) if use
        ]
        return sum(pairs), len(pairs)

    def holds(self, tolerance: float = TOLERANCE) -> bool:
        done, of = self.counts(tolerance)
        return self.trace is not None and of > 0 and done >= HOLDS_AT * of

    @property
    def paid_usd(self) -> float | None:
        if self.paid is not None:
            return self.paid
        costs = [c.cost_usd for c in self.calls]
        return None if None in costs else sum(costs)


def _cut(previous: Call | None, call: Call) -> str:
    if previous is None:
        return "the start"
    if call.model != previous.model:
        return "a model switch"
    if call.compacted_before:
        return "a compaction"
    if call.branched_at:
        return "a rewind"
    if call.prompt < previous.prompt:  # the conversation got shorter
        return "a shorter prompt"
    return ""


def segments(run: Run) -> list[Segment]:
    out: list[Segment] = []
    for agent, thread in run.threads.items():
        who = f"subagent {agent}" if agent else "its own thread"
        current: Segment | None = None
        previous = None
        for call in thread:
            starts = _cut(previous, call)
            if starts:
                current = Segment(f"{run.name} · {who}, part {len(out) + 1}", [], starts)
                out.append(current)
            current.calls.append(call)
            previous = call
    for segment in out:
        segment.trace, segment.problem = trace_of(segment)
    return out


def trace_of(segment: Segment) -> tuple[Trace | None, str]:
    """The segment as a trace of the same shape (see the module's docstring)."""
    calls = segment.calls
    model = default_catalogue().resolve(calls[0].model)
    if model is None:
        return None, f"{calls[0].model} is not a model the simulator knows"
    scale = model.token_scale

    def base(tokens: float) -> int:
        return max(1, math.ceil(tokens / scale))

    first = calls[0]
    system = max(0, first.prompt - MESSAGE_OVERHEAD_TOKENS - 1)
    events = [{"wait": 0, "do": "send", "tokens": 1, "reply_tokens": base(max(1, first.output))}]
    for previous, call in zip(calls, calls[1:], strict=False):
        added = call.prompt - previous.prompt - previous.output - 2 * MESSAGE_OVERHEAD_TOKENS
        pause = min(MAX_PAUSE_S, max(0.0, call.at - previous.ended))
        events.append(
            {
                "wait": round(pause, 3),
                "do": "send",
                "tokens": base(max(1, added)),
                "reply_tokens": base(max(1, call.output)),
            }
        )
    data = {
        "name": segment.name,
        "model": model.id,
        "system_tokens": base(system),
        "events": [*events, {"wait": 30, "do": "close"}],
    }
    try:
        return parse(data, segment.name), ""
    except TraceError as exc:
        return None, str(exc)


def _replayed_reads(trace: Trace, actor: type[Actor]) -> list[int]:
    result = replay(trace, "calibration", actor=actor, price=False)
    return [u.read for u in result.sent_usage]


def calibrate(segment: Segment, layouts: dict[str, type[Actor]], ttl: str) -> None:
    """Replay the segment under each layout (at ``ttl``); keep the one that reproduces most."""
    if segment.trace is None:
        return
    best: tuple[int, str, list[int]] | None = None
    for layout, actor in layouts.items():
        try:
            reads = _replayed_reads(segment.trace, with_ttl(actor, ttl))
        except anthropic.APIStatusError as exc:  # a retired model: today's simulator refuses it
            error = exc.body.get("error") if isinstance(exc.body, dict) else None
            said = error.get("message") if isinstance(error, dict) else str(exc)
            segment.problem = f"the simulator refuses it: {said}"
            segment.trace = None
            return
        except (RuntimeError, ValueError, KeyError, anthropic.APIError) as exc:
            segment.problem = f"the replay failed: {exc}"
            continue
        segment.replayed, segment.layout = reads, layout
        done = segment.counts()[0]
        if best is None or done > best[0]:
            best = (done, layout, reads)
    if best is not None:
        segment.replayed, segment.layout = best[2], best[1]


@dataclass(frozen=True)
class Calibration:
    reproduced: int
    requests: int  # comparable requests in all
    tolerance: float
    layout: str
    segments: int
    held: int  # segments where the calibration holds
    not_comparable: int  # first requests of segments that read an earlier segment's cache
    unreplayable: int  # requests in segments that could not be replayed
    held_requests: int
    missed: tuple[str, ...] = ()  # the comparable requests not reproduced, in words (a few)

    @property
    def holds(self) -> bool:
        return self.held > 0

    def sentence(self) -> str:
        if not self.requests:
            return (
                f"None of its {self.unreplayable:,} requests could be replayed (the notes say"
                " why), so the policies are not compared."
            )
        said = (
            f"The replay ({self.layout}) reproduces the cache reads of {self.reproduced:,} of"
            f" {self.requests:,} requests within {self.tolerance * 100:g} %"
        )
        if self.held == self.segments and self.held:
            said += "; policies are compared over the whole session."
        elif self.held:
            said += (
                f"; policies are compared over the {self.held} of {self.segments} parts where it"
                f" holds ({self.held_requests:,} requests), not over the rest."
            )
        else:
            said += ": too few to trust, so the policies are not compared."
        extra = []
        if self.not_comparable:
            extra.append(
                f"{self.not_comparable} request(s) that began a part by reading what an earlier"
                " part cached are not counted"
            )
        if self.unreplayable:
            extra.append(f"{self.unreplayable} request(s) could not be replayed")
        if self.missed:
            more = self.requests - self.reproduced - len(self.missed)
            extra.append(
                "not reproduced: "
                + "; ".join(self.missed)
                + (f"; {more} more" if more > 0 else "")
                + " (a cache emptied between requests, as by a restart of the built-in simulator"
                " or an eviction, is not in the replay)"
            )
        return said + (f" ({'; '.join(extra)}.)" if extra else "")

    def as_json(self) -> dict:
        return {
            "reproduced": self.reproduced,
            "requests": self.requests,
            "tolerance": self.tolerance,
            "holds": self.holds,
            "layout": self.layout,
            "segments": self.segments,
            "segments_held": self.held,
            "requests_compared": self.held_requests,
            "not_comparable": self.not_comparable,
            "unreplayable": self.unreplayable,
            "not_reproduced": list(self.missed),
        }


def summarise(found: list[Segment], tolerance: float = TOLERANCE) -> Calibration:
    done = total = skipped = unreplayable = held_requests = held = 0
    layouts, missed = [], []
    number = 0  # each request's number in the session
    for segment in found:
        if segment.trace is None:
            unreplayable += len(segment.calls)
            number += len(segment.calls)
            continue
        oks = segment.reproduced(tolerance)
        for k, call in enumerate(segment.calls):
            number += 1
            if segment.comparable[k] and not oks[k] and k < len(segment.replayed):
                missed.append(
                    f"request {number} read {call.read:,} where the replay read"
                    f" {segment.replayed[k]:,}"
                )
        d, of = segment.counts(tolerance)
        done, total = done + d, total + of
        skipped += len(segment.calls) - of
        layouts.append(segment.layout)
        if segment.holds(tolerance):
            held += 1
            held_requests += len(segment.calls)
    common = statistics.mode(layouts) if layouts else ""
    label = LABELS.get(common, common)
    return Calibration(
        done,
        total,
        tolerance,
        label,
        len(found),
        held,
        skipped,
        unreplayable,
        held_requests,
        tuple(missed[:MISSES_NAMED]),
    )


def combine(name: str, reports: list[Report], paid: float | None, notes: list[str]) -> Report:
    """The policies over several segments: dollars summed, waits pooled, what Cachescope's
    engine spent on what pooled too."""
    rows = []
    for i, first in enumerate(reports[0].rows if reports else []):
        parts = [r.rows[i] for r in reports]
        costs = [p.cost_usd for p in parts]
        ttft = tuple(t for p in parts for t in p.ttft_s)
        rows.append(
            Row(
                first.policy,
                first.label,
                None if None in costs else sum(costs),
                round(statistics.median(ttft), 3) if ttft else None,
                round(max(ttft), 3) if ttft else None,
                sum(p.extra_requests for p in parts),
                ttft,
                "; ".join(dict.fromkeys(p.note for p in parts if p.note)),
                Spending.pooled([p.spending for p in parts]),
                "; ".join(p.incomplete for p in parts if p.incomplete),
            )
        )
    optima = [r.optimum_usd for r in reports]
    optimum = None if not optima or None in optima else sum(optima)
    return Report(name, rows, optimum, paid, notes)


@dataclass
class CalibratedReplay:
    """A billed run (or several) replayed: the calibration, and the policies over the held
    segments (``report``: None when nothing held)."""

    calibration: Calibration
    segments: list[Segment]
    report: Report | None
    per_segment: dict[str, Report]
    notes: list[str] = field(default_factory=list)

    def sentence(self, pauses: list[float] = ()) -> str:
        out = self.calibration.sentence()
        if self.report is not None:
            out += " " + self.report.sentence(list(pauses))
        return out

    def as_json(self) -> dict:
        traces = {}
        for name, report in self.per_segment.items():
            traces[name] = report.as_json()
        summary = {}
        if self.report is not None:
            for row in self.report.rows:
                summary[row.policy] = {
                    "cost_usd": None if row.cost_usd is None else round(row.cost_usd, 6),
                    "p50_ttft_s": row.p50_ttft_s,
                    "worst_ttft_s": row.worst_ttft_s,
                }
        return {
            "calibration": self.calibration.as_json(),
            "traces": traces,
            "summary": summary,
            "actual_paid_usd": None
            if self.report is None or self.report.actual_usd is None
            else round(self.report.actual_usd, 6),
            "notes": self.notes,
        }


Progress = Callable[[int, int, str], None]


def replay_runs(
    runs: list[Run],
    policies: list[str] | None,
    layouts: dict[str, type[Actor]],
    ttl: str | None = None,
    tolerance: float = TOLERANCE,
    progress: Progress | None = None,
) -> CalibratedReplay:
    """Cut each run into segments, then ``replay_segments``."""
    found = [s for run in runs for s in segments(run)]
    name = ", ".join(r.name for r in runs)
    notes = [f"{run.name}: {note}" for run in runs for note in run.notes]
    return replay_segments(name, found, policies, layouts, ttl, tolerance, progress, notes)


def replay_segments(
    name: str,
    found: list[Segment],
    policies: list[str] | None,
    layouts: dict[str, type[Actor]],
    ttl: str | None = None,
    tolerance: float = TOLERANCE,
    progress: Progress | None = None,
    notes: list[str] = (),
    actors: dict | None = None,
) -> CalibratedReplay:
    """Calibrate each segment under ``layouts`` (at ``ttl``; None: the TTL each segment wrote
    the most with), then replay the held ones under ``policies`` (all by default; ``actors``
    replaces a policy's actor: Cachescope's rows at the settings calibrated with)."""
    steps = len(found) * 2
    for i, segment in enumerate(found):
        if progress is not None:
            progress(i, steps, f"calibrating {segment.name}")
        written_1h = sum(c.written_1h for c in segment.calls)
        written_5m = sum(c.written_5m for c in segment.calls)
        calibrate(segment, layouts, ttl or ("1h" if written_1h > written_5m else "5m"))
    calibration = summarise(found, tolerance)
    held = [s for s in found if s.holds(tolerance)]
    per_segment: dict[str, Report] = {}
    for i, segment in enumerate(held):
        if progress is not None:
            progress(len(found) + i, steps, f"policies for {segment.name}")
        report = run_all(segment.trace, policies, actors=actors)
        report.actual_usd = segment.paid_usd
        report.notes = list(notes)
        per_segment[segment.name] = report
    paid = [s.paid_usd for s in held]
    notes = [*notes, *(f"{s.name}: not replayed ({s.problem})" for s in found if s.problem)]
    combined = None
    if per_segment:
        combined = combine(
            name, list(per_segment.values()), None if None in paid else sum(paid), notes
        )
    if progress is not None:
        progress(steps, steps, "done")
    return CalibratedReplay(calibration, found, combined, per_segment, notes)
