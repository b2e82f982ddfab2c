"""Dollars: what a request paid, what it would have paid without caching, and totals."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from app.caching.ledger import Usage
from app.caching.prefix_map import PrefixMap
from app.facts.catalogue import ModelInfo, Multipliers

PER_MILLION = 1_000_000


@dataclass(frozen=True)
class Cost:
    paid_usd: float
    without_cache_usd: float

    @property
    def saved_usd(self) -> float:
        return self.without_cache_usd - self.paid_usd


def input_cost_usd(usage: Usage, model: ModelInfo, mult: Multipliers) -> float:
    base = model.input_usd_per_mtok / PER_MILLION
    return base * (
        usage.uncached
        + usage.read * mult.read
        + usage.write_5m * mult.write_5m
        + usage.write_1h * mult.write_1h
    )


def cost_of(usage: Usage, model: ModelInfo, mult: Multipliers) -> Cost:
    output = usage.output * model.output_usd_per_mtok / PER_MILLION
    full_input = usage.input_total * model.input_usd_per_mtok / PER_MILLION
    return Cost(input_cost_usd(usage, model, mult) + output, full_input + output)


@dataclass
class RequestRecord:
    kind: str  # "turn", "warm" or "keepalive"
    usage: Usage
    cost: Cost
    at: float
    model: str
    strategy: str = ""
    ttft_s: float | None = None
    predicted: Usage | None = None
    explanation: str = ""
    cause: str = ""  # the explainer's cause ("none" for a full read); "" when not explained
    prefix: PrefixMap | None = None  # the request's blocks, sizes and breakpoints
    error: str = ""  # why the request failed; its usage is then all zeros
    id: str = ""

    def to_dict(self, base: PrefixMap | None = None) -> dict:
        """JSON-able; the prefix map is stored against ``base`` (the previous record's)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "usage": asdict(self.usage),
            "cost": [self.cost.paid_usd, self.cost.without_cache_usd],
            "at": self.at,
            "model": self.model,
            "strategy": self.strategy,
            "ttft_s": self.ttft_s,
            "predicted": asdict(self.predicted) if self.predicted else None,
            "explanation": self.explanation,
            "cause": self.cause,
            "prefix": self.prefix.to_dict(base) if self.prefix else None,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: dict, base: PrefixMap | None = None) -> RequestRecord:
        predicted = data.get("predicted")
        prefix = data.get("prefix")
        return cls(
            data["kind"],
            Usage(**data["usage"]),
            Cost(*data["cost"]),
            data["at"],
            data["model"],
            data.get("strategy", ""),
            data.get("ttft_s"),
            Usage(**predicted) if predicted else None,
            data.get("explanation", ""),
            data.get("cause", ""),
            PrefixMap.from_dict(prefix, base) if prefix else None,
            data.get("error", ""),
            data.get("id", ""),
        )


@dataclass
class UsageTotals:
    records: list[RequestRecord] = field(default_factory=list)

    def add(self, record: RequestRecord) -> None:
        self.records.append(record)

    @property
    def paid_usd(self) -> float:
        return sum(r.cost.paid_usd for r in self.records)

    @property
    def without_cache_usd(self) -> float:
        return sum(r.cost.without_cache_usd for r in self.records if r.kind == "turn")

    @property
    def saved_usd(self) -> float:
        """Savings net of what warm-ups and keep-alive pings cost."""
        return self.without_cache_usd - self.paid_usd

    @property
    def hit_rate(self) -> float:
        """Share of the input tokens of turns that were read from cache."""
        turns = [r.usage for r in self.records if r.kind == "turn"]
        total = sum(u.input_total for u in turns)
        return sum(u.read for u in turns) / total if total else 0.0
