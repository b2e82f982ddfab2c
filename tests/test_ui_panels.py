"""The window's panels and dialogs, offscreen, against the simulator: the inspector, the warm
indicator, conversation settings, message actions, code colours, preferences, the model list."""

import json
from dataclasses import replace

import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QDialogButtonBox

from app.conversation.blocks import TextBlock
from app.storage.preferences import FILE_NAME, Preferences
from app.ui.widgets.image_viewer import ImageViewer
from tests.helpers import text_of
from tests.uikit import make_window, turn_over, until


def run_turn(window, text):
    async def turn():
        window.composer.edit.setPlainText(text)
        window.sending.send()
        await until(lambda: turn_over(window))

    return turn()


def test_the_inspector_explains_a_miss_caused_by_editing_the_system_prompt(qtbot, loop, sim):
    window, client = make_window(sim.base_url, strategy="system_and_tools")
    qtbot.addWidget(window)

    async def scenario():
        await run_turn(window, "first question")
        await run_turn(window, "second question")
        dialog = window.dialogs.edit_conversation_settings()
        dialog.system_edit.setPlainText("A different system prompt. " + text_of(3000, "other"))
        assert dialog.refresh()
        preview = dialog.impact.text()
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
        await run_turn(window, "third question")
        await client.close()
        return preview

    preview = loop.run_until_complete(scenario())
    assert "invalidates" in preview and "the system prompt" in preview
    window.inspector_dock.show()
    record = window.inspector.current()
    assert record.kind == "turn" and record.cause == "system_changed"
    assert "system prompt was edited" in window.inspector.explanation_text()
    assert record.usage.read == 0 and record.usage.write > 3000
    # The strip shows the same blocks as the request, with its one breakpoint.
    strip = window.inspector.strip
    assert len(strip.states) == len(record.prefix.rows) and "written" in strip.states
    assert [r.breakpoint_ttl for r in record.prefix.rows].count("5m") == 1
    # The earlier turn stays inspectable, with its read and prediction.
    window.inspector.picker.setCurrentIndex(1)
    assert window.inspector.current().usage.read >= 3000
    assert window.inspector.table.item(0, 0).text() == window.inspector.table.item(0, 1).text()


def test_the_warm_indicator_goes_idle_warming_warm_while_typing(qtbot, loop, sim):
    window, client = make_window(sim.base_url, warming=True)
    qtbot.addWidget(window)
    seen = [window.composer.warm_state]
    window.composer.warm_state_changed.connect(seen.append)

    async def scenario():
        qtbot.keyClicks(window.composer.edit, "what does the system prompt say")
        await until(lambda: seen[-1] == "warm")
        await client.close()

    loop.run_until_complete(scenario())
    assert seen == ["idle", "warming", "warm"]
    label = window.composer.warm_label.text()
    # The indicator says why the warm-up went out, and the sidebar lists it with its reason.
    assert "tokens" in label and "warm-up: nothing is cached yet: the send starts" in label
    warms = [r for r in window.session.totals.records if r.kind == "warm"]
    assert len(warms) == 1 and warms[0].usage.write >= 3000
    listed = window.sidebar.requests.item(0).text()
    assert listed.startswith("warm: read 0, wrote") and "nothing is cached yet" in listed


def test_a_turn_after_a_system_edit_is_charged_the_rewrite_its_warm_up_paid(qtbot, loop, sim):
    """The warm-up rewrote the edited system prompt; the turn then read it. Its saving is net
    of that warm-up, and here it is a loss, said as such (it once showed "Saved $0.0693")."""
    window, client = make_window(sim.base_url, warming=True)
    qtbot.addWidget(window)

    async def scenario():
        await run_turn(window, "first question")
        window.session.conversation.set_system_text(text_of(3000, "another system prompt"))
        qtbot.keyClicks(window.composer.edit, "and now")
        await until(lambda: [r.kind for r in window.session.totals.records][-1] == "warm")
        window.sending.send()
        await until(lambda: turn_over(window) and window.session.totals.records[-1].kind == "turn")
        await client.close()

    loop.run_until_complete(scenario())
    totals = window.session.totals
    warm, turn = totals.records[-2:]
    assert warm.usage.write >= 3000 and turn.usage.read >= 3000
    net, extra = totals.net_saved_usd(turn)
    assert extra == warm.cost.paid_usd and net < 0 < turn.cost.saved_usd
    saved = window.sidebar.fields["saved"].text()
    assert saved.startswith(f"-${-net:.4f}: cost more than no caching")


