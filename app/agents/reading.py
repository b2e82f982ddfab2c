"""A Claude Code session with its subagents, read into a ``Run``, and read again for what was
added while Claude Code still writes it (the files' sizes are polled; only new lines are read).
Every file is opened read-only; nothing is ever written beside them."""

from __future__ import annotations

import os
from pathlib import Path

from app.agents.calls import Call, Pricer
from app.agents.claude_code import sessions, subagent_files, title_of
from app.agents.summary import Run
from app.agents.transcript import Transcript


def agent_of(path: Path) -> str:
    """``agent-a1b2c3.jsonl`` → ``a1b2c3``."""
    stem = path.stem
    return stem[len("agent-") :] if stem.startswith("agent-") else stem


class SessionReading:
    """One session file and its ``subagents/agent-*.jsonl``. ``poll()`` reads what each file
    gained since the last poll (and any subagent file that appeared); ``run()`` analyses what
    has been read. ``seen`` is shared with other readings of the same project so that a request
    copied into a resumed session's file counts once."""

    def __init__(self, path: Path, pricer: Pricer, seen: set[str] | None = None) -> None:
        self.path = Path(path)
        self.pricer = pricer
        self.seen = set() if seen is None else seen
        self.transcripts: dict[Path, Transcript] = {}
        self._sizes: dict[Path, int] = {}
        self.errors: list[str] = []
        self._title = ""

    @property
    def id(self) -> str:
        return self.path.stem

    def _files(self) -> list[tuple[Path, str]]:
        return [(self.path, ""), *((p, agent_of(p)) for p in subagent_files(self.path))]

    def poll(self, final: bool = False) -> bool:
        """Read the files that grew (or shrank: read again); True when a request was added or
        changed. A file that cannot be read is said in ``errors`` and tried again next time."""
        changed = False
        self.errors = []
        for path, agent in self._files():
            try:
                size = os.stat(path).st_size
            except OSError as exc:
                self.errors.append(f"{path.name}: {exc.strerror or exc}")
                continue
            transcript = self.transcripts.get(path)
            if transcript is None:
                transcript = Transcript(path, self.pricer, agent, self.seen)
                self.transcripts[path] = transcript
            elif self._sizes.get(path) == size and not final:
                continue
            try:
                changed |= transcript.read(final=final) > 0
            except OSError as exc:
                self.errors.append(f"{path.name}: {exc.strerror or exc}")
                continue
            self._sizes[path] = size
        return changed

    @property
    def title(self) -> str:
        main = self.transcripts.get(self.path)
        if main is not None and main.title:
            return main.title
        if not self._title:
            self._title = title_of(self.path) or self.id
        return self._title

    def calls(self) -> list[Call]:
        return [c for t in self.transcripts.values() for c in t.calls]

    def notes(self) -> list[str]:
        out = [n for t in self.transcripts.values() for n in t.notes()]
        compactions = sum(t.compactions for t in self.transcripts.values())
        if compactions:
            out.append(f"{compactions} compaction(s)")
        others = {}
        for t in self.transcripts.values():
            for kind, count in t.other_types.items():
                others[kind] = others.get(kind, 0) + count
        if others:
            listed = ", ".join(f"{k} {v}" for k, v in sorted(others.items()))
            out.append(f"lines passed over (no request in them): {listed}")
        return out + self.errors

    def run(self) -> Run:
        return Run(self.title, self.calls(), self.pricer, self.notes())


def read_session(path: Path, pricer: Pricer, seen: set[str] | None = None) -> SessionReading:
    """A session file (with its subagents) read once, to its end."""
    reading = SessionReading(path, pricer, seen)
    reading.poll(final=True)
    return reading


def read_project(folder: Path, pricer: Pricer) -> list[SessionReading]:
    """Every session of a project folder, newest first, each request counted once across them."""
    seen: set[str] = set()
    # oldest first, so that a request copied into a later (resumed) file counts in the first
    found = sorted(sessions(Path(folder)), key=lambda s: s.modified)
    readings = [read_session(s.path, pricer, seen) for s in found]
    return readings[::-1]
