"""What warm-ups, keep-alive pings and TTLs are worth: the engine's decisions, in dollars.

- A warm-up is sent when the prefix the send needs is cold, about to expire, or when the seconds
  it saves at the send (the tokens it writes, read instead of processed) are worth, at the
  user's ``wait_usd_per_s``, more than it adds (it re-reads the cached part, and the send then
  reads what it wrote instead of writing it).
- A keep-alive ping is the online rent-or-buy problem: shortly before the entry the next send
  needs expires, re-read it only while the chance that the user sends within its next lifetime
  (their pause model, ``app.caching.pauses``) times the rewrite it spares exceeds the re-read.
- A write lasts an hour when the 1h premium on the tokens it writes is less than the chance of a
  pause past five minutes (within the hour) times what such a pause would cost with 5-minute
  writes: rewriting all of the prefix, or, with keep-alive pings on, one ping that re-reads it,
  whichever is less.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.caching.builder import BuiltRequest
from app.caching.costs import cost_of
from app.caching.ledger import CacheLedger, Usage
from app.caching.pauses import PauseModel
from app.caching.strategies import LONG_GAP_S, ONE_HOUR_S
from app.facts.rules import TTL_SECONDS, CachePlan, plan_request, stored_entries
from app.facts.timing import PROCESSED_S_PER_TOKEN, READ_S_PER_TOKEN, expected_ttft_s

ALREADY_WARM = "already warm"
IN_FLIGHT = "a warm-up of this prefix is in flight"


def choose_ttl(
    built: BuiltRequest,
    plan: CachePlan,
    pauses: PauseModel,
    pings: bool = False,
    away_s: float = 0.0,
) -> str:
    """1h when the 1h premium on the tokens this request writes is less than what the chance
    of a pause past five minutes (but within the hour) would cost with 5-minute writes:
    rewriting all of the prefix, or, with keep-alive pings on (``pings``), at most one ping
    that re-reads it shortly before it expires (and writes for an hour itself), whichever is
    less. The chance is the user's pause model's, given that they have been away ``away_s``
    already (a keep-alive ping is sent while they are; a turn or a warm-up writes for the pause
    after the coming send)."""
    prices = built.model.prices
    usage = Usage.from_plan(plan)
    if prices is None or not usage.write or prices.write_5m <= prices.read:
        return "5m"
    chance = pauses.chance_between_after(away_s, LONG_GAP_S, ONE_HOUR_S)
    premium = (prices.write_1h - prices.write_5m) * usage.write
    prefix = usage.read + usage.write
    at_stake = (prices.write_5m - prices.read) * prefix
    if pings:
        at_stake = min(at_stake, prices.read * prefix)
    return "1h" if premium < chance * at_stake else "5m"


def away_since_send(engine, session) -> float:
    """Seconds since the user's last message in this conversation (0: none yet)."""
    sends = [
        m.created_at
        for m in session.conversation.messages
        if m.role == "user" and not m.is_tool_result and m.created_at
    ]
    return max(0.0, engine.clock() - sends[-1]) if sends else 0.0


def send_reads_warm(ledger: CacheLedger, warm: BuiltRequest, send: BuiltRequest) -> str | None:
    """Why the request Send would send would not read all that the warm-up writes (None: it
    would). A warm-up's writes are money: they pay only if the send reads them, by the same
    rules the service applies (the send's breakpoints look back 20 blocks for an entry)."""
    plan = ledger.predict(warm)
    written = {fp for fp, _, _ in stored_entries(warm.flat, plan)}
    end = warm.flat.blocks[warm.breakpoints[-1].index]
    if not send.breakpoints:
        return "this pattern places no breakpoint in the request Send would send: it reads nothing"
    model = send.model.id
    reads = plan_request(
        send.flat,
        list(send.breakpoints),
        send.model.min_cacheable_tokens,
        lambda fp: fp in written or ledger.is_cached(model, fp),
    ).read_tokens
    if reads >= end.cumulative:
        return None
    return (
        f"the request Send would send reads {reads:,} of the {end.cumulative:,} tokens a "
        "warm-up would write (its breakpoints do not reach them)"
    )


