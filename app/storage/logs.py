"""Where the app's log goes: warnings (or everything, with -v) to stderr and files in the data
folder, both through the redacting filter.

A flood cannot bury a run's beginning or fill the disk:

- a record with the same text as the one before it (same logger, level and message) is counted,
  not written; the next different record, or the end of the run, first writes "(the message
  above repeated N times)";
- ``cachescope.log`` holds the first ``HEAD_BYTES`` of this run (its start-up lines whatever
  follows); the rest goes to ``cachescope.tail.log``, which rotates (``TAIL_BYTES`` twice);
- at start the previous run's head and last tail become ``cachescope.previous.log`` and
  ``cachescope.previous.tail.log``: at most 5 MB in all.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from logging.handlers import RotatingFileHandler
from pathlib import Path

from app.facts.redact import RedactingFilter

LOG_NAME = "cachescope.log"
TAIL_NAME = "cachescope.tail.log"
PREVIOUS = {LOG_NAME: "cachescope.previous.log", TAIL_NAME: "cachescope.previous.tail.log"}
OLD_NAMES = ("cachescope.log.1", "cachescope.log.2", "cachescope.tail.log.1")
HEAD_BYTES = 1_000_000
TAIL_BYTES = 1_000_000
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class CollapseRepeats:
    """A handler mixin: repeats of the record before are counted, then said in one line."""

    def _init_repeats(self) -> None:
        self._repeat_lock = threading.Lock()
        self._last: logging.LogRecord | None = None
        self._last_key: tuple | None = None
        self._repeats = 0

    def handle(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, record.getMessage())
        with self._repeat_lock:
            if key == self._last_key:
                self._repeats += 1
                return False
            summary = self._summary()
            self._last, self._last_key = record, key
        if summary is not None:
            super().handle(summary)
        return super().handle(record)

    def _summary(self) -> logging.LogRecord | None:
        """The line for the repeats counted so far (None when there were none); resets them."""
        if not self._repeats or self._last is None:
            return None
        count, self._repeats = self._repeats, 0
        return logging.makeLogRecord(
            {
                "name": self._last.name,
                "levelno": self._last.levelno,
                "levelname": self._last.levelname,
                "msg": "(the message above repeated %s times)",
                "args": (f"{count:,}",),
            }
        )

    def close(self) -> None:
        with self._repeat_lock:
            summary = self._summary()
        if summary is not None:
            super().handle(summary)
        super().close()


class Console(CollapseRepeats, logging.StreamHandler):
    def __init__(self):
        super().__init__()
        self._init_repeats()


class RunLog(CollapseRepeats, logging.Handler):
    """This run's head in ``LOG_NAME``, the rest in a rotating ``TAIL_NAME``."""

    def __init__(self, folder: Path):
        super().__init__()
        self._init_repeats()
        self.folder = folder
        _keep_previous_run(folder)
        self.head = open(folder / LOG_NAME, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self.written = 0
        self.tail: RotatingFileHandler | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self.tail is not None:
                self.tail.emit(record)
                return
            line = self.format(record) + "\n"
            size = len(line.encode("utf-8", "replace"))
            if self.written + size > HEAD_BYTES:
                self.head.write(f"(the log of this run goes on in {TAIL_NAME})\n")
                self.head.close()
                self.tail = RotatingFileHandler(
                    self.folder / TAIL_NAME, "w", TAIL_BYTES, backupCount=1, encoding="utf-8"
                )
                self.tail.setFormatter(self.formatter)
                self.tail.emit(record)
                return
            self.head.write(line)
            self.head.flush()
            self.written += size
        except Exception:  # noqa: BLE001 - logging's own rule: never raise from a handler
            self.handleError(record)

    def close(self) -> None:
        super().close()  # the last repeats first
        with contextlib.suppress(OSError, ValueError):
            self.head.close()
        if self.tail is not None:
            self.tail.close()


def _keep_previous_run(folder: Path) -> None:
    """The previous run's head and last tail, renamed; this run starts on empty files."""
    for name in OLD_NAMES:
        with contextlib.suppress(OSError):
            (folder / name).unlink()
    for name, previous in PREVIOUS.items():
        with contextlib.suppress(FileNotFoundError):
            os.replace(folder / name, folder / previous)


def configure_logging(folder: Path, verbose: bool) -> Path | None:
    """Warnings (or everything, with -v) to stderr; this run's log in the data folder. Nothing
    the app logs holds the API key: requests are logged by kind and size only."""
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    console = Console()
    console.setLevel(logging.INFO if verbose else logging.WARNING)
    console.addFilter(RedactingFilter())
    root.addHandler(console)
    for noisy in ("httpx", "httpx2", "httpcore", "anthropic", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler = RunLog(folder)
    except OSError:
        return None
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    return folder / LOG_NAME
