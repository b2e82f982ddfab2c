"""The workspace: the open conversations and the one on screen, their recorders in the history,
the engine's events and the chats' changes for the views of the one on screen, and every task
that is not a request to the API (history reads and writes, replays, the model list).

Every task has one owner that ends it: the engine owns the requests (turns, warm-ups, pings,
uploads), the MCP hub its servers, and the workspace the rest (``spawn``). ``shutdown`` ends all
of them, closes every chat (and so its recorder) and flushes the history.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from app.caching.ledger import LedgerEntry
from app.engine.engine import Engine
from app.engine.events import Event, Listeners
from app.engine.session import Session
from app.history.recorder import Recorder
from app.history.sessions import load_session
from app.storage.store import StorageError
from app.storage.writer import Writer
from app.workspace import changes as ch
from app.workspace.chat import Chat
from app.workspace.files import Files
from app.workspace.tool_servers import ToolServers

log = logging.getLogger(__name__)
COMMIT_TIMEOUT_S = 5.0


class Workspace:
    def __init__(self, engine: Engine, session: Session, writer: Writer | None = None):
        self.engine = engine
        self.writer = writer
        self.chats: dict[str, Chat] = {}  # open conversations, on screen or not, by id
        self.recorders: dict[str, Recorder] = {}
        self.changes = ch.Changes()  # the chat on screen's changes (and CURRENT on a switch)
        self.events = Listeners()  # the engine's events about the chat on screen (its stream)
        self.tasks: set[asyncio.Task] = set()
        self.before_send: list[Callable[[], Awaitable[None]]] = []  # e.g. wait for a client
        # Who hears what keeps the history from being saved (a sentence, and whether writing
        # again may help) and that messages reached the disk (the history's list).
        self.storage_problem: Callable[[str, bool], None] = lambda text, retry: log.warning(
            "%s", text
        )
        self.storage_saved: Callable[[], None] = lambda: None
        self.mode = "Connecting…"  # where requests go, in words (the toolbar's badge)
        self.tools = ToolServers(engine)
        self.files = Files(engine, writer, lambda text: self.storage_problem(text, True))
        self.current = self._track(Chat(engine, session), saved=False)
        self.current.subscribe(self.changes.emit)
        engine.subscribe(self._relay)

    # -- the conversation on screen -------------------------------------------------------------
    def _relay(self, event: Event) -> None:
        if getattr(event, "conversation_id", None) == self.current.id:
            self.events.emit(event)

    def subscribe(self, listener: Callable[[ch.Change], None]) -> None:
        self.changes.subscribe(listener)

    def show(self, chat: Chat) -> Chat:
        """Put ``chat`` on screen. The one left keeps running in the background under its own
        settings while it has work (a keep-alive), then closes, unless it holds a draft: it stays
        open with it, so the draft is there again when the conversation is shown."""
        old = self.current
        if old is not chat:
            old.unsubscribe(self.changes.emit)
            self.current = chat
            chat.subscribe(self.changes.emit)
            if not old.messages and old.session.totals.records and old.id in self.recorders:
                self.recorders[old.id].sync(left=True)  # a new one that paid a warm-up: listed
            old.when_idle(self._left)
        chat.changed({ch.CURRENT}, "another conversation is on screen")
        return chat

    def _left(self, chat: Chat) -> None:
        """A conversation left is idle: it closes, unless it is on screen again or holds a
        draft (its text, attachments and pastes wait for it, and any warm-up paid for them is
        on its books)."""
        if chat is not self.current and chat.draft.empty:
            chat.close()

    def open(self, session: Session, saved: bool) -> Chat:
        """Show ``session`` with a controller of its own (recorded in the history); a
        conversation still open in the background is shown as it is."""
        chat = self.chats.get(session.id)
        if chat is None or chat.closed:
            chat = self._track(Chat(self.engine, session), saved)
        return self.show(chat)

    def new(self, session: Session) -> Chat:
        return self.open(session, saved=False)

    async def load(self, conversation_id: str) -> Chat | None:
        """A conversation from the history on screen (StorageError when it cannot be read);
        None when it is already the one on screen."""
        if conversation_id == self.current.id:
            return None
        running = self.chats.get(conversation_id)
        if running is not None and not running.closed:  # still at work in the background
            return self.show(running)
        if self.writer is None:
            raise StorageError("other", "The history is not available.")
        session = await load_session(self.writer, self.engine, conversation_id)
        return self.open(session, saved=True)

    def live_entries(self) -> tuple[tuple[LedgerEntry, ...], list[tuple[LedgerEntry, str]]]:
        """The cache entries alive where requests go: the ones on the path of the conversation
        on screen (its next send reads or refreshes them), then the others, each labelled with
        whose it is (another open conversation by its title, else an earlier one; another model
        named)."""
        own = self.current.outlook.entries
        mine = {e.fingerprint for e in own}
        # what this conversation's requests wrote that its next send no longer reads (before a
        # compaction, on a branch left): its own still, not an earlier conversation's
        sent = {
            row.fingerprint
            for record in self.current.session.totals.records
            if record.prefix is not None
            for row in record.prefix.rows
            if row.breakpoint_ttl
        }
        others = []
        for entry in self.engine.ledger.live():
            if entry.fingerprint in mine:
                continue
            holder = next(
                (
                    c
                    for c in self.chats.values()
                    if c is not self.current and entry in c.outlook.entries
                ),
                None,
            )
            whose = f"“{holder.title or 'Untitled'}”" if holder else "an earlier conversation"
            if holder is None and entry.fingerprint in sent:
                whose = "this conversation, no longer sent"
            model = self.engine.resolve_model(entry.model)
            if entry.model != self.current.model_id and model is not None:
                whose += f" ({model.display_name})"
            others.append((entry, whose))
        return own, others

    # -- where requests go ----------------------------------------------------------------------
    def use_client(self, client, mode: str) -> None:
        """Send every request through ``client`` from now on (``app.engine.connect`` makes it):
        the ledger follows the place it talks to, the old client is closed."""
        old, self.engine.client = self.engine.client, client
        self.mode = mode
        if old is not None and old is not client:
            self.spawn(old.close(), "close the old client")
        self.current.changed({ch.CONNECTION}, mode)

    # -- the history ----------------------------------------------------------------------------
    def _track(self, chat: Chat, saved: bool) -> Chat:
        """Record ``chat`` in the history for as long as it is open: its recorder is made here
        and closed by the chat's ``close``."""
        self.chats[chat.id] = chat
        chat.before_send.append(self._before_send)
        chat.on_close(lambda: self._closed(chat))
        if self.writer is None:
            return chat
        recorder = Recorder(
            self.writer, self.engine, chat.session, self._on_error, lambda: self.storage_saved()
        )
        if saved:
            recorder.adopt_saved()
        self.recorders[chat.id] = recorder
        chat.before_send.append(self._commit_first(recorder))
        return chat

    async def _before_send(self) -> None:
        for hook in list(self.before_send):
            await hook()

    def _closed(self, chat: Chat) -> None:
        if self.chats.get(chat.id) is chat:
            del self.chats[chat.id]
            recorder = self.recorders.pop(chat.id, None)
            if recorder is not None:
                recorder.sync(left=True)
                recorder.close()

    def _on_error(self, error: StorageError) -> None:
        self.storage_problem(str(error), error.kind != "corrupt")  # a damaged file stays so

    def _commit_first(self, recorder: Recorder):
        async def commit() -> None:
            """The user's message reaches the disk before its request leaves."""
            try:
                await asyncio.wait_for(recorder.commit(), COMMIT_TIMEOUT_S)
            except TimeoutError:
                text = "Saving is slow; the message is sent and will be saved after."
                self.storage_problem(text, False)

        return commit

    def save(self) -> None:
        """The conversation on screen changed outside a turn (a setting, a title): keep it."""
        recorder = self.recorders.get(self.current.id)
        if recorder is not None:
            recorder.sync()

    def retry_saving(self) -> None:
        """Write again what failed to be written."""
        for recorder in list(self.recorders.values()):
            if recorder.failed is not None:
                recorder.sync()

    # -- tasks ----------------------------------------------------------------------------------
    def spawn(self, coro, name: str = "") -> asyncio.Task:
        """Run ``coro`` as a task the workspace owns: ``shutdown`` ends it."""
        task = asyncio.get_event_loop().create_task(coro, name=name or None)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def shutdown(self) -> None:
        """End everything: the chats (and their recorders), the workspace's tasks, the engine's;
        then the history is flushed."""
        for chat in list(self.chats.values()):
            chat.close()
        tasks = [t for t in self.tasks if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.engine.shutdown()
        await self.tools.stop()
        self.engine.unsubscribe(self._relay)
        if self.writer is not None:
            await self.writer.flush()
