"""Sessions to and from the history: opened from the store, exported to a file, imported from
one, and the history itself opened at start. Each returns values or raises a typed error whose
sentence the window shows; none of them shows anything."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from app.caching.costs import RequestRecord
from app.conversation.conversation import Conversation
from app.engine.engine import Engine
from app.engine.session import Session
from app.engine.uploads import without_file_refs
from app.storage.export import export_json, export_markdown, import_json
from app.storage.store import StorageError, Store
from app.storage.uploads import saved_uploads
from app.storage.writer import StoreOp, Writer

log = logging.getLogger(__name__)


def restore_session(
    engine: Engine,
    conversation: Conversation,
    records: list[dict],
    ledger: dict,
) -> Session:
    """A session from the history: its records (prefix maps chained as stored) and its cache
    ledger merged into the engine's (the chat that shows it looks at what it holds)."""
    session = Session(conversation)
    base = None
    for data in records:
        try:
            record = RequestRecord.from_dict(data, base)
        except (KeyError, TypeError, ValueError) as exc:  # an old or hand-edited record
            log.warning("skipped a request record that cannot be read: %s", exc)
            continue
        base = record.prefix or base
        session.totals.add(record)
    engine.ledger.merge(ledger)
    return session


async def load_session(writer: Writer, engine: Engine, conversation_id: str) -> Session:
    """The saved conversation with its records and ledger (StorageError when it cannot be
    read)."""
    conversation, records, ledger = await writer.run(Store.load, conversation_id)
    return restore_session(engine, conversation, records, ledger)


def records_of(session: Session) -> list[dict]:
    """The session's request records as the history and exports keep them (prefixes chained)."""
    out, base = [], None
    for record in session.totals.records:
        out.append(record.to_dict(base))
        base = record.prefix or base
    return out


async def export_session(session: Session, kind: str, path: Path) -> None:
    """Markdown (``kind`` "md") or Cachescope JSON with the records; OSError when not written."""
    conversation = session.conversation
    if kind == "md":
        await asyncio.to_thread(export_markdown, conversation, path)
    else:
        await asyncio.to_thread(export_json, conversation, path, records_of(session))


async def import_session(
    writer: Writer | None, engine: Engine, path: Path, open_id: str
) -> Session:
    """A conversation from a Cachescope JSON file, checked against every id the history holds
    (deleted ones too) and the one open; ExportFileError when the file cannot be used."""
    taken = set(await writer.run(Store.ids)) if writer is not None else set()
    taken.add(open_id)
    conversation, records = await asyncio.to_thread(import_json, path, taken)
    without_file_refs(conversation)  # another workspace's ids: never trusted, never sent
    return restore_session(engine, conversation, records, {})


async def learn_from_history(writer: Writer | None, engine: Engine) -> None:
    """At launch: this user's own pauses for the engine's pause model, and the documents
    uploaded in earlier sessions (so that none is uploaded twice)."""
    if writer is None:
        return
    try:
        engine.pauses.learn_all(await writer.run(Store.user_pauses))
        engine.uploads.adopt(await writer.run(saved_uploads))
    except StorageError as exc:
        log.warning("the history could not be read at launch: %s", exc)


def open_history(folder: Path) -> tuple[Writer | None, str]:
    """(writer, problem): the history's writer, or None and why it cannot be used. A history in
    a folder the app cannot write to is opened for reading: its conversations are listed and
    open as they were, and the problem says that nothing new is saved and what to do."""
    try:
        store = Store.open(folder)
    except StorageError as exc:
        if exc.kind == "read_only":
            try:
                store = Store.open(folder, read_only=True)
            except StorageError as also:
                log.warning("history unavailable: %s; read-only: %s", exc, also)
            else:
                problem = read_only_problem(folder, exc, store.conversation_count())
                log.warning("%s", problem)
                return Writer(store), problem
        log.warning("history unavailable: %s", exc)
        return None, str(exc)
    writer = Writer(store)
    # What was deleted in an earlier session, past its undo; on the writer, after start-up.
    StoreOp(Store.purge_deleted).run_in_background(writer)  # a failure is logged
    return writer, ""


def read_only_problem(folder: Path, error: StorageError, conversations: int) -> str:
    why = str(error.__cause__ or error)
    listed = f"its {conversations:,} conversations are" if conversations != 1 else "its one is"
    return (
        f"The history folder {folder} cannot be written ({why}): {listed} listed and open as "
        "they were, but nothing new is saved. Make the folder writable (or start Cachescope "
        "with --data-dir elsewhere) and restart."
    )


def unavailable_note(problem: str) -> str:
    """The conversation list's one line when there is no history to list, and why."""
    return f"No conversations can be listed. {problem}" if problem else ""
