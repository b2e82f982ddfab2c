"""Keeps a session in the history while the engine works on it.

The user's message is saved before its request is sent (``commit``); a streaming reply is saved
as an interrupted message at least once a second and replaced by the finished one; every request
record and the cache ledger follow each turn, warm-up and ping. A write that fails is reported
and the session stays whole in memory; the next write saves everything not yet saved.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future

from app.caching.costs import Kind
from app.caching.prefix_map import PrefixMap
from app.conversation.blocks import Message, TextBlock
from app.conversation.conversation import new_id
from app.engine import events as ev
from app.engine.engine import Engine
from app.engine.session import Session
from app.storage.store import StorageError, Store
from app.storage.uploads import save_upload
from app.storage.writer import StoreOp, Writer

log = logging.getLogger(__name__)
CHECKPOINT_S = 1.0
TITLE_CHARS = 60


def auto_title(session: Session) -> str:
    for message in session.conversation.messages:
        if message.role == "user" and message.text.strip():
            line = message.text.strip().splitlines()[0]
            return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1] + "…"
    return ""


class Recorder:
    def __init__(
        self,
        writer: Writer,
        engine: Engine,
        session: Session,
        on_error: Callable[[StorageError], None] | None = None,
        on_saved: Callable[[], None] | None = None,
        checkpoint_s: float = CHECKPOINT_S,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.writer = writer
        self.engine = engine
        self.session = session
        self.on_error = on_error
        self.on_saved = on_saved
        self.checkpoint_s = checkpoint_s
        self.clock = clock
        self.failed: StorageError | None = None
        self._saved: dict[str, Message] = {}
        self._records_saved = 0
        self._last_prefix: PrefixMap | None = None
        self._partial_id = ""
        self._partial: list[str] = []
        self._last_checkpoint = 0.0
        self._closed = False
        engine.subscribe(self._on_event)

    def adopt_saved(self) -> None:
        """The session was just loaded from the store: all of it is saved already."""
        self._saved = {m.id: m for m in self.session.conversation.messages}
        self._records_saved = len(self.session.totals.records)
        prefixes = [r.prefix for r in self.session.totals.records if r.prefix is not None]
        self._last_prefix = prefixes[-1] if prefixes else None

    def close(self) -> None:
        self._closed = True
        self.engine.unsubscribe(self._on_event)

    # -- saving ---------------------------------------------------------------------------------
    def _submit(self, op: StoreOp) -> Future:
        return op.failure(self._failed).run_in_background(self.writer)

    def _failed(self, error: StorageError) -> None:
        if self.failed is None:
            log.warning("history write failed: %s", error)
        self.failed = error
        # Forget what we believed saved: the next sync writes it all again.
        self._saved = {}
        self._records_saved = 0
        self._last_prefix = None
        if self.on_error is not None:
            self.on_error(error)

    def sync(self, left: bool = False) -> Future | None:
        """Save whatever changed: settings, title, ledger, messages, request records. A
        conversation without messages yet (warm-ups of a new one) waits for its first message,
        so the list gains no empty conversation while that message is typed; once it is
        ``left`` (another shown, or the app quits) with requests paid for it, it is saved with
        them, so every request billed is on the books."""
        conv = self.session.conversation
        if not conv.messages and not (left and self.session.totals.records):
            return None
        if not conv.title:
            conv.title = auto_title(self.session)
        self.failed = None
        self._submit(StoreOp(Store.save_conversation, conv.header(), self.engine.ledger.to_dict()))
        changed = [(i, m) for i, m in enumerate(conv.messages) if self._saved.get(m.id) is not m]
        saving = StoreOp(Store.save_messages, conv.id, changed, len(conv.messages))
        listed = not self._saved and not self._records_saved  # its first save: the list gains it
        if self.on_saved is not None and (changed or listed):  # a warm-up or ping changes no
            saving.success(lambda _: self.on_saved())  # message of one already listed
        future = self._submit(saving)
        self._saved = {m.id: m for m in conv.messages}
        records = self.session.totals.records
        for seq in range(self._records_saved, len(records)):
            record = records[seq]
            self._submit(
                StoreOp(Store.save_request, conv.id, seq, record.to_dict(self._last_prefix))
            )
            if record.prefix is not None:
                self._last_prefix = record.prefix
        self._records_saved = len(records)
        return future

    async def commit(self) -> None:
        """Save now and wait until it is on disk (before a request goes out)."""
        self.sync()
        await self.writer.flush()

    def _checkpoint(self) -> None:
        conv = self.session.conversation
        partial = Message(
            "assistant",
            (TextBlock("".join(self._partial)),),
            self._partial_id,
            time.time(),
            interrupted=True,
        )
        self._submit(StoreOp(Store.save_messages, conv.id, [(len(conv.messages), partial)]))
        self._last_checkpoint = self.clock()

    # -- engine events --------------------------------------------------------------------------
    def _on_event(self, event: ev.Event) -> None:
        if self._closed or getattr(event, "conversation_id", None) != self.session.id:
            return
        if isinstance(event, ev.RequestBuilt) and event.kind == Kind.TURN:
            self._partial_id = new_id("partial")
            self._partial = []
            self._last_checkpoint = self.clock()
        elif isinstance(event, ev.TextDelta):
            self._partial.append(event.text)
            if self.clock() - self._last_checkpoint >= self.checkpoint_s:
                self._checkpoint()
        elif isinstance(event, ev.Finished | ev.Failed | ev.Cancelled):
            self._partial = []
            self.sync()
        elif isinstance(event, ev.UploadFinished) and event.upload is not None:
            self._submit(StoreOp(save_upload, event.upload))  # never uploaded twice
