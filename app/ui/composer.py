"""The composer: multi-line input, Enter sends (Shift+Enter: new line), drop or paste images."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QImage, QPixmap, QTextOption
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.conversation.images import ImageError, LockedImage, lock_image
from app.ui.untrusted import RUN

log = logging.getLogger(__name__)

MAX_PASTE_CHARS = 2_000_000  # ~500k tokens: more than a model reads at once


class ComposerEdit(QPlainTextEdit):
    send_requested = Signal()
    stop_requested = Signal()
    activity = Signal()
    files_dropped = Signal(list)
    image_pasted = Signal(bytes)
    refused = Signal(str)  # why a paste was not taken, for the composer's notice

    def __init__(self, parent=None):
        super().__init__(parent)
        self.set_enter_sends(True)
        self.setAcceptDrops(True)
        self.setTabChangesFocus(True)

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
        if event.text():
            self.activity.emit()

    def focusInEvent(self, event):  # noqa: N802
        super().focusInEvent(event)
        self.activity.emit()

    def canInsertFromMimeData(self, source: QMimeData) -> bool:  # noqa: N802
        return source.hasUrls() or source.hasImage() or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:  # noqa: N802
        if source.hasUrls():
            paths = [u.toLocalFile() or u.toString() for u in source.urls()]
            self.files_dropped.emit(paths)
            return
        if source.hasImage():
            image = QImage(source.imageData())
            from PySide6.QtCore import QBuffer, QIODevice

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


class AttachmentChip(QWidget):
    removed = Signal(object)

    def __init__(self, image: LockedImage, parent=None):
        super().__init__(parent)
        self.image = image
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        thumb = QLabel()
        pix = QPixmap()
        pix.loadFromData(image.data)
        thumb.setPixmap(pix.scaledToHeight(40, Qt.TransformationMode.SmoothTransformation))
        layout.addWidget(thumb)
        info = QLabel(
            f"{image.source_name[:24]}\n{image.width}x{image.height}, "
            f"{image.size_bytes // 1024} KB, ~{image.tokens} tok"
        )
        info.setToolTip("\n".join(image.notes) or "used as it was")
        layout.addWidget(info)
        remove = QToolButton()
        remove.setText("✕")
        remove.setToolTip("Remove this attachment")
        remove.clicked.connect(lambda: self.removed.emit(self))
        layout.addWidget(remove)


class Composer(QWidget):
    """The input area: text, attachments being locked, their chips, and messages about them."""

    send_requested = Signal()
    stop_requested = Signal()
    activity = Signal()
    attachments_changed = Signal()
    warm_state_changed = Signal(str)  # "idle", "warming", "warm" or "not warmed"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.edit = ComposerEdit()
        self.edit.setMinimumHeight(56)
        self.edit.setMaximumHeight(120)
        self.attachments: list[LockedImage] = []
        self._chips = QHBoxLayout()
        self._chips.addStretch(1)
        self.notice = QLabel("")
        self.notice.setObjectName("composerNotice")
        self.notice.setWordWrap(True)
        self.warm_label = QLabel("cache: idle")
        self.warm_label.setObjectName("warmIndicator")
        self.warm_label.setToolTip("Speculative warming: the cache state of the next send's prefix")
        self.warm_state = "idle"
        self.attach_button = QPushButton("Attach…")
        self.attach_button.setToolTip("Attach images (Ctrl+O)")
        self.attach_button.setShortcut("Ctrl+O")
        self.send_button = QPushButton("Send")
        self.send_button.setDefault(True)
        self.send_button.setToolTip("Send (Enter)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the reply (Esc)")
        self.stop_button.setEnabled(False)
        row = QHBoxLayout()
        row.addWidget(self.attach_button)
        row.addWidget(self.warm_label, 1)
        row.addWidget(self.stop_button)
        row.addWidget(self.send_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._chips)
        layout.addWidget(self.edit)
        layout.addWidget(self.notice)
        layout.addLayout(row)
        self.edit.send_requested.connect(self.send_requested)
        self.send_button.clicked.connect(self.send_requested)
        self.edit.stop_requested.connect(self.stop_requested)
        self.stop_button.clicked.connect(self.stop_requested)
        self.edit.activity.connect(self.activity)
        self.edit.files_dropped.connect(self.add_files)
        self.edit.image_pasted.connect(lambda data: self.add_sources([data]))
        self.edit.refused.connect(self.notice.setText)
        self.attach_button.clicked.connect(self._pick)
        self.pending: set[asyncio.Task] = set()

    def text(self) -> str:
        return self.edit.toPlainText().strip()

    def clear(self) -> None:
        self.edit.setPlainText("")  # also resets the wrap mode
        for image in list(self.attachments):
            self._remove_image(image)
        self.notice.setText("")

    def _pick(self) -> None:
        dialog = QFileDialog(self, "Attach images")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dialog.setNameFilter(
            "Images (*.png *.jpg *.jpeg *.gif *.webp *.bmp *.tif *.tiff);;All files (*)"
        )
        dialog.filesSelected.connect(self.add_files)
        dialog.open()

    def add_files(self, paths: list) -> None:
        self.add_sources([Path(p) if not str(p).startswith("http") else str(p) for p in paths])

    def add_sources(self, sources: list) -> None:
        """Lock each image off the GUI thread; refused files get a clear inline message."""
        self.notice.setText("Preparing attachment…")
        task = asyncio.get_event_loop().create_task(self._lock_all(sources))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _lock_all(self, sources: list) -> None:
        problems = []
        for source in sources:
            try:
                image = await asyncio.to_thread(lock_image, source)
            except ImageError as exc:
                problems.append(str(exc))
                continue
            except Exception as exc:  # never leave the composer "preparing", nor drop the rest
                log.exception("locking an attachment failed")
                problems.append(f"{source} could not be attached ({type(exc).__name__}).")
                continue
            self._add_chip(image)
        self.notice.setText("\n".join(problems))
        self.attachments_changed.emit()

    def _remove_image(self, image: LockedImage) -> None:
        for i in range(self._chips.count()):
            widget = self._chips.itemAt(i).widget()
            if isinstance(widget, AttachmentChip) and widget.image is image:
                self._chips.removeWidget(widget)
                widget.deleteLater()
                break
        if image in self.attachments:
            self.attachments.remove(image)
        self.attachments_changed.emit()

    def set_warm(self, state: str, text: str) -> None:
        self.warm_label.setText(f"cache: {text}")
        if state != self.warm_state:
            self.warm_state = state
            self.warm_state_changed.emit(state)

    def set_draft(self, text: str, images: list[LockedImage]) -> None:
        """Put a message back into the composer (edit and resend)."""
        self.clear()
        self.edit.setPlainText(text)
        for image in images:
            self._add_chip(image)
        self.attachments_changed.emit()
        self.edit.setFocus()

    def _add_chip(self, image: LockedImage) -> None:
        self.attachments.append(image)
        chip = AttachmentChip(image)
        chip.removed.connect(lambda c: self._remove_image(c.image))
        self._chips.insertWidget(self._chips.count() - 1, chip)

    def set_streaming(self, streaming: bool) -> None:
        self.stop_button.setEnabled(streaming)
        self.send_button.setEnabled(not streaming)
