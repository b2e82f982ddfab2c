"""The conversation list and everything that keeps the history: new, open, rename, delete with
undo, full-text search, export and import, and what the user sees when the disk says no."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QListWidgetItem,
    QPushButton,
    QWidget,
)

from app.engine.failures import classify
from app.engine.session import Session
from app.facts.redact import redact
from app.history.recorder import Recorder
from app.history.sessions import (
    export_session,
    import_session,
    load_session,
    rebuild_last_request,
    unavailable_note,
)
from app.storage.export import ExportFileError
from app.storage.store import StorageError, Store
from app.storage.uploads import Upload, forget_upload
from app.storage.writer import StoreOp, Writer
from app.ui.history_panel import (
    CONVERSATION_ROLE,
    NO_POSITION,
    POSITION_ROLE,
    HistoryPanel,
    list_row,
)
from app.ui.memory import settle_memory
from app.ui.menus import MenuEntry
from app.ui.plain import plain_label, plain_tip, plural
from app.ui.uploads_dialog import UploadsDialog
from app.workspace.chat import Chat

log = logging.getLogger(__name__)
SEARCH_DELAY_MS = 200
UNDO_S = 10_000
RETRY_MS = 10_000
COMMIT_TIMEOUT_S = 5.0


class Library(QObject):
    def __init__(self, window, writer: Writer | None, folder: Path, problem: str = ""):
        super().__init__(window)
        self.window = window
        self.writer = writer
        self.folder = folder
        self.problem = problem  # why the history cannot be used (or only read), as at start
        self.recorders: dict[str, Recorder] = {}  # of every open conversation, on screen or not
        self.chats: dict[str, Chat] = {}  # open conversations, by id
        self.tasks: set[asyncio.Task] = set()
        self.undo_id: str | None = None
        self.panel = HistoryPanel()
        self.dock = QDockWidget("Conversations", window)
        self.dock.setObjectName("historyDock")
        self.dock.setWidget(self.panel)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(lambda: self._spawn(self.refresh()))
        self._retry = QTimer(self)
        self._retry.setInterval(RETRY_MS)
        self._retry.timeout.connect(self._retry_save)
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
        self._undo_timer = QTimer(self)
        self._undo_timer.setSingleShot(True)
        self._undo_timer.timeout.connect(self.undo_button.hide)
        self.panel.search.textChanged.connect(self._search_timer.start)
        self.panel.list.itemActivated.connect(self._activated)
        self.panel.list.itemClicked.connect(self._activated)
        self.panel.new_button.clicked.connect(self.new_conversation)
        self.panel.rename_button.clicked.connect(self.rename_selected)
        self.panel.delete_button.clicked.connect(self.delete_selected)
        window.install_library(self)
        self.track(window.chat, saved=False)
        if problem:
            self.show_problem(problem)

    # -- plumbing -------------------------------------------------------------------------------
    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_event_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

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
            MenuEntry("file", "&Uploaded files…", "", self.uploads_dialog, **first),
            MenuEntry("view", "Conversations", "Ctrl+L", action=self.dock.toggleViewAction()),
            MenuEntry("view", "&Search messages", "Ctrl+F", self.focus_search),
            MenuEntry("view", "&Rename conversation", "F2", self.rename_selected),
            MenuEntry(
                "view", "&Delete conversation", "Del", self.delete_selected, scope=self.panel
            ),
        ]

    def status_widgets(self) -> list[tuple[QWidget, int]]:
        """For the status bar: the undo button, and the history's problem (stretching)."""
        return [(self.undo_button, 0), (self.problem_label, 1)]

    def focus_search(self) -> None:
        self.dock.show()
        self.panel.search.setFocus()
        self.panel.search.selectAll()

    def show_problem(self, text: str) -> None:
        self.problem_label.setText(
            text + " This conversation is kept in memory; File → Export saves it elsewhere."
        )
        self.problem_label.setToolTip(plain_tip(self.problem_label.text()))
        self.problem_label.show()

    def _clear_problem(self) -> None:
        self._retry.stop()
        self.problem_label.hide()
        self.window.notify("Saved again.")

    def _on_error(self, error: StorageError) -> None:
        self.show_problem(str(error))
        if error.kind != "corrupt" and not self._retry.isActive():  # a damaged file stays so
            self._retry.start()

    def _on_saved(self) -> None:
        if self._retry.isActive():
            self._clear_problem()
        self._search_timer.start()  # titles and order may have changed

    def _retry_save(self) -> None:
        for recorder in list(self.recorders.values()):
            if recorder.failed is not None:
                recorder.sync()

    @property
    def recorder(self) -> Recorder | None:
        """The recorder of the conversation on screen."""
        return self.recorders.get(self.window.chat.id)

    # -- the open conversations -----------------------------------------------------------------
    def track(self, chat: Chat, saved: bool) -> None:
        """Record ``chat`` in the history for as long as it is open: its recorder is made here
        and closed by the chat's ``close`` (a conversation left for another keeps being
        recorded while its keep-alive pings run)."""
        self.chats[chat.id] = chat
        chat.on_close(lambda: self._closed(chat))
        if self.writer is None:
            return
        recorder = Recorder(
            self.writer, self.window.engine, chat.session, self._on_error, self._on_saved
        )
        if saved:
            recorder.adopt_saved()
        self.recorders[chat.id] = recorder
        chat.before_send.append(self._commit_first(recorder))

    def _closed(self, chat: Chat) -> None:
        if self.chats.get(chat.id) is chat:
            del self.chats[chat.id]
            recorder = self.recorders.pop(chat.id, None)
            if recorder is not None:
                recorder.sync()
                recorder.close()

    def _commit_first(self, recorder: Recorder):
        async def commit() -> None:
            """The user's message reaches the disk before its request leaves."""
            try:
                await asyncio.wait_for(recorder.commit(), COMMIT_TIMEOUT_S)
            except TimeoutError:
                self.show_problem("Saving is slow; the message is sent and will be saved after.")

        return commit

    def changed(self) -> None:
        if self.recorder is not None:
            self.recorder.sync()

    def new_conversation(self) -> None:
        w = self.window
        if w.busy():
            w.notify("Wait for the reply to finish (or press Esc) first.")
            return
        conversation = w.settings.new_conversation(w.engine.catalogue)
        self.open_session(Session(conversation), saved=False)
        w.composer.edit.setFocus()

    def open_session(self, session: Session, saved: bool, position: int | None = None) -> None:
        chat = self.window.set_session(session)
        self.track(chat, saved)
        if position is not None:
            self.window.view.scroll_to_message(position)

    async def open(self, conversation_id: str, position: int | None = None) -> bool:
        session = await self.show_saved(conversation_id, position)
        if session is not None:  # on screen; now the prefix it cached, for the countdowns
            rebuild_last_request(self.window.engine, session)
        return session is not None

    async def show_saved(self, conversation_id: str, position: int | None = None):
        """Load a conversation and show it (painted); the Session, or None when not opened."""
        w = self.window
        if conversation_id == w.session.id:
            if position is not None:
                w.view.scroll_to_message(position)
            return None
        if w.busy():
            w.notify("Wait for the reply to finish (or press Esc) first.")
            return None
        running = self.chats.get(conversation_id)
        if running is not None:  # still open in the background (its keep-alive): as it is
            w.show_chat(running)
            if position is not None:
                w.view.scroll_to_message(position)
            return running.session
        started = time.perf_counter()
        try:
            session = await load_session(self.writer, w.engine, conversation_id, build=False)
        except StorageError as exc:
            w.notify(str(exc))
            return None
        self.open_session(session, saved=True, position=position)
        w.view.viewport().repaint()
        settle_memory()
        count, spent = len(session.conversation.messages), time.perf_counter() - started
        log.info("opened %d messages in %.3f s", count, spent)
        return session

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
                item = list_row(
                    f"{hit.title or 'Untitled'}\n{hit.snippet}", hit.conversation_id, hit.position
                )
                box.addItem(item)
            if not hits:
                box.addItem(list_row("No message matches.", "", NO_POSITION))
            return
        for row in listing.rows:
            when = datetime.fromtimestamp(row.updated_at).strftime("%d %b %H:%M")
            item = list_row(
                f"{row.title or 'Untitled'}\n{plural(row.messages, 'message')} · {when}",
                row.id,
                NO_POSITION,
            )
            box.addItem(item)
            if row.id == self.window.session.id:
                box.setCurrentItem(item)
        if listing.note:
            box.addItem(list_row(listing.note, "", NO_POSITION))

    def _activated(self, item: QListWidgetItem) -> None:
        conversation_id = item.data(CONVERSATION_ROLE)
        if conversation_id:
            position = item.data(POSITION_ROLE)
            self._spawn(self.open(conversation_id, None if position == NO_POSITION else position))

    def _selected_id(self) -> str | None:
        item = self.panel.list.currentItem()
        return item.data(CONVERSATION_ROLE) if item is not None else None

    def rename_selected(self) -> None:
        conversation_id = self._selected_id() or self.window.session.id
        current = self.window.session.conversation
        dialog = QInputDialog(self.window)
        dialog.setWindowTitle("Rename conversation")
        dialog.setLabelText("Title:")
        if conversation_id == current.id:
            dialog.setTextValue(current.title)
        dialog.textValueSelected.connect(lambda text: self.rename(conversation_id, text.strip()))
        dialog.open()

    def rename(self, conversation_id: str, title: str) -> None:
        if not title:
            return
        if conversation_id == self.window.session.id:
            self.window.session.conversation.title = title
            self.window.update_title()
        if self.writer is not None:
            self._write_then_refresh(StoreOp(Store.rename, conversation_id, title))

    def delete_selected(self) -> None:
        conversation_id = self._selected_id()
        if conversation_id is None or self.writer is None:
            return
        if conversation_id == self.window.session.id:
            if self.window.busy():
                self.window.notify("Wait for the reply to finish first.")
                return
            self.new_conversation()
        self.undo_id = conversation_id
        self.undo_button.show()
        self._undo_timer.start(UNDO_S)
        self.window.notify("Conversation deleted.")
        self._write_then_refresh(StoreOp(Store.delete, conversation_id))

    def undo_delete(self) -> None:
        if self.undo_id is None:
            return
        self._write_then_refresh(StoreOp(Store.undelete, self.undo_id))
        self.window.notify("Conversation restored.")
        self.undo_id = None
        self.undo_button.hide()

    def _write_then_refresh(self, op: StoreOp) -> None:
        refresh = lambda *_: self._spawn(self.refresh())  # noqa: E731
        op.success(refresh).failure(lambda exc: (self.show_problem(str(exc)), refresh()))
        op.run_in_background(self.writer)

    # -- uploaded files -------------------------------------------------------------------------
    def uploads_here(self) -> list[Upload]:
        return self.window.engine.uploads_here()

    def uploads_dialog(self) -> UploadsDialog:
        place = self.window.engine.place
        where = redact(place.split("#")[0]) or "this endpoint"
        dialog = UploadsDialog(self.uploads_here(), where, self.window)
        dialog.delete_requested.connect(lambda fid: self._spawn(self.delete_upload(fid, dialog)))
        dialog.open()
        return dialog

    async def delete_upload(self, file_id: str, dialog: UploadsDialog | None = None) -> bool:
        """Delete the file from the workspace, then forget it here (the history too)."""
        import anthropic

        try:
            upload = await self.window.engine.delete_upload(file_id)
        except anthropic.APIError as exc:
            self.window.notify(f"Not deleted: {classify(exc).message}")
            if dialog is not None:
                dialog.show_uploads(self.uploads_here())
            return False
        if self.writer is not None and upload is not None:
            StoreOp(forget_upload, upload.place, file_id).failure(
                lambda exc: self.show_problem(str(exc))
            ).run_in_background(self.writer)
        self.window.notify(f"Deleted {upload.name if upload else file_id} from the workspace.")
        if dialog is not None:
            dialog.show_uploads(self.uploads_here())
        return True

    # -- export and import ----------------------------------------------------------------------
    def export_dialog(self, kind: str) -> None:
        conv = self.window.session.conversation
        name = "".join(
            c if c.isalnum() or c in " -_" else "_" for c in conv.title or "conversation"
        )
        suffix = {"md": "Markdown (*.md)", "json": "Cachescope JSON (*.json)"}[kind]
        dialog = QFileDialog(
            self.window, "Export conversation", str(Path.home() / f"{name}.{kind}"), suffix
        )
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix(kind)
        dialog.fileSelected.connect(lambda path: self._spawn(self.export(kind, Path(path))))
        dialog.open()

    async def export(self, kind: str, path: Path) -> None:
        try:
            await export_session(self.window.session, kind, path)
        except OSError as exc:
            self.window.notify(f"Not exported: {exc.strerror or exc} ({path}).")
            return
        self.window.notify(f"Exported to {path}.")

    def import_dialog(self) -> None:
        dialog = QFileDialog(
            self.window, "Import conversation", str(Path.home()), "Cachescope JSON (*.json)"
        )
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(lambda path: self._spawn(self.import_file(Path(path))))
        dialog.open()

    async def import_file(self, path: Path) -> bool:
        w = self.window
        if w.busy():
            w.notify("Wait for the reply to finish first.")
            return False
        try:
            session = await import_session(self.writer, w.engine, path, w.session.id)
        except (ExportFileError, StorageError) as exc:
            w.notify(str(exc))
            return False
        self.open_session(session, saved=False)
        self.changed()
        w.notify(f"Imported {session.conversation.title or 'a conversation'} from {path.name}.")
        return True