def warm_decision(
    engine, session, built: BuiltRequest, send: BuiltRequest
) -> tuple[str | None, str, CachePlan | None]:
    """(why not, or None), when it pays why (what the user sees either way), and the plan the
    decision was made on (None when it needed none). ``send`` is the request Send would send
    now: a warm-up it would not read in full is never sent."""
    if not built.breakpoints:
        return (
            ("prefix too short to cache" if built.too_short_tokens else "no breakpoint"),
            "",
            None,
        )
    window = send.model.context_window
    if send.flat.total_tokens > window:
        return (
            (
                f"the draft is over {send.model.display_name}'s context window "
                f"({send.flat.total_tokens:,} of {window:,} tokens): Send would be refused"
            ),
            "",
            None,
        )
    unread = send_reads_warm(engine.ledger, built, send)
    if unread is not None:
        return unread, "", None
    end = built.flat.blocks[built.breakpoints[-1].index]
    if end.fingerprint in session.warm_tasks:
        return IN_FLIGHT, "", None
    entry = engine.ledger.find(built.model.id, end.fingerprint)
    left = entry.expires_at - engine.clock() if entry is not None else 0.0
    if left >= engine.settings.warm_margin_s:
        return ALREADY_WARM, "", None
    plan = engine.ledger.predict(built)
    gain_s, extra_usd = warm_value(built, plan)
    if left > 0:  # refreshing an entry about to expire always pays: the send is coming
        why = f"refreshes the cached prefix, {int(left)} s from expiry, before the send"
    elif gain_s * engine.settings.wait_usd_per_s >= extra_usd:
        cold = "nothing is cached yet: " if not plan.read_tokens else ""
        why = f"{cold}the send starts {gain_s:.1f} s sooner for ${extra_usd:.4f} more"
    else:
        return (
            (
                f"not worth it: it would save {gain_s:.2f} s at the send "
                f"for ${extra_usd:.4f} of re-reading"
            ),
            "",
            plan,
        )
    hour_ago = engine.clock() - 3600
    spent = sum(
        w.record.cost.paid_usd for w in session.warms if w.record is not None and w.at >= hour_ago
    )
    estimate = cost_of(Usage.from_plan(plan, 0), built.model)
    if spent + estimate.paid_usd > engine.settings.warm_cap_usd_per_hour:
        cap = engine.settings.warm_cap_usd_per_hour
        return f"warm-up spending cap of ${cap:.2f}/h reached", "", plan
    return None, why, plan


def expected_s(plan: CachePlan) -> float:
    """The published time to read this request's prompt (``app.facts.timing``)."""
    usage = Usage.from_plan(plan)
    return expected_ttft_s(usage.uncached + usage.write, usage.read)


def warm_value(built: BuiltRequest, plan: CachePlan) -> tuple[float, float]:
    """What a warm-up buys and what it costs over sending cold: the seconds the send saves
    (the tokens the warm-up writes, read instead of processed: ``app.facts.timing``) and the
    dollars it adds (it reads the cached part, and the send then reads what it wrote)."""
    usage = Usage.from_plan(plan, 0)
    gain_s = usage.write * (PROCESSED_S_PER_TOKEN - READ_S_PER_TOKEN)
    prices = built.model.prices
    if prices is None:
        return gain_s, 0.0
    extra = (usage.read + usage.write) * prices.read + usage.uncached * prices.input
    return gain_s, extra / 1_000_000


def outliving_below(ledger: CacheLedger, built: BuiltRequest, entry) -> int:
    """Tokens of the longest live entry on this request's path, shorter than ``entry``, that
    outlives it: if ``entry`` expired, a send would still read that far (an hour-long entry
    under a five-minute tail, say)."""
    best = 0
    for block in built.flat.blocks:
        if block.cumulative >= entry.tokens:
            break
        below = ledger.find(built.model.id, block.fingerprint)
        if below is not None and below.expires_at > entry.expires_at:
            best = max(best, below.tokens)
    return best


@dataclass(frozen=True)
class PingValue:
    """What one keep-alive ping is worth now (rent or buy), with the figures behind it."""

    rewrite_tokens: int  # what would be written again if the entry expired
    chance: float  # of a send within the entry's next lifetime
    why_not: str | None  # None: the ping pays
    why: str  # when it pays, why


def ping_value(
    ledger: CacheLedger, pauses: PauseModel, idle_s: float, built: BuiltRequest, entry
) -> PingValue:
    """Rent or buy for one ping of ``entry`` (on ``built``'s path), ``idle_s`` seconds after the
    last send: it pays when the chance of a send within the entry's next lifetime (``pauses``)
    times the rewrite it spares exceeds the re-read. A ping re-reads the whole prefix up to
    ``entry``; what it spares is rewriting only the part that would expire with it: entries
    under it that outlive it stay (``outliving_below``)."""
    prices = built.model.prices
    if prices is None:
        return PingValue(0, 0.0, "this model's prices are unknown", "")
    chance = pauses.return_chance(idle_s, TTL_SECONDS[entry.ttl])
    rewrite = entry.tokens - outliving_below(ledger, built, entry)
    write = prices.write_1h if entry.ttl == "1h" else prices.write_5m
    spared = chance * (write - prices.read) * rewrite
    cost = prices.read * entry.tokens
    window = "5 min" if entry.ttl == "5m" else "hour"
    kept = entry.tokens - rewrite
    stays = f" ({kept:,} more stay cached in a longer-lived entry)" if kept else ""
    if spared < cost:
        return PingValue(
            rewrite,
            chance,
            f"re-reading {entry.tokens:,} tokens (${cost / 1e6:.4f}) would spare rewriting "
            f"{rewrite:,}{stays} (${rewrite * (write - prices.read) / 1e6:.4f}), with a "
            f"{chance:.0%} chance of a send within the next {window}",
            "",
        )
    return PingValue(
        rewrite,
        chance,
        None,
        f"a {chance:.0%} chance of a send within the next {window}: re-reading "
        f"{entry.tokens:,} tokens (${cost / 1e6:.4f}) beats rewriting {rewrite:,} of them"
        f"{stays} (${rewrite * (write - prices.read) / 1e6:.4f})",
    )


def ping_decision(engine, session, built: BuiltRequest, entry) -> tuple[str | None, str]:
    """(why not, or None) and, when a keep-alive ping pays now, why (``ping_value``, the user
    away since their last send)."""
    value = ping_value(engine.ledger, engine.pauses, away_since_send(engine, session), built, entry)
    return value.why_not, value.why
