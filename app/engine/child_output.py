"""A child's error output, capped: the child writes into a pipe, a reader thread keeps only the
last few kilobytes in memory. Nothing goes to disk, so a server that prints without end costs
a little CPU, never the disk the history is saved on (a temporary file had grown 4.66 GB in 10 s).
"""

from __future__ import annotations

import contextlib
import os
import threading

KEEP_BYTES = 16_384


class OutputTail:
    """Pass ``writer`` as the child's stderr; ``text()`` is the end of what it wrote.
    ``close()`` pairs with making it (the reader ends when every writer has closed)."""

    def __init__(self, keep: int = KEEP_BYTES):
        self.keep = keep
        self.total = 0  # bytes the child wrote, all told
        self._tail = b""
        self._lock = threading.Lock()
        read_fd, write_fd = os.pipe()
        self._reader = os.fdopen(read_fd, "rb", buffering=0)
        self.writer = os.fdopen(write_fd, "w", encoding="utf-8", errors="replace")
        self._thread = threading.Thread(target=self._drain, name="child stderr", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            while chunk := self._reader.read(65_536):
                with self._lock:
                    self.total += len(chunk)
                    self._tail = (self._tail + chunk)[-self.keep :]
        with contextlib.suppress(OSError):
            self._reader.close()

    def text(self) -> str:
        with self._lock:
            return self._tail.decode("utf-8", errors="replace")

    def since(self, mark: int) -> str:
        """What the child wrote after it had written ``mark`` bytes (``total`` then), as far as
        the kept end reaches."""
        with self._lock:
            fresh = self.total - mark
            return self._tail[-fresh:].decode("utf-8", errors="replace") if fresh > 0 else ""

    def close(self) -> None:
        """Close the app's end of the pipe; the reader ends once the child's copy is closed."""
        with contextlib.suppress(OSError):
            self.writer.close()

    def __enter__(self) -> OutputTail:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
