"""The controller of one open conversation, without Qt (issue 26): the first message is warmed
while it is typed, one decision per typing pause, an edit warms the prefix it keeps, a turn is a
handle timed from the Enter, a change is priced before it is made, and a conversation left for
another keeps its own pattern and TTL for its keep-alive pings."""

import asyncio
import time

import pytest

from app.caching.costs import Kind
from app.conversation.blocks import TextBlock
from app.conversation.conversation import Conversation
from app.conversation.documents import document_from_text
from app.engine import events as ev
from app.engine.engine import EngineSettings
from app.engine.session import Session
from app.engine.settings_model import SettingsModel
from app.storage.preferences import Preferences
from app.workspace.chat import DEBOUNCE_S, Chat, ChatRefusal
from tests.helpers import SONNET_46, Harness, conversation, run, text_of


def built_of(h, kind):
    return [e.built for e in h.of(ev.RequestBuilt) if e.kind == kind]


def test_the_first_message_is_warmed_as_soon_as_it_holds_a_document(sim):
    """The cookbook's scenario: a long document pasted into a new conversation, then a question
    typed. ``warm_blocker`` said "nothing to warm yet" while the conversation had no message."""

    async def scenario():
        h = Harness(sim.base_url, EngineSettings(warming=True))
        chat = Chat(h.engine, Session(Conversation(model=SONNET_46, max_tokens=200)))
        paper = document_from_text(text_of(20_000, "paper"), "paper.txt")
        task = chat.set_draft("", (paper,), now=True)  # attached: decided at once
        warm = await task
        turn = chat.send("What does it conclude?", (paper,))
        await turn
        await h.client.close()
        return h, chat, turn, warm

    h, chat, turn, warm = run(scenario())
    assert warm is not None and warm.usage.write >= 20_000  # the warm-up wrote the document
    (record,) = turn.records
    assert record.usage.read >= 20_000 and record.usage.write < 200  # the turn read it


def test_typing_makes_one_warm_up_decision_per_pause(sim):
    """A decision per keystroke cost 42 ms at 1,000 messages. Now: one right after the first
    key once the conversation has changed (the moment the cookbook warms), then one per pause."""

    async def scenario():
        h = Harness(sim.base_url, EngineSettings(warming=True))
        chat = Chat(h.engine, Session(conversation()))
        counts = []
        for _burst in range(2):
            for i in range(60):  # 60 keystrokes, 20 ms apart
                chat.set_draft("x" * i)
                await asyncio.sleep(0.02)
            counts.append(chat.decisions)
            await asyncio.sleep(DEBOUNCE_S + 0.2)
            counts.append(chat.decisions)
        for task in list(chat.session.warm_tasks.values()):
            await task
        await h.client.close()
        return h, counts

    h, counts = run(scenario())
    # first burst: its first key (nothing decided yet), then its pause; second burst: nothing
    # changed, so only its pause
    assert counts == [1, 2, 2, 3]
    assert len(built_of(h, Kind.WARM)) == 1  # the rest found it warm or in flight


def test_an_edit_warms_the_prefix_it_keeps_not_the_branch_it_replaces(sim):
    """ "Edit and resend" warmed the old message and reply plus the edit ($0.095), then the send
    re-wrote the document: $0.19 for an edit that should cost about $0.008."""

    async def scenario():
        h = Harness(sim.base_url, EngineSettings(warming=True))
        conv = conversation(tokens=3000)
        chat = Chat(h.engine, Session(conv))
        for question in ("first question " * 300, "second question " * 300):
            await chat.send(question)
        warms_before = len(built_of(h, Kind.WARM))
        draft = chat.edit(2)  # the second question goes back to the composer
        for task in list(chat.session.warm_tasks.values()):
            await task
        turn = chat.send(draft.text.replace("second", "better"))
        await turn
        await h.client.close()
        return h, chat, warms_before, turn

    h, chat, warms_before, turn = run(scenario())
    warms = built_of(h, Kind.WARM)[warms_before:]
    # Whatever it warmed ends at a message the edit keeps: the first exchange, then the tail.
    for built in warms:
        assert len(built.body["messages"]) == 3  # question 1, answer 1, the placeholder
    messages = chat.conversation.messages
    assert len(messages) == 4 and "better question" in messages[2].text
    assert turn.records[0].usage.read > 3000  # the system prompt and the first exchange


