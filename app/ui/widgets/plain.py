"""The one rule for text in widgets: plain text, unless the app wrote the markup itself.

Qt guesses: a ``QLabel``, a tooltip or a message box whose text merely looks like HTML is drawn
as rich text, and rich text loads what ``<img src=...>`` names, from disk too (a FIFO there
froze the window). Text from outside the app (a model, a tool server, the API, a file or tool
name, a link's address) reaches widgets only through these helpers: ``plain_label`` makes a label
that never guesses, ``plain_tip`` turns any text into a tooltip that shows it as written, and
``heading`` is the one way to a label with markup, from the app's own words (escaped anyway).
``tests/test_plain_widgets.py`` walks every widget of the window and its dialogs to keep it so.
"""

from __future__ import annotations

import html

from PySide6 import QtGui
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QLabel, QMessageBox, QWidget


def plain_label(text: str = "", parent: QWidget | None = None) -> QLabel:
    """A label that shows its text as written, whatever it contains."""
    made = QLabel(parent)
    made.setTextFormat(Qt.TextFormat.PlainText)
    made.setText(text)
    return made


def heading(text: str, parent: QWidget | None = None) -> QLabel:
    """A bold label of the app's own words."""
    made = QLabel(parent)
    made.setTextFormat(Qt.TextFormat.RichText)
    made.setText(f"<b>{html.escape(text)}</b>")
    return made


def plain_tip(text: str) -> str:
    """A tooltip that shows ``text`` as written (Qt would take HTML-looking text as rich)."""
    return QtGui.Qt.convertFromPlainText(text, Qt.WhiteSpaceMode.WhiteSpaceNormal) if text else ""


def plain_box(box: QMessageBox) -> QMessageBox:
    """A message box whose text and details are shown as written."""
    box.setTextFormat(Qt.TextFormat.PlainText)
    return box


def plural(count: int, word: str) -> str:
    """ "1 message", "2 messages", "1,024 tokens"."""
    return f"{count:,} {word}" + ("" if count == 1 else "s")


class OneLineLabel(QLabel):
    """A plain label kept to one line that never widens its window: a text longer than its
    width ends with "…" (its tooltip says it whole); ``text()`` is the whole text."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setText(text)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(0, super().minimumSizeHint().height())

    def shown(self) -> str:
        """What is drawn: the text, cut with "…" to the label's width."""
        width = self.contentsRect().width()
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, width)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        rect = self.contentsRect()
        shown = self.shown()
        painter = QtGui.QPainter(self)
        self.style().drawItemText(
            painter,
            rect,
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            self.palette(),
            self.isEnabled(),
            shown,
            self.foregroundRole(),
        )
