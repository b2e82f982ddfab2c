"""One session under every policy: the table "what would it have cost" shows, the sentence that
says what would have paid most and why, and its JSON (the keys of ``tests/perf/sessions.py``)."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

from app.replay.policies import LABELS, POLICIES, TTL_CHOICES
from app.replay.runner import replay
from app.replay.spending import Spending
from app.replay.trace import SENDS, Trace

FIVE_MINUTES_S = 300.0


@dataclass(frozen=True)
class Row:
    policy: str
    label: str
    cost_usd: float | None  # None: could not be priced (the note says why)
    p50_ttft_s: float | None
    worst_ttft_s: float | None
    extra_requests: int  # warm-ups and pings: requests beyond the sends
    ttft_s: tuple[float, ...] = ()
    note: str = ""
    spending: Spending | None = None  # what Cachescope's engine spent on what (its rows only)
    incomplete: str = ""  # why some sends got no reply: its figures leave requests out


@dataclass
class Report:
    name: str
    rows: list[Row]
    optimum_usd: float | None
    actual_usd: float | None = None  # what the user paid, from the history
    notes: list[str] = field(default_factory=list)

    @property
    def priced(self) -> list[Row]:
        return [r for r in self.rows if r.cost_usd is not None]

    @property
    def comparable(self) -> list[Row]:
        """The rows priced over every request of the session: a policy whose replay lost a
        send would look cheaper for leaving it out, so it is never named as cheaper."""
        return [r for r in self.priced if not r.incomplete]

    def sentence(self, pauses: list[float]) -> str:
        """What would have paid most, against what was paid (or the app's own policy), and a
        reason drawn from the session's pauses."""
        if not self.comparable:
            return "No policy could be priced for this conversation."
        best = min(self.comparable, key=lambda r: r.cost_usd)
        against = self.actual_usd
        what = "what you paid"
        if against is None:
            ours = next((r for r in self.comparable if r.policy == "cachescope"), best)
            against, what = ours.cost_usd, "Cachescope at your settings"
        saved = against - best.cost_usd
        if saved <= 0.00005:
            return f"Nothing would have cost less than {what} (${against:.4f})."
        long = sum(p > FIVE_MINUTES_S for p in pauses)
        why = ""
        if best.policy in ("cachescope_1h", "aider_keepalive") and long:
            why = f": {long} of your pauses were over 5 minutes"
        elif best.policy == "none":
            why = ": the conversation was too short or too scattered for caching to pay"
        return f"{best.label} would have saved ${saved:.4f} against {what}{why}."

    def as_json(self) -> dict:
        return {
            "policies": {
                r.policy: {
                    "label": r.label,
                    "cost_usd": None if r.cost_usd is None else round(r.cost_usd, 6),
                    "ttft_s": [round(t, 3) for t in r.ttft_s],
                    "p50_ttft_s": r.p50_ttft_s,
                    "worst_ttft_s": r.worst_ttft_s,
                    "requests": len(r.ttft_s) + r.extra_requests,
                    "warmups_and_pings": r.extra_requests,
                    "note": r.note,
                    "complete": not r.incomplete,
                }
                for r in self.rows
            },
            "optimum_cost_usd": None if self.optimum_usd is None else round(self.optimum_usd, 6),
            "actual_paid_usd": None if self.actual_usd is None else round(self.actual_usd, 6),
            "notes": self.notes,
        }


def pauses_of(trace: Trace) -> list[float]:
    """The idle time before each send: the waits and typing since the previous one."""
    out, since = [], 0.0
    for event in trace.events:
        since += event.wait + (event["seconds"] if event.do == "type" else 0)
        if event.do in SENDS:
            out.append(since)
            since = 0.0
    return out[1:]


def run_all(
    trace: Trace,
    policies: list[str] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    actors: dict | None = None,
) -> Report:
    """Replay ``trace`` under each policy (all, with the TTL choices, by default), each in its
    own simulated time; a policy that fails or cannot be priced gets a note, never a crash.
    ``actors`` replaces a policy's actor (Cachescope's rows at the window's settings)."""
    chosen = policies or [*POLICIES, *TTL_CHOICES]
    rows, optimum, notes = [], None, []
    for done, policy in enumerate(chosen):
        if progress is not None:
            progress(done, len(chosen), LABELS.get(policy, policy))
        try:
            result = replay(trace, policy, actor=(actors or {}).get(policy))
        except (ValueError, KeyError, RuntimeError) as exc:  # a tiered or unknown model
            rows.append(Row(policy, LABELS.get(policy, policy), None, None, None, 0, note=str(exc)))
            continue
        ttft = tuple(result.ttft_s)
        lost = trace.sends - len(ttft)
        rows.append(
            Row(
                policy,
                LABELS.get(policy, policy),
                result.cost_usd,
                round(statistics.median(ttft), 3) if ttft else None,
                round(max(ttft), 3) if ttft else None,
                max(0, result.requests - len(ttft)),
                ttft,
                "; ".join(result.failures[:2]),
                result.spending,
                f"{lost} of {trace.sends} messages got no reply" if lost else "",
            )
        )
        optimum = result.optimum_usd
    if progress is not None:
        progress(len(chosen), len(chosen), "done")
    left_out = [r.label for r in rows if r.incomplete]
    if left_out:
        notes.append(
            f"not compared, as their replays left requests out: {', '.join(left_out)}"
            " (the row's note says why)"
        )
    return Report(trace.name, rows, optimum, notes=notes)
