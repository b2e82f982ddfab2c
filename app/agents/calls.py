"""One billed request another program made, as its log records it, and its price at its date.

Prices come from genai-prices through ``app.facts.prices`` (dated prices, prompt-length tiers),
as every other cost in the app; a model the library does not know is priced from models.json
(``app.caching.costs.cost_of``); one known to neither stays unpriced (``None``), never $0.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.caching.costs import PER_MILLION, cost_of, server_tools_usd, usage_library_cost
from app.caching.ledger import Usage
from app.facts.catalogue import Catalogue, default_catalogue
from app.facts.prices import STANDARD, Terms, library_prices

MAIN = ""  # the agent name of a session's own thread (a subagent's is its id)


@dataclass(frozen=True, slots=True)
class Call:
    """One request: when it began and ended (epoch seconds of its first and last log line), its
    model, what it read, wrote (5m, 1h), paid in full and generated, and what it cost."""

    key: str  # message id and request id, or where the line was
    at: float
    ended: float
    model: str
    read: int
    written_5m: int
    written_1h: int
    uncached: int
    output: int
    cost_usd: float | None
    agent: str = MAIN
    tools: tuple[str, ...] = ()  # the tools its reply called
    results_of: tuple[str, ...] = ()  # the tools whose results it carried
    compacted_before: bool = False  # the conversation was compacted since the previous request
    branched_at: str = ""  # the prefix left the previous request's at this path (a rewind)
    said: str = ""  # the log's own reason for a miss, when it gives one
    said_kind: str = ""  # its kind, when the log names it (model, tools, system, pause, ...)
    web_searches: int = 0
    terms: Terms = STANDARD  # fast mode, US-only inference, as its usage says it ran

    @property
    def written(self) -> int:
        return self.written_5m + self.written_1h

    @property
    def prompt(self) -> int:
        """Every input token of the request: read, written and paid in full."""
        return self.read + self.written + self.uncached

    @property
    def cached_after(self) -> int:
        """What this request left cached for the next one: what it read and what it wrote."""
        return self.read + self.written

    @property
    def ttl(self) -> str:
        """The lifetime of what it wrote: 1h when it wrote more 1h than 5m tokens."""
        return "1h" if self.written_1h > self.written_5m else "5m"

    def usage(self) -> Usage:
        return Usage(
            read=self.read,
            write_5m=self.written_5m,
            write_1h=self.written_1h,
            uncached=self.uncached,
            output=self.output,
            web_searches=self.web_searches,
        )


def epoch(timestamp: str) -> float | None:
    """An ISO 8601 time as written in the logs ("2026-11-05T14:02:11.391Z"), in epoch seconds;
    None when it is not one."""
    try:
        when = dt.datetime.fromisoformat(timestamp)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


class Pricer:
    """What a usage cost at its date. The library's five rates of a model are looked up once per
    hour of the requests' dates (a request over a prompt-length tier is priced by the library
    itself, tier applied): a 200 MB session prices its requests in milliseconds, not seconds."""

    def __init__(self, catalogue: Catalogue | None = None) -> None:
        self.catalogue = catalogue or default_catalogue()
        self._rates: dict[tuple[str, int], tuple | None] = {}

    def _rates_at(self, model: str, at: float) -> tuple | None:
        hour = int(at // 3600)
        if (model, hour) not in self._rates:
            when = dt.datetime.fromtimestamp(hour * 3600, dt.UTC)
            self._rates[(model, hour)] = library_prices(model, when)
        return self._rates[(model, hour)]

    def cost(self, model: str, at: float, usage: Usage, terms: Terms = STANDARD) -> float | None:
        """What ``usage`` cost at ``at`` on ``terms`` (fast mode, US-only inference)."""
        rates = self._rates_at(model, at)
        if rates is not None:
            base, write_5m, write_1h, read, output, tier = rates
            if (tier is not None and usage.input_total > tier) or not terms.standard:
                when = dt.datetime.fromtimestamp(at, dt.UTC)
                paid = usage_library_cost(model, when, usage, terms)
                return None if paid is None else paid + server_tools_usd(usage)
            tokens = (
                usage.uncached * base
                + usage.write_5m * write_5m
                + usage.write_1h * write_1h
                + usage.read * read
                + usage.output * output
            )
            return tokens / PER_MILLION + server_tools_usd(usage)
        info = self.catalogue.resolve(model)
        if info is None:
            return None
        cost = cost_of(usage, info, at, terms)
        return cost.paid_usd if cost.known else None

    def read_usd(self, model: str, at: float, tokens: int, terms: Terms = STANDARD) -> float | None:
        """What reading ``tokens`` from cache costs (a keep-alive ping with no output)."""
        return self.cost(model, at, Usage(read=tokens), terms)

    def rewrite_usd(
        self, model: str, at: float, tokens: int, ttl: str, terms: Terms = STANDARD
    ) -> float | None:
        """What writing ``tokens`` to cache again costs at ``ttl``."""
        usage = Usage(write_1h=tokens) if ttl == "1h" else Usage(write_5m=tokens)
        return self.cost(model, at, usage, terms)