def test_bad_tool_json_is_refused_with_where_it_is_wrong(qtbot, loop, sim):
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    dialog = window.dialogs.edit_conversation_settings()
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    dialog.tools_edit.setPlainText('[{"name": "x", "input_schema": {"type": "object"},}]')
    assert not dialog.refresh() and not ok.isEnabled()
    assert "line 1" in dialog.error.text()
    dialog.tools_edit.setPlainText(
        json.dumps([{"name": "lookup", "description": "d", "input_schema": {"type": "object"}}])
    )
    assert dialog.refresh() and ok.isEnabled()
    assert "tool definitions" in dialog.impact.text()
    ok.click()
    assert [t.name for t in window.session.conversation.tools] == ["lookup"]
    loop.run_until_complete(client.close())


def test_cache_up_to_here_pins_a_breakpoint_and_edit_resend_restores_the_draft(
    qtbot, loop, sim, tmp_path
):
    window, client = make_window(sim.base_url, strategy="last_user_message")
    qtbot.addWidget(window)
    conv = window.session.conversation
    for i in range(3):
        conv.add_user_text(f"question {i} " + text_of(300))
        conv.add("assistant", TextBlock(f"answer {i}"))
    window.show()
    window.workspace.show(window.chat)
    window.messages.pin_message(0, True)
    marked = {
        window.view.last_built.flat.blocks[b.index].path for b in window.view.last_built.breakpoints
    }
    # The pin, and the pattern's mark on the message Send would send next (after the six shown).
    assert "messages.0.content.0" in marked and "messages.6.content.0" in marked
    messages = [row for row in window.view.rows() if row.kind == "message"]
    assert [row.pinned for row in messages][:2] == [True, False]
    # The message under the pointer is found from the list's rows.
    window.view.scroll_to_message(4)
    position = window.view.position_of_message(4)
    point = window.view.visualRect(window.view.model_.index(position)).center()
    assert window.view.message_at(point) == 4
    Image.new("RGB", (300, 200), "teal").save(tmp_path / "a.png")
    from app.conversation.images import lock_image

    conv.add_user_text("look at this", lock_image(tmp_path / "a.png"))
    conv.add("assistant", TextBlock("a teal square"))
    kept = list(conv.messages)
    window.messages.edit_message(6)
    assert window.composer.text() == "look at this"
    assert [a.width for a in window.composer.attachments] == [300]
    # Nothing is lost until the edit is sent: the two messages it replaces show faded.
    assert conv.messages == kept
    assert [row.dimmed for row in window.view.rows()][-3:] == [True, True, False]
    window.messages.cancel_edit()
    assert conv.messages == kept and window.composer.text() == ""
    assert not any(row.dimmed for row in window.view.rows())
    window.messages.edit_message(6)
    window.composer.edit.setPlainText("look at this again")

    async def resend():
        window.sending.send()
        await until(lambda: turn_over(window))
        await client.close()

    loop.run_until_complete(resend())
    assert [m.text for m in conv.messages[6:]] == ["look at this again", conv.messages[7].text]
    assert conv.messages[:6] == kept[:6] and len(conv.messages) == 8


