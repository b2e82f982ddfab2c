"""A chip in the composer for one attachment: an image's thumbnail, a document's pages, a folder's
files, with the token estimate and a remove button."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QHBoxLayout, QToolButton, QWidget

from app.conversation.attachments import AttachedFolder
from app.conversation.documents import LockedDocument
from app.conversation.images import LockedImage
from app.ui.widgets.figures import attachment_tokens
from app.ui.widgets.plain import plain_label, plain_tip


def describe(item, token_scale: float = 1.0) -> tuple[str, str]:
    """(two short lines for the chip, a tooltip) for an image, a document or a folder, with
    its tokens in the conversation model's tokenizer (``token_scale``)."""
    if isinstance(item, LockedImage):
        return (
            f"{item.source_name[:24]}\n{item.width}x{item.height}, "
            f"{item.size_bytes // 1024} KB, ~{item.tokens:,} tok",
            "\n".join(item.notes) or "used as it was",
        )
    if isinstance(item, LockedDocument):
        tip = [item.name, *item.notes, "locked: the same bytes are sent every turn"]
        tokens = attachment_tokens(item, token_scale)
        return f"{item.name[-28:]}\n{item.size_label}, ~{tokens:,} tok", "\n".join(tip)
    if isinstance(item, AttachedFolder):
        skipped = ", ".join(f"{n} {reason}" for reason, n in item.skipped) or "nothing"
        return (
            f"{item.name[:24]}/\n{len(item.documents)} files, "
            f"~{attachment_tokens(item, token_scale):,} tok",
            f"{len(item.documents)} files attached, one document each; skipped: {skipped}",
        )
    raise TypeError(f"not an attachment: {item!r}")


class AttachmentChip(QWidget):
    removed = Signal(object)

    def __init__(self, item, parent=None, token_scale: float = 1.0):
        super().__init__(parent)
        self.item = item
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        if isinstance(item, LockedImage):
            thumb = plain_label()
            pix = QPixmap()
            pix.loadFromData(item.data)
            thumb.setPixmap(pix.scaledToHeight(40, Qt.TransformationMode.SmoothTransformation))
            layout.addWidget(thumb)
        self.info = plain_label("")
        self.set_token_scale(token_scale)
        layout.addWidget(self.info)
        remove = QToolButton()
        remove.setText("✕")
        remove.setToolTip("Remove this attachment")
        remove.clicked.connect(lambda: self.removed.emit(self))
        layout.addWidget(remove)

    def set_token_scale(self, token_scale: float) -> None:
        """Say the tokens in this tokenizer's count (the conversation's model changed)."""
        text, tip = describe(self.item, token_scale)
        self.info.setText(text)
        self.info.setToolTip(plain_tip(tip))
