"""What the history remembers of the Files API: which document (by sha256) was uploaded to which
place (endpoint and key identity, never the key) under which ``file_id``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Upload:
    place: str
    sha256: str
    file_id: str
    name: str
    size: int
    uploaded_at: float


# Store calls (run them on the writer: ``writer.run(saved_uploads)``).
def save_upload(store, upload: Upload) -> None:
    store.transaction(
        lambda conn: conn.execute(
            "INSERT OR REPLACE INTO uploads (place, sha256, file_id, name, size, uploaded_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                upload.place,
                upload.sha256,
                upload.file_id,
                upload.name,
                upload.size,
                upload.uploaded_at,
            ),
        )
    )


def forget_upload(store, place: str, file_id: str) -> None:
    store.transaction(
        lambda conn: conn.execute(
            "DELETE FROM uploads WHERE place=? AND file_id=?", (place, file_id)
        )
    )


def saved_uploads(store) -> list[Upload]:
    rows = store.query(
        "SELECT place, sha256, file_id, name, size, uploaded_at FROM uploads"
        " ORDER BY uploaded_at DESC"
    )
    return [Upload(*row) for row in rows]
