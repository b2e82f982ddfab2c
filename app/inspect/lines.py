"""What the inspector says about each Messages API request: one ``Line``, printed as text (every
control character escaped, so a program or an upstream cannot forge lines or send terminal
escapes) or as JSON, and the ``LineStore`` that keeps the last few thousand for the views while a
file, when one is given, keeps them all. With ``--keep-alive`` the inspector's own pings are
lines too (kind ``ping``, with their reason), and so is each time it stops keeping a session
warm (kind ``keep-alive``: no request, the sentence in ``note``)."""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, fields
from pathlib import Path
from typing import IO

from app.caching.divergence import shown

VIEW_LINES = 2_000  # what the views keep; the captured file keeps the rest


@dataclass(frozen=True)
class Line:
    """One request, as ``cachescope-inspect`` prints it (``--json``: these keys)."""

    id: str
    time: float
    model: str
    # "turn", "stream", "warm-up" (max_tokens 0), "ping" (the inspector's keep-alive), "failed"
    # (any status but 200), or "keep-alive" (no request: why a session is no longer kept warm)
    kind: str
    read: int
    written_5m: int
    written_1h: int
    uncached: int
    predicted_read: int
    miss_reason: str  # only when the request read less than it could (the explainer's rule)
    server_miss_reason: str  # the API's own diagnosis, only beside a miss
    cost_usd: float | None
    session: str
    status: int = 200  # the upstream's HTTP status; 0: no response (unreachable; a notice)
    complete: bool = True  # False: the response was cut off, or the client left
    note: str = ""  # what could not be read (the request, the usage, a copy too large)
    error: str = ""  # a failure's type and message, as the upstream said it
    reason: str = ""  # why the inspector sent it (a keep-alive ping)
    rewrite: str = ""  # a prefix written again after a pause, against keeping it alive
    figures_known: bool = True  # False: a 200 whose usage could not be read (the note says why)

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def text(self) -> str:
        """One line of printable text, whatever the request or the upstream held."""
        said = f" · {self.miss_reason}" if self.miss_reason else ""
        server = f" · API: {self.server_miss_reason}" if self.server_miss_reason else ""
        note = f" · {self.note}" if self.note else ""
        reason = f" · {self.reason}" if self.reason else ""
        rewrite = f" · {self.rewrite}" if self.rewrite else ""
        if self.kind == "keep-alive":
            return shown(f"{self.id} {self.model} keep-alive: {self.note} · session {self.session}")
        if self.kind == "failed":
            status = f"HTTP {self.status}" if self.status else "no response"
            error = f" · {self.error}" if self.error else ""
            out = (
                f"{self.id} {self.model} failed: {status}{error} · session {self.session}"
                f"{reason}{note}"
            )
            return shown(out)
        cut = " · INCOMPLETE" if not self.complete else ""
        if not self.figures_known:
            return shown(
                f"{self.id} {self.model} {self.kind}: HTTP 200, figures unknown (predicted read "
                f"{self.predicted_read:,}) · session {self.session}{cut}{reason}{note}"
            )
        cost = "prices unknown" if self.cost_usd is None else _usd(self.cost_usd)
        return shown(
            f"{self.id} {self.model} {self.kind}: read {self.read:,} (predicted "
            f"{self.predicted_read:,}) · wrote 5m {self.written_5m:,} / 1h {self.written_1h:,}"
            f" · full {self.uncached:,} · {cost} · session {self.session}{cut}{reason}{said}"
            f"{server}{rewrite}{note}"
        )


class LineStore:
    """The last ``window`` lines for the views (thread-safe: the endpoint's thread adds, the
    window's reads), and every line in ``path`` as JSON lines when a file is given."""

    def __init__(self, window: int = VIEW_LINES, path: Path | None = None) -> None:
        self._lines: deque[Line] = deque(maxlen=window)
        self._lock = threading.Lock()
        self.total = 0  # every line ever added (the window holds the last of them)
        self.path = path
        self._file: IO[str] | None = None
        self.problem = ""  # why the file stopped being written, if it did
        self._opened = False

    def open(self) -> None:
        """Ready to write: the file itself is made with the first line (a run that saw no
        request leaves none behind)."""
        self._opened = self.path is not None

    def close(self) -> None:
        with self._lock:
            self._opened = False
            if self._file is not None:
                self._file.close()
                self._file = None

    def add(self, line: Line) -> None:
        with self._lock:
            self._lines.append(line)
            self.total += 1
            if not self._opened:
                return
            try:
                if self._file is None:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
                self._file.write(json.dumps(line.as_dict()) + "\n")
                self._file.flush()
            except OSError as exc:
                self.problem = f"the lines could not be kept: {exc.strerror or exc}"
                self._opened = False
                if self._file is not None:
                    self._file.close()
                    self._file = None

    def recent(self) -> list[Line]:
        """The window's lines, oldest first (a copy)."""
        with self._lock:
            return list(self._lines)

    def __len__(self) -> int:
        with self._lock:
            return len(self._lines)


def _usd(value: float) -> str:
    """To the hundredth of a cent, and under it "<$0.0001" rather than a cost of $0.0000."""
    return "<$0.0001" if 0 < value < 0.00005 else f"${value:.4f}"
