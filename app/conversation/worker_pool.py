"""A helper process of the app's own (the PDF reader, the thumbnail maker) that ends with the app.

Each is a one-worker ``ProcessPoolExecutor`` started with ``spawn`` (never ``fork``: the parent
runs Qt and threads). The worker watches its parent: ``multiprocessing.parent_process()``'s
sentinel becomes readable when the parent is gone, however it went (quit, a signal, a crash,
``kill -9``), and the worker then ends at once. Without it a worker killed with its parent's
``SIGTERM`` blocked forever on a queue it holds both ends of, and kept the multiprocessing
resource tracker alive with it (both still running 21 minutes after the app, issue 40). The
worker also ignores ``SIGINT``: Ctrl+C in a terminal reaches the whole process group, and the app
decides how its helpers end (no worker traceback on the terminal).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
from concurrent.futures import ProcessPoolExecutor


def end_with_parent() -> None:
    """Run in the worker when it starts (the pool's ``initializer``)."""
    with contextlib.suppress(ValueError, OSError):  # not the main thread: keep the default
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is None or parent.sentinel is None:
        return

    def watch() -> None:
        from multiprocessing.connection import wait

        with contextlib.suppress(OSError, ValueError):
            wait([parent.sentinel])
        os._exit(0)  # nothing of the worker's is worth keeping without its app

    threading.Thread(target=watch, name="parent watch", daemon=True).start()


def worker_pool() -> ProcessPoolExecutor:
    """A one-worker pool whose worker ends with this process."""
    return ProcessPoolExecutor(
        1, mp_context=multiprocessing.get_context("spawn"), initializer=end_with_parent
    )


def discard(pool: ProcessPoolExecutor) -> None:
    """End the pool now: its worker is killed (it may be stuck in a hostile file), queued
    work is cancelled, nothing is waited for."""
    processes = getattr(pool, "_processes", None) or {}
    for process in list(processes.values()):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            process.kill()
    pool.shutdown(wait=False, cancel_futures=True)