def test_a_turn_is_a_handle_timed_from_the_enter(sim):
    async def scenario():
        h = Harness(sim.base_url)
        chat = Chat(h.engine, Session(conversation()))
        turn = chat.send("hello", entered_at=time.perf_counter() - 1.5)  # Enter 1.5 s ago
        with pytest.raises(ChatRefusal):
            chat.send("again")  # one turn at a time
        await turn
        await h.client.close()
        return turn

    turn = run(scenario())
    assert turn.done() and turn.first_token_s >= 1.5 and turn.cost_usd > 0


def test_a_change_is_priced_before_it_is_made(sim):
    async def scenario():
        h = Harness(sim.base_url)
        chat = Chat(h.engine, Session(conversation(tokens=6000)))
        await chat.send("hello")
        found = chat.preview(pattern="none")
        same = chat.preview(pattern=chat.conversation.pattern)
        await h.client.close()
        return found, same

    found, same = run(scenario())
    assert found.lost_tokens > 5000 and found.extra_usd > 0
    assert same.lost_tokens == 0


def test_a_conversation_left_for_another_pings_under_its_own_pattern_and_ttl(sim):
    """Opening another conversation overwrote one engine-wide pattern/TTL: a conversation set to
    smart/5m then pinged as system_and_tools/1h."""

    async def scenario():
        h = Harness(sim.base_url, EngineSettings(keepalive_pings=1, keepalive_margin_s=20))
        model = SettingsModel(h.engine.settings, Preferences())
        first = conversation()
        model.open(first)
        model.set_pattern("last_user_message")
        model.set_ttl("5m")
        chat = Chat(h.engine, Session(first))
        await chat.send("hello")
        other = Conversation(model=SONNET_46, pattern="system_and_tools", ttl="1h")
        model.open(other)  # the user opens another conversation; the first one's ping is due
        await chat.session.keepalive_task
        await h.client.close()
        return h, chat

    h, chat = run(scenario())
    (ping,) = [r for r in chat.session.totals.records if r.kind == Kind.KEEPALIVE]
    assert ping.strategy == "last_user_message" and ping.usage.write_1h == 0


def test_closing_a_chat_cancels_its_work_and_ends_what_was_set_up_for_it(sim):
    async def scenario():
        h = Harness(sim.base_url, EngineSettings(keepalive_pings=3))
        chat = Chat(h.engine, Session(conversation()))
        closed = []
        chat.on_close(lambda: closed.append("recorder"))
        turn = chat.send("hello " * 50)
        await asyncio.sleep(0)
        idle_seen = []
        chat.when_idle(idle_seen.append)
        chat.close()
        with pytest.raises(asyncio.CancelledError):
            await turn
        await h.client.close()
        return chat, closed, idle_seen

    chat, closed, idle_seen = run(scenario())
    assert closed == ["recorder"] and chat.idle() and chat.closed
    assert idle_seen == [chat]


def test_nothing_is_decided_while_a_turn_runs(sim):
    """Sending clears the composer's chips one by one; each change used to warm a prefix no
    turn sends."""

    async def scenario():
        h = Harness(sim.base_url, EngineSettings(warming=True))
        chat = Chat(h.engine, Session(conversation()))
        paper = document_from_text(text_of(3_000, "p"), "p.txt")
        turn = chat.send("read", (paper,))
        chat.set_draft("", (), now=True)  # the chips go
        chat.set_draft("", (paper,), now=True)
        await turn
        await h.client.close()
        return h, chat

    h, chat = run(scenario())
    assert built_of(h, Kind.WARM) == [] and chat.decisions == 0
    assert isinstance(chat.conversation.messages[-1].blocks[-1], TextBlock)


