"""Dollars: what a request paid, what it would have paid without caching, and totals."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum

from app.caching.ledger import Usage
from app.caching.prefix_map import PrefixMap
from app.facts.catalogue import ModelInfo, Prices
from app.facts.prices import STANDARD, US_ONLY_MULTIPLIER, Terms, as_datetime, library_cost
from app.facts.server_tools import server_tools

PER_MILLION = 1_000_000


class Kind(StrEnum):
    """What a request was sent for (stored as its string value)."""

    TURN = "turn"
    WARM = "warm"
    KEEPALIVE = "keepalive"


class Stop(StrEnum):
    """How a turn request the user stopped ended (``RequestRecord.stopped``)."""

    REPLY = "reply"  # while the reply streamed: its prompt and the reply so far are billed
    BEFORE = "before"  # before the reply began: its prompt, as message_start counted it
    UNKNOWN = "unknown"  # abandoned before message_start: what the API billed is not known


@dataclass(frozen=True)
class Cost:
    paid_usd: float
    without_cache_usd: float
    known: bool = True  # False when the model's prices are unknown (both figures are then 0)

    @property
    def saved_usd(self) -> float:
        return self.without_cache_usd - self.paid_usd


def input_cost_usd(usage: Usage, model: ModelInfo, prices: Prices | None = None) -> float:
    """The input side of a request at the model's own five prices, or at ``prices`` (0 when
    unknown)."""
    p = prices or model.prices
    if p is None:
        return 0.0
    return (
        usage.uncached * p.input
        + usage.read * p.read
        + usage.write_5m * p.write_5m
        + usage.write_1h * p.write_1h
    ) / PER_MILLION


def server_tools_usd(usage: Usage) -> float:
    """What the server tools' uses cost on top of tokens (web search per search)."""
    tools = server_tools()
    return (
        usage.web_searches * tools["web_search"].usd_per_use
        + usage.web_fetches * tools["web_fetch"].usd_per_use
    )


def usage_library_cost(
    model_id: str, when: dt.datetime, usage: Usage, terms: Terms = STANDARD
) -> float | None:
    """``usage``'s tokens priced by the library at ``when`` (``library_cost``; server tools
    apart): None when it does not know the model."""
    return library_cost(
        model_id,
        when,
        usage.uncached,
        usage.read,
        usage.write_5m,
        usage.write_1h,
        usage.output,
        terms,
    )


def cost_of(
    usage: Usage, model: ModelInfo, at: float | None = None, terms: Terms = STANDARD
) -> Cost:
    """What a request with this usage paid, and what it would have paid without caching, at the
    request's date ``at`` (epoch seconds; now when None) on its ``terms`` (fast mode, US-only
    inference): by the maintained price library (``app.facts.prices``: dated prices,
    prompt-length tiers, fast mode) where it knows the model, else at the model's five prices
    from models.json (which have no fast prices: a fast request is then unknown); unknown when
    neither has them."""
    when = as_datetime(at)
    paid = usage_library_cost(model.id, when, usage, terms)
    if paid is not None:
        full = library_cost(model.id, when, usage.input_total, 0, 0, 0, usage.output, terms)
        extra = server_tools_usd(usage)
        return Cost(paid + extra, full + extra)
    p = model.prices
    if p is None or terms.speed:
        return Cost(0.0, 0.0, known=False)
    if terms.geo:
        return _times(cost_of(usage, model, at), US_ONLY_MULTIPLIER, server_tools_usd(usage))
    if model.tier_prices and model.tier_start and usage.input_total > model.tier_start:
        p = model.tier_prices  # the file's tier: every token of a longer prompt at its prices
    output = usage.output * p.output / PER_MILLION + server_tools_usd(usage)
    full_input = usage.input_total * p.input / PER_MILLION
    return Cost(input_cost_usd(usage, model, p) + output, full_input + output)


def _times(cost: Cost, factor: float, untouched: float) -> Cost:
    """``cost`` with its token part (all but ``untouched``) times ``factor``."""
    return Cost(
        (cost.paid_usd - untouched) * factor + untouched,
        (cost.without_cache_usd - untouched) * factor + untouched,
        cost.known,
    )


def added(a: Usage, b: Usage | None) -> Usage:
    """Two usages summed field by field (``b`` None: ``a``)."""
    if b is None:
        return a
    return Usage(**{f.name: getattr(a, f.name) + getattr(b, f.name) for f in fields(Usage)})


def request_cost(
    usage: Usage,
    model: ModelInfo,
    at: float | None = None,
    compaction: Usage | None = None,
    terms: Terms = STANDARD,
) -> Cost:
    """What a request paid: its message iteration (the top-level usage) and, when it compacted,
    the compaction iteration, each priced on its own (compaction.md, "Understanding usage": the
    top-level fields "do not include compaction iteration usage [...] To calculate total tokens
    consumed and billed for a request, sum across all entries in the `usage.iterations`
    array"; a prompt-length tier applies to each iteration's own prompt)."""
    cost = cost_of(usage, model, at, terms)
    if compaction is None:
        return cost
    extra = cost_of(compaction, model, at, terms)
    return Cost(
        cost.paid_usd + extra.paid_usd,
        cost.without_cache_usd + extra.without_cache_usd,
        cost.known and extra.known,
    )