def test_finished_code_is_coloured_and_images_open_full_size(qtbot, loop, sim, tmp_path):
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    Image.new("RGB", (1600, 900), "navy").save(tmp_path / "big.png")
    from app.conversation.images import lock_image

    conv = window.session.conversation
    conv.add_user_text("see", lock_image(tmp_path / "big.png"))
    conv.add("assistant", TextBlock("Here:\n\n```python\ndef f(x):\n    return x  # done\n```\n"))
    window.show()
    window.workspace.show(window.chat)
    document = window.view.documents()[-1]
    block = document.findBlock(document.toPlainText().index("def f"))
    coloured = {f.format.foreground().color().name() for f in block.layout().formats()}
    assert len(coloured - {"#000000"}) >= 2  # keyword and name differ from plain text
    sha = conv.messages[0].blocks[0].image.sha256
    window.view.scroll_to_message(0)
    rect = window.view.visualRect(window.view.model_.index(window.view.position_of_message(0)))
    found = {
        window.view.image_at(QPoint(x, y))
        for x in range(rect.left(), rect.right(), 10)
        for y in range(rect.top(), rect.bottom(), 10)
    }
    assert sha in found  # the thumbnail is drawn in the message's row and found under the pointer
    window.messages.show_image(sha)
    (viewer,) = window.findChildren(ImageViewer)
    assert viewer.label.pixmap().width() == conv.messages[0].blocks[0].image.width  # full size
    loop.run_until_complete(client.close())


def test_preferences_are_saved_without_the_key_and_change_the_send_key(qtbot, loop, sim, tmp_path):
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    window.preferences_changed = lambda: window.prefs.save(tmp_path)
    dialog = window.dialogs.edit_preferences()
    dialog.send_key.setCurrentIndex(1)  # Ctrl+Enter sends
    dialog.key_edit.setText("sk-ant-test-secret-123")

    async def scenario():
        dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
        await until(lambda: dialog.session_key is not None)
        dialog.accept()
        qtbot.keyClicks(window.composer.edit, "two")
        qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
        qtbot.keyClicks(window.composer.edit, "lines")
        await client.close()

    loop.run_until_complete(scenario())
    # The test keyring backend refuses the key: it is kept for this session only, and said so.
    assert "session only" in dialog.key_status.text()
    assert "Claude API" in window.toolbar.badge.text()
    saved = (tmp_path / FILE_NAME).read_text()
    assert "sk-ant" not in saved and Preferences.load(tmp_path).enter_sends is False
    assert window.composer.text() == "two\nlines" and not window.session.conversation.messages


def test_the_model_list_comes_from_the_api_when_it_answers(qtbot, loop, sim):
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    loop.run_until_complete(window.connection.load_models())
    assert "/v1/models" in window.toolbar.model_box.toolTip()
    assert window.toolbar.model_box.count() >= 3
    assert window.toolbar.model_box.currentData() == window.session.conversation.model
    loop.run_until_complete(client.close())


def test_saving_the_preferences_untouched_keeps_following_the_default_model(qtbot, loop, sim):
    """With no default model chosen, the dialog showed the first model (Opus 4.6) and saving it
    untouched made every new conversation Opus."""
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    saves = []
    window.preferences_changed = lambda: saves.append(window.prefs)
    dialog = window.dialogs.edit_preferences()
    assert dialog.model.currentData() == "" and dialog.model.currentText().startswith("The default")
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    assert window.prefs.model == "" and saves == []  # nothing changed, nothing written
    window.toolbar.pattern_box.setCurrentIndex(window.toolbar.pattern_box.findData("automatic"))
    assert window.session.conversation.pattern == "automatic"  # saved with the conversation
    assert window.engine.caching_of(window.session.conversation)[0] == "automatic"
    loop.run_until_complete(client.close())


def test_help_lists_every_shortcut_the_menus_hold(qtbot, loop, sim):
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    dialog = window.show_shortcuts()
    rows = {
        dialog.table.item(r, 0).text(): dialog.table.item(r, 1).text()
        for r in range(dialog.table.rowCount())
    }
    assert rows["Conversation → Stop reply"] == "Esc"
    assert rows["Help → Keyboard shortcuts"] == "F1"
    assert rows["View → Cache inspector"] == "Ctrl+I"
    assert rows["New line in the message"] == "Shift+Enter"
    with_keys = [
        a for m in window.menus.values() for a in m.actions() if not a.shortcut().isEmpty()
    ]
    assert len(rows) == len(with_keys) + 4  # every menu shortcut, and the four in no menu
    dialog.close()
    loop.run_until_complete(client.close())


