"""The window's figures agree with each other (a new user's findings 8 to 13): the marks survive
a pattern switched there and back, the inspector and the sidebar say one saving, a thing has one
token figure wherever it is shown, the draft line names what the send writes now and what cold
writes, the help says every colour, and the shortcuts list and the empty dialogs say what is
there. Driven offscreen on the simulator."""

from __future__ import annotations

from app.conversation.conversation import Conversation
from app.engine.session import Session
from app.ui.widgets.attachment_chip import AttachmentChip
from app.ui.widgets.figures import text_figure
from app.ui.widgets.money import usd
from tests.helpers import SONNET_46, text_of
from tests.uikit import drop_files, make_window, turn_over, until


def gutter(view) -> dict:
    """What the pane's gutter shows: per message index (and "system"), flags and the bar."""
    return {
        row.index if row.kind == "message" else row.kind: (
            row.marks.flags,
            row.marks.read,
            row.marks.written,
            row.marks.uncached,
        )
        for row in view.rows()
        if row.marks.flags or row.marks.tokens
    }


def choose_pattern(window, name: str) -> None:
    """The toolbar's pattern box, as a user picks it; a switch that costs is accepted."""
    box = window.toolbar.pattern_box
    window.switch.box = None
    box.setCurrentIndex(box.findData(name))
    asked = window.switch.box
    if asked is not None and asked.isVisible():
        [b for b in asked.buttons() if b.text() == "Change it"][0].click()


def test_a_pattern_switched_and_back_keeps_the_last_turns_flags_and_bars(qtbot, loop, sim):
    """Finding 8 (docs/window.md: "a pattern change updates only the rows whose marks
    changed"): on Sonnet 5 with an adaptive TTL, Smart, then Last user message (the status
    says "Nothing changes in the request"), then Smart again left every message without its
    flag and bar for good. A switch that moves the flags shows where the request Send would
    send puts them and what the cache would give it (predicted); switching back shows the last
    turn's marks again, flags and bars, redrawing only the rows whose marks changed."""
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    window.chat.apply(model="claude-sonnet-5", ttl="adaptive")
    window.settings.open(window.chat.conversation)
    view = window.view

    async def two_turns():
        for n in range(2):
            window.composer.edit.setPlainText(f"question {n} " + text_of(300, f"q{n}"))
            window.sending.send()
            await until(lambda: turn_over(window))

    loop.run_until_complete(two_turns())
    after_turns = gutter(view)
    flagged = [k for k, (flags, *_) in after_turns.items() if flags and k != "system"]
    assert flagged and all(sum(bar) for _f, *bar in after_turns.values()), after_turns
    for pattern in ("last_user_message", "last_2_user_messages", "automatic"):
        choose_pattern(window, pattern)
        assert window.chat.conversation.pattern == pattern
        preview = gutter(view)
        # every message keeps a bar: what the cache would give the request Send would send
        assert set(preview) >= set(after_turns) and all(sum(b) for _f, *b in preview.values())
        assert all(row.marks.predicted for row in view.rows() if row.marks.tokens)
        said = next(r for r in view.rows() if r.marks.tokens).marks.describe()
        assert said.startswith("If sent now (predicted)"), said
        touched: list[int] = []
        view.model_.dataChanged.connect(
            lambda a, b, t=touched: t.extend(range(a.row(), b.row() + 1))
        )
        choose_pattern(window, "smart")
        assert gutter(view) == after_turns, (pattern, gutter(view))
        assert not any(row.marks.predicted for row in view.rows())
        differ = {
            i for i, row in enumerate(view.rows())
            if preview.get(row.index if row.kind == "message" else row.kind)
            != after_turns.get(row.index if row.kind == "message" else row.kind)
        }  # fmt: skip
        assert set(touched) <= differ, (touched, differ)
    loop.run_until_complete(client.close())


def test_a_conversation_shown_again_keeps_its_bars(qtbot, loop, sim):
    """Finding 8, the same loss by another path: showing an open conversation again drew its
    flags without its bars (the marks came from the last request without its usage)."""
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)

    async def one_turn():
        window.composer.edit.setPlainText("question " + text_of(300, "q"))
        window.sending.send()
        await until(lambda: turn_over(window))

    loop.run_until_complete(one_turn())
    before = gutter(window.view)
    assert any(sum(bar) for _f, *bar in before.values())
    session = window.session
    window.workspace.new(Session(Conversation(model=SONNET_46)))
    assert gutter(window.view) == {}
    window.workspace.open(session, saved=False)  # back to it (still open, or opened again)
    assert gutter(window.view) == before
    loop.run_until_complete(client.close())


def inspector_saved(window, record) -> tuple[str, float]:
    """The inspector's "saved" for ``record``, as shown, and its dollars (0 when it is counted
    in a turn's figure instead)."""
    inspector = window.inspector
    inspector.picker.setCurrentIndex(inspector.records.index(record))
    said = inspector.summary.text().split(", saved ", 1)[1]
    figure = said.split(":")[0].split(" ")[0]
    if not figure.lstrip("-").startswith("$"):
        return said, 0.0
    return said, float(figure.replace("$", ""))


