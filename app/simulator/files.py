"""The Files API (files.md, api/files/*): upload once, reference by ``file_id``.

Files belong to the workspace of the key that uploaded them (here: the key's hash), so every
key of that workspace can use them; uploaded files are not downloadable; at most 500 MB each.
"""

from __future__ import annotations

import mimetypes
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

from aiohttp import web

from app.simulator.errors import ApiError, invalid
from app.simulator.store import SimClock, key_hash

MAX_FILE_BYTES = 500 * 1024 * 1024
PAGE_PREFIX = "page_"
EXPIRY_SECONDS = (3_600, 7_776_000)  # files.md, "File expiration": 1 hour to 90 days
MAX_IDS = 100  # api/files/list.md: "At most 100 entries (after de-duplication)"


@dataclass(frozen=True)
class StoredFile:
    id: str
    owner: str
    filename: str
    mime_type: str
    data: bytes
    created_at: str
    expires: float | None = None  # wall-clock seconds (the simulator's clock), None: never

    def expired(self, now: float) -> bool:
        return self.expires is not None and now >= self.expires

    def metadata(self) -> dict:
        return {
            "id": self.id,
            "type": "file",
            "filename": self.filename,
            "mime_type": self.mime_type,
            "size_bytes": len(self.data),
            "created_at": self.created_at,
            "downloadable": False,
            "expires_at": _stamp(self.expires) if self.expires is not None else None,
        }


def _stamp(seconds: float) -> str:
    """RFC 3339, as the Files API writes its times."""
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


@dataclass
class FileStore:
    """Uploaded files; ``clock`` is the simulator's (``/_sim/clock/advance`` moves it), so an
    expiry is tested without waiting."""

    clock: SimClock = field(default_factory=SimClock)
    files: dict[str, StoredFile] = field(default_factory=dict)  # newest last

    def now(self) -> float:
        return time.time() + self.clock.offset

    def add(
        self,
        owner: str,
        filename: str,
        mime_type: str,
        data: bytes,
        expires_in: int | None = None,
    ) -> StoredFile:
        now = self.now()
        expires = now + expires_in if expires_in is not None else None
        stored = StoredFile(
            "file_sim" + secrets.token_hex(12),
            owner,
            filename,
            mime_type,
            data,
            _stamp(now),
            expires,
        )
        self.files[stored.id] = stored
        return stored

    def get(self, owner: str, file_id: str) -> StoredFile | None:
        found = self.files.get(file_id)
        return found if found is not None and found.owner == owner else None

    def usable(self, owner: str, file_id: str) -> StoredFile | None:
        """A file a Messages request may use; an expired one is refused (files.md, "File
        expiration": "A Messages request that references the file fails before inference")."""
        found = self.get(owner, file_id)
        if found is not None and found.expired(self.now()):
            raise invalid(
                f"File {file_id} expired at {_stamp(found.expires)} and can no longer be used"
            )
        return found

    def of(self, owner: str) -> list[StoredFile]:
        return [f for f in reversed(self.files.values()) if f.owner == owner]


def _mime(filename: str, declared: str | None, data: bytes) -> str:
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    for magic, kind in (
        (b"\x89PNG", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF8", "image/gif"),
    ):
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if declared and declared != "application/octet-stream":
        return declared
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def add_file_routes(app: web.Application, sim) -> None:
    app.router.add_post("/v1/files", partial(upload, sim))
    app.router.add_get("/v1/files", partial(list_files, sim))
    app.router.add_get("/v1/files/{file_id}", partial(metadata, sim))
    app.router.add_delete("/v1/files/{file_id}", partial(delete, sim))
    app.router.add_get("/v1/files/{file_id}/content", partial(download, sim))


def _owner(sim, request: web.Request) -> str:
    return key_hash(sim.api_key(request))


def _find(sim, request: web.Request) -> StoredFile:
    file_id = request.match_info["file_id"]
    found = sim.files.get(_owner(sim, request), file_id)
    if found is None:
        raise ApiError(404, "not_found_error", f"File not found: {file_id}")
    return found


async def upload(sim, request: web.Request) -> web.Response:
    owner = _owner(sim, request)
    if not request.content_type.startswith("multipart/"):
        raise invalid("Content-Type must be multipart/form-data")
    reader = await request.multipart()
    filename, declared, data, expires_in = "", None, None, None
    async for part in reader:
        if part.name == "expires_in_seconds":
            expires_in = _expiry(await part.text())
        elif part.name == "file":
            filename = (part.filename or "").rsplit("/", 1)[-1]
            declared = part.headers.get("Content-Type")
            chunks, size = [], 0
            while chunk := await part.read_chunk(1 << 20):
                size += len(chunk)
                if size > MAX_FILE_BYTES:
                    raise ApiError(413, "request_too_large", "File exceeds the 500 MB limit")
                chunks.append(chunk)
            data = b"".join(chunks)
    if data is None:
        raise invalid("file: Field required")
    mime = _mime(filename, declared, data)
    stored = sim.files.add(owner, filename or "unnamed", mime, data, expires_in)
    return web.json_response(stored.metadata())


def _expiry(text: str) -> int:
    low, high = EXPIRY_SECONDS
    try:
        seconds = int(text.strip())
    except ValueError:
        raise invalid("expires_in_seconds: Input should be a valid integer") from None
    if not low <= seconds <= high:
        raise invalid(f"expires_in_seconds: Input should be between {low} and {high}")
    return seconds


async def list_files(sim, request: web.Request) -> web.Response:
    files = sim.files.of(_owner(sim, request))
    ids = request.query.getall("ids[]", []) + request.query.getall("ids", [])
    if ids:
        if "limit" in request.query or "page" in request.query:  # api/files/list.md
            raise invalid("ids: ids is mutually exclusive with page and limit")
        wanted = set(ids)
        if len(wanted) > MAX_IDS:
            raise invalid(f"ids: at most {MAX_IDS} ids may be given, got {len(wanted)}")
        return web.json_response(
            {"data": [f.metadata() for f in files if f.id in wanted], "next_page": None}
        )
    try:
        limit = int(request.query.get("limit", "20"))
        start = int(request.query.get("page", PAGE_PREFIX + "0")[len(PAGE_PREFIX) :])
    except ValueError:
        raise invalid("limit and page: Input should be a valid integer and a page cursor") from None
    if not 1 <= limit <= 1000:
        raise invalid("limit: Input should be between 1 and 1000")
    page = files[start : start + limit]
    more = start + limit < len(files)
    return web.json_response(
        {
            "data": [f.metadata() for f in page],
            "next_page": f"{PAGE_PREFIX}{start + limit}" if more else None,
            "has_more": more,
            "first_id": page[0].id if page else None,
            "last_id": page[-1].id if page else None,
        }
    )


async def metadata(sim, request: web.Request) -> web.Response:
    return web.json_response(_find(sim, request).metadata())


async def delete(sim, request: web.Request) -> web.Response:
    found = _find(sim, request)
    del sim.files.files[found.id]
    return web.json_response({"id": found.id, "type": "file_deleted"})


async def download(sim, request: web.Request) -> web.Response:
    found = _find(sim, request)
    if found.expired(sim.files.now()):  # files.md, "File expiration"
        raise ApiError(404, "not_found_error", f"File content has expired: {found.id}")
    raise invalid("This file is not downloadable: only files created by tools can be downloaded")
