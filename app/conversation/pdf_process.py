"""Reading a PDF in a process of its own, for the window.

pypdf is pure Python and, while it extracts text, keeps the interpreter lock for hundreds of
milliseconds at a time even on a worker thread (a 500-page PDF: stalls of 600 ms on the GUI
thread). A separate process takes the lock out of the picture, and a PDF built to make the reader
spin can be stopped: past ``READ_TIMEOUT_S`` the process is ended and the file refused. What the
process found is remembered here by hash, so building requests with the document never reads it
again on the GUI thread. The process ends with the app, however the app ends
(``app/conversation/worker_pool.py``).
"""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool

from app.conversation.worker_pool import discard, worker_pool
from app.facts.documents import DocumentError, PdfFacts, known_pdf, read_pdf, remember

READ_TIMEOUT_S = 60.0
_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def _executor() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = worker_pool()
        return _pool


def _discard() -> None:
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        discard(pool)


def read_pdf_apart(data: bytes, timeout: float = READ_TIMEOUT_S) -> PdfFacts:
    """``read_pdf`` in the reader process (call it off the GUI thread); remembered by hash."""
    if not data.startswith(b"%PDF-"):
        raise DocumentError("the data is not a PDF")
    known = known_pdf(hashlib.sha256(data).hexdigest())
    if known is not None:
        return known
    future = _executor().submit(read_pdf, data)
    try:
        facts = future.result(timeout)
    except FutureTimeout:
        _discard()
        raise DocumentError(f"the PDF took longer than {timeout:.0f} s to read") from None
    except BrokenProcessPool:
        _discard()
        raise DocumentError("the PDF made the reader fail") from None
    remember(hashlib.sha256(data).hexdigest(), facts)
    return facts


def shutdown() -> None:
    """End the reader process now (the app is quitting); the next read starts another."""
    _discard()