def test_a_model_switch_is_priced_at_the_new_models_write_price(sim):
    """The cache is per model: a switch re-writes everything, at the new model's price."""

    async def scenario():
        h = Harness(sim.base_url)
        chat = Chat(h.engine, Session(conversation(tokens=6000)))
        await chat.send("hello")
        found = chat.preview(model="claude-opus-4-6")
        await h.client.close()
        return h, found

    h, found = run(scenario())
    opus, sonnet = (h.engine.catalogue.require(m) for m in ("claude-opus-4-6", SONNET_46))
    expected = found.lost_tokens * (opus.prices.write_5m - sonnet.prices.read) / 1e6
    assert found.lost_tokens == found.cached_tokens > 6000
    assert found.extra_usd == pytest.approx(expected, rel=0.01)  # and the draft's own few tokens
    assert found.sentence.startswith("Changing the model invalidates")


def test_claude_settings_follow_the_apis_rules_without_qt(sim):
    """Thinking budget below max_tokens, capabilities after a model switch, and tool changes
    that keep the cached definitions (mid-conversation-system-messages.md)."""
    from app.engine.tools import BUILT_IN

    async def scenario():
        h = Harness(sim.base_url)
        conv = conversation(model="claude-opus-4-8")
        conv.max_tokens = 400
        offered = [t.definition for t in BUILT_IN.values()]
        conv.tools = tuple(offered)
        chat = Chat(h.engine, Session(conv))
        budget = chat.thinking_changes("enabled", 8000)
        await chat.send("hello")
        drop_clock = chat.tool_choice(offered, {"calculator"})
        chat.choose_tools(drop_clock, from_here_on=True)
        back = chat.tool_choice(offered, {"calculator", "clock"})
        chat.apply(thinking={"type": "adaptive"}, effort="max", model=SONNET_46)
        dropped = chat.fit_to_model()
        await h.client.close()
        return chat, budget, drop_clock, back, dropped

    chat, budget, drop_clock, back, dropped = run(scenario())
    # Opus 4.8 omits thinking unless asked (thinking.md): the window asks to see it.
    thinking = {"type": "enabled", "budget_tokens": 8000, "display": "summarized"}
    assert budget == {"thinking": thinking, "max_tokens": 9024}
    # Withdrawing a tool on a model that takes system messages: the definitions stay as sent.
    assert drop_clock.can_withdraw and [b.kind for b in drop_clock.changes] == ["tool_removal"]
    assert [t.name for t in drop_clock.tools] == ["calculator"]  # were it an edit instead
    assert [t.name for t in chat.conversation.tools] == ["calculator", "clock"]  # kept as sent
    assert [b.kind for b in chat.conversation.pending] == ["tool_removal"]
    assert [b.kind for b in back.changes] == ["tool_addition"]  # offered again
    model = chat.engine.model_of(chat.conversation)
    assert chat.conversation.effort in (None, *(model.effort.levels if model.effort else ()))
    assert all(d.startswith(("thinking", "effort")) for d in dropped)


def test_a_retired_model_is_refused_before_anything_is_sent_and_its_successor_named(sim):
    """Issue 27: Sonnet 4.5 retired on 30 Nov 2026 and still answered here."""

    async def scenario():
        h = Harness(sim.base_url)
        conv = conversation(model="claude-sonnet-4-5")
        chat = Chat(h.engine, Session(conv))
        with pytest.raises(ChatRefusal) as refused:
            chat.send("hello")
        await h.client.close()
        return h, conv, str(refused.value)

    h, conv, said = run(scenario())
    assert said.startswith("Claude Sonnet 4.5 was retired on 2026-11-30")
    assert "Claude Sonnet 4.6, its successor" in said
    assert conv.messages == [] and h.of(ev.RequestBuilt) == []  # nothing sent, nothing lost


