"""One entry point for whatever the user attaches: an image, a PDF, a text file or a folder.

The kind is found from the content, never the extension: ``%PDF-`` makes a PDF, anything Pillow
can identify an image, anything else is read as text (and refused if it is binary)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.conversation.documents import (
    DocumentError,
    LockedDocument,
    lock_document,
    lock_folder,
    open_regular,
    scan_folder,
    shown_name,
)
from app.conversation.images import ImageError, LockedImage, lock_image

Attachment = LockedImage | LockedDocument


class AttachmentError(ValueError):
    """Why something cannot be attached, in a sentence for the user."""


@dataclass(frozen=True, eq=False)
class AttachedFolder:
    """A folder attached as one document per file (shown as one chip)."""

    name: str
    documents: tuple[LockedDocument, ...]
    skipped: tuple[tuple[str, int], ...] = ()

    @property
    def tokens(self) -> int:
        return sum(d.tokens for d in self.documents)


def kind_of(source) -> str:
    """ "folder", "pdf", "image" or "text" for a path; "image" for bytes and URLs."""
    if not isinstance(source, Path):
        return "image"
    if source.is_dir():
        return "folder"
    try:
        with open_regular(source, shown_name(source.name)) as handle:
            head = handle.read(16)
    except (OSError, DocumentError) as exc:
        raise AttachmentError(str(exc)) from None
    if head.startswith(b"%PDF-"):
        return "pdf"
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(source):
            return "image"
    except UnidentifiedImageError:
        return "text"
    except Exception:  # a damaged image header: let the image locker say what is wrong
        return "image"


def lock_file(source, apart: bool = False) -> Attachment:
    """An image or a document, locked; AttachmentError with the user's message otherwise.
    ``apart``: read a PDF in a process of its own (the window does; see ``pdf_process``)."""
    try:
        kind = kind_of(source)
        if kind == "image":
            return lock_image(source)
        if kind == "folder":
            raise AttachmentError(f"{source.name} is a folder: attach it with Attach folder.")
        return lock_document(source, apart=apart)
    except (ImageError, DocumentError) as exc:
        raise AttachmentError(str(exc)) from None


def lock_whole_folder(path: Path, progress=None) -> AttachedFolder:
    """A folder without asking (the smoke test and scripts): every file a scan keeps."""
    scan = scan_folder(path)
    documents, skipped = lock_folder(scan, progress)
    if not documents:
        raise AttachmentError(f"{path.name} holds no text file Cachescope can attach.")
    return AttachedFolder(path.name, tuple(documents), tuple(sorted(skipped.items())))


def flatten(items) -> list[Attachment]:
    """What a message carries, in order: a folder's documents in its place."""
    out: list[Attachment] = []
    for item in items:
        out.extend(item.documents if isinstance(item, AttachedFolder) else (item,))
    return out
