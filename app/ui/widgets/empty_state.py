"""What a new conversation shows before its first message: what Cachescope does, and the
two things a long-context chat starts with."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from app.ui.widgets.plain import heading, plain_label

TEXT = (
    "Chat with Claude over long contexts — a book, a contract, a code base, screenshots — "
    "and see what prompt caching does with them: every breakpoint is flagged in the margin, "
    "every reply says what was read from cache, written and paid in full, and why a miss "
    "happened. While you type, the cache is warmed so the answer starts fast.\n\n"
    "Attach the long part first; it is locked as bytes so it never breaks the cache."
)


class EmptyState(QWidget):
    attach = Signal(str)  # "document" or "image"

    def __init__(self, parent):
        super().__init__(parent)
        self.setObjectName("emptyState")
        column = QVBoxLayout(self)
        title = heading("Start a conversation")
        body = plain_label(TEXT)
        body.setWordWrap(True)
        column.addWidget(title, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addWidget(body)
        buttons = QHBoxLayout()
        for label, kind in (("Attach a document…", "document"), ("Attach an image…", "image")):
            button = QPushButton(label)
            button.clicked.connect(lambda _=False, k=kind: self.attach.emit(k))
            buttons.addWidget(button)
        column.addLayout(buttons)
        self.hide()

    def place(self) -> None:
        """Centred in the pane, at most 560 px wide."""
        area = self.parentWidget().rect()
        width = min(560, area.width() - 40)
        self.setFixedWidth(max(200, width))
        self.adjustSize()
        self.move((area.width() - self.width()) // 2, max(10, (area.height() - self.height()) // 3))
