"""Every number true, nothing spent unasked (issue 35), without Qt: the draft line and the warm
indicator come from one state that follows every change that moves them, and a warm-up writes
only what the request Send would send at that moment reads in full."""

import asyncio
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.caching.costs import Kind, cost_of
from app.conversation.blocks import ToolDefinition
from app.conversation.documents import document_from_text
from app.engine import events as ev
from app.engine.engine import EngineSettings
from app.engine.session import Session
from app.workspace import changes as ch
from app.workspace.chat import Chat
from tests.helpers import SONNET_46, Harness, conversation, run, text_of

PATTERNS = (
    "none",
    "system_and_tools",
    "tools_only",
    "last_user_message",
    "last_2_user_messages",
    "last_3_user_messages",
    "automatic",
    "smart",
)


def warm_records(chat):
    return [r for r in chat.session.totals.records if r.kind == Kind.WARM]


def test_right_after_a_document_is_warmed_the_line_prices_what_the_send_reads(sim):
    """Issue 35.3: right after a PDF was attached and warmed the line said "nothing cached:
    about $0.2450" while the indicator said warm, and the send cost $0.0206. Now the line and
    the indicator come from one outlook that the warm-up landing moves, and the price it gives
    is what the send is billed for its input, to the cent and below."""

    async def scenario():
        h = Harness(sim.base_url, EngineSettings(warming=True))
        chat = Chat(h.engine, Session(conversation(tokens=1500)))
        seen = []
        chat.subscribe(seen.append)
        paper = document_from_text(text_of(30_000, "contract"), "contract.txt")
        warm = await chat.set_draft("What does clause 7 say?", (paper,), now=True)
        assert warm is not None and warm.kind == Kind.WARM
        price, indicator = chat.outlook.price, chat.outlook.indicator
        turn = chat.send("What does clause 7 say?", (paper,))
        await turn
        chat.close()
        await h.client.close()
        return seen, price, indicator, turn

    seen, price, indicator, turn = run(scenario())
    assert any(c.cause == "a warm request ended" and c.touches(ch.OUTLOOK) for c in seen)
    assert indicator.state == "warm" and indicator.tokens == price.read
    assert price.read >= 30_000 and price.usd < price.cold_usd / 5
    (record,) = turn.records
    # Adaptive: with the document read from cache, the few tokens written go for an hour; sent
    # cold, everything would be written, for five minutes: "cold" prices that, and says so.
    assert record.usage.write_1h == record.usage.write
    assert price.cold_ttl == "5m"
    model = turn_model(turn)
    cold = cost_of(replace(record.usage, read=0, write_1h=0, write_5m=record.usage.input_total -
                           record.usage.uncached, output=0, thinking=0), model)  # fmt: skip
    assert abs(cold.paid_usd - price.cold_usd) < 1e-9
    assert record.usage.read == price.read
    billed_input = cost_of(replace(record.usage, output=0, thinking=0), turn_model(turn))
    assert abs(billed_input.paid_usd - price.usd) < 1e-9


def turn_model(turn):
    from app.facts.catalogue import default_catalogue

    return default_catalogue().require(turn.records[0].model)


def test_the_outlook_follows_an_entry_expiring_without_anything_else_happening(sim):
    """The line and the indicator change when the entry the send would read expires: the chat
    looks again just after the expiry (no one-second pull from the window)."""

    async def scenario():
        h = Harness(sim.base_url, EngineSettings(warming=True))
        chat = Chat(h.engine, Session(conversation(tokens=3000)))
        await chat.set_draft("a question", now=True)
        warm = chat.outlook
        expiry = warm.indicator.expires_at
        await h.sleep(expiry - h.clock() - 0.2)  # 0.2 s before the entry expires
        chat.changed(set(), "looked again")  # re-arms the expiry watch from the clock now
        await asyncio.sleep(0.6)  # the entry expires; nobody does anything
        after = chat.outlook
        chat.close()
        await h.client.close()
        return warm, after

    warm, after = run(scenario())
    assert warm.indicator.state == "warm" and warm.price.read >= 3000
    assert after.indicator.state == "idle" and after.price.read == 0 and not after.entries