def test_the_first_window_fits_a_1366x768_laptop_with_its_send_row_on_screen(qtbot, loop, sim):
    from PySide6.QtCore import QPoint, QRect

    from app.ui.geometry import default_size

    laptop = QRect(0, 0, 1366, 738)  # 768 less a 30-pixel panel
    size = default_size(laptop)
    assert size.width() <= 1366 and size.height() <= 738
    assert default_size(QRect(0, 0, 2560, 1400)).toTuple() == (1280, 820)
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    window.resize(size)
    window.show()
    qtbot.waitExposed(window)
    assert window.height() <= 738
    send = window.composer.send_button
    bottom = send.mapTo(window, QPoint(0, send.height())).y()
    assert send.isVisible() and bottom <= window.height()
    loop.run_until_complete(client.close())


def test_each_model_says_what_it_costs_and_where_its_prices_come_from(qtbot, loop, sim):
    from PySide6.QtCore import Qt

    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    box = window.toolbar.model_box
    tips = {
        box.itemData(i): box.itemData(i, Qt.ItemDataRole.ToolTipRole) for i in range(box.count())
    }
    assert "$0.1 read" in tips["claude-sonnet-5-5"] and "genai-prices" in tips["claude-sonnet-5-5"]
    assert "over 100,000 tokens" in tips["claude-haiku-5-5"]
    assert "fallback" in tips["claude-mythos-5-1"]
    loop.run_until_complete(client.close())


def test_preferences_saved_untouched_change_nothing_and_follow_the_price_switch(
    qtbot, loop, sim, tmp_path, monkeypatch
):
    """Issue 28: Save with nothing touched reset dark mode and erased the MCP approvals (the
    dialog rebuilt every field it does not show from defaults). Issue 27: the library's price
    update runs only while the Preferences switch is on (the library's updater is replaced by
    a recorder here: this machine has no route to its published data)."""
    import genai_prices

    calls = []

    class Recorder:
        def start(self, wait=False):
            calls.append("start")

        def stop(self):
            calls.append("stop")

    monkeypatch.setattr(genai_prices, "UpdatePrices", Recorder)
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    before = Preferences(appearance="dark", always_allow={"tiny": ["add"]}, window_state="x")
    window.settings.prefs = before
    dialog = window.dialogs.edit_preferences()
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    assert window.prefs == before and calls == []
    dialog = window.dialogs.edit_preferences()
    assert not dialog.update_prices.isChecked()
    dialog.update_prices.setChecked(True)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    assert window.prefs.update_prices and window.prefs.appearance == "dark"
    assert calls == ["start"] and window.price_updates.running
    dialog = window.dialogs.edit_preferences()
    dialog.update_prices.setChecked(False)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    assert calls == ["start", "stop"] and not window.price_updates.running
    loop.run_until_complete(client.close())


def test_at_1366x768_send_and_the_badge_stay_on_screen_with_the_longest_texts(qtbot, loop, sim):
    """Issue 28: the draft line "... it would be refused" was one unwrapped label and made the
    window 1,803 px wide on a 1,366 px screen; Send and the badge went off-screen."""
    from app.workspace.outlook import NOTHING, Indicator

    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    window.chat.apply(model="claude-haiku-4-5")  # a 200,000-token window
    window.inspector_dock.show()
    window.resize(1366, 768)
    window.show()
    window.composer.edit.setPlainText("What does chapter twelve say about the harbour? " * 4)
    window.composer.summary.setText(
        "Draft (1,204 attachment blocks + text): ~260,000 tokens: about $0.3250 to send cold, "
        "$0.0260 once cached. That is more than Claude Haiku 4.5's context window (200,000 "
        "tokens): it would be refused"
    )
    long_reason = "not worth it: it would save 0.02 s at the price of a write " * 3
    window.composer.show_outlook(
        replace(NOTHING, indicator=Indicator("not warmed", note=long_reason))
    )
    window.composer.notice.setText("links to files outside the folder: 3; special files: 1 " * 4)
    window.notify("Switched effort to low. " + "The next turn reads everything cached. " * 6)
    window.toolbar.show_connection("offline: the API could not be reached " * 3)
    qtbot.wait(50)
    assert window.minimumSizeHint().width() <= 1366
    assert window.width() <= 1366 and window.height() <= 768
    for widget in (window.composer.send_button, window.toolbar.badge):
        right = widget.mapTo(window, widget.rect().topRight()).x()
        assert 0 < right <= window.width(), widget.objectName()
    side = window.sidebar.parentWidget().parentWidget()
    assert not side.horizontalScrollBar().isVisible()
    loop.run_until_complete(client.close())


