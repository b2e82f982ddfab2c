"""The ledger predicts the simulator's usage exactly, and each kind of miss is explained."""

import asyncio
import io

import anthropic
import pytest
from PIL import Image

from app.caching.builder import RequestBuilder
from app.caching.explainer import explain
from app.caching.ledger import CacheLedger, Usage
from app.caching.strategies import STRATEGIES, CacheSettings
from app.conversation.blocks import ImageBlock, TextBlock, ToolDefinition
from app.conversation.conversation import Conversation
from app.conversation.images import lock_image
from app.simulator.runner import SimulatorThread
from app.simulator.server import SimulatorConfig
from tests.helpers import HAIKU_45, OPUS_47, SONNET_46, raw_post, text_of
from tests.scripted import Session

STRATEGY_NAMES = list(STRATEGIES)  # every strategy the selector offers


def photo(color, size=(640, 480)):
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return lock_image(buf.getvalue())


def conversation(model=SONNET_46, system_tokens=3000):
    conv = Conversation(model=model)
    conv.set_system_text(text_of(system_tokens, "system"))
    conv.tools = (
        ToolDefinition.create(
            "lookup",
            "Look a word up " * 200,
            {"type": "object", "properties": {"w": {"type": "string"}}},
        ),
    )
    return conv


@pytest.fixture
def session(sim, client):
    return lambda conv=None, **kw: Session(client, sim.base_url, conv or conversation(), **kw)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_prediction_matches_the_simulator_exactly(session, strategy):
    s = session(strategy=strategy)
    s.ask("first question " + text_of(1500))
    s.ask("a follow-up", photo("red"))
    s.wait(120)
    s.ask("and another " + text_of(400))
    s.wait(400)  # the 5-minute entries expire
    s.ask("after a pause")
    s.ask("quick one")
    for turn in s.turns:
        assert turn.predicted == turn.actual, turn.explanation.sentence


def test_prediction_matches_with_one_hour_and_adaptive_ttl(session):
    s = session(settings=CacheSettings(ttl="adaptive"))
    s.ask("one")
    s.wait(420)
    s.ask("two")  # the 7-minute gap switches the next breakpoints to 1h
    s.wait(1200)
    turn = s.ask("three")
    assert all(t.predicted == t.actual for t in s.turns)
    assert turn.actual.read > 0
    assert {b.ttl for b in s.turns[-1].built.breakpoints} == {"1h"}


def test_second_turn_reads_what_the_first_wrote_and_says_so(session):
    s = session()
    first = s.ask("hello")
    second = s.ask("again")
    assert first.actual.write > 0 and first.explanation.cause == "none"
    assert second.actual.read == first.actual.write + first.actual.read
    assert second.explanation.cause == "none"


def miss_after(s, change):
    s.ask("first " + text_of(200))
    s.ask("second")
    change(s)
    return s.ask("third")


def test_edited_system_prompt_is_explained(session):
    turn = miss_after(session(), lambda s: s.conversation.set_system_text(text_of(3000, "edited")))
    assert turn.explanation.cause == "system_changed"
    assert turn.explanation.first_difference == "system.0"
    assert "system prompt was edited" in turn.explanation.sentence
    # The tools are unchanged but nothing was written at their end (writes happen only at
    # breakpoints, and smart marks the end of the system prompt), so nothing is read.
    assert turn.actual.read == 0


def test_changed_tools_are_explained(session):
    def change(s):
        s.conversation.tools = (ToolDefinition.create("lookup", "Different", {"type": "object"}),)

    turn = miss_after(session(), change)
    assert (turn.explanation.cause, turn.actual.read) == ("tools_changed", 0)


def test_model_switch_is_explained(session):
    def change(s):
        s.conversation.model = OPUS_47

    turn = miss_after(session(), change)
    assert (turn.explanation.cause, turn.actual.read) == ("model_switched", 0)


def test_tool_choice_change_is_explained(session):
    def change(s):
        s.conversation.tool_choice = {"type": "none"}

    turn = miss_after(session(), change)
    assert turn.explanation.cause == "tool_choice_changed"
    assert turn.actual.read == turn.built.flat.blocks[1].cumulative  # tools and system kept


def test_changed_image_bytes_are_explained(session):
    s = session()
    s.ask("look", photo("red"))
    s.ask("more")
    original = s.conversation.messages[0]
    swapped = type(original)(
        original.role,
        (ImageBlock(photo("blue")), *original.blocks[1:]),
        original.id,
        original.created_at,
    )
    s.conversation.replace_message(0, swapped)
    turn = s.ask("and now?")
    assert turn.explanation.cause == "image_changed"
    assert turn.explanation.first_difference == "messages.0.content.0"


