"""What a PDF costs, by the docs' rule (pdf-support.md, "Estimate your costs"): each page is its
extracted text plus an image of the page, counted like any image.

The docs' own figure is about 7,000 tokens for a 3-page PDF with both; a letter-size page image
is about 1,600 tokens after the service's downscale, and its text whatever it holds. Reading a
PDF uses pypdf (page count, text, encryption); results are cached by the bytes' hash, so a
document sent every turn is read once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import logging
from collections import OrderedDict
from dataclasses import dataclass

from app.facts.tokens import SERVICE_MAX_LONG_EDGE, image_tokens, text_tokens

DOCUMENT_OVERHEAD_TOKENS = 10
UNREAD_PAGE_TOKENS = 2300  # a page whose bytes the estimator cannot see (url or file source)
MAX_PDF_PAGES = 600
MAX_PDF_PAGES_SMALL_CONTEXT = 100  # under a 1M-token context window


class DocumentError(ValueError):
    """A PDF that cannot be read: damaged, encrypted, or not a PDF."""


@dataclass(frozen=True)
class PdfFacts:
    pages: int
    text_tokens: int
    image_tokens: int

    @property
    def tokens(self) -> int:
        return self.text_tokens + self.image_tokens


def page_image_tokens(width_pt: float, height_pt: float) -> int:
    """A page rendered with its long edge at the service's limit, then counted as an image."""
    long_edge = max(width_pt, height_pt, 1.0)
    scale = SERVICE_MAX_LONG_EDGE / long_edge
    return image_tokens(max(1, round(width_pt * scale)), max(1, round(height_pt * scale)))


KNOWN_PDFS = 256  # facts kept by hash (not the bytes): a document sent every turn is read once
_known: OrderedDict[str, PdfFacts] = OrderedDict()


def remember(digest: str, facts: PdfFacts) -> None:
    """Keep what a reader found (here or in another process) for the PDF with this sha256."""
    _known[digest] = facts
    _known.move_to_end(digest)
    while len(_known) > KNOWN_PDFS:
        _known.popitem(last=False)


def known_pdf(digest: str) -> PdfFacts | None:
    return _known.get(digest)


def read_pdf(data: bytes) -> PdfFacts:
    """Pages and token estimate of a PDF, read now; DocumentError when it cannot be read."""
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.CRITICAL)  # damage is reported as DocumentError
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise DocumentError("the PDF is encrypted (password protected)")
        text = image = 0
        for page in reader.pages:
            box = page.mediabox
            image += page_image_tokens(float(box.width), float(box.height))
            try:
                text += text_tokens(page.extract_text() or "")
            except Exception:  # a page whose text cannot be extracted still costs its image
                pass
        return PdfFacts(len(reader.pages), text, image)
    except DocumentError:
        raise
    except Exception as exc:  # pypdf raises many kinds on damaged input (loops, limits, types)
        detail = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise DocumentError(f"the PDF is damaged ({detail})") from None


def pdf_facts(data: bytes) -> PdfFacts:
    """Pages and token estimate of a PDF; DocumentError when it cannot be read."""
    if not data.startswith(b"%PDF-"):
        raise DocumentError("the data is not a PDF")
    digest = hashlib.sha256(data).hexdigest()
    facts = _known.get(digest)
    if facts is None:
        facts = read_pdf(data)
        remember(digest, facts)
    return facts


def pdf_source_tokens(block: dict) -> int:
    """Tokens of a ``document`` block whose source is a PDF (base64, url or file)."""
    source = block.get("source") or {}
    if source.get("type") != "base64":
        return UNREAD_PAGE_TOKENS
    try:
        data = base64.b64decode(source.get("data", ""), validate=True)
        return pdf_facts(data).tokens
    except (binascii.Error, ValueError):
        return 0
