"""The conversation list: new, open, rename, delete with undo, full-text search, export and
import, and what the user sees when the disk says no. The open conversations themselves, their
recorders and their tasks are the workspace's (``app.workspace.workspace``)."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QDockWidget, QFileDialog, QInputDialog, QListWidgetItem, QPushButton

from app.engine.session import Session
from app.history.sessions import export_session, import_session, unavailable_note
from app.storage.export import ExportFileError
from app.storage.store import StorageError, Store
from app.storage.writer import StoreOp
from app.ui.context import FeatureContext
from app.ui.features.history.panel import (
    CONVERSATION_ROLE,
    NO_POSITION,
    POSITION_ROLE,
    HistoryPanel,
    list_row,
)
from app.ui.memory import settle_memory
from app.ui.menus import MenuEntry
from app.ui.widgets.plain import plain_label, plain_tip, plural
from app.workspace import changes as ch

log = logging.getLogger(__name__)
SEARCH_DELAY_MS = 200
UNDO_S = 10_000
RETRY_MS = 10_000


class History(QObject):
    def __init__(self, ctx: FeatureContext, problem: str = ""):
        super().__init__(ctx.parent)
        self.ctx = ctx
        self.workspace = ctx.workspace
        self.writer = ctx.workspace.writer
        self.problem = problem  # why the history cannot be used (or only read), as at start
        self.undo_id: str | None = None
        self.panel = HistoryPanel()
        self.dock = QDockWidget("Conversations", ctx.parent)
        self.dock.setObjectName("historyDock")
        self.dock.setWidget(self.panel)
        self._search_timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(lambda: ctx.spawn(self.refresh()))
        self._retry = QTimer(self, interval=RETRY_MS)
        self._retry.timeout.connect(ctx.workspace.retry_saving)
        self.undo_button = QPushButton("Undo delete")
        self.undo_button.hide()
        self.undo_button.clicked.connect(self.undo_delete)
        # The history's state has a label of its own: no other message (a send clears the status
        # line) may hide that nothing is being saved.
        self.problem_label = plain_label()
        self.problem_label.setObjectName("storageProblem")
        self.problem_label.setStyleSheet("color: #d9534f;")
        self.problem_label.setWordWrap(True)
        self.problem_label.hide()
        self._undo_timer = QTimer(self, singleShot=True)
        self._undo_timer.timeout.connect(self.undo_button.hide)
        self.panel.search.textChanged.connect(self._search_timer.start)
        self.panel.list.itemActivated.connect(self.activate)
        self.panel.list.itemClicked.connect(self.activate)
        self.panel.new_button.clicked.connect(self.new_conversation)
        self.panel.rename_button.clicked.connect(self.rename_selected)
        self.panel.delete_button.clicked.connect(self.delete_selected)
        ctx.add_dock(self.dock)
        ctx.add_status_widget(self.undo_button, 0)
        ctx.add_status_widget(self.problem_label, 1)
        ctx.add_menu_entries(self.menu_entries())
        ctx.workspace.subscribe(self._on_change)
        ctx.workspace.storage_problem = self.storage_failed
        ctx.workspace.storage_saved = self.saved
        if problem:
            self.show_problem(problem)

    def menu_entries(self) -> list[MenuEntry]:
        first = {"first": True}
        return [
            MenuEntry("file", "&New conversation", "Ctrl+N", self.new_conversation, **first),
            MenuEntry("file", "&Import JSON…", "Ctrl+Shift+O", self.import_dialog, **first),
            MenuEntry(
                "file", "Export as &Markdown…", "Ctrl+E", lambda: self.export_dialog("md"), **first
            ),
            MenuEntry(
                "file",
                "Export as &JSON…",
                "Ctrl+Shift+J",
                lambda: self.export_dialog("json"),
                **first,
            ),
            MenuEntry("view", "Conversations", "Ctrl+L", action=self.dock.toggleViewAction()),
            MenuEntry("view", "&Search messages", "Ctrl+F", self.focus_search),
            MenuEntry("view", "&Rename conversation", "F2", self.rename_selected),
            MenuEntry(
                "view", "&Delete conversation", "Del", self.delete_selected, scope=self.panel
            ),
        ]

    def focus_search(self) -> None:
        self.dock.show()
        self.panel.search.setFocus()
        self.panel.search.selectAll()

    # -- what the disk says ---------------------------------------------------------------------
    def show_problem(self, text: str) -> None:
        self.problem_label.setText(
            text + " This conversation is kept in memory; File → Export saves it elsewhere."
        )
        self.problem_label.setToolTip(plain_tip(self.problem_label.text()))
        self.problem_label.show()

    def storage_failed(self, error: str, retry: bool) -> None:
        """A write failed (the workspace says so): shown, and tried again every few seconds
        when that may help (not for a damaged file)."""
        self.show_problem(error)
        if retry and not self._retry.isActive():
            self._retry.start()

    def saved(self) -> None:
        """Messages reached the disk: the problem is over, and the list may have moved."""
        if self._retry.isActive():
            self._retry.stop()
            self.problem_label.hide()
            self.ctx.notify("Saved again.")
        self._search_timer.start()

    def _on_change(self, change: ch.Change) -> None:
        if self.writer is not None and change.touches(ch.TITLE, ch.CURRENT):
            self._search_timer.start()  # titles and which row is current

    # -- the open conversations -----------------------------------------------------------------
    def new_conversation(self) -> None:
        if self.ctx.chat.busy():
            self.ctx.notify("Wait for the reply to finish (or press Esc) first.")
            return
        conversation = self.ctx.settings.new_conversation(self.ctx.engine.catalogue)
        self.workspace.new(Session(conversation))
        self.ctx.widgets.composer.edit.setFocus()

    async def open(self, conversation_id: str, position: int | None = None) -> bool:
        """Show a conversation from the history (its chat looks at what the cache holds for it
        as it is shown)."""
        if conversation_id == self.ctx.chat.id:
            if position is not None:
                self.ctx.widgets.view.scroll_to_message(position)
            return False
        if self.ctx.chat.busy():
            self.ctx.notify("Wait for the reply to finish (or press Esc) first.")
            return False
        started = time.perf_counter()
        try:
            chat = await self.workspace.load(conversation_id)
        except StorageError as exc:
            self.ctx.notify(str(exc))
            return False
        if position is not None:
            self.ctx.widgets.view.scroll_to_message(position)
        self.ctx.widgets.view.viewport().repaint()
        settle_memory()
        log.info("opened %d messages in %.3f s", len(chat.messages), time.perf_counter() - started)
        return True

    # -- the list -------------------------------------------------------------------------------
    async def refresh(self) -> None:
        if self.writer is None:  # the list says why it is empty
            note = unavailable_note(self.problem)
            if note:
                self.panel.list.clear()
                self.panel.list.addItem(list_row(note, "", NO_POSITION))
            return
        query = self.panel.search.text().strip()
        try:
            if query:
                hits = await self.writer.run(Store.search, query)
                listing = None
            else:
                listing = await self.writer.run(Store.listing)
        except StorageError as exc:
            self.show_problem(str(exc))
            return
        box = self.panel.list
        box.clear()
        if listing is None:
            for hit in hits:
                text = f"{hit.title or 'Untitled'}\n{hit.snippet}"
                box.addItem(list_row(text, hit.conversation_id, hit.position))
            if not hits:
                box.addItem(list_row("No message matches.", "", NO_POSITION))
            return
        for row in listing.rows:
            when = datetime.fromtimestamp(row.updated_at).strftime("%d %b %H:%M")
            text = f"{row.title or 'Untitled'}\n{plural(row.messages, 'message')} · {when}"
            item = list_row(text, row.id, NO_POSITION)
            box.addItem(item)
            if row.id == self.ctx.chat.id:
                box.setCurrentItem(item)
        if listing.note:
            box.addItem(list_row(listing.note, "", NO_POSITION))

    def activate(self, item: QListWidgetItem) -> None:
        """A row was chosen: its conversation (at the message a search found) on screen."""
        conversation_id = item.data(CONVERSATION_ROLE)
        if conversation_id:
            position = item.data(POSITION_ROLE)
            at = None if position == NO_POSITION else position
            self.ctx.spawn(self.open(conversation_id, at))

    def _selected_id(self) -> str | None:
        item = self.panel.list.currentItem()
        return item.data(CONVERSATION_ROLE) if item is not None else None

    def rename_selected(self) -> None:
        conversation_id = self._selected_id() or self.ctx.chat.id
        dialog = QInputDialog(self.ctx.parent)
        dialog.setWindowTitle("Rename conversation")
        dialog.setLabelText("Title:")
        if conversation_id == self.ctx.chat.id:
            dialog.setTextValue(self.ctx.chat.title)
        dialog.textValueSelected.connect(lambda text: self.rename(conversation_id, text.strip()))
        dialog.open()

    def rename(self, conversation_id: str, title: str) -> None:
        if not title:
            return
        if conversation_id == self.ctx.chat.id:
            self.ctx.chat.rename(title)
        if self.writer is not None:
            self._write_then_refresh(StoreOp(Store.rename, conversation_id, title))

    def delete_selected(self) -> None:
        conversation_id = self._selected_id()
        if conversation_id is None or self.writer is None:
            return
        if conversation_id == self.ctx.chat.id:
            if self.ctx.chat.busy():
                self.ctx.notify("Wait for the reply to finish first.")
                return
            self.new_conversation()
        self.undo_id = conversation_id
        self.undo_button.show()
        self._undo_timer.start(UNDO_S)
        self.ctx.notify("Conversation deleted.")
        self._write_then_refresh(StoreOp(Store.delete, conversation_id))

    def undo_delete(self) -> None:
        if self.undo_id is None:
            return
        self._write_then_refresh(StoreOp(Store.undelete, self.undo_id))
        self.ctx.notify("Conversation restored.")
        self.undo_id = None
        self.undo_button.hide()

    def _write_then_refresh(self, op: StoreOp) -> None:
        refresh = lambda *_: self.ctx.spawn(self.refresh())  # noqa: E731
        op.success(refresh).failure(lambda exc: (self.show_problem(str(exc)), refresh()))
        op.run_in_background(self.writer)

    # -- export and import ----------------------------------------------------------------------
    def export_dialog(self, kind: str) -> None:
        title = self.ctx.chat.title
        name = "".join(c if c.isalnum() or c in " -_" else "_" for c in title or "conversation")
        suffix = {"md": "Markdown (*.md)", "json": "Cachescope JSON (*.json)"}[kind]
        dialog = QFileDialog(
            self.ctx.parent, "Export conversation", str(Path.home() / f"{name}.{kind}"), suffix
        )
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix(kind)
        dialog.fileSelected.connect(lambda path: self.ctx.spawn(self.export(kind, Path(path))))
        dialog.open()

    async def export(self, kind: str, path: Path) -> None:
        try:
            await export_session(self.ctx.chat.session, kind, path)
        except OSError as exc:
            self.ctx.notify(f"Not exported: {exc.strerror or exc} ({path}).")
            return
        self.ctx.notify(f"Exported to {path}.")

    def import_dialog(self) -> None:
        dialog = QFileDialog(
            self.ctx.parent, "Import conversation", str(Path.home()), "Cachescope JSON (*.json)"
        )
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(lambda path: self.ctx.spawn(self.import_file(Path(path))))
        dialog.open()

    async def import_file(self, path: Path) -> bool:
        if self.ctx.chat.busy():
            self.ctx.notify("Wait for the reply to finish first.")
            return False
        try:
            session = await import_session(self.writer, self.ctx.engine, path, self.ctx.chat.id)
        except (ExportFileError, StorageError) as exc:
            self.ctx.notify(str(exc))
            return False
        self.workspace.new(session)
        self.workspace.save()
        title = session.conversation.title or "a conversation"
        self.ctx.notify(f"Imported {title} from {path.name}.")
        return True
