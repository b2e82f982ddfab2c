"""What would it have cost, on conversations with turns the user stopped (without Qt): each
stopped turn is matched with what the history holds of it, what was paid covers the requests
the replay sends and no others, and the notes say what was done (app/replay/saved.py)."""

import asyncio

import pytest

from app.caching.costs import Kind
from app.engine import events as ev
from app.engine.session import Session
from app.history.sessions import records_of
from app.replay.billed import conversation_segment
from app.replay.saved import saved_session
from app.simulator.runner import SimulatorThread
from app.simulator.server import SimulatorConfig
from app.workspace.chat import Chat
from tests.helpers import Harness, conversation, run


def stop_at_first(h, chat, kind) -> None:
    """Stop the turn the moment its first event of ``kind`` arrives, once."""

    def listener(event):
        if isinstance(event, kind) and chat.busy():
            h.engine.unsubscribe(listener)
            chat.stop()

    h.engine.subscribe(listener)


async def finish(turn) -> None:
    try:
        await turn
    except asyncio.CancelledError:
        pass


def thinking_chat(h):
    conv = conversation(model="claude-sonnet-5", tokens=3000)
    conv.thinking = {"type": "adaptive", "display": "summarized"}
    return Chat(h.engine, Session(conv))


@pytest.fixture(scope="module")
def slow():
    """A simulator at half the published speed: its thinking streams for about 0.2 s before the
    answer's first word, time enough to stop a turn while it thinks."""
    with SimulatorThread(SimulatorConfig(time_scale=0.5)) as sim:
        yield sim


def test_a_regenerate_stopped_while_it_thought_is_left_out_of_what_was_paid(slow):
    """Ctrl+R, then Esc while the new answer is thought: the API billed the request, the
    conversation keeps no message of it (the earlier answer is a branch, nothing replaced it),
    so the replay has no such request. Counting it as paid made every policy look cheaper by
    its cost; now it is left out, and the notes say how much."""

    async def scenario():
        h = Harness(slow.base_url)
        chat = thinking_chat(h)
        await chat.send("What is in chapter one?")
        await chat.send("And chapter two?")
        stop_at_first(h, chat, ev.ThinkingDelta)
        await finish(chat.regenerate())
        await chat.regenerate()  # answered this time
        await h.client.close()
        return chat

    chat = run(scenario())
    records = records_of(chat.session)
    turns = [r for r in chat.session.totals.records if r.kind == Kind.TURN]
    stopped = [r for r in turns if not r.reply_id]
    assert len(turns) == 4 and len(stopped) == 1 and stopped[0].cost.paid_usd > 0
    saved = saved_session(chat.conversation, records)
    assert saved.trace.sends == 3 and None not in saved.turn_records
    assert saved.paid_usd == pytest.approx(
        sum(r.cost.paid_usd for r in chat.session.totals.records) - stopped[0].cost.paid_usd
    )
    assert any(
        n.startswith("1 stopped request(s) that left no message ($")
        and n.endswith("are left out of what was paid: the replay has no such request")
        for n in saved.notes
    ), saved.notes
    segment, _ = conversation_segment(chat.conversation, records)
    assert segment.problem == "" and len(segment.calls) == 3


def test_stopped_turns_are_matched_by_time_in_a_history_older_than_reply_ids(slow):
    """A history written before records named their reply: every record is matched by when it
    was sent, so a turn stopped before the API answered (no record) does not take the next
    turn's record, and a turn stopped while it thought (a record, no reply) keeps its own."""

    async def scenario():
        h = Harness(slow.base_url)
        chat = thinking_chat(h)
        await chat.send("What is in chapter one?")
        turn = chat.send("Tell me everything.")
        chat.stop()  # before the API answered: no record
        await finish(turn)
        stop_at_first(h, chat, ev.ThinkingDelta)
        await finish(chat.send("Only chapter two, then."))  # a record, no reply
        await chat.send("Chapter three?")
        await h.client.close()
        return chat

    chat = run(scenario())
    records = records_of(chat.session)
    matched = saved_session(chat.conversation, records).turn_records
    older = [{k: v for k, v in r.items() if k != "reply_id"} for r in records]
    again = saved_session(chat.conversation, older)
    assert len(matched) == 3 and None not in matched
    assert [r["id"] for r in again.turn_records] == [r["id"] for r in matched]
    assert conversation_segment(chat.conversation, older)[0].problem == ""


def test_a_message_stopped_before_any_answer_with_nothing_after_it_is_left_out(sim):
    """The last message was stopped at once: nothing of it reached the history's records, so
    the replay sends the turns before it, compared one for one, and says it left it out."""

    async def scenario():
        h = Harness(sim.base_url)
        chat = Chat(h.engine, Session(conversation(tokens=3000)))
        await chat.send("What is in chapter one?")
        await chat.send("And chapter two?")
        turn = chat.send("And everything else?")
        chat.stop()
        await finish(turn)
        await h.client.close()
        return chat

    chat = run(scenario())
    records = records_of(chat.session)
    segment, notes = conversation_segment(chat.conversation, records)
    assert chat.conversation.messages[-1].text == "And everything else?"
    assert segment.problem == "" and segment.trace.sends == 2 and len(segment.calls) == 2
    assert any("1 message(s) stopped before the API answered, with nothing" in n for n in notes)
