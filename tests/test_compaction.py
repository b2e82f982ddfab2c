"""Compaction in the app (build-with-claude/compaction.md; issue 39, "And in the app"): a turn the
user asked to compact sends the compact_20260112 edit, keeps the compaction block and sends it
back, bills every iteration, and the app's prediction of the next turn is what the simulator
reads. Qt-free, against the simulator."""

import pytest

from app.caching.costs import Kind, cost_of
from app.caching.ledger import Usage
from app.engine.session import Session
from app.facts.context_management import COMPACT_BETA
from app.facts.rules import plan_request
from app.facts.tokens import text_tokens
from tests.helpers import SONNET_46, Harness, conversation, run, text_of


def long_conversation(tokens: int = 60_000):
    """A conversation on a model compaction.md lists: a system prompt, a long first message."""
    conv = conversation(SONNET_46, tokens=3000)
    conv.add_user_text(text_of(tokens, "the report") + "\n\nWhat does it say?")
    return conv


async def compacted_conversation(h: Harness, pattern: str = "smart"):
    """Two turns, the second asked to compact; returns the session."""
    session = Session(long_conversation())
    session.conversation.pattern = pattern
    await h.engine.start_turn(session)
    session.conversation.add_user_text("And what follows from it?")
    session.compact_next = True
    await h.engine.start_turn(session)
    return session


def turns(session):
    return [r for r in session.totals.records if r.kind == Kind.TURN]


def test_a_compacting_turn_keeps_the_block_and_bills_every_iteration(sim):
    """compaction.md, "How compaction works" and "Understanding usage": the reply begins with a
    ``compaction`` block, the top-level usage counts the message iteration alone, and "to
    calculate total tokens consumed and billed for a request, sum across all entries in the
    `usage.iterations` array". Before, the app read the top-level usage only: the compaction
    iteration (the whole conversation read again) was missing from the bill."""

    async def scenario():
        h = Harness(sim.base_url)
        session = await compacted_conversation(h)
        await h.client.close()
        return h, session

    h, session = run(scenario())
    first, second = turns(session)
    reply = session.conversation.messages[-1]
    assert reply.blocks[0].kind == "compaction" and reply.blocks[0].data["content"]
    assert len(session.conversation.messages) == 4  # everything stays on screen
    assert second.compaction is not None
    assert second.compaction.input_total > 60_000  # it read the whole conversation
    assert second.compaction.read == first.usage.read + first.usage.write  # from the cache
    assert second.usage.input_total < 4000  # the reply read the system prompt and the summary
    model = h.engine.model_of(session.conversation)
    billed = cost_of(second.usage, model, second.at).paid_usd
    billed += cost_of(second.compaction, model, second.at).paid_usd
    assert abs(second.cost.paid_usd - billed) < 1e-9
    assert second.cost.paid_usd > cost_of(second.usage, model, second.at).paid_usd
    assert second.cause == "compacted" and "summary" in second.explanation
    assert not session.compact_next  # once


@pytest.mark.parametrize("pattern", ["smart", "automatic", "last_2_user_messages"])
def test_after_a_compaction_requests_send_what_the_api_keeps_and_the_prediction_holds(sim, pattern):
    """compaction.md: "the API automatically drops all content blocks prior to the `compaction`
    block"; the SDK (2.17) refuses a compaction block that is not "the first block of the
    conversation". The next request begins with the compaction block, carries the beta, and the
    app's prediction of it (read, written, paid in full) is what the simulator then reports,
    under a pattern that marks the system prompt, the API's automatic one (the compaction's
    message iteration writes at the summary) and one that marks user messages only."""

    async def scenario():
        h = Harness(sim.base_url)
        session = await compacted_conversation(h, pattern)
        session.conversation.add_user_text("Go on, in more detail please.")
        built = h.engine.build(session)
        predicted = Usage.from_plan(h.engine.ledger.predict(built))
        await h.engine.start_turn(session)
        await h.client.close()
        return session, built, predicted

    session, built, predicted = run(scenario())
    first_sent = built.body["messages"][0]
    assert first_sent["role"] == "assistant" and first_sent["content"][0]["type"] == "compaction"
    assert len(built.body["messages"]) == 2 and COMPACT_BETA in built.betas
    assert built.numbers == (3, 4)  # the conversation's messages 4 and 5
    third = turns(session)[-1]
    assert (third.usage.read, third.usage.write, third.usage.uncached) == (
        predicted.read,
        predicted.write,
        predicted.uncached,
    )
    if pattern == "automatic":  # the summary was written by the compaction's reply
        assert third.usage.read > 3000
    assert third.compaction is None and third.cause in ("none", "")


def test_the_prediction_of_a_compacting_turn_is_what_its_compaction_iteration_reads(sim):
    """The price asked before is the compaction iteration's prompt as the cache holds it: the
    app's plan of the request as sent equals the iteration the simulator bills."""

    async def scenario():
        h = Harness(sim.base_url)
        session = Session(long_conversation())
        await h.engine.start_turn(session)
        session.conversation.add_user_text("And what follows from it?")
        session.compact_next = True
        from app.engine.context_management import compaction_edit

        built = h.engine.build(session, edits=(compaction_edit(False),))
        plan = h.engine.ledger.predict(built)
        await h.engine.start_turn(session)
        await h.client.close()
        return session, built, plan

    session, built, plan = run(scenario())
    compaction = turns(session)[-1].compaction
    assert (compaction.read, compaction.write, compaction.uncached) == (
        plan.read_tokens,
        plan.write_tokens,
        plan.uncached_tokens,
    )
    cold = plan_request(built.flat, list(built.breakpoints), 1024, lambda _: False)
    assert cold.read_tokens == 0 < plan.read_tokens


