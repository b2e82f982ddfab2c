"""Misses in true words (issue 35, point 5): one rule, in the explainer, for the window, Other
programs and ``cachescope-inspect --json``. A turn is a miss (red) only when it could have read
more than it did; a turn that read all it could carries no miss reason and no API diagnosis;
where the prefix diverged is named to the block and the byte (issue 36, point 12)."""

import asyncio

import pytest

from app.caching.builder import RequestBuilder
from app.caching.explainer import diagnosis_shown, explain, is_miss
from app.caching.ledger import CacheLedger, Usage
from app.conversation.blocks import TextBlock, ToolDefinition
from app.conversation.conversation import Conversation
from app.engine.session import Session as EngineSession
from tests.helpers import OPUS_47, SONNET_46, text_of
from tests.scripted import Session
from tests.test_engine import Harness
from tests.test_engine import conversation as engine_conversation

SCHEMA = {"type": "object", "properties": {"q": {"type": "string"}}}


def contract(model=SONNET_46, system=None):
    conv = Conversation(model=model)
    conv.set_system_text(system or text_of(3000, "system"))
    conv.tools = (ToolDefinition.create("lookup", "Look a word up " * 200, SCHEMA),)
    return conv


@pytest.fixture
def session(sim, client):
    return lambda conv=None, **kw: Session(client, sim.base_url, conv or contract(), **kw)


def test_a_turn_that_read_all_it_could_after_a_model_switch_is_not_a_miss():
    """Issue 35.5: "The model changed..." in red on a turn that read 19,508 of 19,508. Here the
    previous turn ran on Opus 4.7 (its tokenizer counts 30% more), the user switched back to
    Sonnet 4.6 and the prefix was warmed: the turn reads everything up to its breakpoint (on
    the system prompt), and the Opus count of that prefix is no measure of what it could read."""
    conv = contract()
    conv.add_user_text("first " + text_of(2000))
    conv.add("assistant", TextBlock("An answer."))
    conv.add_user_text("second")
    builder = RequestBuilder()
    conv.model = OPUS_47
    previous = builder.build(conv, "system_and_tools")
    conv.add("assistant", TextBlock("Another answer."))
    conv.add_user_text("next")
    conv.model = SONNET_46
    current = builder.build(conv, "system_and_tools")
    ledger = CacheLedger()
    ledger.record(current, Usage.from_plan(ledger.predict(current)))  # the warm-up's writes
    plan = ledger.predict(current)
    readable = current.flat.blocks[plan.effective[-1].index].cumulative
    assert plan.read_tokens == readable > 4000
    why = explain(current, Usage.from_plan(plan), plan, previous, ledger)
    assert not why.is_miss, why.sentence
    assert why.possible_tokens == readable and "all that could be read" in why.sentence


def test_a_model_switch_to_a_cold_model_is_still_a_miss(session):
    s = session(contract())
    s.ask("first " + text_of(200))
    s.ask("second")
    s.conversation.model = OPUS_47
    turn = s.ask("third")
    assert turn.actual.read == 0 and turn.explanation.cause == "model_switched"
    assert turn.explanation.is_miss


def test_a_pattern_that_places_no_breakpoint_says_so_and_is_not_a_miss(session):
    """Issue 35.5 and 35.2: "Tools only" in a conversation without tools sent turns that paid in
    full under "a reason Cachescope could not tell"; the app knows: the pattern places none."""
    s = session(contract())
    s.ask("first " + text_of(200))
    s.ask("second")
    s.conversation.tools = ()
    s.strategy = "tools_only"
    turn = s.ask("third")
    assert turn.actual.read == 0
    assert turn.explanation.cause == "no_breakpoints", turn.explanation.sentence
    assert "could not tell" not in turn.explanation.sentence
    assert "Tools only places none here" in turn.explanation.sentence
    assert not turn.explanation.is_miss


def test_a_moved_breakpoint_that_finds_nothing_written_before_it_is_not_a_miss(session):
    """A switch to a pattern whose breakpoint sits before everything written so far: nothing
    this request could reach was ever written, so it read all it could (the first write)."""
    s = session(contract())
    s.strategy = "last_user_message"
    s.ask("first " + text_of(200))
    s.ask("second")
    s.strategy = "tools_only"
    turn = s.ask("third")
    assert turn.actual.read == 0 and turn.actual.write > 0
    assert not turn.explanation.is_miss, turn.explanation.sentence
    assert "could not tell" not in turn.explanation.sentence


def test_every_turn_that_read_all_it_could_is_not_red_and_every_miss_read_less(session):
    """The rule both ways over a run of ordinary changes: a miss read less than its possible,
    and a turn that read its possible is no miss."""
    s = session(contract())
    s.ask("first " + text_of(200))
    s.ask("second")
    s.conversation.set_system_text(text_of(3000, "edited"))
    s.ask("third")
    s.wait(400)
    s.ask("fourth")
    s.conversation.model = OPUS_47
    s.ask("fifth")
    s.ask("sixth")
    for turn in s.turns:
        why = turn.explanation
        assert why.is_miss == (turn.actual.read < why.possible_tokens), why.sentence
    assert [t.explanation.is_miss for t in s.turns] == [False, False, True, True, True, False]


