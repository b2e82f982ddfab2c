"""Large documents go through the Files API once per workspace and are referenced by ``file_id``.

A document of at least ``min_bytes`` is uploaded in the background as soon as it is attached (with
progress), remembered by (place, sha256) so it is never uploaded twice to the same endpoint and
workspace, and sent as a ``file`` source from its first request on, so its bytes in the prefix
never change. Another place (key, workspace or base URL) has a cold cache anyway: there the
document is uploaded again and its messages point at the new id. An upload that fails leaves the
document inline (base64 or text), which is always valid: nothing is lost, the request is bigger.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable, Iterable
from dataclasses import replace

from app.conversation.blocks import DocumentBlock, Message
from app.conversation.conversation import Conversation
from app.conversation.documents import LockedDocument
from app.engine import events as ev
from app.engine.failures import Failure, classify
from app.storage.uploads import Upload

log = logging.getLogger(__name__)
CHUNK = 256 * 1024


class _Progress(io.BytesIO):
    """The file's bytes as the HTTP client reads them, reporting how many have gone."""

    def __init__(self, data: bytes, report: Callable[[int], None]):
        super().__init__(data)
        self._report = report

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(CHUNK if size is None or size < 0 else min(size, CHUNK))
        self._report(self.tell())
        return chunk


def documents_of(messages: Iterable[Message]) -> list[DocumentBlock]:
    return [b for m in messages for b in m.blocks if isinstance(b, DocumentBlock)]


def without_file_refs(conversation: Conversation) -> None:
    """Drop every ``file_id`` (an imported conversation's ids belong to someone's workspace:
    never trust them; the documents are uploaded again, or sent inline)."""
    for i, message in enumerate(conversation.messages):
        if any(isinstance(b, DocumentBlock) and b.file_id for b in message.blocks):
            blocks = tuple(
                DocumentBlock(b.document) if isinstance(b, DocumentBlock) else b
                for b in message.blocks
            )
            conversation.replace_message(i, replace(message, blocks=blocks))


def upload_failure(failure: Failure) -> str:
    """What a failed upload tells the user: the Files API's own words and what to do. Its limits
    (files.md, "File storage and limits"): 500 MB a file (413), a total per organization (400
    "Storage limit exceeded"); a gateway may answer a quota with 413 too, so the words decide,
    never the status alone (a 413 "Workspace storage quota exceeded" was shown as "over its
    500 MB limit", issue 40)."""
    said = failure.api_message.strip().rstrip(".")
    lowered = said.lower()
    if "storage" in lowered or "quota" in lowered:
        return (
            f"The Files API refused the file: {said}. Delete uploaded files you no longer need "
            "in File → Uploaded files."
        )
    if failure.kind == "too_large":
        words = f": {said}" if said else ""
        return f"The Files API refused the file as too large{words} (it takes up to 500 MB a file)."
    return failure.message