def test_a_compacting_turns_record_keeps_its_compaction_iteration_in_the_history(sim):
    """The history stores records as dicts: a compacted turn's compaction iteration (and so
    its cost and what it wrote) must come back when the conversation is opened again."""
    from app.caching.costs import RequestRecord

    async def scenario():
        h = Harness(sim.base_url)
        session = await compacted_conversation(h)
        await h.client.close()
        return session

    record = turns(run(scenario()))[-1]
    again = RequestRecord.from_dict(record.to_dict())
    assert again.compaction == record.compaction and again.billed == record.billed
    assert again.billed.input_total == record.usage.input_total + record.compaction.input_total


def test_compaction_is_offered_near_the_context_window_priced_before_and_asked(sim):
    """Issue 39, "And in the app": a conversation nearing its model's context window (80 %:
    ``compaction_offer_share``) offers the API's compaction, priced before it is made: what its
    compaction iteration reads (from the cache where it is cached) and writes, what the turn
    after it rewrites and what every later turn saves. Asked, the next message compacts, and
    what the compaction iteration is billed for reading is what the offer said."""
    from app.workspace.chat import Chat

    async def scenario():
        h = Harness(sim.base_url)
        session = Session(long_conversation(810_000))
        session.conversation.ttl = "5m"
        chat = Chat(h.engine, session)
        await chat.send("What does it say?")
        chat.changed(set(), "looked again")
        offer = chat.compaction.offer()
        chat.compaction.ask()
        turn = chat.send("And what follows from it?")
        await turn
        await h.client.close()
        chat.close()
        return h, chat, offer, turn

    h, chat, offer, turn = run(scenario())
    model = h.engine.model_of(chat.conversation)
    assert offer is not None and offer.share >= 0.8 and offer.tokens > 810_000
    assert offer.read > 810_000 and offer.summary == 3_500  # warm: read from the cache
    expected = cost_of(Usage(read=offer.read, write_5m=offer.written, output=3_500), model)
    assert abs(offer.compaction_usd - expected.paid_usd) < 1e-9
    assert offer.saved_per_turn_usd > 0.2  # 0.81M tokens fewer read, at $0.30 per million
    words = offer.question() + " " + offer.sentence()
    assert (
        "81%" in words and "Claude Sonnet 4.6" in words and f"${offer.compaction_usd:.4f}" in words
    )
    (record,) = turn.records
    billed = record.compaction
    assert billed.read == offer.read  # as priced; the write is the message, typed after it
    assert 0 < billed.write - offer.written <= text_tokens("And what follows from it?")
    assert not chat.compaction.asked and chat.messages[-1].blocks[0].kind == "compaction"


def test_compaction_is_offered_only_where_compaction_md_says_and_from_the_share_on(sim):
    """ "Supported models" lists nine models: the 5.5 generation and Haiku are never offered
    it, and asking is refused with the reason; under the offer's share nothing is offered, but
    it can still be asked for (from the trigger's minimum, 50,000 tokens, on)."""
    from app.workspace.chat import Chat, ChatRefusal

    h = Harness(sim.base_url)
    small = Chat(h.engine, Session(long_conversation(60_000)))
    small.changed(set(), "looked")
    assert small.compaction.offer() is None and small.compaction.price().tokens > 60_000
    tiny = Chat(h.engine, Session(long_conversation(20_000)))
    tiny.changed(set(), "looked")
    with pytest.raises(ChatRefusal, match="50,000"):
        tiny.compaction.ask()
    for model in ("claude-opus-5-5", "claude-haiku-4-5-20251001"):
        conv = long_conversation(170_000)
        conv.model = model
        other = Chat(h.engine, Session(conv))
        other.changed(set(), "looked")
        assert other.compaction.offer() is None
        with pytest.raises(ChatRefusal, match="does not take the API's compaction"):
            other.compaction.ask()
        assert not other.compaction.asked


def test_a_compacting_turn_stopped_mid_reply_is_billed_its_compaction_too():
    """A reply stopped after it began is billed its prompt and what it generated; a compacting
    one also its compaction iteration (compaction.md, "Understanding usage"), which the start of
    the response reports. Before, the stopped turn's record left it out."""
    import asyncio

    from app.engine import events as ev
    from app.simulator.runner import SimulatorThread
    from app.simulator.server import SimulatorConfig

    async def scenario(base_url):
        h = Harness(base_url)
        session = Session(long_conversation())
        session.compact_next = True
        task = h.engine.start_turn(session)
        while not h.of(ev.TextDelta):
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await h.client.close()
        return session

    with SimulatorThread(SimulatorConfig(time_scale=0.05)) as slow:
        session = run(scenario(slow.base_url))
    (record,) = turns(session)
    assert record.explanation.startswith("stopped by the user")
    assert record.compaction is not None and record.compaction.input_total > 60_000
    assert record.cost.paid_usd > 0.18  # 63,000 tokens written at $3.75 per million, at least


def test_a_compacting_turn_teaches_the_token_count_of_the_prompt_it_compacted(sim):
    """A response's total input is the service's count of its request, learnt by the prefix's
    fingerprint (app/caching/calibration.py). A compacting response's top-level usage counts
    the message iteration (the summary), not the request as sent: learnt for the request's
    fingerprint (3,041 tokens for a 63,138-token prefix), it made every later build of that
    prefix (a regenerated reply, a branch) count the last message as nothing (63,127). The
    count of the request as sent is the compaction iteration's."""

    async def scenario():
        h = Harness(sim.base_url)
        session = await compacted_conversation(h)
        await h.client.close()
        return h, session

    h, session = run(scenario())
    compaction = turns(session)[-1].compaction
    session.conversation.truncate(3)  # the reply that compacted, gone (as a regenerate forks)
    again = h.engine.build(session)
    assert again.flat.total_tokens == compaction.input_total
