"""The line for a request that wrote a cached prefix again after a pause, against what keeping
it alive would have cost: "rewrote 629,000 tokens after 6 min idle: $2.36; a keep-alive would
have cost $0.19". Qt-free and independent of where the request was seen (a Claude Code log, the
inspector's traffic, a captured run).

A keep-alive, as the app's engine sends it (``app.engine.keepalive``), reads the prefix again
shortly before it expires (``keepalive_margin_s`` before), with ``max_tokens: 0`` (zero output:
prompt-caching.md, "Pre-warming the cache"); each read refreshes the entry for another lifetime
(prompt-caching.md: "refreshed for no additional cost each time the cached content is used" is
the lifetime, the read itself is billed at the read price). Over a pause of ``elapsed`` seconds
since the request that cached the prefix began, with lifetime T and margin m, that is
ceil((elapsed - T) / (T - m)) pings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.agents.calls import Pricer
from app.agents.misses import Miss, duration
from app.engine.settings import EngineSettings
from app.facts.prices import STANDARD, Terms
from app.facts.rules import TTL_SECONDS

MARGIN_S = EngineSettings.keepalive_margin_s


def dollars(value: float | None) -> str:
    """Cents from ten cents up ("$2.36"), two significant figures below ("$0.094", "$0.0013"):
    a small sum never reads $0.00."""
    if value is None:
        return "prices unknown"
    if value <= 0:
        return "$0"
    if value >= 0.1:
        return f"${value:.2f}"
    return f"${value:.{1 - math.floor(math.log10(value))}f}"


@dataclass(frozen=True)
class Rewrite:
    request: int
    agent: str
    tokens: int  # written again
    kept_tokens: int  # the prefix a keep-alive would have read
    idle_s: float
    pings: int
    rewrite_usd: float | None
    keepalive_usd: float | None

    def text(self) -> str:
        return (
            f"rewrote {self.tokens:,} tokens after {duration(self.idle_s)} idle: "
            f"{dollars(self.rewrite_usd)}; a keep-alive would have cost "
            f"{dollars(self.keepalive_usd)}" + (f" ({self.pings} pings)" if self.pings > 1 else "")
        )

    @property
    def keepalive_pays(self) -> bool:
        return (
            self.rewrite_usd is not None
            and self.keepalive_usd is not None
            and self.keepalive_usd < self.rewrite_usd
        )


def pings_needed(elapsed_s: float, ttl: str, margin_s: float = MARGIN_S) -> int:
    """Keep-alive reads that keep an entry of lifetime ``ttl`` alive ``elapsed_s`` seconds after
    the request that wrote or last read it began."""
    lifetime = TTL_SECONDS[ttl]
    if elapsed_s <= lifetime:
        return 0
    return math.ceil((elapsed_s - lifetime) / (lifetime - margin_s))


def rewrite_line(
    pricer: Pricer,
    model: str,
    at: float,
    tokens: int,
    kept_tokens: int,
    idle_s: float,
    elapsed_s: float,
    ttl: str,
    written_ttl: str | None = None,
    request: int = 0,
    agent: str = "",
    terms: Terms = STANDARD,
) -> Rewrite:
    """The line for a request of ``model`` at ``at`` (epoch seconds) that wrote ``tokens`` again
    (at ``written_ttl``, by default ``ttl``) after ``idle_s`` seconds idle, ``elapsed_s`` after
    the request that cached the ``kept_tokens`` prefix, with lifetime ``ttl``, began, on the
    request's ``terms`` (fast mode, US-only inference: its pings would run on them too)."""
    pings = max(1, pings_needed(elapsed_s, ttl))
    read = pricer.read_usd(model, at, kept_tokens, terms)
    return Rewrite(
        request,
        agent,
        tokens,
        kept_tokens,
        idle_s,
        pings,
        pricer.rewrite_usd(model, at, tokens, written_ttl or ttl, terms),
        None if read is None else pings * read,
    )


def rewrites(misses: list[Miss], pricer: Pricer) -> list[Rewrite]:
    """A line for every miss caused by a pause."""
    out = []
    for miss in misses:
        if miss.reason != "pause":
            continue
        call = miss.call
        out.append(
            rewrite_line(
                pricer,
                call.model,
                call.at,
                min(miss.tokens, call.written) or miss.tokens,
                miss.expected_read,
                miss.pause_s,
                miss.elapsed_s,
                miss.ttl,
                call.ttl if call.written else miss.ttl,
                miss.request,
                call.agent,
                call.terms,
            )
        )
    return out
