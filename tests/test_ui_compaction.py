"""Compaction and context editing in the window, offscreen, on the simulator, driven by keys and
clicks (issue 39, "And in the app"; build-with-claude/compaction.md, context-editing.md)."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app.caching.costs import Kind
from app.conversation.blocks import TextBlock, ToolResultBlock, ToolUseBlock
from tests.test_context_editing import READ_FILE, tool_history
from tests.uikit import make_window, turn_over, until

HAIKU_45 = "claude-haiku-4-5-20251001"


def action(window, menu: str, text: str):
    found = [a for a in window.menus[menu].actions() if a.text() == text]
    assert found, f"no {text!r} in {menu}"
    return found[0]


def click(box: QMessageBox, text: str) -> None:
    next(b for b in box.buttons() if b.text() == text).click()


async def type_and_send(qtbot, window, text: str) -> None:
    qtbot.keyClicks(window.composer.edit, text)
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
    await until(lambda: turn_over(window), timeout=60)


def turns(window):
    return [r for r in window.session.totals.records if r.kind == Kind.TURN and not r.error]


def test_a_conversation_near_the_window_is_offered_compaction_priced_and_compacts(qtbot, loop, sim):
    """A conversation past 80 % of Sonnet 4.6's 1,000,000-token window: when the turn ends the
    window asks, with the price, before anything is sent; asked, the status bar says the next
    message compacts; that turn's reply shows the compaction card and its line says what it
    wrote and what the next turn starts from; everything stays on screen; the next request
    sends what the API keeps, and what it read is what the window predicted."""
    from tests.helpers import text_of

    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    conv = window.session.conversation
    conv.ttl = "5m"
    conv.add_user_text(text_of(810_000, "the archive"))
    conv.add("assistant", TextBlock("I have read the archive."))

    async def scenario():
        await type_and_send(qtbot, window, "What does it say about caching?")
        await until(lambda: window.context_management.box is not None)
        box = window.context_management.box
        asked = (box.text(), box.informativeText())
        click(box, "Compact with my next message")
        status = not window.context_management.status.isHidden(), window.status_label.text()
        await type_and_send(qtbot, window, "And what follows from it?")
        compacted = turns(window)[-1]
        table = window.inspector.table  # the cache inspector: predicted, read, difference
        inspected = [table.item(0, column).text() for column in range(3)]
        qtbot.keyClicks(window.composer.edit, "Go on.")
        await until(lambda: window.chat.outlook.price is not None)
        predicted = window.chat.outlook.price  # what the draft line says Send would read
        qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
        await until(lambda: turn_over(window), timeout=60)
        await client.close()
        return asked, status, compacted, predicted, inspected

    found = loop.run_until_complete(scenario())
    (question, sentence), (shown, said), compacted, predicted, inspected = found
    # the inspector compares the prediction with what the request as sent read: the
    # compaction iteration's 813,026 from cache, not the reply's 3,000 (a -810,026 "miss")
    assert inspected == [f"{compacted.compaction.read:,}"] * 2 + ["+0"], inspected
    assert question.startswith("This conversation holds ") and "81%" in question, question
    assert (
        "Claude Sonnet 4.6" in question and "compact it with your next message" in question.lower()
    )
    assert "from cache" in sentence and "$" in sentence and "less each" in sentence
    assert shown and "compacts the conversation" in said
    assert compacted.compaction is not None and compacted.compaction.read > 810_000
    rows = window.view.rows()
    (card,) = [r for r in rows if r.kind == "message" and "**Compaction**" in r.body]
    assert card.turn is not None and card.turn.note.startswith("Compacted ")
    assert f"{compacted.compaction.read:,} read from cache" in card.turn.note
    assert len(window.chat.messages) == 8  # everything stays on screen
    assert window.context_management.status.isHidden()  # asked once: it has compacted
    last = turns(window)[-1]
    assert last.usage.input_total < 5_000  # the summary and what follows, not 810,000
    assert last.usage.read == predicted.read  # the window's prediction held
    # the entry of the conversation before its compaction is still this conversation's
    entries = [window.sidebar.entries.item(i).text() for i in range(window.sidebar.entries.count())]
    assert any(e.startswith("this conversation, no longer sent: ") for e in entries), entries
    assert not any(e.startswith("an earlier conversation") for e in entries)


def test_the_offer_is_not_made_where_compaction_md_does_not_list_the_model(qtbot, loop, sim):
    """Haiku 4.5 is not on compaction.md's list: nothing is offered, and asking from the menu
    says why, in the status line; nothing is sent differently."""
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    conv = window.session.conversation
    conv.model = HAIKU_45
    from tests.helpers import text_of

    conv.add_user_text(text_of(170_000, "the archive"))  # 85 % of its 200,000 tokens
    conv.add("assistant", TextBlock("Read."))

    async def scenario():
        await type_and_send(qtbot, window, "Summarize it.")
        action(window, "conversation", "Co&mpact with the next message…").trigger()
        await client.close()

    loop.run_until_complete(scenario())
    assert window.context_management.box is None
    assert "does not take the API's compaction" in window.status_label.text()
    assert not window.chat.compaction.asked


def test_context_editing_is_chosen_in_the_claude_menu_and_the_turn_says_what_it_cleared(
    qtbot, loop, sim
):
    """Claude → Context editing → Clear old tool results (off by default): the next turn's
    request carries the edit; the API clears the oldest results and the reply's line says what
    was cleared and the rewrite it cost."""
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    conv = window.session.conversation
    conv.tools = (READ_FILE,)
    conv.ttl = "5m"
    conv.add_user_text("Read the six files.")
    tool_history(conv, 6)
    conv.add("assistant", TextBlock("I have read them."))
    assert conv.context_editing == ()  # off by default

    async def scenario():
        await type_and_send(qtbot, window, "What do they share?")  # writes it all, uncleared
        menu = window.context_management.editing_menu
        menu.aboutToShow.emit()
        (clear,) = [a for a in menu.actions() if a.text().startswith("Clear old tool results")]
        clear.trigger()
        box = window.switch.box
        if box is not None and box.isVisible():  # the switch costs cached tokens: asked first
            priced = box.text()
            click(box, "Change it")
        else:
            priced = ""
        conv.add("assistant", ToolUseBlock.create("toolu_9", "read_file", {"path": "f9"}))
        conv.add("user", ToolResultBlock("toolu_9", (TextBlock("a short file"),)))
        await type_and_send(qtbot, window, "And the last one?")
        await client.close()
        return priced

    priced = loop.run_until_complete(scenario())
    assert conv.context_editing == ("tool_results",)
    assert priced.startswith("Switching clear old tool results on invalidates ")
    last = turns(window)[-1]
    assert last.edits and last.edits[0]["cleared_tool_uses"] == 4
    rows = window.view.rows()
    notes = [r.turn.note for r in rows if r.turn is not None and r.turn.note]
    assert any(n.startswith("Context editing cleared 4 tool results") for n in notes)
