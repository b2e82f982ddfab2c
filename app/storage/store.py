"""The history database: SQLite in WAL mode, one connection, used from one worker thread.

Every public method is a plain call that does its work in a transaction of its own, so it can be
used directly (tests, tools) or from the app through ``AsyncStore`` off the GUI thread. Errors
come out as ``StorageError`` with a sentence a user can act on.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from app.conversation.blocks import Message
from app.conversation.conversation import (
    Conversation,
    ConversationHeader,
    message_from_dict,
    message_images,
    message_to_dict,
)
from app.storage.schema import VERSION as SCHEMA_VERSION
from app.storage.schema import NewerSchemaError, migrate

DB_NAME = "cachescope.db"
BUSY_TIMEOUT_MS = 3000


class StorageError(Exception):
    """A database problem, said plainly; ``kind`` is locked, corrupt, full, read_only or other."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def describe(exc: BaseException, path: Path) -> StorageError:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return StorageError(
            "locked", f"The history file {path} is in use by another program (locked)."
        )
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return damaged(path, str(exc))
    if "full" in text or "no space" in text:
        return StorageError("full", f"The disk holding {path} is full; nothing more was saved.")
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return StorageError("read_only", f"Cachescope cannot write to {path.parent} ({exc}).")
    if isinstance(exc, OSError):  # the folder cannot be made or written
        return StorageError("read_only", f"Cachescope cannot write to {path.parent} ({exc}).")
    return StorageError("other", f"The history could not be saved: {exc}")


def damaged(path: Path, detail: str) -> StorageError:
    return StorageError(
        "corrupt",
        f"The history file {path} is damaged ({detail}). Cachescope no longer writes to it, so"
        " nothing more in it is lost, and this session is not saved (File → Export keeps a"
        " conversation). To start a new history, quit and move the file aside;"
        f" `sqlite3 {path.name} .recover` can often rescue what it holds.",
    )


LIST_LIMIT = 5000  # conversations the history panel lists at once (the rest by search)


@dataclass(frozen=True)
class ConversationRow:
    id: str
    title: str
    model: str
    created_at: float
    updated_at: float
    messages: int


@dataclass(frozen=True)
class Listing:
    rows: tuple[ConversationRow, ...]
    total: int  # the history's conversations, listed or not

    @property
    def note(self) -> str:
        """What the list leaves out, in a sentence ("" when it shows them all)."""
        if self.total <= len(self.rows):
            return ""
        return (
            f"Showing the {len(self.rows):,} most recently used of {self.total:,} conversations;"
            " search finds words in all of them."
        )


@dataclass(frozen=True)
class SearchHit:
    conversation_id: str
    title: str
    message_id: str
    position: int
    snippet: str


def branch_bodies(meta: dict) -> list[dict]:
    """The stored messages of a conversation's kept branches (in its settings, ``meta``)."""
    branches = meta.get("branches") if isinstance(meta, dict) else None
    return [m for b in branches or [] if isinstance(b, dict) for m in b.get("messages") or []]


def _plain_text(data: dict) -> str:
    parts = []
    for block in data.get("blocks", []):
        kind = block.get("type")
        if kind == "text":
            parts.append(block["text"])
        elif kind == "tool_result":
            parts.extend(p.get("text", "") for p in block.get("content", []))
    return "\n".join(parts)