def test_a_message_over_the_context_window_is_refused_before_it_is_sent(sim):
    """context-windows.md: an input over the context window is a 400 "prompt is too long"; the
    simulator sent and billed it, and the app sent it."""
    from app.conversation.documents import document_from_text

    async def scenario():
        h = Harness(sim.base_url)
        conv = conversation(model="claude-haiku-4-5")  # a 200,000-token window
        chat = Chat(h.engine, Session(conv))
        book = document_from_text(text_of(210_000, "book"), "book.txt")
        with pytest.raises(ChatRefusal) as refused:
            chat.send("Summarise it.", (book,))
        await h.client.close()
        return h, conv, str(refused.value)

    h, conv, said = run(scenario())
    assert "more than Claude Haiku 4.5's context window of 200,000" in said
    assert conv.messages == [] and h.of(ev.RequestBuilt) == []


def test_the_simulator_refuses_a_prompt_over_the_context_window(client):
    import anthropic

    with pytest.raises(anthropic.BadRequestError, match="prompt is too long"):
        client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=10,
            messages=[{"role": "user", "content": text_of(210_000, "book")}],
        )


def test_an_effort_switch_goes_per_turn_and_keeps_the_cache(sim):
    """Issue 27, "use what keeps the cache": on a model that takes system messages, an effort
    picked after the first reply is sent as a system message's output_config after each user
    turn (its beta header), and the next turn reads the whole prefix written at the old effort.
    On a model without system messages the top-level effort changes, and the preview says what
    it costs."""

    async def scenario():
        h = Harness(sim.base_url)
        chat = Chat(h.engine, Session(conversation(model="claude-opus-5", tokens=6000)))
        await chat.send("hello")
        changes = chat.effort_changes("low")
        preview = chat.preview(**changes)
        chat.apply(**changes)
        await chat.send("and now briefly")
        again = chat.effort_changes(None)  # back to the effort the prefix was written at
        other = Chat(h.engine, Session(conversation(model="claude-sonnet-5", tokens=6000)))
        await other.send("hello")
        top = other.effort_changes("low")
        top_preview = other.preview(**top)
        await h.client.close()
        return h, chat, changes, preview, again, top, top_preview

    h, chat, changes, preview, again, top, top_preview = run(scenario())
    assert changes == {"turn_effort": "low"} and preview.lost_tokens == 0
    turns = [r for r in chat.session.totals.records if r.kind == Kind.TURN]
    assert turns[1].usage.read >= turns[0].usage.write > 6000
    body = built_of(h, Kind.TURN)[1].body
    assert body["messages"][-1] == {"role": "system", "output_config": {"effort": "low"}}
    assert "output_config" not in body  # the top level, and so the prefix, as it was
    assert "mid-conversation-output-config-2026-07-01" in built_of(h, Kind.TURN)[1].betas
    assert again == {"turn_effort": None}
    assert top == {"effort": "low", "turn_effort": None}
    assert top_preview.lost_tokens > 0  # the messages written at the old effort


def test_a_forced_tool_choice_the_api_refuses_is_not_sent(sim):
    """define-tools.md: forcing a tool with extended thinking is an error; Opus 5.5 refuses a
    forced tool choice (reference section 11)."""
    from app.conversation.blocks import ToolDefinition

    tool = ToolDefinition("lookup", "Look it up", '{"type": "object"}')

    async def scenario():
        h = Harness(sim.base_url)
        said = []
        for model, thinking in (
            ("claude-opus-5-5", None),
            (SONNET_46, {"type": "enabled", "budget_tokens": 2048}),
        ):
            conv = conversation(model=model, tools=(tool,))
            conv.tool_choice, conv.thinking, conv.max_tokens = {"type": "any"}, thinking, 4000
            chat = Chat(h.engine, Session(conv))
            with pytest.raises(ChatRefusal) as refused:
                chat.send("hello")
            said.append(str(refused.value))
        await h.client.close()
        return h, said

    h, said = run(scenario())
    assert "Claude Opus 5.5 refuses a tool choice that forces a tool call" in said[0]
    assert "cannot go with extended thinking" in said[1]
    assert h.of(ev.RequestBuilt) == []


