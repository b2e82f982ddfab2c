"""The database schema, as the list of migrations that built it. Never edit a migration that has
shipped: add the next one. ``PRAGMA user_version`` holds how many have run."""

from __future__ import annotations

import sqlite3

MIGRATIONS: tuple[str, ...] = (
    # 1: conversations, their messages, images stored once, and every request's record.
    """
    CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        model TEXT NOT NULL,
        meta TEXT NOT NULL,          -- system prompt, tools, request settings (JSON)
        ledger TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE messages (
        id TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        role TEXT NOT NULL,
        created_at REAL NOT NULL,
        interrupted INTEGER NOT NULL DEFAULT 0,
        body TEXT NOT NULL,          -- blocks, images by sha256 (JSON)
        text TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX messages_by_position ON messages(conversation_id, position);
    CREATE TABLE images (
        sha256 TEXT PRIMARY KEY,
        media_type TEXT NOT NULL,
        data BLOB NOT NULL
    );
    CREATE TABLE requests (
        id TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL,
        at REAL NOT NULL,
        paid_usd REAL NOT NULL,
        body TEXT NOT NULL           -- usage, prediction, breakpoints, prefix map, errors (JSON)
    );
    CREATE INDEX requests_by_seq ON requests(conversation_id, seq);
    """,
    # 2: full-text search over messages, and delete with undo.
    """
    ALTER TABLE conversations ADD COLUMN deleted_at REAL;
    CREATE VIRTUAL TABLE messages_fts USING fts5(
        text, content='messages', content_rowid='rowid', tokenize='unicode61'
    );
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts(rowid, text) VALUES (new.rowid, new.text);
    END;
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
    END;
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
        INSERT INTO messages_fts(rowid, text) VALUES (new.rowid, new.text);
    END;
    INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
    """,
    # 3: message and request ids are unique within their conversation, not across the history:
    # an imported copy keeps its messages' ids, and no upsert can move or change another
    # conversation's rows.
    """
    CREATE TABLE messages_v3 (
        id TEXT NOT NULL,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        role TEXT NOT NULL,
        created_at REAL NOT NULL,
        interrupted INTEGER NOT NULL DEFAULT 0,
        body TEXT NOT NULL,
        text TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (conversation_id, id)
    );
    INSERT INTO messages_v3 (rowid, id, conversation_id, position, role, created_at, interrupted,
                             body, text)
        SELECT rowid, id, conversation_id, position, role, created_at, interrupted, body, text
        FROM messages;
    DROP TABLE messages;
    ALTER TABLE messages_v3 RENAME TO messages;
    CREATE INDEX messages_by_position ON messages(conversation_id, position);
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts(rowid, text) VALUES (new.rowid, new.text);
    END;
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
    END;
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
        INSERT INTO messages_fts(rowid, text) VALUES (new.rowid, new.text);
    END;
    INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
    CREATE TABLE requests_v3 (
        id TEXT NOT NULL,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL,
        at REAL NOT NULL,
        paid_usd REAL NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (conversation_id, id)
    );
    INSERT INTO requests_v3 SELECT id, conversation_id, seq, kind, at, paid_usd, body FROM requests;
    DROP TABLE requests;
    ALTER TABLE requests_v3 RENAME TO requests;
    CREATE INDEX requests_by_seq ON requests(conversation_id, seq);
    """,
    # 4: documents uploaded through the Files API, by place (endpoint and key identity) and hash.
    """
    CREATE TABLE uploads (
        place TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        file_id TEXT NOT NULL,
        name TEXT NOT NULL,
        size INTEGER NOT NULL,
        uploaded_at REAL NOT NULL,
        PRIMARY KEY (place, sha256)
    );
    """,
)
VERSION = len(MIGRATIONS)


class NewerSchemaError(Exception):
    pass


def migrate(conn: sqlite3.Connection, upto: int = VERSION) -> int:
    """Run the migrations this database has not had, each in its own transaction."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > VERSION:
        raise NewerSchemaError(
            f"this history was written by a newer Cachescope (schema {current}, "
            f"this one knows {VERSION}); update Cachescope to open it"
        )
    for number in range(current + 1, upto + 1):
        script = MIGRATIONS[number - 1]
        try:
            conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
        except sqlite3.Error:
            if conn.in_transaction:
                conn.rollback()
            raise
    return conn.execute("PRAGMA user_version").fetchone()[0]
