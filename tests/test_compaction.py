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
        from app.engine.compaction import compaction_edit

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
