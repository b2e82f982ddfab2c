"""A run of requests analysed: totals, hit rate, reads per write, the misses and their reasons,
spend per day, per subagent and per MCP server, and the rewrite lines.

- hit rate: tokens read over every input token (read + written + paid in full), the issue's
  definition (Anthropic's Console calls the same figure the read ratio);
- reads per write: tokens read for each token written;
- a day is a calendar day in the given time zone (the machine's by default);
- an MCP server's share: the requests that carried the results of its tools
  (``mcp__SERVER__TOOL`` names in the reply before them), what they cost and what their misses
  cost, and how many times its tools were called.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from app.agents.calls import MAIN, Call, Pricer
from app.agents.misses import Miss, find_misses
from app.agents.rewrites import Rewrite, rewrites


@dataclass
class Totals:
    requests: int = 0
    read: int = 0
    written_5m: int = 0
    written_1h: int = 0
    uncached: int = 0
    output: int = 0
    cost_usd: float = 0.0
    unpriced: int = 0  # requests whose model no price source knows
    miss_usd: float = 0.0

    def add(self, call: Call) -> None:
        self.requests += 1
        self.read += call.read
        self.written_5m += call.written_5m
        self.written_1h += call.written_1h
        self.uncached += call.uncached
        self.output += call.output
        if call.cost_usd is None:
            self.unpriced += 1
        else:
            self.cost_usd += call.cost_usd

    @property
    def written(self) -> int:
        return self.written_5m + self.written_1h

    @property
    def input_total(self) -> int:
        return self.read + self.written + self.uncached

    @property
    def hit_rate(self) -> float:
        return self.read / self.input_total if self.input_total else 0.0

    @property
    def reads_per_write(self) -> float | None:
        return self.read / self.written if self.written else None

    def as_dict(self) -> dict:
        return {
            "requests": self.requests,
            "read": self.read,
            "written_5m": self.written_5m,
            "written_1h": self.written_1h,
            "uncached": self.uncached,
            "output": self.output,
            "cost_usd": round(self.cost_usd, 6),
            "unpriced_requests": self.unpriced,
            "hit_rate": round(self.hit_rate, 4),
            "reads_per_write": None
            if self.reads_per_write is None
            else round(self.reads_per_write, 2),
        }


def mcp_server(tool: str) -> str | None:
    """``mcp__SERVER__TOOL`` → SERVER; None for any other tool name."""
    if not tool.startswith("mcp__"):
        return None
    server = tool[5:].split("__", 1)[0]
    return server or None


@dataclass
class ServerShare:
    server: str
    tool_uses: int = 0
    carried: Totals = field(default_factory=Totals)  # the requests that carried its results


class Run:
    """Requests of one or more threads (a session and its subagents, a project, a captured run),
    numbered in time order, with their misses."""

    def __init__(self, name: str, calls: list[Call], pricer: Pricer, notes: list[str] = ()):
        self.name = name
        self.pricer = pricer
        self.notes = list(notes)
        self.calls = sorted(calls, key=lambda c: c.at)
        self.numbers = {c.key: i + 1 for i, c in enumerate(self.calls)}
        threads: dict[str, list[Call]] = defaultdict(list)
        for call in self.calls:
            threads[call.agent].append(call)
        self.threads = dict(threads)
        misses = [m for t in self.threads.values() for m in find_misses(t, pricer, self.numbers)]
        self.misses = sorted(misses, key=lambda m: m.request)
        self.miss_of = {m.call.key: m for m in self.misses}
        self.pause_before: dict[str, float] = {}
        for thread in self.threads.values():
            for previous, call in zip(thread, thread[1:], strict=False):
                self.pause_before[call.key] = max(0.0, call.at - previous.ended)

    # -- figures ---------------------------------------------------------------------------------
    def totals(self, calls: list[Call] | None = None) -> Totals:
        out = Totals()
        for call in self.calls if calls is None else calls:
            out.add(call)
            miss = self.miss_of.get(call.key)
            if miss is not None and miss.cost_usd is not None:
                out.miss_usd += miss.cost_usd
        return out

    def per_day(self, tz: dt.tzinfo | None = None) -> list[tuple[dt.date, Totals]]:
        days: dict[dt.date, list[Call]] = defaultdict(list)
        for call in self.calls:
            days[dt.datetime.fromtimestamp(call.at, tz).date()].append(call)
        return [(day, self.totals(calls)) for day, calls in sorted(days.items())]

    def per_agent(self) -> list[tuple[str, Totals]]:
        """The session's own thread first, then each subagent by what it cost."""
        shares = [(agent, self.totals(calls)) for agent, calls in self.threads.items()]
        return sorted(shares, key=lambda s: (s[0] != MAIN, -s[1].cost_usd))

    def per_mcp_server(self) -> list[ServerShare]:
        shares: dict[str, ServerShare] = {}
        for call in self.calls:
            for tool in call.tools:
                server = mcp_server(tool)
                if server is not None:
                    shares.setdefault(server, ServerShare(server)).tool_uses += 1
            carried = {s for s in map(mcp_server, call.results_of) if s is not None}
            for server in carried:
                share = shares.setdefault(server, ServerShare(server))
                share.carried.add(call)
                miss = self.miss_of.get(call.key)
                if miss is not None and miss.cost_usd is not None:
                    share.carried.miss_usd += miss.cost_usd
        return sorted(shares.values(), key=lambda s: -s.carried.cost_usd)

    def ranked_misses(self) -> list[Miss]:
        """The misses, the costliest first (unpriced ones last)."""
        return sorted(self.misses, key=lambda m: -(m.cost_usd if m.cost_usd is not None else -1))

    def rewrites(self) -> list[Rewrite]:
        return rewrites(self.misses, self.pricer)

    @property
    def span_s(self) -> float:
        return self.calls[-1].ended - self.calls[0].at if self.calls else 0.0
