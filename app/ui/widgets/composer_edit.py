"""The composer's text field: Enter sends (Shift+Enter: new line), Esc stops; files and images
dropped or pasted go to the composer; a paste too big is refused with a message, a long one is
offered as an attachment, and a long unbroken run makes it wrap anywhere."""

from __future__ import annotations

from PySide6.QtCore import QBuffer, QIODevice, QMimeData, Qt, Signal
from PySide6.QtGui import QImage, QTextOption
from PySide6.QtWidgets import QPlainTextEdit

from app.ui.widgets.untrusted import RUN

MAX_PASTE_CHARS = 2_000_000  # ~500k tokens: more than a model reads at once
LONG_PASTE_CHARS = 20_000  # ~5k tokens: past this a paste is offered as an attachment


class ComposerEdit(QPlainTextEdit):
    send_requested = Signal()
    stop_requested = Signal()
    files_dropped = Signal(list)
    image_pasted = Signal(bytes)
    refused = Signal(str)  # why a paste was not taken, for the composer's notice
    long_paste = Signal(str)  # a paste long enough to be better as an attachment

    def __init__(self, parent=None):
        super().__init__(parent)
        self.set_enter_sends(True)
        self.setAcceptDrops(True)
        self.setTabChangesFocus(True)

    offer_attachments = True

    def setPlainText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        if text:
            self._wrap_for(text)
            super().setPlainText(text)
        else:  # empty first: a new wrap mode would lay the old text out again
            super().setPlainText(text)
            self._wrap_for(text)

    def _wrap_for(self, text: str) -> None:
        """Wrap anywhere once the draft holds a long unbroken run (minified JSON, base64):
        Qt lays such a run out in time quadratic in its length at word boundaries (2,000,000
        characters: 65 s), and linear when it may break anywhere."""
        if not text:
            self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        elif RUN.search(text):
            self.setWordWrapMode(QTextOption.WrapMode.WrapAnywhere)

    def set_enter_sends(self, enter_sends: bool) -> None:
        self.enter_sends = enter_sends
        keys = "Enter sends, Shift+Enter" if enter_sends else "Ctrl+Enter sends, Enter"
        self.setPlaceholderText(f"Ask Claude… ({keys} adds a line, Esc stops)")

    def keyPressEvent(self, event):  # noqa: N802
        key, mods = event.key(), event.modifiers()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
            shift = bool(mods & Qt.KeyboardModifier.ShiftModifier)
            if ctrl or (self.enter_sends and not shift):
                self.send_requested.emit()
                return
            if shift:  # a plain line break, not Qt's line separator
                self.insertPlainText("\n")
                return
        if key == Qt.Key.Key_Escape:
            self.stop_requested.emit()
            return
        super().keyPressEvent(event)

    def canInsertFromMimeData(self, source: QMimeData) -> bool:  # noqa: N802
        return source.hasUrls() or source.hasImage() or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:  # noqa: N802
        if source.hasUrls():
            paths = [u.toLocalFile() or u.toString() for u in source.urls()]
            self.files_dropped.emit(paths)
            return
        if source.hasImage():
            image = QImage(source.imageData())
            buffer = QBuffer()
            buffer.open(QIODevice.OpenModeFlag.WriteOnly)
            image.save(buffer, "PNG")
            self.image_pasted.emit(bytes(buffer.data()))
            return
        text = source.text()
        room = MAX_PASTE_CHARS - len(self.toPlainText())
        if len(text) > room:  # never cut silently: the clipboard still holds all of it
            self.refused.emit(
                f"Nothing was pasted: the text has {len(text):,} characters and the message"
                f" can hold {max(room, 0):,} more (up to {MAX_PASTE_CHARS:,}, about 500,000"
                " tokens). Split it, or paste a part."
            )
            return
        if len(text) >= LONG_PASTE_CHARS and self.offer_attachments:
            self.long_paste.emit(text)
            return
        self.paste_as_text(text)

    def paste_as_text(self, text: str) -> None:
        self._wrap_for(text)
        self.insertPlainText(text)

    def dragEnterEvent(self, event):  # noqa: N802
        if event.mimeData().hasUrls() or event.mimeData().hasImage():
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event):  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event):  # noqa: N802
        if event.mimeData().hasUrls():
            self.insertFromMimeData(event.mimeData())
            event.acceptProposedAction()
        else:
            super().dropEvent(event)