def test_the_apis_diagnosis_is_shown_only_when_something_was_missed(sim):
    """Issue 35.5: under a pattern that caches nothing, an edited system prompt gets the API's
    "system prompt changed" diagnosis, but the turn read all it could: no diagnosis shown."""

    async def scenario():
        h = Harness(sim.base_url)
        conv = engine_conversation()
        conv.pattern = "none"
        session = EngineSession(conv)
        conv.add_user_text("hello there")
        await h.engine.start_turn(session)
        conv.set_system_text(text_of(3000, "edited"))
        conv.add_user_text("and again")
        await h.engine.start_turn(session)
        await h.client.close()
        return session

    session = asyncio.run(scenario())
    second = [r for r in session.totals.records if r.kind == "turn"][-1]
    assert not is_miss(second.cause) and second.server_reason == ""


def test_diagnosis_shown_follows_the_miss_rule():
    said = "The API's diagnosis against the previous turn: the system prompt changed."
    assert diagnosis_shown(None, said) == ""
    conv = contract()
    conv.add_user_text("hi")
    built = RequestBuilder().build(conv, "smart")
    ledger = CacheLedger()
    plan = ledger.predict(built)
    first = explain(built, Usage.from_plan(plan), plan, None, ledger)
    assert diagnosis_shown(first, said) == ""


def test_where_the_system_prompt_diverged_is_named_to_the_byte(session):
    """Issue 36.12: `system.0` at byte 1,204: "10:41" became "10:42"."""
    head = "x" * 1193 + " It is 10:41 now. "
    s = session(contract(system=head + text_of(3000, "system")))
    s.ask("first " + text_of(200))
    s.ask("second")
    s.conversation.set_system_text(head.replace("10:41", "10:42") + text_of(3000, "system"))
    turn = s.ask("third")
    why = turn.explanation
    assert why.cause == "system_changed" and why.first_difference == "system.0"
    assert 'system.0, byte 1,204: "10:41" became "10:42"' in why.sentence, why.sentence


def test_which_tool_changed_and_its_mcp_server_are_named(session):
    """Issue 36.12: for tools, which tool changed, and for mcp__SERVER__TOOL which server."""
    tools = (
        ToolDefinition.create("lookup", "Look a word up " * 200, SCHEMA),
        ToolDefinition.create("mcp__github__search_code", "Search code " * 50, SCHEMA),
    )
    conv = contract()
    conv.tools = tools
    s = session(conv)
    s.ask("first " + text_of(200))
    s.ask("second")
    s.conversation.tools = (
        tools[0],
        ToolDefinition.create("mcp__github__search_code", "Search the code " * 50, SCHEMA),
    )
    turn = s.ask("third")
    why = turn.explanation
    assert why.cause == "tools_changed" and why.is_miss
    assert "mcp__github__search_code (MCP server github) was edited" in why.sentence
    s.conversation.tools = (
        *s.conversation.tools,
        ToolDefinition.create("mcp__slack__post", "Post", SCHEMA),
    )
    added = s.ask("fourth").explanation
    assert "mcp__slack__post (MCP server slack) was added" in added.sentence


def test_an_edited_message_names_the_first_differing_byte(session):
    s = session(contract())
    s.ask("The meeting is on Tuesday. " + text_of(200))
    s.ask("second")
    old = s.conversation.messages[0]
    edited = TextBlock(old.blocks[0].text.replace("Tuesday", "Thursday"))
    s.conversation.replace_message(0, type(old)("user", (edited,), old.id))
    why = s.ask("third").explanation
    assert why.cause == "message_edited"
    assert 'messages.0.content.0, byte 19: "Tuesday" became "Thursday"' in why.sentence


def test_tool_changes_and_byte_offsets_are_named_exactly():
    from app.caching.divergence import byte_difference, mcp_server, tool_change

    def tools(*names, edited=""):
        return {
            "tools": [{"name": n, "description": n + (edited if n == "b" else "")} for n in names]
        }

    assert tool_change(tools("a", "b"), tools("a", "b")) is None
    assert tool_change(tools("a", "b"), tools("a", "b", edited="!")).words() == "b was edited"
    assert tool_change(tools("a", "b"), tools("b", "a")).words() == "b was moved"
    assert tool_change(tools("a", "b"), tools("a")).words() == "b was removed"
    assert tool_change(tools("a"), tools("a", "mcp__fs__read")).words() == (
        "mcp__fs__read (MCP server fs) was added"
    )
    assert mcp_server("mcp__my_server__do__it") == "my_server" and mcp_server("mcp__x") is None
    # The offset counts bytes (UTF-8), not characters; control characters are escaped.
    old = {"system": [{"type": "text", "text": "Prix: 10 € à 10:41\n"}]}
    new = {"system": [{"type": "text", "text": "Prix: 10 € à 10:42\x1b[2J\n"}]}
    found = byte_difference(old, new, "system.0")
    assert found.byte == len("Prix: 10 € à 10:4".encode())
    assert (found.was, found.became) == ("10:41", "10:42\\x1b[2J")
