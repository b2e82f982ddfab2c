"""The conversation list's dock widget: search box, list and buttons (the controller is
``app.ui.features.history.feature``)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

CONVERSATION_ROLE = Qt.ItemDataRole.UserRole
POSITION_ROLE = Qt.ItemDataRole.UserRole + 1
NO_POSITION = -1


def list_row(text: str, conversation_id: str, position: int) -> QListWidgetItem:
    """A list row with both roles set: a role never set reads as an unset QVariant."""
    item = QListWidgetItem(text)
    item.setData(CONVERSATION_ROLE, conversation_id)
    item.setData(POSITION_ROLE, position)
    return item


class HistoryPanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search all messages (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget()
        self.list.setObjectName("conversationList")
        self.new_button = QPushButton("New")
        self.new_button.setToolTip("New conversation (Ctrl+N)")
        self.rename_button = QPushButton("Rename")
        self.rename_button.setToolTip("Rename the selected conversation (F2)")
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the selected conversation (Del); undo follows")
        buttons = QHBoxLayout()
        for button in (self.new_button, self.rename_button, self.delete_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