def test_a_pattern_that_reads_nothing_gets_no_warm_up_and_the_indicator_says_why(sim):
    """Issue 35.2: "Tools only" in a conversation without tools: a warm-up wrote 19,705 tokens
    ($0.0246) that the send under this pattern could not read, and the indicator said warm."""

    async def scenario():
        h = Harness(sim.base_url, EngineSettings(warming=True))
        chat = Chat(h.engine, Session(conversation(tokens=19_000)))
        await chat.send("first question")
        chat.apply(pattern="tools_only")
        task = await chat.set_draft("and another", now=True)
        skipped = [e.reason for e in h.of(ev.WarmSkipped)]
        indicator = chat.outlook.indicator
        chat.close()
        await h.client.close()
        return chat, task, skipped, indicator

    chat, task, skipped, indicator = run(scenario())
    assert task is None and not warm_records(chat)
    assert "places no breakpoint" in skipped[-1]
    assert indicator.state == "not warmed" and "places no breakpoint" in indicator.note


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    pattern=st.sampled_from(PATTERNS),
    ttl=st.sampled_from(("5m", "1h", "adaptive")),
    system=st.sampled_from((0, 2500)),
    tools=st.booleans(),
    turns=st.integers(0, 2),
    attach=st.sampled_from((0, 1, 25)),
    edit=st.booleans(),
    branch=st.booleans(),
)
def test_a_warm_up_writes_only_what_the_send_at_that_moment_reads_in_full(
    sim, pattern, ttl, system, tools, turns, attach, edit, branch
):
    """Issue 35.2's invariant, over patterns x TTLs x attachments x tools x edits x branches:
    whenever a decision sends a warm-up, the request Send sends right after reads all of the
    prefix the warm-up wrote (the simulator says what it read); otherwise no warm-up goes."""

    async def scenario():
        h = Harness(sim.base_url, EngineSettings(warming=True, strategy=pattern))
        conv = conversation(tokens=system) if system else conversation(tokens=0)
        if not system:
            conv.system = ()
        if tools:
            conv.tools = (
                ToolDefinition.create("lookup", "Look a word up. " * 300, {"type": "object"}),
            )
        conv.pattern, conv.ttl = pattern, ttl
        chat = Chat(h.engine, Session(conv))
        for i in range(turns):
            await chat.send(f"question {i} " + "words " * 200)
        if branch and turns:
            await chat.regenerate()
            chat.switch_branch(len(chat.conversation.messages) - 1, -1)
        draft = tuple(
            document_from_text(text_of(1200, f"file {k}"), f"f{k}.txt") for k in range(attach)
        )
        editing = edit and turns > 0
        if editing:
            chat.edit(0)
            draft = chat.draft.attachments + draft
        text = "the question I finally ask"
        before = len(warm_records(chat))
        await chat.set_draft(text, draft, now=True)
        for pending in list(chat.session.warm_tasks.values()):
            await pending
        warmed = warm_records(chat)[before:]
        turn = chat.send(text, draft)
        await turn
        chat.close()
        await h.client.close()
        return chat, warmed, turn

    chat, warmed, turn = run(scenario())
    read = turn.records[0].usage.read
    for record in warmed:
        if record.error:
            continue
        written_to = record.usage.read + record.usage.write
        assert read >= written_to, (pattern, ttl, record.explanation, read, written_to)


def test_a_new_conversation_is_priced_on_its_model_and_its_own_draft():
    """The outlook of a new conversation with only a draft: priced, nothing cached, nothing
    spent (no client: a decision is only a look)."""
    from app.conversation.conversation import Conversation
    from app.engine.engine import Engine

    engine = Engine(None, EngineSettings(warming=True))
    chat = Chat(engine, Session(Conversation(model=SONNET_46)))
    assert chat.outlook.price is None
    chat.draft = replace(chat.draft, text="hello " * 500)
    chat.changed(set(), "typed")
    price = chat.outlook.price
    assert price.tokens > 500 and price.read == 0 and price.usd == price.cold_usd


def test_branches_count_the_document_all_of_them_share(sim):
    """Issue 35.8: "All share 0 tokens up to here" for two branches under one 35k-token
    document: the shared prefix is what every branch's next request has byte for byte, the
    document included, not only what precedes the fork's message."""

    async def scenario():
        h = Harness(sim.base_url)
        conv = conversation(tokens=0)
        conv.system = ()
        chat = Chat(h.engine, Session(conv))
        paper = document_from_text(text_of(35_000, "report"), "report.txt")
        await chat.send("What does it conclude?", (paper,))
        draft = chat.edit(0)
        await chat.send("What does it recommend?", draft.attachments)
        found = chat.branches_here()
        chat.close()
        await h.client.close()
        return found

    found = run(scenario())
    ((position, count, view),) = found.values()
    assert (position, count) == (2, 2) and view.shared_tokens >= 35_000


def test_a_draft_over_the_context_window_is_not_warmed_and_says_so(sim):
    """Issue 35.9: an over-context draft was refused a warm-up as "spending cap reached"; it is
    over the model's context window, and Send would be refused."""
    from tests.helpers import HAIKU_45

    async def scenario():
        h = Harness(sim.base_url, EngineSettings(warming=True))
        chat = Chat(h.engine, Session(conversation(model=HAIKU_45, tokens=5000)))
        book = document_from_text(text_of(230_000, "a long book"), "book.txt")
        task = await chat.set_draft("Summarise it", (book,), now=True)
        reasons = [e.reason for e in h.of(ev.WarmSkipped)]
        chat.close()
        await h.client.close()
        return task, reasons, chat.outlook.indicator

    task, reasons, indicator = run(scenario())
    assert task is None and "context window" in reasons[-1] and "cap" not in reasons[-1]
    assert "Claude Haiku 4.5's context window" in indicator.note
