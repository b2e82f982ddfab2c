"""Huge text never freezes the window and is never cut silently.

Qt lays out a run with no break opportunity in time quadratic in its length (a 1,000,000-character
line of minified JSON took 53 s per render; 2,000,000 characters in the composer, 65 s). The pane
therefore draws long runs with break points it removes again on copy, draws at most
``SHOWN_CHARS`` of one text block (saying so), and the composer wraps anywhere once such a run is
in the draft. Timings live in ``tests/perf/ui.py``; these tests check the behaviour behind them.
"""

import asyncio
import re

from PySide6.QtCore import QMimeData
from PySide6.QtGui import QTextOption

from app.conversation.blocks import TextBlock, ToolResultBlock
from app.conversation.conversation import Conversation
from app.ui.widgets.composer import Composer
from app.ui.widgets.composer_edit import MAX_PASTE_CHARS
from app.ui.widgets.conversation_view import ConversationView
from app.ui.widgets.message_rows import SHOWN_CHARS
from app.ui.widgets.safe_browser import SafeDocument
from app.ui.widgets.untrusted import LONG_RUN, ZWSP, breakable, literal, unbreak
from tests.helpers import SONNET_46

PUNCTUATED = ("ab\\[c]!(d)`e*" * 200) + "![x](/tmp/cachescope-secret.png)"


def longest_run(text: str) -> int:
    return max((len(run) for run in re.split(r"[\s\u200b]+", text)), default=0)


def test_break_points_cover_every_long_run_and_vanish_on_copy():
    text = "short words " + "q" * 5_000 + " and " + "z" * 1_001
    assert longest_run(breakable(text)) <= LONG_RUN
    assert unbreak(breakable(text)) == text
    assert breakable("w" * LONG_RUN) == "w" * LONG_RUN  # runs up to the limit are untouched


def test_a_break_point_never_splits_an_escape(qapp):
    view = ConversationView()
    conversation = Conversation(model=SONNET_46)
    conversation.add_user_text("go")
    conversation.add("user", ToolResultBlock("t1", PUNCTUATED))
    assert ZWSP in literal(PUNCTUATED)
    # Rendered through literal(): every character shows as written, nothing became markup.
    rendered = SafeDocument()
    rendered.setMarkdown(literal(PUNCTUATED))
    assert unbreak(rendered.toPlainText()).strip() == PUNCTUATED
    view.show_conversation(conversation)  # and the real path loads nothing it was not given
    assert not any(document.registered for document in view.documents())


def test_a_million_character_line_is_drawn_breakable_cut_and_copied_whole(qapp):
    view = ConversationView()
    view.resize(900, 700)
    conversation = Conversation(model=SONNET_46)
    conversation.add_user_text("Show me the blob.")
    blob = "x" * 1_000_000
    conversation.add("assistant", TextBlock(blob))
    view.show_conversation(conversation)
    drawn = view.plain_text()
    assert longest_run(drawn) <= LONG_RUN
    assert len(drawn) < SHOWN_CHARS * 1.05
    assert "900,000 more characters not shown" in drawn
    assert conversation.messages[1].blocks[0].text == blob  # kept whole: only the drawing is cut
    browser = view.select_text_of(1)
    browser.selectAll()
    copied = browser.createMimeDataFromSelection().text()
    assert ZWSP not in copied and "x" * SHOWN_CHARS in copied


def test_a_huge_paste_is_refused_with_a_message_and_a_long_run_wraps_anywhere(qapp):
    composer = Composer(asyncio.ensure_future)
    composer.edit.setPlainText("keep this draft")
    too_big = QMimeData()
    too_big.setText("word " * (MAX_PASTE_CHARS // 5 + 1))
    composer.edit.insertFromMimeData(too_big)
    assert composer.edit.toPlainText() == "keep this draft"  # not cut, not lost
    assert "Nothing was pasted" in composer.notice.text()
    assert f"{MAX_PASTE_CHARS:,}" in composer.notice.text()

    blob = QMimeData()
    blob.setText("b" * 300_000)
    composer.edit.insertFromMimeData(blob)
    composer.paste_box.button(composer.paste_box.StandardButton.No).click()  # as text
    assert "b" * 300_000 in composer.edit.toPlainText()
    assert composer.edit.wordWrapMode() == QTextOption.WrapMode.WrapAnywhere
    composer.clear()
    assert composer.edit.wordWrapMode() == QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere


def test_a_long_paste_is_offered_as_an_attachment_and_either_answer_keeps_it(qapp):
    composer = Composer(asyncio.ensure_future)
    text = "A clause of the contract, long enough to matter. " * 500  # 25,000 characters
    paste = QMimeData()
    paste.setText(text)
    composer.edit.insertFromMimeData(paste)
    assert composer.edit.toPlainText() == ""  # nothing yet: the user is asked
    box = composer.paste_box
    box.button(box.StandardButton.Yes).click()
    [document] = composer.attachments
    assert document.name == "pasted text 1" and document.data.decode() == text
    assert composer.edit.toPlainText() == ""

    composer.edit.insertFromMimeData(paste)
    composer.paste_box.button(box.StandardButton.No).click()
    assert composer.edit.toPlainText() == text and len(composer.attachments) == 1
