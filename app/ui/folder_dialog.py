"""The folder chooser: every file a folder would attach, with its tokens and the total, and what
was skipped, before anything is attached. Unticking a file leaves it out; "All" and "None" tick
or untick every file, and each subfolder's toggle every file under it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
)

from app.conversation.attachments import AttachedFolder
from app.ui.plain import plain_label

TOP_LEVEL = "(files at the top)"


def subfolder_of(name: str) -> str:
    """The first folder under the attached one that holds this file (``name`` starts with the
    attached folder's own name)."""
    parts = name.split("/")
    return parts[1] + "/" if len(parts) > 2 else TOP_LEVEL


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
        self.subfolders = QListWidget()  # one toggle per subfolder: all of its files
        counts: dict[str, int] = {}
        for document in folder.documents:
            where = subfolder_of(document.name)
            counts[where] = counts.get(where, 0) + 1
        for where, n in counts.items():
            item = QListWidgetItem(f"{where}  ·  {n} files")
            item.setData(Qt.ItemDataRole.UserRole, where)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.subfolders.addItem(item)
        self.subfolders.setMaximumHeight(120)
        self.all_button = QPushButton("Select &all")
        self.none_button = QPushButton("Select &none")
        self.all_button.clicked.connect(lambda: self.tick_all(True))
        self.none_button.clicked.connect(lambda: self.tick_all(False))
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
        row = QHBoxLayout()
        row.addWidget(self.all_button)
        row.addWidget(self.none_button)
        row.addStretch(1)
        layout.addLayout(row)
        if self.subfolders.count() > 1:
            layout.addWidget(plain_label("Subfolders (untick one to leave out all its files):"))
            layout.addWidget(self.subfolders)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.total)
        layout.addWidget(buttons)
        self.list.itemChanged.connect(self._count)
        self.subfolders.itemChanged.connect(self._toggle_subfolder)
        self._count()

    def tick_all(self, on: bool) -> None:
        state = Qt.CheckState.Checked if on else Qt.CheckState.Unchecked
        for i in range(self.list.count()):
            self.list.item(i).setCheckState(state)

    def _toggle_subfolder(self, item: QListWidgetItem) -> None:
        where, state = item.data(Qt.ItemDataRole.UserRole), item.checkState()
        for i, document in enumerate(self.folder.documents):
            if subfolder_of(document.name) == where:
                self.list.item(i).setCheckState(state)

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
