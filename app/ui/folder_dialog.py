"""The folder chooser: every file a folder would attach, with its tokens and the total, and what
was skipped, before anything is attached. Unticking a file leaves it out."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
)

from app.conversation.attachments import AttachedFolder
from app.ui.plain import plain_label


class FolderDialog(QDialog):
    def __init__(self, folder: AttachedFolder, parent=None):
        super().__init__(parent)
        self.folder = folder
        self.setWindowTitle(f"Attach folder {folder.name}")
        self.resize(560, 520)
        self.list = QListWidget()
        for document in folder.documents:
            item = QListWidgetItem(f"{document.name}  ·  ~{document.tokens:,} tokens")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.list.addItem(item)
        self.total = plain_label()
        skipped = ", ".join(f"{n} {reason}" for reason, n in folder.skipped)
        note = plain_label(
            "One document per file, in this order; .gitignore, version control, build output and"
            " binaries are left out." + (f"\nSkipped: {skipped}." if skipped else "")
        )
        note.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Attach")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.total)
        layout.addWidget(buttons)
        self.list.itemChanged.connect(self._count)
        self._count()

    def chosen(self) -> AttachedFolder:
        keep = tuple(
            document
            for i, document in enumerate(self.folder.documents)
            if self.list.item(i).checkState() == Qt.CheckState.Checked
        )
        return AttachedFolder(self.folder.name, keep, self.folder.skipped)

    def _count(self) -> None:
        chosen = self.chosen()
        self.total.setText(
            f"{len(chosen.documents)} of {len(self.folder.documents)} files,"
            f" about {chosen.tokens:,} tokens in all"
        )
