"""SIGTERM, SIGINT (Ctrl+C) and SIGHUP (the terminal closed) end the app as closing its window
does: the history is saved and every helper process and tool server is stopped before it exits
with ``128 + the signal's number`` (143, 130, 129), as a shell reports a process a signal ended.

Python runs a signal handler only between bytecodes of the main thread, and the main thread
spends its time inside Qt's event loop: the signal's number is therefore written to a socket
(``signal.set_wakeup_fd``) that the event loop watches (``add_reader``), and the quit starts
from there. If the quit has not finished ``FORCE_AFTER_S`` after the signal, or a second signal
comes, the process ends at once; its helpers end with it (``app/conversation/worker_pool.py``,
``app/engine/child_guard.py``). Install and close in pairs (``install()`` / ``close()``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable

NAMES = ("SIGTERM", "SIGINT", "SIGHUP")  # those the platform has
FORCE_AFTER_S = 10.0
log = logging.getLogger(__name__)


def _force_exit(code: int) -> None:
    logging.shutdown()  # the log's last lines reach the file
    os._exit(code)


class QuitOnSignals:
    def __init__(
        self,
        loop,
        request_quit: Callable[[int], None],
        force_after_s: float = FORCE_AFTER_S,
        force: Callable[[int], None] = _force_exit,
    ):
        self.loop = loop
        self.request_quit = request_quit
        self.force_after_s = force_after_s
        self.force = force
        self.received: int | None = None  # the first signal
        self._previous: dict[int, object] = {}
        self._previous_fd: int | None = None
        self._reader: socket.socket | None = None
        self._writer: socket.socket | None = None
        self._timer: threading.Timer | None = None

    @property
    def signals(self) -> list[int]:
        return [getattr(signal, name) for name in NAMES if hasattr(signal, name)]

    @property
    def exit_code(self) -> int | None:
        """128 + the signal's number once one came, else None."""
        return None if self.received is None else 128 + self.received

    def install(self) -> QuitOnSignals:
        """From the main thread, with ``loop`` the event loop that will run the app."""
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        for number in self.signals:
            self._previous[number] = signal.signal(number, _noted)
        self.loop.add_reader(self._reader.fileno(), self._drain)
        return self

    def close(self) -> None:
        """The handlers and the wakeup socket as they were before ``install``. A forced end
        already on its way stays on its way."""
        if self._reader is None:
            return
        with contextlib.suppress(Exception):  # the loop may already be closed
            self.loop.remove_reader(self._reader.fileno())
        for number, previous in self._previous.items():
            with contextlib.suppress(OSError, ValueError, TypeError):
                signal.signal(number, previous)
        with contextlib.suppress(OSError, ValueError):
            signal.set_wakeup_fd(self._previous_fd if self._previous_fd is not None else -1)
        for sock in (self._reader, self._writer):
            sock.close()
        self._reader = self._writer = None
        self._previous.clear()

    def _drain(self) -> None:
        try:
            data = self._reader.recv(64) if self._reader is not None else b""
        except (BlockingIOError, InterruptedError):
            return
        for number in data:
            self.arrived(number)

    def arrived(self, number: int) -> None:
        """A signal came (called on the event loop's thread)."""
        name = _name(number)
        if self.received is not None:
            log.warning("%s while quitting: ending now", name)
            self.force(128 + self.received)
            return
        self.received = number
        log.warning("%s received: quitting (saving the history, stopping the helpers)", name)
        self._timer = threading.Timer(self.force_after_s, self._too_slow)
        self._timer.daemon = True
        self._timer.start()
        self.request_quit(number)

    def _too_slow(self) -> None:
        log.warning("the quit took longer than %.0f s: ending now", self.force_after_s)
        self.force(128 + (self.received or 0))


def _noted(number, _frame) -> None:
    """The Python-level handler: the wakeup socket carries the signal; this only keeps the
    default action (ending the process on the spot) from being taken."""


def _name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
