"""A stopped turn is billed, recorded and shown truly, driven through the Chat as the window
drives it, against the simulator (a new user's finding: Esc 0.25 s after Enter in a 108k-token
conversation left no record, while the simulator billed the request and the next turn read 122
tokens more than the ledger predicted).

streaming.md, "Event types": ``message_start`` carries the usage of the prompt; the docs are
silent on what a request the client abandons is billed (docs/choices.md, "A stopped turn")."""

import asyncio

import pytest

from app.caching.costs import Kind, Stop
from app.conversation.blocks import ToolResultBlock
from app.engine import events as ev
from app.engine.engine import EngineSettings
from app.engine.session import Session
from app.engine.tools import CALCULATOR
from app.simulator.runner import SimulatorThread
from app.simulator.server import SimulatorConfig
from app.workspace.chat import Chat
from tests.helpers import Harness, conversation, run


def turns(session):
    return [r for r in session.totals.records if r.kind == Kind.TURN]


def billed(sim):
    """What the simulator billed so far (every response begun), summed over its models."""
    out = {}
    for counts in list(sim.simulator.bill.values()):
        for name, value in dict(counts).items():
            out[name] = out.get(name, 0) + value
    return out


async def stopped_right_after_enter(chat, text, after_s=0.05):
    """Send ``text`` and press Esc ``after_s`` later (before the response can begin)."""
    turn = chat.send(text)
    await asyncio.sleep(after_s)
    while chat.session.stream is None:  # a stop before the request is out sends nothing
        await asyncio.sleep(0.005)
    assert chat.stop()
    with pytest.raises(asyncio.CancelledError):
        await turn
    return turn


def test_a_turn_stopped_before_its_reply_began_is_recorded_as_billed_and_the_ledger_learns_it():
    """streaming.md ("message_start" holds the prompt's usage), prompt-caching.md (an entry is
    usable once the response begins). Before: no record, Paid unchanged, and the next turn read
    92 tokens more than the ledger predicted (3,100 against 3,008): the stopped request had
    written its question to the cache."""

    async def scenario(slow):
        h = Harness(slow.base_url)
        chat = Chat(h.engine, Session(conversation()))
        await chat.send("first question")
        before = billed(slow)
        stopped = await stopped_right_after_enter(chat, "a question stopped at once")
        charged = billed(slow)
        await asyncio.sleep(2.0)  # the user types the next question
        after = chat.send("and the next one")
        await after
        await h.client.close()
        return h, chat, stopped, after, before, charged

    with SimulatorThread(SimulatorConfig(time_scale=2.0)) as slow:  # 0.86 s to begin
        h, chat, stopped, after, before, charged = run(scenario(slow))
    first, record, third = turns(chat.session)
    # The stopped request is on the books with what the simulator billed for its prompt.
    assert stopped.records == [record] and record.stopped == Stop.BEFORE
    written = charged["cache_creation_input_tokens"] - before["cache_creation_input_tokens"]
    read = charged["cache_read_input_tokens"] - before["cache_read_input_tokens"]
    assert written > 0 and record.usage.write == written and record.usage.read == read
    assert record.cost.known and record.cost.paid_usd > 0 and not record.error
    assert record.after_id == chat.messages[-3].id  # under the question it never answered
    assert record.explanation.startswith("stopped by the user before the reply began")
    (said,) = h.of(ev.Cancelled)
    assert said.record is record and said.partial is None and record in said.totals.records
    assert ev.stop_sentence(said) == (
        f"Stopped before the reply began: the prompt was billed, ${record.cost.paid_usd:.4f}."
    )
    # The question stays; no reply was made up for it.
    assert [m.role for m in chat.messages] == ["user", "assistant", "user", "user", "assistant"]
    # The ledger learnt what the stopped request wrote: the next prediction is what was read.
    assert third.predicted.read == third.usage.read > first.usage.write
    assert third.predicted == third.usage


def test_a_stop_waits_at_most_stop_wait_s_then_says_the_cost_is_not_known():
    """A response that does not begin within ``stop_wait_s`` of the stop is abandoned: its
    record says the API may have billed the prompt and that the cost is not known."""

    async def scenario(base_url):
        h = Harness(base_url, EngineSettings(stop_wait_s=0.2))
        chat = Chat(h.engine, Session(conversation(tokens=20_000)))  # 3 s to the first token
        began = asyncio.get_running_loop().time()
        turn = await stopped_right_after_enter(chat, "a slow question")
        took = asyncio.get_running_loop().time() - began
        await h.client.close()
        return h, chat, turn, took

    with SimulatorThread(SimulatorConfig(time_scale=1.0)) as slow:
        h, chat, turn, took = run(scenario(slow.base_url))
    assert took < 1.0  # 0.05 s to the stop, then at most 0.2 s
    (record,) = turns(chat.session)
    assert record.stopped == Stop.UNKNOWN and not record.cost.known
    assert record.error == (
        "stopped before the reply began: the API may have billed the prompt; not known"
    )
    assert turn.stop_event.record is record
    assert ev.stop_sentence(turn.stop_event) == (
        "Stopped before the reply began: the API may have billed the prompt; not known."
    )


