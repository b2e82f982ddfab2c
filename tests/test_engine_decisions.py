"""The engine's decisions that issue 35 (point 12) changed, each with its reason
(docs/engine.md; prompt-caching.md, "1-hour cache duration" and "Pricing"):

- With keep-alive pings on, a pause past five minutes costs at most one ping that re-reads the
  prefix before it expires, not a rewrite: a follow-up writes for an hour only when the 1h
  premium on what it writes is less than the chance of such a pause times that ping.
- A keep-alive ping's own TTL is chosen knowing the user has been away since their last message.
- Keep-alive is rent or buy entry by entry: when a ping does not pay for a short 5m tail, the
  hour-long entry under it is judged in turn before it expires, instead of the keep-alive
  stopping and letting it go."""

from app.caching.costs import Kind
from app.engine import events as ev
from app.engine.engine import EngineSettings
from app.engine.session import Session
from app.workspace.chat import Chat
from tests.helpers import Harness, conversation, run, text_of


def follow_up_ttls(sim, pings: int, system_tokens: int, added_tokens: int):
    """The TTL of a follow-up's writes: the reply and a question of ``added_tokens``."""

    async def scenario():
        h = Harness(sim.base_url, EngineSettings(keepalive_pings=pings))
        session = Session(conversation(tokens=system_tokens))
        conv = session.conversation
        conv.ttl = "5m"  # the first turn writes the prefix for 5 minutes
        conv.add_user_text("first question", created_at=h.clock())
        await h.engine.run_turn(session)
        conv.ttl = None  # then the engine's own choice: adaptive
        conv.add_user_text(text_of(added_tokens, "question"), created_at=h.clock())
        built = h.engine.build(session)
        await h.engine.shutdown()
        await h.client.close()
        return {b.ttl for b in built.breakpoints}

    return run(scenario())


def test_with_keepalive_on_a_follow_up_writes_for_an_hour_only_when_a_ping_would_cost_more(sim):
    """A follow-up adding 1,500 tokens to a 40,000-token prefix: the 1h premium on them
    ($0.0034 on Sonnet 4.6) is more than the chance of a long pause (17% under the prior) times
    one ping re-reading 41,500 tokens ($0.0125), so with pings on it writes for 5 minutes; with
    pings off a long pause means rewriting all of it ($0.14), and it writes for an hour."""
    assert follow_up_ttls(sim, pings=12, system_tokens=40_000, added_tokens=1_500) == {"5m"}
    assert follow_up_ttls(sim, pings=0, system_tokens=40_000, added_tokens=1_500) == {"1h"}
    # 300 tokens onto 150,000: the premium is small against even a ping, an hour either way
    assert follow_up_ttls(sim, pings=12, system_tokens=150_000, added_tokens=300) == {"1h"}


def test_a_ping_sent_while_the_user_is_away_writes_for_an_hour_when_their_return_is_likely(sim):
    """280 s after the last message the user is still away: a pause past five more minutes is
    now likelier (37% under the prior) than before any pause (17%), so the ping writes the reply
    for an hour and the next one waits an hour, not five minutes."""

    async def scenario():
        h = Harness(sim.base_url, EngineSettings(keepalive_pings=2, keepalive_margin_s=20))
        session = Session(conversation())
        session.conversation.add_user_text("hello", created_at=h.clock())
        await h.engine.run_turn(session)
        await session.keepalive_task
        await h.client.close()
        return session

    session = run(scenario())
    first, second = [r for r in session.totals.records if r.kind == Kind.KEEPALIVE]
    assert first.usage.write_1h > 0 and first.usage.write_5m == 0
    assert second.at - first.at > 3000  # the hour-long entry was kept, not pinged at 5 minutes


def test_keepalive_judges_the_hour_long_entry_under_a_short_tail_instead_of_stopping(sim):
    """The bulk (35,000 tokens) in a 1h entry, a 5m tail on it, and the user away for over an
    hour: a ping does not pay for the tail (issue 35.4), but the keep-alive stopped there and let
    the hour-long entry expire too; now it judges that entry before it expires and pings it."""

    async def scenario():
        h = Harness(sim.base_url, EngineSettings(keepalive_pings=0, keepalive_margin_s=20))
        chat = Chat(h.engine, Session(conversation(tokens=35_000)))
        chat.conversation.ttl = "1h"
        await chat.send("first question")
        await h.sleep(30)
        chat.conversation.ttl = "5m"
        h.engine.settings.keepalive_pings = 3  # after this reply only (the clock is the test's)
        started = h.clock()
        await chat.send("a short follow-up")
        await chat.session.keepalive_task
        await h.engine.shutdown()
        await h.client.close()
        return h, chat.session, started

    h, session, started = run(scenario())
    pings = [r for r in session.totals.records if r.kind == Kind.KEEPALIVE]
    assert pings and pings[0].usage.read > 35_000
    assert 3000 < pings[0].at - started < 3600  # before the hour-long entry ran out
    said = [e.reason for e in h.of(ev.WarmSkipped)]
    assert any("tokens under them are judged before they expire" in r for r in said)