def test_a_web_search_turns_results_are_written_automatically_and_predicted_next(sim):
    """tool-use-with-prompt-caching.md, "Server tool results are cached automatically": the
    turn that searched says its results were written at the automatic 5m breakpoint, and the
    app's prediction of the next turn reads through them, as the server then does."""

    async def scenario():
        h = Harness(sim.base_url)
        conv = conversation(tokens=3000)
        conv.server_tools = ("web_search",)
        chat = Chat(h.engine, Session(conv))
        await chat.send("Search for the tallest building in Oslo")
        await chat.send("Thanks. And in Bergen?")
        await h.client.close()
        return chat

    chat = run(scenario())
    searched, after = [r for r in chat.session.totals.records if r.kind == Kind.TURN]
    assert searched.usage.web_searches == 1
    assert "automatic 5-minute breakpoint" in searched.explanation
    assert after.usage.read == after.predicted.read > searched.usage.write - 1
    assert after.usage.read > 3000 + 200  # the system prompt, the question and the results


def test_edit_and_resend_keeps_the_old_branch_and_switching_back_reads_the_shared_prefix(
    sim, tmp_path
):
    """Issue 28: edit and resend kept the old branch only until the send. Now both stay: the
    message says "2 of 2", each branch says what it shares up to the fork, what switching would
    read and write, and branches survive the history and an export."""
    from app.storage.store import Store

    async def scenario():
        h = Harness(sim.base_url)
        chat = Chat(h.engine, Session(conversation(tokens=5000)))
        await chat.send("What is in chapter one?")
        await chat.send("And chapter two?")
        first_path = list(chat.conversation.messages)
        chat.edit(2)  # the second question
        await chat.send("And chapter three?")
        here = chat.branches_here()
        back = chat.switch_branch(2, -1)
        after_switch = list(chat.conversation.messages)
        await chat.send("Thanks.")  # a turn on the old branch reads what it shares
        await h.client.close()
        return chat, first_path, here, back, after_switch

    chat, first_path, here, back, after_switch = run(scenario())
    conv = chat.conversation
    assert here[2][:2] == (2, 2)  # the new path is the second of two at message 3
    assert back.position == 1 and back.count == 2
    assert back.shared_tokens > 5000 and back.read_tokens >= back.shared_tokens
    assert after_switch == first_path  # the old path, message for message
    turns = [r for r in chat.session.totals.records if r.kind == Kind.TURN]
    assert turns[-1].usage.read >= back.shared_tokens
    assert len(conv.alternatives(2)) == 2 and "Branch 1 of 2" in back.sentence()
    # Saved and loaded, exported and imported: the branches come back.
    store = Store.open(tmp_path)
    store.save_conversation(conv)
    store.save_messages(conv.id, list(enumerate(conv.messages)), len(conv.messages))
    loaded, _, _ = store.load(conv.id)
    again = Conversation.from_dict(conv.to_dict())
    for copy in (loaded, again):
        paths = copy.alternatives(2)
        assert [p[0].text for p in paths] == ["And chapter two?", "And chapter three?"]
    store.close()


def test_regenerate_keeps_the_reply_it_replaces_as_a_branch(sim):
    async def scenario():
        h = Harness(sim.base_url)
        chat = Chat(h.engine, Session(conversation(tokens=3000)))
        await chat.send("hello")
        first = chat.conversation.messages[-1]
        await chat.regenerate()
        await h.client.close()
        return chat, first

    chat, first = run(scenario())
    paths = chat.conversation.alternatives(1)
    assert len(paths) == 2 and paths[0][0] is first and chat.conversation.messages[1] is not first


