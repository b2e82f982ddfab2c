"""Keep-alive pings after a turn, as rent or buy (``economics.ping_decision``)."""

from __future__ import annotations

from app.caching.costs import Kind
from app.engine import events as ev
from app.engine.economics import ping_decision
from app.engine.session import Session


async def keep_alive(engine, session: Session) -> None:
    """Shortly before the entry the next send needs expires, refresh it only while the chance
    that the user comes back within its next lifetime makes the ping cheaper than the rewrite it
    would spare; at most ``session.pings_left`` pings."""
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
        reason, why = ping_decision(engine, session, built, entry)
        if reason is not None:
            engine.emit(ev.WarmSkipped(session.id, f"keep-alive stopped: {reason}", False))
            return
        session.pings_left -= 1
        await engine.send_quiet(session, Kind.KEEPALIVE, built, why=why)
