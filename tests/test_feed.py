"""Engine events carry what happened (usage with its request, the totals after each request), the
feed hands a widget only the conversation on screen, and the warm indicator's state comes from one
model fed by those events."""

import asyncio

from app.engine import events as ev
from app.engine.engine import Engine, EngineSettings
from app.engine.feed import SessionFeed
from app.engine.session import Session
from app.workspace.chat import Chat
from tests.helpers import Harness, conversation


def test_events_carry_the_request_and_a_totals_snapshot_no_listener_reads_the_session(sim):
    async def scenario():
        h = Harness(sim.base_url, EngineSettings(warming=False))
        session = Session(conversation())
        session.conversation.add_user_text("first")
        await h.engine.start_turn(session)
        session.conversation.add_user_text("second")
        await h.engine.start_turn(session)
        await h.client.close()
        return h, session

    h, session = run(scenario())
    first, second = h.of(ev.Finished)
    assert len(first.totals.records) == 1 and len(second.totals.records) == 2
    assert first.totals.records[0] is session.totals.records[0]
    assert second.totals.paid_usd == session.totals.paid_usd > first.totals.paid_usd
    used = h.of(ev.UsageReported)
    assert [u.built.body["messages"][-1]["content"][0]["text"] for u in used] == [
        "first",
        "second",
    ]
    assert used[1].built is session.last_turn


class Events:
    def __init__(self):
        self.listeners = []

    def subscribe(self, listener):
        self.listeners.append(listener)

    def emit(self, event):
        for listener in self.listeners:
            listener(event)


def test_the_feed_passes_on_only_the_conversation_it_follows():
    engine = Events()
    feed = SessionFeed(engine, "c_one")
    heard = []
    feed.subscribe(heard.append)
    engine.emit(ev.TextDelta("c_one", "a"))
    engine.emit(ev.TextDelta("c_two", "late warm-up of a conversation left behind"))
    feed.follow("c_two")
    engine.emit(ev.TextDelta("c_one", "b"))
    engine.emit(ev.TextDelta("c_two", "c"))
    assert [e.text for e in heard] == ["a", "c"]


def test_the_warm_indicator_comes_from_the_chats_outlook_and_follows_the_ledger(sim):
    async def scenario():
        h = Harness(sim.base_url, EngineSettings(warming=True))
        chat = Chat(h.engine, Session(conversation(tokens=3000)))
        shown = []
        chat.subscribe(lambda change: shown.append(chat.outlook.indicator.state))
        warm = await chat.set_draft("what does the system prompt say", now=True)  # typed
        assert warm is not None
        warm = chat.outlook.indicator
        h.clock.offset += 3600  # everything expired: the chat's expiry timer looks again
        chat.changed(set(), "an entry expired")
        after_expiry = chat.outlook.indicator
        chat.close()
        await h.client.close()
        return shown, warm, after_expiry, h

    shown, warm, after_expiry, h = run(scenario())
    assert "warming" in shown and shown[-1] == "idle", shown
    text = warm.text(h.clock() - 3600)
    assert warm.state == "warm" and text.startswith("warm, ") and "left; warm-up: " in text
    assert after_expiry.state == "idle"


def test_a_refused_warm_up_says_why_until_something_is_warm():
    engine = Engine(None, EngineSettings())
    chat = Chat(engine, Session(conversation(tokens=3000)))
    engine.emit(ev.WarmSkipped(chat.id, "the prefix is under the model's minimum"))
    indicator = chat.outlook.indicator
    assert indicator.state == "not warmed" and "minimum" in indicator.text(0)
    engine.emit(ev.WarmSkipped(chat.id, "already warm", quiet=True))  # nothing new to say
    assert chat.outlook.indicator.state == "idle"  # quiet, and nothing is cached


def run(coro):
    return asyncio.run(coro)