def test_edited_earlier_message_is_explained(session):
    s = session()
    s.ask("first " + text_of(200))
    s.ask("second")
    old = s.conversation.messages[0]
    s.conversation.replace_message(0, type(old)("user", (TextBlock("first, edited"),), old.id))
    turn = s.ask("third")
    assert turn.explanation.cause == "message_edited"
    assert turn.explanation.first_difference == "messages.0.content.0"


def test_expired_entry_is_explained_with_age_and_ttl(session):
    s = session()
    s.ask("first")
    s.wait(400)
    turn = s.ask("second")
    assert turn.explanation.cause == "expired" and turn.explanation.ttl == "5m"
    assert 399 <= turn.explanation.age_s <= 405
    assert turn.actual.read == 0


def test_prefix_under_the_minimum_is_explained(session):
    s = session(conversation(model=HAIKU_45, system_tokens=500))
    turn = s.ask("short")
    assert turn.explanation.cause == "too_short"
    assert any("too short to cache" in d for d in turn.built.dropped)


def test_more_than_20_new_blocks_is_explained_as_lookback(session):
    s = session(strategy="last_user_message")
    s.ask("start " + text_of(200))
    s.ask("many pieces")
    pieces = [TextBlock(f"piece {i} " + text_of(30)) for i in range(24)]
    s.conversation.add("user", *pieces)
    turn = s.send()
    assert turn.explanation.cause == "lookback"
    smart = session(strategy="smart")
    smart.ask("start " + text_of(200))
    smart.ask("many pieces")
    smart.conversation.add("user", *pieces)
    assert smart.send().explanation.cause == "none"


def test_server_reading_less_than_predicted_is_explained(session, sim):
    s = session()
    s.ask("first")
    raw_post(sim.base_url, "/_sim/reset", {})
    turn = s.ask("second")
    assert turn.predicted.read > 0 and turn.actual.read == 0
    assert turn.explanation.cause == "server_read_less"


def test_send_before_the_writing_request_answered_is_explained():
    conv = conversation()
    conv.add_user_text("question " + text_of(20000))
    builder, ledger = RequestBuilder(), CacheLedger()
    built = builder.build(conv, "smart")

    async def scenario(base_url):
        async with anthropic.AsyncAnthropic(base_url=base_url, api_key="k") as c:
            first = asyncio.create_task(c.messages.create(**built.body))
            await asyncio.sleep(0.02)
            second = await c.messages.create(**built.body)
            await first
            return second

    with SimulatorThread(SimulatorConfig(time_scale=0.05)) as slow:
        plan = ledger.predict(built)
        ledger.begin("first", built, plan)
        covered = ledger.pending_covers(built)
        second = asyncio.run(scenario(slow.base_url))
    usage = Usage.from_api(second.usage)
    why = explain(built, usage, plan, built, ledger, sent_while_writing=covered)
    assert usage.read == 0 and covered
    assert why.cause == "in_flight"


def test_a_ledger_saved_by_an_earlier_version_still_predicts_the_read(session):
    """Files written before ``written_at`` and ``breakpoint`` were dropped from the entries
    (they were never read) reopen with their entries, not with a TypeError."""
    session = session()
    session.conversation.add_user_text("question " + text_of(20000))
    session.send()
    saved = session.ledger.to_dict()
    for entry in saved["entries"]:
        entry.update(written_at=entry["last_used_at"], breakpoint=True)
    reopened = CacheLedger(session.clock)
    reopened.merge(saved)
    also = CacheLedger.from_dict(saved, session.clock)
    built = session.builder.build(session.conversation, "smart", session.settings, max_tokens=60)
    assert reopened.predict(built).read_tokens == session.ledger.predict(built).read_tokens > 0
    assert also.predict(built).read_tokens > 0


@pytest.mark.parametrize(
    ("change", "ours", "theirs"),
    [
        (
            lambda s: s.conversation.set_system_text(text_of(3000, "edited")),
            "system_changed",
            "system_changed",
        ),
        (
            lambda s: setattr(
                s.conversation, "tools", (ToolDefinition.create("other", "x", {"type": "object"}),)
            ),
            "tools_changed",
            "tools_changed",
        ),
        (
            lambda s: setattr(s.conversation, "model", "claude-opus-4-8"),
            "model_switched",
            "model_changed",
        ),
        (
            lambda s: setattr(s.conversation, "tool_choice", {"type": "none"}),
            "tool_choice_changed",
            "unavailable",
        ),
        (
            lambda s: s.conversation.replace_message(
                0, type(s.conversation.messages[0])("user", (TextBlock("edited"),), "m-edited")
            ),
            "message_edited",
            "messages_changed",
        ),
    ],
)
def test_the_explainer_agrees_with_the_apis_cache_diagnosis(session, change, ours, theirs):
    """cache-diagnostics.md: the API names the level that diverged; Cachescope names the same."""
    turn = miss_after(session(), change)
    assert (turn.explanation.cause, turn.server) == (ours, theirs)
    assert turn.predicted == turn.actual


