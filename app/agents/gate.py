"""The gate: whether the runs read hold a minimum hit rate and a budget for misses, and when they
do not, why, named per miss (``app.agents.misses``) and summed per reason, the costliest first.

With no threshold given, the gate holds and only reports.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from app.agents.misses import Miss
from app.agents.summary import Run, Totals

REASONS = {
    "pause": "pauses past the TTL",
    "compaction": "compactions (the prefix shrank)",
    "model": "a model switch",
    "effort": "an effort or thinking switch",
    "tools": "the tools reordered or edited",
    "system": "the system prompt changed",
    "prefix": "the prefix changed (an edit or a rewind)",
    "said": "other reasons the program named",
    "unexplained": "reasons the log does not say",
}
LISTED_PER_REASON = 3


@dataclass(frozen=True)
class Thresholds:
    min_hit_rate: float | None = None  # 0..1
    max_miss_usd: float | None = None


@dataclass
class Verdict:
    runs: list[Run]
    thresholds: Thresholds
    totals: Totals
    misses: list[tuple[str, Miss]]  # (run name, miss), the costliest first
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def holds(self) -> bool:
        return not self.failures

    def by_reason(self) -> list[tuple[str, list[tuple[str, Miss]], float]]:
        groups: dict[str, list[tuple[str, Miss]]] = defaultdict(list)
        for run, miss in self.misses:
            groups[miss.reason].append((run, miss))
        summed = [(k, v, sum(m.cost_usd or 0.0 for _, m in v)) for k, v in groups.items()]
        return sorted(summed, key=lambda g: -g[2])

    def as_json(self) -> dict:
        t = self.totals
        return {
            **{k: v for k, v in t.as_dict().items()},
            "miss_usd": round(t.miss_usd, 6),
            "misses": [{"run": run, **miss.as_dict()} for run, miss in self.misses],
            "holds": self.holds,
            "failures": self.failures,
            "thresholds": {
                "min_hit_rate": self.thresholds.min_hit_rate,
                "max_miss_usd": self.thresholds.max_miss_usd,
            },
            "runs": [r.name for r in self.runs],
            "notes": self.notes,
        }

    def text(self) -> str:
        t = self.totals
        spent = (
            "prices unknown"
            if t.requests and t.unpriced == t.requests
            else f"${t.cost_usd:.4f}, misses ${t.miss_usd:.4f}"
            + (f" ({t.unpriced} requests unpriced)" if t.unpriced else "")
        )
        lines = [
            f"{len(self.runs)} run(s), {t.requests:,} requests: hit rate {t.hit_rate:.1%}, read"
            f" {t.read:,}, written {t.written_5m:,} (5m) / {t.written_1h:,} (1h), full"
            f" {t.uncached:,}, output {t.output:,}; {spent}"
        ]
        lines.append("holds" if self.holds else "FAILS: " + "; ".join(self.failures))
        if self.misses and not self.holds:
            lines.append("why, the costliest first:")
            for reason, found, cost in self.by_reason():
                lines.append(
                    f"- {REASONS.get(reason, reason)}: {len(found)} request(s), ${cost:.4f}"
                )
                for run, miss in found[:LISTED_PER_REASON]:
                    price = "unpriced" if miss.cost_usd is None else f"${miss.cost_usd:.4f}"
                    lines.append(
                        f"    {run} request {miss.request}"
                        + (f" (subagent {miss.call.agent})" if miss.call.agent else "")
                        + f": {miss.words}; {miss.tokens:,} tokens, {price}"
                    )
                if len(found) > LISTED_PER_REASON:
                    lines.append(f"    … and {len(found) - LISTED_PER_REASON} more")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def check(runs: list[Run], thresholds: Thresholds) -> Verdict:
    totals = Totals()
    misses: list[tuple[str, Miss]] = []
    notes: list[str] = []
    for run in runs:
        for call in run.calls:
            totals.add(call)
        for miss in run.misses:
            misses.append((run.name, miss))
            totals.miss_usd += miss.cost_usd or 0.0
        notes += [f"{run.name}: {n}" for n in run.notes]
    misses.sort(key=lambda rm: -(rm[1].cost_usd if rm[1].cost_usd is not None else -1))
    verdict = Verdict(runs, thresholds, totals, misses, notes=notes)
    if thresholds.min_hit_rate is not None and totals.hit_rate < thresholds.min_hit_rate:
        verdict.failures.append(
            f"hit rate {totals.hit_rate:.1%} is under the minimum {thresholds.min_hit_rate:.1%}"
        )
    if thresholds.max_miss_usd is not None and totals.miss_usd > thresholds.max_miss_usd:
        verdict.failures.append(
            f"misses cost ${totals.miss_usd:.4f}, over the budget ${thresholds.max_miss_usd:.4f}"
        )
    return verdict