def test_the_inspector_and_the_sidebar_say_one_saving(qtbot, loop, sim):
    """Finding 9: the inspector said a first warm-up saved -$0.0050 (its write premium) where
    the sidebar counted its whole $0.0248 against the saving; turn 2 "saved $0.0178" in the
    inspector and -$0.0070 in the sidebar; the inspector's figures added up to +$0.37 against
    the sidebar's $0.1344. One definition now ("what caching saved against sending the same
    without it, net of warm-ups and pings"): a turn's figure is the sidebar's, word for word; a
    warm-up is counted in the turn it served; the figures add up to the conversation's."""
    window, client = make_window(sim.base_url, warming=True)
    qtbot.addWidget(window)

    async def scenario():
        for n in range(3):
            qtbot.keyClicks(window.composer.edit, f"question {n} about the system prompt")
            await until(lambda: window.chat.outlook.indicator.state in ("warm", "not warmed"))
            window.sending.send()
            await until(lambda: turn_over(window))
        window.session.conversation.set_system_text(text_of(3000, "another system prompt"))
        qtbot.keyClicks(window.composer.edit, "one more, not sent")  # a warm-up no turn used
        await until(lambda: window.session.totals.records[-1].kind == "warm")

    loop.run_until_complete(scenario())
    totals = window.session.totals
    kinds = [r.kind for r in totals.records]
    assert kinds[0] == "warm" and kinds[1] == "turn" and kinds[-1] == "warm", kinds
    shown = [inspector_saved(window, r) for r in totals.records]
    first_warm, _ = shown[0]
    assert first_warm.startswith("counted in turn 1's saving"), first_warm
    last_warm, dollars = shown[-1]
    assert (
        dollars == -round(totals.records[-1].cost.paid_usd, 4) and "no turn has used" in last_warm
    )
    assert abs(sum(d for _, d in shown) - totals.saved_usd) < 0.0001 * len(shown)
    assert window.sidebar.fields["total_saved"].text().startswith(usd(totals.saved_usd))
    last_turn = [r for r in totals.records if r.kind == "turn"][-1]
    assert inspector_saved(window, last_turn)[0] == window.sidebar.fields["saved"].text()
    loop.run_until_complete(client.close())


def figure(text: str, before: str, after: str = " ") -> int:
    """The number written between ``before`` and the next ``after`` in ``text``."""
    return int(text.split(before, 1)[1].split(after, 1)[0].replace(",", "").lstrip("~"))


def draft_blocks(window) -> list:
    """The blocks of the request Send would send that the draft adds (its last message)."""
    request = window.chat.outlook.request
    if request is None:
        return []
    last = max(int(b.path.split(".")[1]) for b in request.flat.blocks if b.path.startswith("m"))
    return [b for b in request.flat.blocks if b.path.startswith(f"messages.{last}.content")]


def test_an_image_draft_has_one_token_figure_and_is_smaller_than_its_request(
    qtbot, loop, sim, tmp_path
):
    """Finding 10: on Sonnet 5 an image draft read "Send: ~1,544 tokens ... the draft (1
    attachment blocks + text) is ~2,000 tokens" while its chip said ~1,532: the draft scaled
    the image's tokens by the tokenizer's 1.3, which counts text only (images are counted by
    their pixels, docs/window.md: every figure in the conversation model's tokenizer)."""
    from PIL import Image

    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    window.chat.apply(model="claude-sonnet-5")
    window.settings.open(window.chat.conversation)
    Image.new("RGB", (1200, 900), "teal").save(tmp_path / "shot.png")
    composer = window.composer
    composer.edit.setPlainText("what is this?")
    drop_files(composer.edit, [tmp_path / "shot.png"])

    def priced() -> bool:  # the line prices the request with the image in it
        price = window.chat.outlook.price
        line = composer.summary.text()
        return "attachment block" in line and price is not None and f"~{price.tokens:,} " in line

    loop.run_until_complete(
        until(lambda: any(b.facts.kind == "image" for b in draft_blocks(window)))
    )
    loop.run_until_complete(until(priced))
    line = composer.summary.text()
    chip = composer.chip_area.widget().findChildren(AttachmentChip)[0].info.text()
    image = figure(chip, "~", " tok")
    draft = figure(line, ") is ~")
    sent = figure(line, "Send: ~")
    # the chip counts the image as the request does (the message's role marker aside); the
    # draft is the chip and its words
    (block,) = [b for b in draft_blocks(window) if b.facts.kind == "image"]
    assert image == block.tokens - block.facts.overhead, (image, block)
    assert draft == image + text_figure("what is this?", 1.3) and draft < sent, line
    assert "(1 attachment block + text)" in line, line
    loop.run_until_complete(client.close())


