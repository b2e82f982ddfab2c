"""The folder chooser: every file a folder would attach, with its tokens in the model's tokenizer
and the total, and what was skipped, before anything is attached. The files that fit the model's
context window (what the conversation leaves of it) come ticked, in order; the rest do not.
Unticking a file leaves it out; "All" and "None" tick or untick every file, and each subfolder's
toggle every file under it."""

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
from app.facts.catalogue import ModelInfo
from app.ui.widgets.figures import attachment_tokens
from app.ui.widgets.plain import plain_label

TOP_LEVEL = "(files at the top)"


def subfolder_of(name: str) -> str:
    """The first folder under the attached one that holds this file (``name`` starts with the
    attached folder's own name)."""
    parts = name.split("/")
    return parts[1] + "/" if len(parts) > 2 else TOP_LEVEL


class FolderDialog(QDialog):
    def __init__(
        self,
        folder: AttachedFolder,
        parent=None,
        model: ModelInfo | None = None,
        room: int | None = None,
    ):
        """``room``: the tokens the conversation leaves of ``model``'s context window."""
        super().__init__(parent)
        self.folder = folder
        self.model = model
        self.room = room if room is not None else (model.context_window if model else None)
        self.setWindowTitle(f"Attach folder {folder.name}")
        self.resize(560, 520)
        self.list = QListWidget()
        fits = 0
        for document in folder.documents:
            tokens = self.tokens_of(document)
            fits += tokens
            item = QListWidgetItem(f"{document.name}  ·  ~{tokens:,} tokens")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            ticked = self.room is None or fits <= self.room
            item.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)
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
            files = [
                self.list.item(i)
                for i, d in enumerate(folder.documents)
                if subfolder_of(d.name) == where
            ]
            ticked = any(f.checkState() == Qt.CheckState.Checked for f in files)
            item.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)
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

    def tokens_of(self, document) -> int:
        """A file's tokens in the model's tokenizer, as its chip and the request count it."""
        return attachment_tokens(document, self.model.token_scale if self.model else 1.0)

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
        tokens = sum(self.tokens_of(d) for d in chosen.documents)
        line = f"{len(chosen.documents)} of {len(self.folder.documents)} files, about {tokens:,}"
        line += " tokens in all"
        if self.model is not None and self.room is not None:
            name = self.model.display_name
            line += f"; {self.room:,} fit in {name}'s context window with this conversation" + (
                ": over it, the API would refuse the send" if tokens > self.room else ""
            )
        self.total.setText(line)
