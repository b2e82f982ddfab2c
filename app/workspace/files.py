"""The documents uploaded to the Files API from here: listed for the place requests go to,
deleted from the workspace (the API's), then forgotten here and in the history."""

from __future__ import annotations

from app.engine.engine import Engine
from app.engine.failures import classify
from app.facts.redact import redact
from app.storage.uploads import Upload, forget_upload
from app.storage.writer import StoreOp, Writer


class DeleteFailed(Exception):
    """The API did not delete the file; the sentence says why."""


class Files:
    def __init__(self, engine: Engine, writer: Writer | None, problem=None):
        self.engine = engine
        self.writer = writer
        self.problem = problem or (lambda text: None)  # a history write that failed

    def here(self) -> list[Upload]:
        """The documents uploaded to the place requests go to now, newest first."""
        return self.engine.uploads_here()

    def where(self) -> str:
        """Where they are, as the user may read it (no key, no password)."""
        return redact(self.engine.place.split("#")[0]) or "this endpoint"

    async def delete(self, file_id: str) -> Upload | None:
        """Delete the file from the API's workspace, then forget it here and in the history
        (``DeleteFailed`` with the API's words when it refuses)."""
        import anthropic

        try:
            upload = await self.engine.delete_upload(file_id)
        except anthropic.APIError as exc:
            raise DeleteFailed(classify(exc).message) from exc
        if self.writer is not None and upload is not None:
            StoreOp(forget_upload, upload.place, file_id).failure(
                lambda exc: self.problem(str(exc))
            ).run_in_background(self.writer)
        return upload
