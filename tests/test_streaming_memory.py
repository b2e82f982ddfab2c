"""A reply that streams for ten minutes leaves memory where it was: the pane keeps one laid-out
document and one height per row, not one per flush (issue 25, point 4: a 2-minute, 47,640-character
reply had left +168 MB, and nothing was freed after it)."""

import os

from PySide6.QtWidgets import QApplication

from app.conversation.blocks import TextBlock
from app.conversation.conversation import Conversation
from app.ui.widgets.conversation_view import ConversationView

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 1e6


def test_ten_minutes_of_streaming_deltas_leave_memory_flat(qapp):
    conv = Conversation(model="claude-sonnet-4-6")
    conv.add_user_text("Tell me a long story.")
    view = ConversationView()
    view.resize(900, 700)
    view.show_conversation(conv)
    view.begin_reply()
    line = "The cache was warm, and the answer came at once, word after word. "
    # Ten minutes at one flush a second (the pane spaces flushes out as the reply grows),
    # 80 characters a flush: 48,000 characters, the 2-minute reply.
    sizes = []
    for second in range(600):
        view.append_delta(line[:40] + ("\n\n" if second % 10 == 9 else line[40:78]))
        view.flush_tail()
        if second in (60, 599):
            QApplication.processEvents()
            sizes.append(rss_mb())
    view.end_reply()
    conv.add("assistant", TextBlock(view.tail_text()))
    view.show_conversation(conv)
    QApplication.processEvents()
    kept = view.delegate.cached()
    assert kept.documents <= 3 and kept.heights <= 3, kept
    growth = sizes[1] - sizes[0]
    assert growth < 40, f"memory grew {growth:.0f} MB over nine minutes of streaming"
