"""An attachment shown as the user asked: an image at full size, a document in the system's
viewer (a copy of its locked bytes; nothing a model says opens anything)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QPixmap
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QScrollArea, QVBoxLayout

from app.ui.widgets.plain import plain_label


class ImageViewer(QDialog):
    """An attachment at full size, scrollable."""

    def __init__(self, data: bytes, title: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle(title)
        pixmap = QPixmap()
        pixmap.loadFromData(data)
        self.label = plain_label()
        self.label.setPixmap(pixmap)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        area = QScrollArea()
        area.setWidget(self.label)
        area.setWidgetResizable(True)
        layout = QVBoxLayout(self)
        layout.addWidget(area)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout.addWidget(close)
        screen = self.screen().availableGeometry() if self.screen() else None
        width = min(pixmap.width() + 40, screen.width() - 80 if screen else 1200)
        height = min(pixmap.height() + 80, screen.height() - 80 if screen else 900)
        self.resize(max(320, width), max(240, height))


def open_document(document) -> None:
    """Show a document in the system's viewer: a copy of its locked bytes in a temporary
    folder (the user asked; nothing a model says opens anything)."""
    folder = Path(tempfile.gettempdir()) / "cachescope-documents"
    folder.mkdir(mode=0o700, exist_ok=True)  # the documents are the user's alone
    stem = Path(document.name).name or "document"
    suffix = "" if Path(stem).suffix else (".pdf" if document.is_pdf else ".txt")
    path = folder / f"{document.sha256[:12]}-{stem}{suffix}"
    if not path.exists():
        path.write_bytes(document.data)
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
