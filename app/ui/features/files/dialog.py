"""File → Uploaded files: the documents this endpoint and key hold through the Files API, with
their sizes and dates, and Delete (which the caller carries out)."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
)

from app.storage.uploads import Upload
from app.ui.widgets.plain import plain_label

FILE_ROLE = Qt.ItemDataRole.UserRole + 1


class UploadsDialog(QDialog):
    delete_requested = Signal(str)  # a file id

    def __init__(self, uploads: list[Upload], where: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Uploaded files")
        self.resize(600, 420)
        self.list = QListWidget()
        note = plain_label(
            f"Documents uploaded through the Files API to {where}. They stay in the workspace "
            "until deleted. A conversation that still uses a deleted file uploads it again at "
            "its next send, and that send cannot read its cached prefix."
        )
        note.setWordWrap(True)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self._delete)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.delete_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.list, 1)
        layout.addWidget(buttons)
        self.show_uploads(uploads)

    def show_uploads(self, uploads: list[Upload]) -> None:
        self.list.clear()
        for upload in uploads:
            when = datetime.fromtimestamp(upload.uploaded_at).strftime("%d %b %Y %H:%M")
            size = f"{upload.size / 1_000_000:.1f} MB"
            item = QListWidgetItem(f"{upload.name}  ·  {size}  ·  {when}  ·  {upload.file_id}")
            item.setData(FILE_ROLE, upload.file_id)
            self.list.addItem(item)
        if not uploads:
            self.list.addItem("Nothing uploaded here.")
        self.delete_button.setEnabled(bool(uploads))

    def _delete(self) -> None:
        item = self.list.currentItem()
        file_id = item.data(FILE_ROLE) if item is not None else None
        if file_id:
            self.delete_button.setEnabled(False)
            self.delete_requested.emit(file_id)