def test_a_switch_to_a_model_without_system_messages_keeps_the_conversation_sendable(sim):
    """A per-turn effort (a system message) on Opus 5, then a switch to Sonnet 5, which takes
    no system messages: the effort becomes the top-level one and the effort-only messages are
    left out, so the next send is answered; an instruction with text is refused before it is
    sent, with what to do."""
    from app.conversation.blocks import TextBlock as Text

    async def scenario():
        h = Harness(sim.base_url)
        chat = Chat(h.engine, Session(conversation(model="claude-opus-5", tokens=3000)))
        await chat.send("hello")
        chat.apply(**chat.effort_changes("low"))
        await chat.send("and now briefly")
        chat.apply(model="claude-sonnet-5")
        chat.fit_to_model()
        turn = await chat.send("and on Sonnet?")
        chat.conversation.add_instruction(Text("Answer in French."))
        with pytest.raises(ChatRefusal) as refused:
            chat.send("bonjour?")
        await h.client.close()
        return h, chat, turn, str(refused.value)

    h, chat, turn, said = run(scenario())
    last = built_of(h, Kind.TURN)[-1].body
    assert all(m["role"] != "system" for m in last["messages"])
    assert last["output_config"] == {"effort": "low"} and chat.conversation.effort == "low"
    assert chat.session.totals.records[-1].error == ""
    assert "Claude Sonnet 5 does not take" in said


def test_thinking_chosen_in_the_window_is_shown_where_the_model_would_omit_it(sim):
    """thinking.md, "Controlling thinking display": on Opus 5 and the other newest models the
    display defaults to "omitted" (empty thinking blocks). The window shows Claude's thinking,
    so choosing adaptive thinking there asks for "summarized"; on Sonnet 4.6, where summarized
    is the default, nothing more is sent."""
    from app.conversation.blocks import ThinkingBlock

    async def scenario():
        h = Harness(sim.base_url)
        chat = Chat(h.engine, Session(conversation(model="claude-opus-5")))
        changes = chat.thinking_changes("adaptive")
        chat.apply(**changes)
        await chat.send("Think about it: what is 17 times 23?")
        other = Chat(h.engine, Session(conversation(model=SONNET_46)))
        plain = other.thinking_changes("adaptive")
        await h.client.close()
        return chat, changes, plain

    chat, changes, plain = run(scenario())
    assert changes == {"thinking": {"type": "adaptive", "display": "summarized"}}
    assert plain == {"thinking": {"type": "adaptive"}}
    thought = [b for b in chat.conversation.messages[-1].blocks if isinstance(b, ThinkingBlock)]
    assert thought and thought[0].thinking  # not the empty block "omitted" would give


@pytest.mark.parametrize(
    ("setting", "change"),
    [
        ("1h", {"thinking": {"type": "enabled", "budget_tokens": 1024}, "max_tokens": 2048}),
        ("5m", {"pattern": "none"}),
    ],
)
def test_the_price_asked_before_a_change_is_what_the_next_turn_then_costs_more(
    sim, setting, change
):
    """A new user's finding: with the TTL at 1h, switching thinking was priced at the 5m write
    price ($0.25 where the warm-up then spent $0.43), and "No caching" at a 5m rewrite while
    nothing is written again: every token is paid in full. The preview now prices the next turn
    as it will be sent, which the simulator then bills."""
    from app.caching.costs import input_cost_usd
    from app.caching.ledger import Usage

    async def scenario():
        h = Harness(sim.base_url, EngineSettings(warming=False, keepalive_pings=0))
        conv = conversation(tokens=3000)
        chat = Chat(h.engine, Session(conv))
        await chat.send("a long question " + text_of(6000, "question"))
        chat.apply(ttl=setting)
        found = chat.preview(**change)
        unchanged = h.engine.drafts.send_request(chat.session, "and next?")
        without = input_cost_usd(
            Usage.from_plan(h.engine.ledger.predict(unchanged)), unchanged.model
        )
        chat.apply(**change)
        turn = chat.send("and next?")
        await turn
        await h.client.close()
        record = turn.records[-1]
        return found, without, input_cost_usd(record.usage, unchanged.model)

    found, without, paid = run(scenario())
    assert found.lost_tokens > 6000
    assert found.extra_usd == pytest.approx(paid - without, rel=0.02)
    if "thinking" in change:  # not "Changing message 1": no message was changed
        assert found.sentence.startswith("Changing thinking invalidates"), found.sentence
        assert "the next turn writes them again" in found.sentence
    if change.get("pattern") == "none":
        assert found.per_turn_usd == pytest.approx(found.extra_usd, rel=0.02)