@dataclass
class RequestRecord:
    kind: str  # a Kind
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
    server_reason: str = ""  # the API's own cache diagnosis of this turn, when it gave one
    reply_id: str = ""  # the assistant message a turn's request produced (branches share records)
    # Context management (compaction.md, context-editing.md): the compaction iteration's usage
    # when the request compacted (``usage`` is then the message iteration's, as the API reports
    # it at the top level; ``cost`` counts both), and the edits the API applied
    # (``context_management.applied_edits``, as it reported them).
    compaction: Usage | None = None
    edits: tuple[dict, ...] = ()
    # Tokens a clearing made the request write again: cached before the cleared point moved,
    # written now instead of read (0 when nothing new was cleared), and what that cost beyond
    # reading them.
    rewritten: int = 0
    rewritten_usd: float = 0.0
    stopped: str = ""  # a Stop when the user stopped the request, else ""
    after_id: str = ""  # a turn's: the last message it sent (a reply that never began goes here)

    @property
    def read_as_sent(self) -> Usage:
        """What the request its prefix map describes read and wrote: when it compacted, the
        compaction iteration's (it read the request as sent; the reply read the summary)."""
        return self.compaction or self.usage

    @property
    def billed(self) -> Usage:
        """Every iteration's usage summed: what the request was billed for."""
        return added(self.usage, self.compaction)

    def to_dict(self, base: PrefixMap | None = None) -> dict:
        """JSON-able; the prefix map is stored against ``base`` (the previous record's)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "usage": asdict(self.usage),
            "cost": [self.cost.paid_usd, self.cost.without_cache_usd, self.cost.known],
            "at": self.at,
            "model": self.model,
            "strategy": self.strategy,
            "ttft_s": self.ttft_s,
            "predicted": asdict(self.predicted) if self.predicted else None,
            "explanation": self.explanation,
            "cause": self.cause,
            "prefix": self.prefix.to_dict(base) if self.prefix else None,
            "error": self.error,
            "server_reason": self.server_reason,
            "reply_id": self.reply_id,
            "compaction": asdict(self.compaction) if self.compaction else None,
            "edits": list(self.edits),
            "rewritten": self.rewritten,
            "rewritten_usd": self.rewritten_usd,
            "stopped": self.stopped,
            "after_id": self.after_id,
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
            data.get("server_reason", ""),
            data.get("reply_id", ""),
            Usage(**data["compaction"]) if data.get("compaction") else None,
            tuple(e for e in data.get("edits") or () if isinstance(e, dict)),
            int(data.get("rewritten") or 0),
            float(data.get("rewritten_usd") or 0.0),
            str(data.get("stopped") or ""),
            str(data.get("after_id") or ""),
        )


@dataclass
class UsageTotals:
    records: list[RequestRecord] = field(default_factory=list)

    def add(self, record: RequestRecord) -> None:
        self.records.append(record)

    def snapshot(self) -> UsageTotals:
        """The totals as they stand now, unchanged by records added later."""
        return UsageTotals(list(self.records))

    @property
    def paid_usd(self) -> float:
        return sum(r.cost.paid_usd for r in self.records)

    @property
    def without_cache_usd(self) -> float:
        return sum(r.cost.without_cache_usd for r in self.records if r.kind == Kind.TURN)

    @property
    def saved_usd(self) -> float:
        """Savings net of what warm-ups and keep-alive pings cost."""
        return self.without_cache_usd - self.paid_usd

    def serving(self, turn: RequestRecord) -> list[RequestRecord]:
        """The warm-ups and pings sent since the turn before ``turn``: the ones it used."""
        index = next(i for i, r in enumerate(self.records) if r is turn)
        served = []
        for record in reversed(self.records[:index]):
            if record.kind == Kind.TURN:
                break
            served.append(record)
        return served[::-1]

    def net_saved_usd(self, turn: RequestRecord) -> tuple[float, float]:
        """What ``turn`` saved after paying for the warm-ups and pings it used, and their cost."""
        extra = sum(r.cost.paid_usd for r in self.serving(turn))
        return turn.cost.saved_usd - extra, extra

    @property
    def hit_rate(self) -> float:
        """Share of the input tokens of turns that were read from cache, not counting what the
        turn's own warm-ups wrote just before it: a first turn that reads what its warm-up wrote
        paid for the write all the same, so it is no hit (it showed 100% beside a negative
        saving)."""
        total = read = 0
        for record in self.records:
            if record.kind != Kind.TURN:
                continue
            warmed = sum(r.usage.write for r in self.serving(record) if r.kind == Kind.WARM)
            billed = record.billed  # a compaction's iteration is input of its turn too
            total += billed.input_total
            read += max(0, billed.read - warmed)
        return read / total if total else 0.0