def test_the_badge_is_grey_while_connecting_and_red_for_a_dead_url_at_start(qtbot, loop, sim):
    """Issue 28: the badge was green while connecting, and for a dead base URL until the first
    send failed."""
    import anthropic

    from app.conversation.conversation import Conversation
    from app.engine.engine import Engine, EngineSettings
    from app.engine.session import Session
    from tests.uikit import window_on

    engine = Engine(None, EngineSettings())
    window = window_on(
        engine, Session(Conversation(model="claude-sonnet-4-6")), None, "Connecting…"
    )
    qtbot.addWidget(window)
    badge = window.toolbar.badge
    assert "#c8c8c8" in badge.styleSheet()
    dead = anthropic.AsyncAnthropic(base_url="http://127.0.0.1:9", api_key="k", max_retries=0)
    window.workspace.use_client(dead, "Claude API (key from the keyring)")
    loop.run_until_complete(until(lambda: "offline" in badge.text(), timeout=20))
    assert "#d9534f" in badge.styleSheet() and window.session.conversation.messages == []
    loop.run_until_complete(dead.close())


def test_help_explains_every_sidebar_label_in_the_windows_own_words(qtbot, loop, sim):
    """Issue 28: Help → How to read the cache marks, with the same words as the window."""
    from PySide6.QtWidgets import QGroupBox, QLabel

    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    page = window.show_marks_help().browser.toPlainText().lower()
    labels = {
        w.text()
        for w in window.sidebar.findChildren(QLabel)
        if w.text()[:1].isalpha()  # the labels, not the figures beside them
    }
    labels |= {box.title() for box in window.sidebar.findChildren(QGroupBox)}
    missing = sorted(t for t in labels if t.lower() not in page)
    assert len(labels) >= 10 and missing == [], missing
    for words in ("too short to cache", "cache miss", "warm-ups", "flag", "send: ~"):
        assert words in page
    loop.run_until_complete(client.close())


def test_file_dialogs_open_where_the_last_attachment_came_from_and_show_code(
    qtbot, loop, sim, tmp_path
):
    """Issue 28: dialogs open in the last used folder (kept in the preferences), and the
    document filter does not hide source files."""
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    project = tmp_path / "project"
    project.mkdir()
    (project / "main.py").write_text("print('hi')\n" * 50)
    composer = window.composer
    composer.attach_chosen([str(project / "main.py")])  # what choosing it in the dialog does
    assert window.prefs.last_folder == str(project)
    dialog = composer.pick("document")
    assert dialog.directory().absolutePath() == str(project)
    chosen = dialog.selectedNameFilter()
    assert chosen.startswith("Documents and code") and all(
        pattern in chosen for pattern in ("*.py", "*.rs", "*.ts", "*.pdf")
    )
    dialog.reject()
    loop.run_until_complete(until(lambda: not composer.pending))
    loop.run_until_complete(client.close())