def test_a_long_paste_has_one_token_figure_in_the_question_the_chip_and_the_request(
    qtbot, loop, sim
):
    """Finding 10: the paste question said "about 7,500 tokens" (the estimator's, not the
    model's tokenizer) where the chip made from the same paste said ~9,769."""
    from PySide6.QtWidgets import QMessageBox

    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    window.chat.apply(model="claude-sonnet-5")
    window.settings.open(window.chat.conversation)
    composer = window.composer
    pasted = "The tenant shall keep the premises in good repair. " * 600
    composer._offer_attachment(pasted)
    asked = figure(composer.paste_box.text(), "(about ", " tokens")
    composer.paste_box.done(QMessageBox.StandardButton.Yes)  # Attach as document
    loop.run_until_complete(until(lambda: composer.attachments))
    chip = composer.chip_area.widget().findChildren(AttachmentChip)[0].info.text()
    loop.run_until_complete(until(lambda: "Send: ~" in composer.summary.text()))
    (block,) = [b for b in draft_blocks(window) if b.facts.kind == "document"]
    assert asked == figure(chip, "~", " tok"), (asked, chip)
    # the request counts the same, and the message's role marker (4 x 1.3) with its first block
    assert 0 <= block.tokens - asked <= 6, (asked, block.tokens)
    assert asked > len(pasted) // 4  # the tokenizer's 1.3, not the estimator's bytes / 4
    loop.run_until_complete(client.close())


def test_the_draft_line_says_what_the_send_writes_now_and_apart_what_cold_writes(qtbot, loop, sim):
    """Finding 11: with an adaptive TTL the draft line said "writing 5m entries" (the cold
    price's lifetime) and the send then wrote 1h. The line now says what the send would write
    now and, apart, what the same send would write cold."""
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    window.chat.apply(model="claude-sonnet-5", ttl="adaptive")
    window.settings.open(window.chat.conversation)
    composer = window.composer

    async def first_turn_then_type():
        composer.edit.setPlainText("first question " + text_of(300, "q"))
        window.sending.send()
        await until(lambda: turn_over(window))
        composer.edit.setPlainText("and a second question")
        await until(lambda: "from cache" in composer.summary.text())

    loop.run_until_complete(first_turn_then_type())
    line = composer.summary.text()
    assert "in input, writing 1h entries; $" in line and " cold, writing 5m;" in line, line

    async def second_turn():
        window.sending.send()
        await until(lambda: turn_over(window) and len(window.chat.messages) == 4)

    loop.run_until_complete(second_turn())
    written = window.session.totals.records[-1].usage
    assert written.write_1h > 0 and written.write_5m == 0, written  # as the line said
    loop.run_until_complete(client.close())


def test_the_help_names_every_colour_the_tokens_chart_draws(qapp):
    """Finding 13: the Tokens per turn chart draws output in blue; the help page named only
    green, amber and red."""
    from app.ui.help_page import MARKS_PAGE, help_text
    from app.ui.widgets.sidebar import COLORS

    names = {"#3fa66b": "green", "#e0b030": "amber", "#d9534f": "red", "#5b8def": "blue"}
    page = help_text(MARKS_PAGE)
    chart = page.split("**Tokens per turn**", 1)[1].split("\n- ", 1)[0]
    for series, colour in COLORS.items():
        assert names[colour.name()] in chart, (series, colour.name(), chart)


def test_f1_lists_the_attach_keys_and_they_are_in_a_menu(qtbot, loop, sim):
    """Finding 13: F1 left out Ctrl+O and Ctrl+Shift+A (Attach and Folder were in no menu):
    they are File → Attach files… and File → Attach a folder…, listed by F1 with the keys
    that are in no menu (Ctrl+C in the conversation), and the keys still open the choosers."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QFileDialog

    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    window.show()
    window.windowHandle().requestActivate()  # the keys go to the active window's shortcuts
    qtbot.waitUntil(window.isActiveWindow)
    shortcuts = window.show_shortcuts()
    table = shortcuts.table
    rows = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
    shortcuts.reject()
    assert rows["File → Attach files…"] == "Ctrl+O", rows
    assert rows["File → Attach a folder…"] == "Ctrl+Shift+A", rows
    assert rows["Copy the chosen message as written (in the conversation)"] == "Ctrl+C"
    window.composer.edit.setFocus()
    for key, modifiers, mode in (
        (Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier, QFileDialog.FileMode.ExistingFiles),
        (
            Qt.Key.Key_A,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
            QFileDialog.FileMode.Directory,
        ),
    ):
        qtbot.keyClick(window.composer.edit, key, modifiers)
        opened = [d for d in window.findChildren(QFileDialog) if d.isVisible()]
        assert [d.fileMode() for d in opened] == [mode]
        opened[0].reject()
    loop.run_until_complete(client.close())


def test_an_empty_claude_code_folder_says_so_with_the_folder(
    qtbot, loop, sim, tmp_path, monkeypatch
):
    """Finding 13: with an empty ~/.claude/projects the Claude Code sessions dialog was blank."""
    home = tmp_path / "home"
    (home / ".claude" / "projects").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    (entry,) = [a for a in window.menus["file"].actions() if "Claude Code" in a.text()]
    entry.trigger()
    said = window.claude_code.dialog.summary.text()
    assert said.startswith("No Claude Code sessions in ~/.claude/projects"), said
    loop.run_until_complete(client.close())