class Uploads:
    def __init__(
        self,
        emit: Callable[[ev.Event], None],
        min_bytes: int,
        time_limit: Callable[[int], float],
        own: Callable,
    ):
        """``own(coro, name)`` runs an upload as a task its owner ends (the engine's)."""
        self.emit = emit
        self.own = own
        self.min_bytes = min_bytes
        self.time_limit = time_limit  # seconds an upload of this many bytes may take
        self.known: dict[tuple[str, str], Upload] = {}  # (place, sha256) -> upload
        self.tasks: dict[tuple[str, str], asyncio.Task] = {}
        self.failed: dict[tuple[str, str], str] = {}  # the reason; such documents go inline

    def adopt(self, uploads: Iterable[Upload]) -> None:
        """Uploads remembered from earlier sessions (the history's)."""
        for upload in uploads:
            self.known[(upload.place, upload.sha256)] = upload

    def wanted(self, document: LockedDocument) -> bool:
        return self.min_bytes > 0 and document.size_bytes >= self.min_bytes

    def file_id(self, place: str, document: LockedDocument) -> str:
        found = self.known.get((place, document.sha256))
        return found.file_id if found is not None else ""

    def of_place(self, place: str) -> list[Upload]:
        """The documents uploaded to ``place``, newest first."""
        found = [u for (at, _), u in self.known.items() if at == place]
        return sorted(found, key=lambda u: -u.uploaded_at)

    async def delete(self, client, place: str, file_id: str) -> Upload | None:
        """Delete the file from the workspace, then forget it here: the Upload it was (None when
        it was not known here). A file already gone is forgotten all the same; other API errors
        raise."""
        import anthropic

        try:
            await client.files.delete(file_id)
        except anthropic.NotFoundError:
            pass  # deleted elsewhere or expired
        return self.forget(place, file_id)

    def forget(self, place: str, file_id: str) -> Upload | None:
        """The file was deleted (by the user, or the service no longer has it)."""
        for key, upload in list(self.known.items()):
            if key[0] == place and upload.file_id == file_id:
                del self.known[key]
                return upload
        return None

    def start(
        self, client, place: str, document: LockedDocument, conversation_id: str, clock
    ) -> asyncio.Task | None:
        """Upload ``document`` in the background unless it is small, known or on its way."""
        key = (place, document.sha256)
        if not self.wanted(document) or key in self.known or key in self.failed:
            return None
        task = self.tasks.get(key)
        if task is None:
            task = self.own(
                self._upload(client, place, document, conversation_id, clock),
                f"upload {document.name}",
            )
            self.tasks[key] = task
            task.add_done_callback(lambda _: self.tasks.pop(key, None))
        return task

    async def _upload(self, client, place, document: LockedDocument, conversation_id, clock):
        name, total = document.name.rsplit("/", 1)[-1], document.size_bytes
        key = (place, document.sha256)

        def report(sent: int) -> None:
            self.emit(ev.UploadProgress(conversation_id, document.name, min(sent, total), total))

        report(0)
        limit = self.time_limit(total)
        try:
            stored = await asyncio.wait_for(
                client.files.upload(
                    file=(name, _Progress(document.data, report), document.media_type),
                    timeout=limit,
                ),
                limit,
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if isinstance(exc, TimeoutError):
                message = f"The upload did not finish in {limit:.0f} s."
            else:
                message = upload_failure(classify(exc))
            self.failed[key] = message
            self.tasks.pop(key, None)  # over: a listener that warms now must not wait for it
            log.warning("upload of %s failed: %s", document.name, message)
            self.emit(ev.UploadFinished(conversation_id, document.name, "", message))
            return None
        upload = Upload(place, document.sha256, stored.id, document.name, total, clock())
        self.known[key] = upload
        self.tasks.pop(key, None)
        self.emit(ev.UploadFinished(conversation_id, document.name, stored.id, "", upload))
        return upload

    async def refer(
        self, client, place: str, conversation: Conversation, clock, wait_s: float
    ) -> None:
        """Before a request: every large document of the conversation points at this place's
        file (uploading what is missing and waiting up to ``wait_s`` for it); what cannot be
        uploaded in time goes inline this once, and is referred to when its upload lands. An
        upload that failed before is tried again here (a send, never a keystroke)."""
        pending = []
        for block in documents_of(conversation.messages):
            self.failed.pop((place, block.document.sha256), None)
            task = self.start(client, place, block.document, conversation.id, clock)
            if task is not None:
                pending.append(task)
        if pending:
            await asyncio.wait(pending, timeout=wait_s)
        self.apply(place, conversation)

    def start_all(self, client, place, conversation: Conversation, extra, clock) -> str:
        """Start the uploads the conversation and the draft's documents need; the name of one
        still on its way ("" when none is)."""
        documents = [b.document for b in documents_of(conversation.messages)] + list(extra)
        for document in documents:
            self.start(client, place, document, conversation.id, clock)
        return self.uploading(place, documents)

    def apply(self, place: str, conversation: Conversation) -> None:
        """Point every document of the conversation at this place's file, or inline (on every
        keystroke: messages without documents cost one scan of their blocks)."""
        for i, message in enumerate(conversation.messages):
            if not any(isinstance(b, DocumentBlock) for b in message.blocks):
                continue
            blocks = tuple(self.referred(place, b) for b in message.blocks)
            if any(a is not b for a, b in zip(blocks, message.blocks, strict=True)):
                conversation.replace_message(i, replace(message, blocks=blocks))

    def referred(self, place: str, block):
        """The block as this place can send it: by its file here, else inline."""
        if not isinstance(block, DocumentBlock):
            return block
        file_id = self.file_id(place, block.document) if self.wanted(block.document) else ""
        return block if file_id == block.file_id else DocumentBlock(block.document, file_id)

    def uploading(self, place: str, documents: Iterable[LockedDocument]) -> str:
        """The name of one of these documents still on its way here ("" when none is)."""
        for document in documents:
            if (place, document.sha256) in self.tasks:
                return document.name
        return ""

    def after_failure(self, place: str, conversation: Conversation, message: str) -> bool:
        """A request failed naming one of our files (deleted elsewhere, expired): forget it, so
        that the document is uploaded again; True when there was such a file."""
        named = {b.file_id for b in documents_of(conversation.messages) if b.file_id}
        gone = [file_id for file_id in named if file_id in message]
        for file_id in gone:
            self.forget(place, file_id)
        return bool(gone)