def test_the_folder_chooser_selects_none_all_and_a_subfolder_at_once(qtbot, tmp_path):
    """Issue 28: the folder chooser has select none and per-folder toggles."""
    from app.conversation.attachments import lock_whole_folder
    from app.ui.widgets.folder_dialog import FolderDialog

    root = tmp_path / "repo"
    for name in ("src/a.py", "src/b.py", "docs/guide.md", "README.md"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(f"# {name}\n" * 20)
    dialog = FolderDialog(lock_whole_folder(root))
    qtbot.addWidget(dialog)
    assert len(dialog.chosen().documents) == 4
    dialog.none_button.click()
    assert dialog.chosen().documents == () and "0 of 4 files" in dialog.total.text()
    dialog.all_button.click()
    src = next(
        dialog.subfolders.item(i)
        for i in range(dialog.subfolders.count())
        if dialog.subfolders.item(i).text().startswith("src/")
    )
    src.setCheckState(Qt.CheckState.Unchecked)
    names = sorted(d.name for d in dialog.chosen().documents)
    assert names == ["repo/README.md", "repo/docs/guide.md"]


def test_the_folder_chooser_counts_in_the_models_tokens_and_ticks_what_fits(qtbot, tmp_path):
    """Issue 35.9: the folder chooser counted in the estimator's tokens (Opus 4.7 reads about
    30% more) and ticked every file, also past the model's context window."""
    from app.conversation.attachments import lock_whole_folder
    from app.facts.catalogue import default_catalogue
    from app.facts.tokens import model_tokens
    from app.ui.widgets.folder_dialog import FolderDialog

    root = tmp_path / "repo"
    for k in range(6):
        (root / f"part{k}.txt").parent.mkdir(parents=True, exist_ok=True)
        (root / f"part{k}.txt").write_text(text_of(10_000, f"part {k}"))
    folder = lock_whole_folder(root)
    opus = default_catalogue().require("claude-opus-4-7")
    each = model_tokens(folder.documents[0].tokens, opus.token_scale)
    assert each > folder.documents[0].tokens * 1.2  # the newer tokenizer
    dialog = FolderDialog(folder, None, opus, room=int(each * 3.5))
    qtbot.addWidget(dialog)
    assert len(dialog.chosen().documents) == 3  # what fits, in order
    assert f"~{each:,} tokens" in dialog.list.item(0).text()
    assert "fit in Claude Opus 4.7's context window" in dialog.total.text()
    dialog.all_button.click()
    assert "over it, the API would refuse the send" in dialog.total.text()


def test_what_would_it_have_cost_replays_the_open_conversation_and_applies_the_cheapest(
    qtbot, loop, sim
):
    """Issue 29: Conversation → What would it have cost replays the open conversation under
    every policy off the GUI thread, draws dollars and waiting per policy with what was paid,
    says what would have paid most, and applies it to this conversation."""
    window, client = make_window(sim.base_url, system_tokens=3000)
    qtbot.addWidget(window)

    async def scenario():
        for text in ("What is in chapter one?", "And chapter two?"):
            window.composer.edit.setPlainText(text)
            window.sending.send()
            await until(lambda: turn_over(window))
        dialog = window.replay.open()
        await until(lambda: dialog.task.done(), timeout=120)
        await client.close()
        return dialog

    dialog = loop.run_until_complete(scenario())
    assert dialog.table.rowCount() == 9 and dialog.chart.report is not None
    report = dialog.chart.report
    paid = sum(r.cost.paid_usd for r in window.session.totals.records)
    assert report.actual_usd == pytest.approx(paid) and "you paid" in dialog.progress.text()
    assert dialog.sentence.text() and all(r.cost_usd is not None for r in report.rows)
    assert any("typing assumed" in n for n in report.notes)
    # The cheapest policy this app can follow, applied whole on a click (issue 35.7): its
    # pattern, TTL, warming and keep-alive pings, and the status line says what was applied.
    follow = dialog.follow
    assert follow is not None and dialog.best == follow.policy
    assert f"Using it sets, for this conversation only: {follow.words()}" in dialog.advice.text()
    dialog.apply_button.click()
    box = window.switch.box
    if box is not None and box.isVisible():  # the switch costs cached tokens: say yes
        next(b for b in box.buttons() if b.text() == "Change it").click()
    from app.replay.ours import in_force, settings_for

    now = in_force(settings_for(window.session.conversation, window.workspace.engine.settings))
    assert all(now[k] == v for k, v in follow.changes.items()), (now, follow.changes)
    assert follow.words() in window.status_label.text()
