"""Keep-alive pings after a turn, as rent or buy (``economics.ping_decision``), entry by entry:
the entry the next send needs that expires first is judged shortly before it expires; when a
ping does not pay for it (a short tail written for 5 minutes, say) but a longer-lived entry under
it holds most of the prefix, that entry is judged in turn before it expires."""

from __future__ import annotations

from app.caching.costs import Kind
from app.engine import events as ev
from app.engine.economics import away_since_send, outliving_below, ping_decision
from app.engine.session import Session
from app.engine.settings import max_tokens_0_refused

EXPIRED_SLACK_S = 0.05  # look again just after the entry judged has expired


async def keep_alive(engine, session: Session) -> None:
    """Shortly before the entry the next send needs expires, refresh it only while the chance
    that the user comes back within its next lifetime makes the ping cheaper than the rewrite it
    would spare; at most ``session.pings_left`` pings."""
    refused = max_tokens_0_refused(session.conversation)
    if refused is not None:  # every ping would be a 400
        engine.emit(ev.WarmSkipped(session.id, f"no keep-alive pings: {refused}", False))
        return
    while session.pings_left > 0:
        built = engine.drafts.warm_request(session)
        if not built.breakpoints:
            return
        entry = engine.ledger.longest_live(built)
        if entry is None:
            return  # nothing alive to keep
        delay = entry.expires_at - engine.settings.keepalive_margin_s - engine.clock()
        if delay > 0:
            await engine.sleep(delay)
        # Built again now: its TTL is chosen knowing how long the user has been away.
        built = engine.drafts.warm_request(session, away_s=away_since_send(engine, session))
        reason, why = ping_decision(engine, session, built, entry)
        if reason is not None:
            below = outliving_below(engine.ledger, built, entry)
            if not below:
                engine.emit(ev.WarmSkipped(session.id, f"keep-alive stopped: {reason}", False))
                return
            engine.emit(
                ev.WarmSkipped(
                    session.id,
                    f"no keep-alive ping for the last {entry.tokens - below:,} tokens: {reason};"
                    f" the {below:,} tokens under them are judged before they expire",
                    False,
                )
            )
            await engine.sleep(max(0.0, entry.expires_at - engine.clock()) + EXPIRED_SLACK_S)
            continue
        session.pings_left -= 1
        await engine.send_quiet(session, Kind.KEEPALIVE, built, why=why)
