"""Context editing in the app (build-with-claude/context-editing.md; issue 39, "And in the app"):
off by default; when a conversation asks for it, its requests carry the clearing edits, the
app predicts the prompt as the API clears it, and the turn says what was cleared and the
rewrite it cost. Qt-free, against the simulator."""

from app.caching.costs import Kind, cost_of
from app.caching.ledger import Usage
from app.conversation.blocks import TextBlock, ToolDefinition, ToolResultBlock, ToolUseBlock
from app.engine.session import Session
from app.facts.context_management import CLEAR_TOOLS, EDITING_BETA, PLACEHOLDER
from app.ui.widgets.turn_marks import reply_turns
from tests.helpers import SONNET_46, Harness, conversation, run, text_of

READ_FILE = ToolDefinition.create(
    "read_file", "Read a file.", {"type": "object", "properties": {"path": {"type": "string"}}}
)


def tool_history(conv, uses: int, each: int = 20_000, start: int = 0) -> None:
    """``uses`` calls of read_file, each answered with a file of ``each`` tokens."""
    for k in range(start, start + uses):
        conv.add("assistant", ToolUseBlock.create(f"toolu_{k}", "read_file", {"path": f"f{k}"}))
        result = ToolResultBlock(f"toolu_{k}", (TextBlock(text_of(each, f"file {k}")),))
        conv.add("user", result)


def editing_conversation(chosen=("tool_results",)):
    conv = conversation(SONNET_46, tokens=3000, tools=(READ_FILE,))
    conv.pattern = "smart"
    conv.ttl = "5m"
    conv.context_editing = tuple(chosen)
    conv.add_user_text("Read the six files, then tell me what they share.")
    tool_history(conv, 6)  # about 123,000 tokens: past the 100,000 trigger
    return conv


def turns(session):
    return [r for r in session.totals.records if r.kind == Kind.TURN]


def test_context_editing_is_off_by_default(sim):
    """docs/choices.md: the app sends no context_management unless the conversation asks."""
    h = Harness(sim.base_url)
    conv = editing_conversation(chosen=())
    built = h.engine.build(Session(conv))
    assert "context_management" not in built.body and EDITING_BETA not in built.betas


def test_cleared_tool_results_are_predicted_and_the_turn_says_what_was_cleared(sim):
    """context-editing.md, "Tool result clearing": "the API automatically clears the oldest tool
    results [...] keep: 3 tool uses"; "Context editing response": ``applied_edits``; "Context
    editing happens server-side": the client sends its full history. The app sends the results
    in full, predicts the prompt as the API clears it (read, written and paid in full equal
    the simulator's), and the turn keeps what was cleared. Before, the app sent no clearing at
    all and read no ``applied_edits``."""

    async def scenario():
        h = Harness(sim.base_url)
        session = Session(editing_conversation())
        built = h.engine.build(session)
        predicted = Usage.from_plan(h.engine.ledger.predict(built))
        await h.engine.start_turn(session)
        await h.client.close()
        return session, built, predicted

    session, built, predicted = run(scenario())
    assert EDITING_BETA in built.betas
    (edit,) = built.body["context_management"]["edits"]
    assert edit["type"] == CLEAR_TOOLS and edit["clear_at_least"]["value"] == 10_000
    sent = [b for m in built.body["messages"] for b in m["content"] if b["type"] == "tool_result"]
    assert all(PLACEHOLDER not in str(b["content"]) for b in sent)  # sent in full
    (record,) = turns(session)
    assert (record.usage.read, record.usage.write, record.usage.uncached) == (
        predicted.read,
        predicted.write,
        predicted.uncached,
    )
    (applied,) = record.edits
    assert applied["type"] == CLEAR_TOOLS and applied["cleared_tool_uses"] == 3
    assert applied["cleared_input_tokens"] > 59_000
    assert record.usage.input_total < 70_000  # 123,000 less what was cleared


def test_a_new_clearing_rewrites_the_cache_after_it_and_the_turn_prices_the_rewrite(sim):
    """context-editing.md, "Context editing and prompt caching": tool result clearing
    "invalidates cached prompt prefixes when content is cleared [...] You'll incur cache write
    costs each time content is cleared". A seventh result makes the fourth oldest cleared: the
    turn reads up to it, writes again what the previous turn had cached after it, and says so
    in its line, priced, with no cache miss."""

    async def scenario():
        h = Harness(sim.base_url)
        session = Session(editing_conversation())
        await h.engine.start_turn(session)
        tool_history(session.conversation, 1, start=6)
        built = h.engine.build(session)
        predicted = Usage.from_plan(h.engine.ledger.predict(built))
        await h.engine.start_turn(session)
        await h.client.close()
        return h, session, predicted

    h, session, predicted = run(scenario())
    first, second = turns(session)
    assert (second.usage.read, second.usage.write) == (predicted.read, predicted.write)
    assert second.edits[0]["cleared_tool_uses"] == 4
    # read up to the last entry before the change (the system prompt); the fifth and sixth
    # results and the reply, cached by the first turn, written again: about 40,000 tokens
    assert 39_000 < second.rewritten < 45_000
    model = h.engine.model_of(session.conversation)
    extra = (
        cost_of(Usage(write_5m=second.rewritten), model).paid_usd
        - cost_of(Usage(read=second.rewritten), model).paid_usd
    )
    assert abs(second.rewritten_usd - extra) < 1e-9
    assert second.cause == "context_edited" and "written again" in second.explanation
    line = reply_turns(turns(session), session.conversation.messages)
    (turn,) = [t for t in line.values() if t.note and "4 tool results" in t.note]
    assert f"{second.rewritten:,} cached tokens" in turn.note and f"${extra:.4f}" in turn.note
    assert not turn.miss
    assert first.rewritten == 0  # the first turn had nothing cached to rewrite


def test_thinking_clearing_is_sent_only_while_the_model_thinks(sim):
    """context-editing.md, "Thinking block clearing": for managing thinking blocks "when
    extended thinking is enabled", listed first ("Combining strategies")."""
    h = Harness(sim.base_url)
    conv = editing_conversation(chosen=("thinking", "tool_results"))
    conv.thinking = {"type": "enabled", "budget_tokens": 2048}
    kinds = [e["type"] for e in h.engine.build(Session(conv)).body["context_management"]["edits"]]
    assert kinds == ["clear_thinking_20251015", CLEAR_TOOLS]
    conv.thinking = {"type": "disabled"}
    kinds = [e["type"] for e in h.engine.build(Session(conv)).body["context_management"]["edits"]]
    assert kinds == [CLEAR_TOOLS]


def test_a_warm_up_carries_the_clearing_and_writes_what_the_send_reads(sim):
    """Every request of a conversation that chose context editing carries its edits, so a
    warm-up writes the prompt as the API clears it and the send reads all of it. (The stable
    Messages API of the SDK takes no ``context_management``: the beta one is used.)"""
    from app.engine.engine import EngineSettings
    from app.workspace.chat import Chat

    async def scenario():
        h = Harness(sim.base_url, EngineSettings(warming=True))
        chat = Chat(h.engine, Session(editing_conversation()))
        warm = await chat.set_draft("What do they share?", now=True)
        turn = chat.send("What do they share?")
        await turn
        await h.client.close()
        chat.close()
        return warm, turn

    warm, turn = run(scenario())
    assert warm is not None and not warm.error and warm.usage.write > 60_000
    (record,) = turn.records
    assert record.usage.read == warm.usage.write + warm.usage.read  # all the warm-up wrote
    assert record.edits and record.edits[0]["cleared_tool_uses"] == 3
