"""Sizes of what a request holds when they live in the Files API store: an image's pixels, a
document's tokens (a PDF by pages, plain text by its bytes)."""

from __future__ import annotations

import io

from app.facts.documents import DocumentError, pdf_facts, pdf_source_tokens
from app.facts.prefix import image_size_from_base64
from app.facts.tokens import text_tokens
from app.simulator.files import FileStore


def sizers(files: FileStore, owner: str):
    """(image_size, document_size) for ``flatten_request``, reading ``file`` sources."""

    def image_size(block: dict) -> tuple[int, int]:
        source = block.get("source") or {}
        if source.get("type") == "file":
            found = files.get(owner, source.get("file_id", ""))
            if found is not None:
                from PIL import Image

                try:
                    with Image.open(io.BytesIO(found.data)) as img:
                        return img.size
                except OSError:
                    return (0, 0)
        return image_size_from_base64(block)

    def document_size(block: dict) -> int:
        source = block.get("source") or {}
        if source.get("type") != "file":
            return pdf_source_tokens(block)
        found = files.get(owner, source.get("file_id", ""))
        if found is None:
            return 0
        if found.mime_type == "application/pdf":
            try:
                return pdf_facts(found.data).tokens
            except DocumentError:
                return 0
        return text_tokens(found.data.decode("utf-8", "replace"))

    return image_size, document_size
