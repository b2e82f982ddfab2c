"""What the window's Claude Code view shows, Qt-free: the projects and their sessions (newest
first), the session open with its subagents, read again for what was added while Claude Code
writes it, and every figure the view draws, as plain rows of text and numbers.

The view owns a timer and calls ``poll()``; the model reads only what the files gained (their
sizes are compared first) and says whether anything changed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import astuple, dataclass
from pathlib import Path

from app.agents.calls import Pricer
from app.agents.claude_code import (
    Project,
    SessionFile,
    config_dirs,
    projects,
    sessions,
    title_of,
)
from app.agents.misses import duration
from app.agents.reading import SessionReading
from app.agents.summary import Run, Totals


def usd(value: float | None) -> str:
    return "unpriced" if value is None else f"${value:.4f}"


def rate(totals: Totals) -> str:
    return f"{totals.hit_rate:.0%}" if totals.input_total else "—"


@dataclass(frozen=True)
class Snapshot:
    """Everything the view draws of the open session, computed off the GUI thread at once."""

    summary: str
    requests: list[tuple]  # the cells of each request's row (``RequestRow``'s fields)
    missed: set[int]  # the rows of requests that missed
    days: list[tuple[str, ...]]
    misses: list[tuple[str, ...]]
    agents: list[tuple[str, ...]]
    servers: list[tuple[str, ...]]
    rewrites: list[str]
    notes: list[str]


@dataclass(frozen=True)
class RequestRow:
    number: int
    time: str
    agent: str
    model: str
    read: int
    written_5m: int
    written_1h: int
    uncached: int
    output: int
    cost: str
    pause: str
    why: str
    missed: bool


class ClaudeCodeSessions:
    """The model of File → Open Claude Code sessions."""

    def __init__(
        self,
        configs: list[Path] | None = None,
        pricer: Pricer | None = None,
        tz: dt.tzinfo | None = None,
    ) -> None:
        self.configs = config_dirs() if configs is None else list(configs)
        self.pricer = pricer or Pricer()
        self.tz = tz  # None: the machine's
        self.reading: SessionReading | None = None
        self.run: Run | None = None

    # -- listing ---------------------------------------------------------------------------------
    def projects(self) -> list[Project]:
        return projects(self.configs)

    def sessions(self, project: Project) -> list[SessionFile]:
        return sessions(project.folder)

    def where(self) -> str:
        """Where sessions are looked for, in words."""
        if not self.configs:
            return (
                "No Claude Code folder found (~/.claude/projects, ~/.config/claude/projects or"
                " CLAUDE_CONFIG_DIR)."
            )
        return "Reading " + ", ".join(self.folders()) + " (read only)."

    def folders(self) -> list[str]:
        """The projects folders read, as the user writes them (~ for the home folder)."""
        home = str(Path.home())
        return [
            "~" + str(p)[len(home) :] if str(p).startswith(home + "/") else str(p)
            for p in (c / "projects" for c in self.configs)
        ]

    def title(self, found: SessionFile) -> str:
        return title_of(found.path) or found.id

    def when(self, at: float) -> str:
        """A time as the view writes it, in the view's time zone."""
        return dt.datetime.fromtimestamp(at, self.tz).strftime("%Y-%m-%d %H:%M:%S")

    # -- the open session ------------------------------------------------------------------------
    def open(self, path: Path) -> Run:
        self.reading = SessionReading(path, self.pricer)
        self.reading.poll(final=True)
        self.run = self.reading.run()
        return self.run

    def poll(self) -> bool:
        """Read what the open session's files gained; True when its figures changed."""
        if self.reading is None or not self.reading.poll():
            return False
        self.run = self.reading.run()
        return True

    def close(self) -> None:
        self.reading, self.run = None, None

    def snapshot(self) -> Snapshot:
        rows = self.request_rows()
        return Snapshot(
            self.summary(),
            [astuple(r)[:-1] for r in rows],
            {i for i, r in enumerate(rows) if r.missed},
            self.day_rows(),
            self.miss_rows(),
            self.agent_rows(),
            self.server_rows(),
            self.rewrite_lines(),
            self.notes(),
        )

    # -- what the view draws -----------------------------------------------------------------------
    def summary(self) -> str:
        run = self.run
        if run is None:
            return ""
        t = run.totals()
        per_write = "—" if t.reads_per_write is None else f"{t.reads_per_write:.1f}"
        agents = len(run.threads) - (1 if "" in run.threads else 0)
        return (
            f"{t.requests:,} requests ({agents} subagent{'s' if agents != 1 else ''}) over"
            f" {duration(run.span_s)}: hit rate {rate(t)} (read {t.read:,} of"
            f" {t.input_total:,} input tokens), {per_write} tokens read per token written;"
            f" {usd(t.cost_usd)} spent, of which misses {usd(t.miss_usd)}"
            + (f"; {t.unpriced} requests unpriced" if t.unpriced else "")
        )

    def request_rows(self) -> list[RequestRow]:
        run = self.run
        if run is None:
            return []
        rows = []
        for number, call in enumerate(run.calls, 1):
            miss = run.miss_of.get(call.key)
            pause = run.pause_before.get(call.key)
            why = ""
            if miss is not None:
                why = f"{miss.words} ({usd(miss.cost_usd)})"
            rows.append(
                RequestRow(
                    number,
                    self.when(call.at),
                    call.agent or "session",
                    call.model,
                    call.read,
                    call.written_5m,
                    call.written_1h,
                    call.uncached,
                    call.output,
                    usd(call.cost_usd),
                    "" if pause is None else duration(pause),
                    why,
                    miss is not None,
                )
            )
        return rows

    def day_rows(self) -> list[tuple[str, ...]]:
        """Per day: the day, requests, hit rate, spend, what its misses cost."""
        if self.run is None:
            return []
        return [
            (str(day), f"{t.requests:,}", rate(t), usd(t.cost_usd), usd(t.miss_usd))
            for day, t in self.run.per_day(self.tz)
        ]

    def miss_rows(self) -> list[tuple[str, ...]]:
        """The misses, the costliest first: cost, request, who, why, tokens."""
        if self.run is None:
            return []
        return [
            (
                usd(m.cost_usd),
                f"{m.request}",
                m.call.agent or "session",
                m.words,
                f"{m.tokens:,}",
            )
            for m in self.run.ranked_misses()
        ]

    def agent_rows(self) -> list[tuple[str, ...]]:
        """Per thread (the session's own, each subagent): requests, hit rate, reads per write,
        spend, what its misses cost."""
        if self.run is None:
            return []
        return [
            (
                agent or "the session itself",
                f"{t.requests:,}",
                rate(t),
                "—" if t.reads_per_write is None else f"{t.reads_per_write:.1f}",
                usd(t.cost_usd),
                usd(t.miss_usd),
            )
            for agent, t in self.run.per_agent()
        ]

    def server_rows(self) -> list[tuple[str, ...]]:
        """Per MCP server: its tools' uses, the requests that carried their results, what those
        cost and what their misses cost."""
        if self.run is None:
            return []
        return [
            (
                s.server,
                f"{s.tool_uses:,}",
                f"{s.carried.requests:,}",
                usd(s.carried.cost_usd),
                usd(s.carried.miss_usd),
            )
            for s in self.run.per_mcp_server()
        ]

    def rewrite_lines(self) -> list[str]:
        if self.run is None:
            return []
        return [
            f"request {r.request}" + (f" (subagent {r.agent})" if r.agent else "") + f": {r.text()}"
            for r in self.run.rewrites()
        ]

    def notes(self) -> list[str]:
        return list(self.run.notes) if self.run is not None else []