def test_a_reply_stopped_while_it_streams_is_kept_under_its_own_record():
    """The partial reply is named by its request's record (``reply_id``): before, the record
    named no reply, and the pane placed its usage by position."""

    async def scenario(base_url):
        h = Harness(base_url)
        chat = Chat(h.engine, Session(conversation()))
        turn = chat.send("tell me everything")
        while not h.of(ev.TextDelta):
            await asyncio.sleep(0.01)
        chat.stop()
        with pytest.raises(asyncio.CancelledError):
            await turn
        await h.client.close()
        return h, chat, turn

    with SimulatorThread(SimulatorConfig(time_scale=1.0)) as slow:
        h, chat, turn = run(scenario(slow.base_url))
    (record,) = turns(chat.session)
    partial = chat.messages[-1]
    assert partial.interrupted and record.reply_id == partial.id
    assert record.stopped == Stop.REPLY and record.usage.output > 0
    assert record.explanation == "stopped by the user: the prompt and the reply so far are billed"
    assert ev.stop_sentence(turn.stop_event) == (
        f"Stopped: the reply so far is kept (${record.cost.paid_usd:.4f} billed)."
    )


def test_stopping_in_a_tool_loop_records_every_request_and_keeps_the_conversation_sendable():
    """A stop while a tool call waits for the user's approval: the loop's request is on the
    books, the unanswered call gets a result saying so (handle-tool-calls.md: "Tool result
    blocks must immediately follow their corresponding tool use blocks"; the API answers "tool_use
    ids were found without tool_result blocks immediately after" otherwise; the simulator does
    not check this rule, so the test looks at the conversation), and the next message is sent.
    Before, the call was left unanswered."""

    async def scenario(base_url):
        h = Harness(base_url)
        session = Session(conversation(tools=[CALCULATOR.definition]))
        chat = Chat(h.engine, session)
        waiting = asyncio.Event()

        async def run_slowly(call):
            waiting.set()
            await asyncio.sleep(60)  # an approval nobody gives

        h.engine.toolbox.run = run_slowly
        turn = chat.send("use calculator: 6*7")
        await waiting.wait()
        chat.stop()
        with pytest.raises(asyncio.CancelledError):
            await turn
        after = chat.send("never mind, hello")
        await after
        await h.client.close()
        return h, chat, turn, after

    with SimulatorThread(SimulatorConfig(time_scale=0)) as sim:
        h, chat, turn, after = run(scenario(sim.base_url))
    first, second = turns(chat.session)
    assert turn.records == [first] and turn.stop_event.record is None
    assert ev.stop_sentence(turn.stop_event) == (
        "Stopped: no request was under way, so nothing more was sent."
    )
    results = chat.messages[2]
    assert results.is_tool_result and isinstance(results.blocks[0], ToolResultBlock)
    assert results.blocks[0].is_error and not second.error and after.records == [second]


def test_stopping_a_compaction_before_it_began_records_its_compaction_iteration():
    """compaction.md, "Understanding usage": a compacting request is billed its compaction
    iteration too, which the start of the response reports; stopped before that start, the
    request waits for it and records both."""
    from tests.test_compaction import long_conversation

    async def scenario(base_url):
        h = Harness(base_url)
        session = Session(long_conversation())
        session.compact_next = True
        chat = Chat(h.engine, session)
        turn = chat.regenerate()
        while chat.session.stream is None:  # the request is out
            await asyncio.sleep(0.005)
        chat.stop()
        with pytest.raises(asyncio.CancelledError):
            await turn
        await h.client.close()
        return chat

    with SimulatorThread(SimulatorConfig(time_scale=0.05)) as slow:
        chat = run(scenario(slow.base_url))
    (record,) = turns(chat.session)
    assert record.stopped == Stop.BEFORE
    assert record.compaction is not None and record.compaction.input_total > 60_000
    assert record.cost.paid_usd > 0.18  # 63,000 tokens written at $3.75 per million, at least


def test_a_stop_in_a_tool_loops_next_request_records_both_requests():
    """The calculator answered, the loop's second request is on its way: a stop waits for its
    response to begin and records it beside the first (both billed, both on the turn)."""

    async def scenario(base_url):
        h = Harness(base_url)
        chat = Chat(h.engine, Session(conversation(tools=[CALCULATOR.definition])))
        turn = chat.send("use calculator: 6*7")
        while not h.of(ev.ToolRan) or chat.session.stream is None:  # the next one is out
            await asyncio.sleep(0.005)
        chat.stop()
        with pytest.raises(asyncio.CancelledError):
            await turn
        await h.client.close()
        return chat, turn

    with SimulatorThread(SimulatorConfig(time_scale=2.0)) as slow:
        chat, turn = run(scenario(slow.base_url))
    first, second = turns(chat.session)
    assert turn.records == [first, second] and turn.stop_event.record is second
    assert not first.stopped and second.stopped == Stop.BEFORE
    assert second.cost.paid_usd > 0 and second.after_id == chat.messages[-1].id
    assert chat.messages[-1].is_tool_result  # the question the stopped request answered
