"""Thumbnails of attached images, made apart from the window.

Decoding a large PNG with Qt holds Python's lock for ~45 ms, and a worker thread decoding with
Pillow still made the window's Qt calls wait for the lock (a 200 ms stall while scrolling). So a
thumbnail is made by Pillow in a process of its own, and until it arrives the pane draws a
placeholder of the same size: the row's height never changes.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QImage

from app.conversation.images import thumbnail_rgba
from app.conversation.worker_pool import discard, worker_pool

WIDTH = 320
KEEP = 128
log = logging.getLogger(__name__)


def thumbnail_size(width: int, height: int) -> tuple[int, int]:
    shown = min(width, WIDTH)
    return max(1, shown), max(1, round(height * shown / max(1, width)))


_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def _executor(fresh: bool = False) -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None or fresh:  # a process that ends with the app, however it ends
            _pool = worker_pool()
        return _pool


def shutdown() -> None:
    """End the thumbnail maker now (the app is quitting); a later thumbnail starts another."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        discard(pool)


class Thumbnails(QObject):
    ready = Signal(str)  # sha256 of an image whose thumbnail replaced its placeholder
    _done = Signal(str, bytes, int, int)  # from the worker thread, delivered on the GUI thread

    def __init__(self, parent=None):
        super().__init__(parent)
        self._images: OrderedDict[str, QImage] = OrderedDict()
        self._asked: set[str] = set()
        self._done.connect(self._arrived, Qt.ConnectionType.QueuedConnection)
        self.placeholder_colour = QColor("#9aa0a6")

    def get(self, image) -> QImage:
        """The thumbnail, or a placeholder of its size while it is being made."""
        found = self._images.get(image.sha256)
        if found is not None:
            self._images.move_to_end(image.sha256)
            return found
        size = thumbnail_size(image.width, image.height)
        if image.sha256 not in self._asked:
            self._asked.add(image.sha256)
            self._submit(image.sha256, image.data, size)
        placeholder = QImage(size[0], size[1], QImage.Format.Format_RGB32)
        placeholder.fill(self.placeholder_colour)
        return placeholder

    def wait(self) -> None:
        """Until every thumbnail asked for is made (tests, benchmarks)."""
        _executor().submit(int).result()

    def _submit(self, sha: str, data: bytes, size: tuple[int, int], again: bool = True) -> None:
        try:
            future = _executor(fresh=not again).submit(thumbnail_rgba, data, size)
        except (RuntimeError, BrokenProcessPool):  # the maker died (a crash, the machine)
            if again:
                self._submit(sha, data, size, again=False)
            return

        def done(future) -> None:  # on the pool's thread: only the signal crosses over
            try:
                self._done.emit(sha, future.result(), size[0], size[1])
            except Exception as exc:  # a picture that no longer decodes: it keeps its box
                log.warning("no thumbnail for image %s: %s", sha[:12], exc)

        future.add_done_callback(done)

    def _arrived(self, sha: str, raw: bytes, width: int, height: int) -> None:
        self._asked.discard(sha)
        picture = QImage(raw, width, height, QImage.Format.Format_RGBA8888)
        # In the screen's own format: drawn as it is, never converted again at each paint.
        self._images[sha] = picture.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
        while len(self._images) > KEEP:
            self._images.popitem(last=False)
        self.ready.emit(sha)
