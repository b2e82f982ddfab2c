"""Document locking: a PDF, a text file or a folder of them, read once and sent as the same bytes.

A PDF is recognised by its content (``%PDF-``), read with pypdf (pages, text, encryption) and
sent as a base64 ``document`` block; text of any kind (prose, Markdown, code, CSV, JSON, HTML) is
decoded with the encoding charset-normalizer finds and sent as a plain-text ``document`` titled
with its name. A folder becomes one such block per file, in path order, with the files
``.gitignore`` (pathspec) or the skip list leave out, binaries and oversized files skipped and a
visible limit on the total. Whatever is locked keeps its bytes, hash and estimate for good, so a
document never breaks the prefix.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from app.facts.documents import (
    DOCUMENT_OVERHEAD_TOKENS,
    MAX_PDF_PAGES,
    MAX_PDF_PAGES_SMALL_CONTEXT,
    DocumentError,
    pdf_facts,
)
from app.facts.tokens import text_tokens

PDF_MEDIA = "application/pdf"
TEXT_MEDIA = "text/plain"
MAX_PDF_BYTES = 32 * 1024 * 1024  # the API's limit for one request
MAX_TEXT_BYTES = 8 * 1024 * 1024  # about 2 million tokens: past any context window
SNIFF_BYTES = 8192
PREFERRED_TIE = "cp1252"  # see decode_text
# A folder: what is never a reader's business, and how much may be attached at once.
SKIPPED_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", "env",
        "build", "dist", "target", "out", ".tox", ".mypy_cache", ".pytest_cache",
        ".ruff_cache", ".idea", ".gradle", ".next", ".cache", "coverage", ".eggs",
    }
)  # fmt: skip
MAX_FOLDER_FILES = 2000
MAX_FOLDER_FILE_BYTES = 1024 * 1024  # bigger files in a code base are data or generated
MAX_FOLDER_TOKENS = 900_000
OUTSIDE = "links to files outside the folder"
SPECIAL = "special files (FIFOs, devices, sockets)"
TOO_BIG = "over 1 MB"
UNREADABLE = "unreadable"


@dataclass(frozen=True, eq=False)
class LockedDocument:
    data: bytes  # the PDF's bytes, or the text as UTF-8
    media_type: str  # application/pdf or text/plain
    name: str  # the file's name, or its path inside an attached folder
    pages: int = 0
    tokens: int = 0
    notes: tuple[str, ...] = field(default=())

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def size_bytes(self) -> int:
        return len(self.data)

    @property
    def is_pdf(self) -> bool:
        return self.media_type == PDF_MEDIA

    @property
    def size_label(self) -> str:
        """ "12 pages" for a PDF, "36 KB text" for text: what the chip and the card say."""
        return f"{self.pages} pages" if self.is_pdf else f"{self.size_bytes // 1024 or 1} KB text"

    @cached_property
    def api_block(self) -> dict:
        if self.is_pdf:
            data = base64.b64encode(self.data).decode("ascii")
            source = {"type": "base64", "media_type": PDF_MEDIA, "data": data}
        else:
            source = {"type": "text", "media_type": TEXT_MEDIA, "data": self.data.decode()}
        return {"type": "document", "source": source, "title": self.name}

    @classmethod
    def from_bytes(cls, data: bytes, media_type: str, name: str) -> LockedDocument:
        """Re-create a locked document from stored bytes (checked, never re-encoded)."""
        if media_type == PDF_MEDIA:
            return _pdf(data, name)
        if media_type == TEXT_MEDIA:
            try:
                return _text(data.decode("utf-8"), name)
            except UnicodeDecodeError:
                raise DocumentError(f"{name}: the stored text is not UTF-8") from None
        raise DocumentError(f"{name}: unknown document type {media_type!r}")


@dataclass(frozen=True)
class FolderFile:
    path: Path
    relative: str
    size: int


@dataclass
class FolderScan:
    """What attaching a folder would take, before anything is read in full."""

    root: Path
    files: list[FolderFile] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


# Where a PDF is read when no caller says: the app sets it (``read_pdfs_apart``) so that a
# conversation opened from the history never holds the GIL in pypdf while the window draws.
_READ_APART = False


def read_pdfs_apart(on: bool = True) -> None:
    global _READ_APART
    _READ_APART = on


def _pdf(data: bytes, name: str, apart: bool | None = None) -> LockedDocument:
    apart = _READ_APART if apart is None else apart
    if len(data) > MAX_PDF_BYTES:
        raise DocumentError(
            f"{name} is {len(data) / 2**20:.1f} MB; a request can carry at most 32 MB of PDF."
        )
    try:
        if apart:
            from app.conversation.pdf_process import read_pdf_apart

            facts = read_pdf_apart(data)
        else:
            facts = pdf_facts(data)
    except DocumentError as exc:
        raise DocumentError(f"{name}: {exc}.") from None
    if facts.pages == 0:
        raise DocumentError(f"{name}: the PDF has no pages that can be read (is it damaged?).")
    if facts.pages > MAX_PDF_PAGES:
        raise DocumentError(
            f"{name} has {facts.pages} pages; Claude reads at most {MAX_PDF_PAGES} per request."
        )
    notes = ()
    if facts.pages > MAX_PDF_PAGES_SMALL_CONTEXT:
        notes = (f"over {MAX_PDF_PAGES_SMALL_CONTEXT} pages: only 1M-token-context models take it",)
    tokens = DOCUMENT_OVERHEAD_TOKENS + text_tokens(name) + facts.tokens
    return LockedDocument(data, PDF_MEDIA, name, facts.pages, tokens, notes)


def _text(text: str, name: str) -> LockedDocument:
    text = text.replace("\r\n", "\n")
    tokens = DOCUMENT_OVERHEAD_TOKENS + text_tokens(name) + text_tokens(text)
    return LockedDocument(text.encode("utf-8"), TEXT_MEDIA, name, 0, tokens)


def document_from_text(text: str, name: str) -> LockedDocument:
    """Text the user pasted, locked as a document of its own."""
    return _text(text, name)


def decode_text(data: bytes, name: str) -> str:
    """The text of a file, in the encoding it was written in; DocumentError if it is binary."""
    if b"\x00" in data[:SNIFF_BYTES]:
        raise DocumentError(f"{name} is a binary file, not text Claude can read.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        raise DocumentError(f"{name} is not text in any encoding Cachescope recognises.")
    # Single-byte encodings often tie (cp1250, cp1252, cp1257 read the same bytes equally well);
    # the tie goes to Windows-1252, the commonest of them (a superset of Latin-1's letters).
    for match in matches:
        if (match.encoding, match.chaos, match.coherence) == (
            PREFERRED_TIE,
            best.chaos,
            best.coherence,
        ):
            return str(match)
    return str(best)


def lock_document(path: Path, name: str | None = None, apart: bool | None = None) -> LockedDocument:
    """A PDF or a text file from disk, locked; DocumentError with a message otherwise. With
    ``apart`` a PDF is read in a process of its own (``pdf_process``: the window's way)."""
    path = Path(path)
    name = name or shown_name(path.name)
    data = read_file(path, max(MAX_PDF_BYTES, MAX_TEXT_BYTES), name)
    if data.startswith(b"%PDF-"):
        return _pdf(data, name, apart)
    if len(data) > MAX_TEXT_BYTES:
        raise DocumentError(_too_big(name, len(data)))
    return _text(decode_text(data, name), name)


def shown_name(name: str) -> str:
    """A file name as text that can be sent and stored: bytes that are not UTF-8 (kept by the
    file system as surrogate escapes) become U+FFFD; the file itself is opened by its real name."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


class Unreadable(DocumentError):
    """A file ``read_file`` refused, with the short reason a folder's summary counts it under."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


def _unreadable(name: str, exc: OSError) -> Unreadable:
    return Unreadable(f"{name} could not be read ({exc.strerror or exc}).", UNREADABLE)


def open_regular(path: Path, name: str, *, follow: bool = True):
    """A regular file opened for reading (unbuffered); Unreadable for anything else. Opened
    non-blocking, so a FIFO with no writer is refused instead of hanging the reader; a device
    (``/dev/zero``) or a socket is refused before a byte is read. ``follow=False`` refuses a
    symbolic link."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _unreadable(name, exc) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise Unreadable(f"{name} is not a regular file (a FIFO, device or socket).", SPECIAL)
    return os.fdopen(fd, "rb", buffering=0)


def read_file(path: Path, limit: int, name: str, *, follow: bool = True) -> bytes:
    """The bytes of a regular file (``open_regular``), at most ``limit`` of them whatever its
    size said before: a file that grows while it is read is refused at the limit."""
    with open_regular(path, name, follow=follow) as f:
        try:
            size = os.fstat(f.fileno()).st_size
            if size > limit:
                raise Unreadable(_too_big(name, size), TOO_BIG)
            chunks, total = [], 0
            while chunk := f.read(min(1 << 20, limit + 1 - total)):
                chunks.append(chunk)
                total += len(chunk)
                if total > limit:
                    raise Unreadable(_too_big(name, total), TOO_BIG)
        except OSError as exc:
            raise Unreadable(
                f"{name} could not be read ({exc.strerror or exc}).", UNREADABLE
            ) from None
    return b"".join(chunks)


def _too_big(name: str, size: int) -> str:
    return (
        f"{name} is {size / 2**20:.0f} MB: as text that is about {size // 4:,} tokens, more than"
        " any model reads at once. Attach a part of it."
    )


def scan_folder(root: Path) -> FolderScan:
    """The files a folder would attach, in path order, honouring every ``.gitignore`` in it."""
    import pathspec

    root = Path(root)
    real_root = Path(os.path.realpath(root))
    scan = FolderScan(root)
    specs: list[tuple[str, pathspec.PathSpec]] = []
    for current, dirs, names in os.walk(root):
        here = Path(current)
        rel_dir = here.relative_to(root).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        ignore = here / ".gitignore"
        if ignore.is_file():
            try:
                lines = ignore.read_text(encoding="utf-8", errors="replace").splitlines()
                specs.append((rel_dir, pathspec.GitIgnoreSpec.from_lines(lines)))
            except OSError:
                pass

        def ignored(relative: str, is_dir: bool) -> bool:
            probe = relative + ("/" if is_dir else "")
            return any(
                probe.startswith(base) and spec.match_file(probe[len(base) :])
                for base, spec in specs
            )

        kept_dirs = []
        for d in sorted(dirs):
            if d in SKIPPED_DIRS or ignored(rel_dir + d, True):
                scan.skip("ignored folders")
            elif (here / d).is_symlink():
                scan.skip("linked folders")
            else:
                kept_dirs.append(d)
        dirs[:] = kept_dirs
        for n in sorted(names):
            relative = rel_dir + n
            path = here / n
            if ignored(relative, False) or n == ".gitignore":
                scan.skip("ignored by .gitignore")
                continue
            try:
                target = Path(os.path.realpath(path)) if path.is_symlink() else path
                if target != path and not target.is_relative_to(real_root):
                    scan.skip(OUTSIDE)
                    continue
                info = target.stat()
            except (OSError, ValueError):
                scan.skip(UNREADABLE)
                continue
            size = info.st_size
            if not stat.S_ISREG(info.st_mode):
                scan.skip(SPECIAL)
            elif size > MAX_FOLDER_FILE_BYTES:
                scan.skip(TOO_BIG)
            elif len(scan.files) >= MAX_FOLDER_FILES:
                scan.skip(f"past the first {MAX_FOLDER_FILES:,} files")
            else:
                scan.files.append(FolderFile(target, shown_name(relative), size))
    scan.files.sort(key=lambda f: f.relative)
    return scan


def lock_folder(scan: FolderScan, progress=None) -> tuple[list[LockedDocument], dict[str, int]]:
    """Lock every text file of a scan (binaries are skipped); stops at the token limit."""
    documents: list[LockedDocument] = []
    skipped = dict(scan.skipped)
    total = 0
    prefix = shown_name(scan.root.name) + "/"
    for i, entry in enumerate(scan.files):
        if progress is not None:
            progress(i, len(scan.files))
        try:
            # Opened again as the scan found it: a regular file inside the folder, no link,
            # at most the size limit whatever it has become since.
            data = read_file(entry.path, MAX_FOLDER_FILE_BYTES, entry.relative, follow=False)
            if data.startswith(b"%PDF-"):
                raise DocumentError("a PDF inside a folder")  # attach PDFs on their own
            document = _text(decode_text(data, entry.relative), prefix + entry.relative)
        except (OSError, DocumentError) as exc:
            reason = exc.reason if isinstance(exc, Unreadable) else "binary or unreadable"
            skipped[reason] = skipped.get(reason, 0) + 1
            continue
        if total + document.tokens > MAX_FOLDER_TOKENS:
            skipped[f"past {MAX_FOLDER_TOKENS:,} tokens"] = len(scan.files) - i
            break
        total += document.tokens
        documents.append(document)
    return documents, skipped


__all__ = [
    "DocumentError",
    "FolderScan",
    "LockedDocument",
    "decode_text",
    "lock_document",
    "lock_folder",
    "scan_folder",
]
