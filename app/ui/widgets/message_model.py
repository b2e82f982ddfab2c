"""The conversation pane's model: one row per message (and the system prompt, the reply
streaming in, an error or edit card). Only rows whose content changed are reported, so the view
redraws and re-measures those alone."""

from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, Qt

from app.ui.widgets.message_delegate import ROW_ROLE
from app.ui.widgets.message_rows import Row


class MessageModel(QAbstractListModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[Row] = []
        self.owner = ""  # the conversation the rows are of

    def rowCount(self, parent=None) -> int:  # noqa: N802 (Qt's name)
        return 0 if parent is not None and parent.isValid() else len(self.rows)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        row = self.rows[index.row()]
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{row.title}: {row.body[:200]}"
        return None

    def set_rows(self, rows: list[Row], owner: str) -> int:
        """Show ``rows``; returns how many rows were added, removed or changed."""
        if owner != self.owner:
            self.beginResetModel()
            self.rows, self.owner = list(rows), owner
            self.endResetModel()
            return len(rows)
        old = self.rows
        common = min(len(old), len(rows))
        touched = 0
        start = None
        # Rows in place are changed where they differ (a reply becoming its message included):
        # only a change in the number of rows makes the view lay the list out again.
        for i in range(common + 1):
            differs = i < common and old[i] is not rows[i] and old[i] != rows[i]
            if differs and start is None:
                start = i
            elif not differs and start is not None:
                self.rows[start:i] = rows[start:i]
                self.dataChanged.emit(self.index(start), self.index(i - 1))
                touched += i - start
                start = None
        if common < len(old):
            self.beginRemoveRows(QModelIndex(), common, len(old) - 1)
            del self.rows[common:]
            self.endRemoveRows()
            touched += len(old) - common
        if common < len(rows):
            self.beginInsertRows(QModelIndex(), common, len(rows) - 1)
            self.rows.extend(rows[common:])
            self.endInsertRows()
            touched += len(rows) - common
        return touched

    def replace_row(self, position: int, row: Row) -> None:
        self.rows[position] = row
        self.dataChanged.emit(self.index(position), self.index(position))

    def position_of(self, key: str) -> int | None:
        for position in range(len(self.rows) - 1, -1, -1):
            if self.rows[position].key == key:
                return position
        return None