class Store:
    def __init__(self, path: Path, read_only: bool = False):
        """``read_only``: the file as it is, for reading (a folder the app cannot write to);
        every write then fails as ``read_only``."""
        self.path = Path(path)
        self._lock = threading.RLock()
        self.read_only = read_only
        if read_only:
            self._open_read_only()
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
            )
            self.damaged: StorageError | None = None
            self._check_integrity()  # before anything (WAL mode, migrations) writes to it
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.version = migrate(self.conn)
        except NewerSchemaError as exc:
            raise StorageError("newer", f"{self.path}: {exc}.") from exc
        except (sqlite3.Error, OSError) as exc:
            raise describe(exc, self.path) from exc

    def _open_read_only(self) -> None:
        """SQLite's read-only mode, and when that cannot open a WAL file without writing its
        index beside it, ``immutable`` (nothing else writes: the folder is read-only)."""
        if not self.path.is_file():
            raise StorageError("read_only", f"There is no history file {self.path} to read.")
        last: Exception | None = None
        for options in ("mode=ro", "mode=ro&immutable=1"):
            try:
                uri = f"{self.path.resolve().as_uri()}?{options}"
                self.conn = sqlite3.connect(
                    uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
                )
                self.damaged = None
                self._check_integrity()
                self.version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            except StorageError:
                raise
            except sqlite3.Error as exc:
                last = exc
                continue
            if self.version != SCHEMA_VERSION:
                self.conn.close()
                raise StorageError(
                    "read_only",
                    f"The history {self.path} has schema {self.version}; this Cachescope reads"
                    f" schema {SCHEMA_VERSION} and cannot convert it without writing.",
                )
            return
        raise describe(last, self.path)

    @classmethod
    def open(cls, folder: Path, read_only: bool = False) -> Store:
        return cls(Path(folder) / DB_NAME, read_only)

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    def _check_integrity(self) -> None:
        problems = [row[0] for row in self.conn.execute("PRAGMA quick_check(3)").fetchall()]
        if problems != ["ok"]:
            self.conn.close()
            first = problems[0].splitlines()
            raise damaged(self.path, first[-1] if first else "integrity check failed")

    def _failed(self, exc: sqlite3.Error) -> StorageError:
        error = describe(exc, self.path)
        if error.kind == "corrupt":
            self.damaged = error  # from now on nothing touches the file
        return error

    def transaction(self, work) -> None:
        """Run ``work(conn)`` in one transaction, under the store's lock (also for the history's
        other tables: ``app.storage.uploads``)."""
        with self._lock:
            if self.damaged is not None:
                raise self.damaged
            try:
                with self.conn:
                    work(self.conn)
            except sqlite3.Error as exc:
                raise self._failed(exc) from exc

    def query(self, sql: str, args: tuple = ()) -> list[tuple]:
        """The rows of one read, under the store's lock."""
        with self._lock:
            if self.damaged is not None:
                raise self.damaged
            try:
                return self.conn.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise self._failed(exc) from exc

    # -- writing --------------------------------------------------------------------------------
    def save_conversation(
        self, conversation: Conversation | ConversationHeader, ledger: dict | None = None
    ) -> None:
        """The conversation's settings (not its messages) and, if given, its cache ledger.
        From another thread, pass ``conversation.header()``, taken where it is edited. Its date
        in the list is set when it is first saved and moves only with its messages: a warm-up,
        a ping or quitting saves the ledger and leaves the date alone."""
        header = conversation if isinstance(conversation, ConversationHeader) else None
        header = header or conversation.header()
        now = time.time()

        def work(conn):
            conn.execute(
                "INSERT INTO conversations (id, title, created_at, updated_at, model, meta)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET title=excluded.title,"
                " model=excluded.model, meta=excluded.meta",
                (header.id, header.title, now, now, header.model, header.meta_json),
            )
            if ledger is not None:
                conn.execute(
                    "UPDATE conversations SET ledger=? WHERE id=?",
                    (json.dumps(ledger), header.id),
                )

        self.transaction(work)

    def save_messages(
        self, conversation_id: str, messages: list[tuple[int, Message]], keep: int | None = None
    ) -> None:
        """Insert or replace messages at their positions; with ``keep``, drop the ones from
        that position on that are not among them (a truncated conversation)."""
        rows = []
        images = {}
        for position, message in messages:
            data, found = message_to_dict(message)
            images.update(found)
            rows.append(
                (
                    message.id,
                    conversation_id,
                    position,
                    message.role,
                    message.created_at,
                    int(message.interrupted),
                    json.dumps(data),
                    _plain_text(data),
                )
            )

        def work(conn):
            conn.executemany(
                "INSERT OR IGNORE INTO images (sha256, media_type, data) VALUES (?, ?, ?)",
                [(sha, im.media_type, im.data) for sha, im in images.items()],
            )
            if keep is not None:
                ids = [r[0] for r in rows]
                marks = ",".join("?" * len(ids))
                conn.execute(
                    "DELETE FROM messages WHERE conversation_id=? AND position>=?"
                    + (f" AND id NOT IN ({marks})" if ids else ""),
                    (conversation_id, keep, *ids),
                )
            conn.executemany(  # another message at the same place (edit and resend) goes
                "DELETE FROM messages WHERE conversation_id=? AND position=? AND id!=?",
                [(conversation_id, r[2], r[0]) for r in rows],
            )
            conn.executemany(
                "INSERT INTO messages (id, conversation_id, position, role, created_at,"
                " interrupted, body, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(conversation_id, id) DO UPDATE SET position=excluded.position,"
                " interrupted=excluded.interrupted, body=excluded.body, text=excluded.text",
                rows,
            )
            if rows:  # the messages changed: the user's doing, so the date moves
                conn.execute(
                    "UPDATE conversations SET updated_at=? WHERE id=?",
                    (time.time(), conversation_id),
                )

        self.transaction(work)

    def save_request(self, conversation_id: str, seq: int, record: dict) -> None:
        self.transaction(
            lambda conn: conn.execute(
                "INSERT OR REPLACE INTO requests (id, conversation_id, seq, kind, at, paid_usd,"
                " body) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    record["id"],
                    conversation_id,
                    seq,
                    record["kind"],
                    record["at"],
                    record["cost"][0],
                    json.dumps(record),
                ),
            )
        )

    def rename(self, conversation_id: str, title: str) -> None:
        def work(conn):
            row = conn.execute(
                "SELECT meta FROM conversations WHERE id=?", (conversation_id,)
            ).fetchone()
            if row is None:
                return
            meta = json.loads(row[0])
            meta["title"] = title
            conn.execute(
                "UPDATE conversations SET title=?, meta=? WHERE id=?",
                (title, json.dumps(meta), conversation_id),
            )

        self.transaction(work)

    def delete(self, conversation_id: str) -> None:
        """Hide a conversation (undo brings it back); ``purge_deleted`` removes it for good."""
        self.transaction(
            lambda conn: conn.execute(
                "UPDATE conversations SET deleted_at=? WHERE id=?", (time.time(), conversation_id)
            )
        )

    def undelete(self, conversation_id: str) -> None:
        self.transaction(
            lambda conn: conn.execute(
                "UPDATE conversations SET deleted_at=NULL WHERE id=?", (conversation_id,)
            )
        )

    def purge_deleted(self) -> int:
        """Remove deleted conversations for good, with the images no other message shows."""
        count = []

        def work(conn):
            cur = conn.execute("DELETE FROM conversations WHERE deleted_at IS NOT NULL")
            count.append(cur.rowcount)
            if not cur.rowcount:
                return
            used = set()
            for (body,) in conn.execute("SELECT body FROM messages WHERE body LIKE '%\"sha256\"%'"):
                used.update(message_images(json.loads(body)))
            for (meta,) in conn.execute(
                "SELECT meta FROM conversations WHERE meta LIKE '%sha256%'"
            ):
                for body in branch_bodies(json.loads(meta)):  # kept branches show them too
                    used.update(message_images(body))
            stored = [r[0] for r in conn.execute("SELECT sha256 FROM images")]
            conn.executemany(
                "DELETE FROM images WHERE sha256=?", [(s,) for s in stored if s not in used]
            )

        self.transaction(work)
        return count[0]

    # -- reading --------------------------------------------------------------------------------
    def ids(self) -> set[str]:
        """Every conversation id in the file, deleted ones (still undoable or purgeable) too."""
        return {r[0] for r in self.query("SELECT id FROM conversations")}

    def conversation_count(self) -> int:
        """How many conversations the history lists (deleted ones not)."""
        return self.query("SELECT COUNT(*) FROM conversations WHERE deleted_at IS NULL")[0][0]

    def listing(self, limit: int = LIST_LIMIT) -> Listing:
        """The most recently used conversations, and how many there are in all."""
        return Listing(tuple(self.conversations(limit)), self.conversation_count())

    def conversations(self, limit: int = LIST_LIMIT) -> list[ConversationRow]:
        rows = self.query(
            "SELECT c.id, c.title, c.model, c.created_at, c.updated_at,"
            " (SELECT COUNT(*) FROM messages m WHERE m.conversation_id=c.id)"
            " FROM conversations c WHERE c.deleted_at IS NULL"
            " ORDER BY c.updated_at DESC LIMIT ?",
            (limit,),
        )
        return [ConversationRow(*r) for r in rows]

    def user_pauses(self, limit: int = 5000) -> list[float]:
        """Seconds between the user's own consecutive sends in each conversation (tool results
        are not the user), newest first: the prior of the engine's pause model."""
        rows = self.query(
            "SELECT conversation_id, created_at FROM messages"
            " WHERE role = 'user' AND instr(body, 'tool_result') = 0"
            " ORDER BY created_at DESC LIMIT ?",
            (limit + 1,),
        )
        last: dict[str, float] = {}
        pauses = []
        for conversation_id, at in rows:
            later = last.get(conversation_id)
            if later is not None:
                pauses.append(later - at)
            last[conversation_id] = at
        return pauses

    def load(self, conversation_id: str) -> tuple[Conversation, list[dict], dict]:
        """The conversation with its messages, its request records (dicts, in order) and its
        saved cache ledger."""
        found = self.query("SELECT meta, ledger FROM conversations WHERE id=?", (conversation_id,))
        if not found:
            raise StorageError("other", f"No conversation {conversation_id} in the history.")
        meta, ledger = json.loads(found[0][0]), json.loads(found[0][1])
        rows = self.query(
            "SELECT body FROM messages WHERE conversation_id=? ORDER BY position",
            (conversation_id,),
        )
        bodies = [json.loads(r[0]) for r in rows]
        wanted = sorted(
            {sha for body in bodies + branch_bodies(meta) for sha in message_images(body)}
        )
        images = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for sha, data in self.query(
                f"SELECT sha256, data FROM images WHERE sha256 IN ({marks})", tuple(chunk)
            ):
                images[sha] = bytes(data)
        loaded = {}
        try:
            conversation = Conversation.from_dict({**meta, "messages": []}, images)
        except (ValueError, KeyError) as exc:
            raise StorageError("corrupt", f"A saved branch could not be read: {exc}") from exc
        try:
            conversation.messages = [message_from_dict(b, images, loaded) for b in bodies]
        except ValueError as exc:
            raise StorageError("corrupt", f"A saved message could not be read: {exc}") from exc
        records = [
            json.loads(r[0])
            for r in self.query(
                "SELECT body FROM requests WHERE conversation_id=? ORDER BY seq",
                (conversation_id,),
            )
        ]
        return conversation, records, ledger

    def search(self, query: str, limit: int = 100) -> list[SearchHit]:
        """Messages containing every word of ``query`` (prefix match on the last one)."""
        words = [w for w in "".join(c if c.isalnum() else " " for c in query).split() if w]
        if not words:
            return []
        match = " ".join(f'"{w}"' for w in words[:-1]) + f' "{words[-1]}"*'
        rows = self.query(
            "SELECT m.conversation_id, c.title, m.id, m.position,"
            " snippet(messages_fts, 0, '[', ']', '…', 12)"
            " FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid"
            " JOIN conversations c ON c.id = m.conversation_id"
            " WHERE messages_fts MATCH ? AND c.deleted_at IS NULL"
            " ORDER BY rank LIMIT ?",
            (match.strip(), limit),
        )
        return [SearchHit(*r) for r in rows]
