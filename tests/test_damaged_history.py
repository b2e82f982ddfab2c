"""A damaged history file is found at open and never written again.

SQLite opens a file whose pages are damaged without complaint and fails only when a query reaches
them, so the store runs ``PRAGMA quick_check`` before anything (WAL mode, migrations) writes, and
once any call reports damage it refuses every later call instead of writing into the file."""

import hashlib
import os
import sqlite3

import pytest

from app.conversation.blocks import TextBlock
from app.conversation.conversation import Conversation
from app.history.sessions import open_history
from app.storage.store import DB_NAME, StorageError, Store
from tests.helpers import SONNET_46


def filled(folder) -> Store:
    store = Store.open(folder)
    for i in range(40):
        conv = Conversation(model=SONNET_46, title=f"conversation {i}")
        conv.add_user_text("question " * 200)
        conv.add("assistant", TextBlock("answer " * 300))
        store.save_conversation(conv)
        store.save_messages(conv.id, list(enumerate(conv.messages)))
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return store


def damage(path) -> str:
    """Overwrite the start of every fourth page (headers, cells) with noise; return the hash."""
    data = bytearray(path.read_bytes())
    for page in range(3, len(data) // 4096, 4):
        data[page * 4096 : page * 4096 + 100] = os.urandom(100)
    path.write_bytes(bytes(data))
    return hashlib.sha256(data).hexdigest()


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_damaged_file_is_refused_at_open_and_left_as_it_was(tmp_path):
    filled(tmp_path).close()
    path = tmp_path / DB_NAME
    before = damage(path)
    with pytest.raises(StorageError) as caught:
        Store.open(tmp_path)
    assert caught.value.kind == "corrupt"
    message = str(caught.value)
    assert "damaged" in message and "move the file aside" in message and ".recover" in message
    assert digest(path) == before


def test_the_app_starts_without_a_history_and_says_why(tmp_path):
    filled(tmp_path).close()
    before = damage(tmp_path / DB_NAME)
    writer, problem = open_history(tmp_path)
    assert writer is None and "damaged" in problem
    assert digest(tmp_path / DB_NAME) == before


class Malformed:
    """A connection whose file turned out damaged mid-session; it counts what reaches it."""

    def __init__(self):
        self.calls = 0

    def execute(self, *args):
        self.calls += 1
        raise sqlite3.DatabaseError("database disk image is malformed")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_after_damage_is_seen_nothing_more_reaches_the_file(tmp_path):
    store = filled(tmp_path)
    real = store.conn
    store.conn = broken = Malformed()
    conv = Conversation(model=SONNET_46, title="after the damage")
    conv.add_user_text("a message")
    with pytest.raises(StorageError) as first:
        store.save_conversation(conv)
    assert first.value.kind == "corrupt" and broken.calls == 1
    for attempt in (
        lambda: store.save_conversation(conv),
        lambda: store.save_messages(conv.id, list(enumerate(conv.messages))),
        lambda: store.conversations(),
    ):
        with pytest.raises(StorageError) as again:
            attempt()
        assert again.value.kind == "corrupt"
    assert broken.calls == 1  # refused by the store, not tried on the file
    real.close()
