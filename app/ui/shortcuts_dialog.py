"""Help → Keyboard shortcuts: every menu entry that has one, read from the menus themselves (so
the list cannot drift from what the keys do), plus the composer's own keys."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTableWidget, QTableWidgetItem, QVBoxLayout

COMPOSER_KEYS = (
    ("Send the message", "Enter (or Ctrl+Enter, in Preferences)"),
    ("New line in the message", "Shift+Enter"),
    ("Paste an image or a file", "Ctrl+V"),
    ("Copy the chosen message as written (in the conversation)", "Ctrl+C"),
)


def shortcut_rows(menus: dict) -> list[tuple[str, str]]:
    rows = []
    for menu in menus.values():
        for action in menu.actions():
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            if keys and not action.isSeparator():
                rows.append(
                    (f"{menu.title().replace('&', '')} → {action.text().replace('&', '')}", keys)
                )
    return rows + list(COMPOSER_KEYS)


class ShortcutsDialog(QDialog):
    def __init__(self, rows: list[tuple[str, str]], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(640, 520)
        self.table = QTableWidget(len(rows), 2)
        self.table.setHorizontalHeaderLabels(["What", "Keys"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for row, (what, keys) in enumerate(rows):
            self.table.setItem(row, 0, QTableWidgetItem(what))
            self.table.setItem(row, 1, QTableWidgetItem(keys))
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons, 0, Qt.AlignmentFlag.AlignRight)