@pytest.mark.parametrize(
    ("change", "cause", "words"),
    [
        (
            lambda c: setattr(c, "effort", "low"),
            "effort_changed",
            "the effort changed (the default",
        ),
        (
            lambda c: setattr(c, "thinking", {"type": "adaptive"}),
            "thinking_changed",
            "extended thinking was switched",
        ),
    ],
)
def test_an_effort_switch_is_not_called_a_thinking_switch(session, change, cause, words):
    """Both are settings of the messages level (prompt-caching.md, "What invalidates the
    cache"); the explainer named every such change a thinking switch."""
    s = session(conversation(model=OPUS_47))
    s.max_tokens = 3000
    turn = miss_after(s, lambda s: change(s.conversation))
    assert turn.explanation.cause == cause and words in turn.explanation.sentence
    assert (turn.predicted.read, turn.predicted.write) == (turn.actual.read, turn.actual.write)


def test_breakpoint_on_content_that_changes_every_request_is_explained(session):
    """prompt-caching.md's common mistake, as the explainer names it."""
    s = session(strategy="last_user_message")
    s.conversation.tools = ()
    s.ask(f"[{1000}] " + text_of(2000, "context") + " question")
    s.conversation.truncate(0)
    turn = s.ask(f"[{1007}] " + text_of(2000, "context") + " question")
    assert turn.actual.read == 0
    assert turn.explanation.cause == "volatile_breakpoint"
    assert "changes every request" in turn.explanation.sentence


def test_smart_keeps_an_edited_questions_attachment_cached(session, sim):
    """A breakpoint belongs on the last block that stays identical: smart marks the end of what
    precedes the question, so an edited question still reads the attachment."""
    contract = TextBlock(text_of(5000, "contract"))
    s = session()
    s.conversation.add_user_text("Is clause 4 fair?", contract)
    first = s.send()
    s.conversation.truncate(0)
    s.conversation.add_user_text("Is clause 4 fair to the tenant?", contract)
    edited = s.send()
    attachment_end = edited.built.flat.blocks[-2].cumulative
    assert first.actual.write >= attachment_end
    assert edited.actual.read == attachment_end == edited.predicted.read
    raw_post(sim.base_url, "/_sim/reset", {})
    lm_deluge = session(strategy="last_user_message")
    lm_deluge.conversation.add_user_text("Is clause 4 fair?", contract)
    lm_deluge.send()
    lm_deluge.conversation.truncate(0)
    lm_deluge.conversation.add_user_text("Is clause 4 fair to the tenant?", contract)
    assert lm_deluge.send().actual.read < attachment_end  # its only entry was on the question


def test_a_miss_from_thinking_the_model_drops_is_named_as_such_not_as_an_edit():
    """Issue 28: on Haiku 4.5 the thinking of earlier turns leaves the prompt once a user turn
    that is not only tool results follows (thinking.md); the miss said "an earlier message was
    edited"."""
    from app.conversation.blocks import ThinkingBlock, ToolResultBlock, ToolUseBlock

    conv = Conversation(model=HAIKU_45, max_tokens=4000)
    conv.set_system_text(text_of(5000, "system"))
    conv.thinking = {"type": "enabled", "budget_tokens": 2048}
    conv.tools = (ToolDefinition("lookup", "Look it up", '{"type": "object"}'),)
    conv.add_user_text("Look it up.")
    conv.add(
        "assistant",
        ThinkingBlock("I should call the tool. " * 40, "sig"),
        ToolUseBlock("toolu_1", "lookup", "{}"),
    )
    conv.add("user", ToolResultBlock("toolu_1", (TextBlock("found it"),)))
    builder = RequestBuilder()
    previous = builder.build(conv, "smart")
    conv.add("assistant", TextBlock("Here it is."))
    conv.add_user_text("Thanks. Another one?")
    current = builder.build(conv, "smart")
    ledger = CacheLedger()
    ledger.record(previous, Usage.from_plan(ledger.predict(previous)))
    plan = ledger.predict(current)
    why = explain(current, Usage.from_plan(plan), plan, previous, ledger)
    assert why.cause == "thinking_dropped" and why.is_miss
    assert "drops earlier turns' thinking" in why.sentence and "edited" not in why.sentence


@pytest.mark.parametrize(
    ("cause", "miss"),
    [("none", False), ("too_short", False), ("no_breakpoints", False), ("expired", True)],
)
def test_only_a_turn_that_could_have_read_more_is_a_miss(cause, miss):
    """Issue 28: under the model's minimum, or a pattern that caches nothing, is not a miss."""
    from app.caching.explainer import is_miss

    assert is_miss(cause) is miss
