"""Claude Code session files for the tests, written line by line in the shapes the public
descriptions give (ccusage's data-loader, copilot-lens' research notes, microsoft/amplifier's
session format specification; docs/agents.md names them). Nothing here is a real session: every
id, path, text and count is made up by the scenario that writes it.

A reply is written as Claude Code writes one: a line per content block, each repeating the
usage (the last with the final output count), chained by ``parentUuid``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path

START = dt.datetime(2026, 11, 16, 9, 0, 0, tzinfo=dt.UTC)
SONNET = "claude-sonnet-4-5-20250929"
OPUS = "claude-opus-4-6"
CWD = "/home/dev/shop"
_ids = itertools.count(1)


def _uuid() -> str:
    n = next(_ids)
    return f"{n:08x}-0000-4000-8000-{n:012x}"


def usage(read=0, w5m=0, w1h=0, uncached=3, output=50) -> dict:
    return {
        "input_tokens": uncached,
        "cache_creation_input_tokens": w5m + w1h,
        "cache_read_input_tokens": read,
        "cache_creation": {"ephemeral_5m_input_tokens": w5m, "ephemeral_1h_input_tokens": w1h},
        "output_tokens": output,
        "service_tier": "standard",
    }


class SessionFile:
    """One session (or subagent) file being written: a clock, the last line's uuid, the lines."""

    def __init__(self, session_id: str, start: dt.datetime = START, agent: str | None = None):
        self.session_id = session_id
        self.clock = start
        self.agent = agent
        self.parent: str | None = None
        self.lines: list[dict] = []

    def _base(self, kind: str, **fields) -> dict:
        line = {
            "parentUuid": self.parent,
            "isSidechain": self.agent is not None,
            "userType": "external",
            "cwd": CWD,
            "sessionId": self.session_id,
            "version": "2.0.61",
            "gitBranch": "main",
            "type": kind,
            "uuid": _uuid(),
            "timestamp": self.clock.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        if self.agent is not None:
            line["agentId"] = self.agent
        line.update(fields)
        self.lines.append(line)
        self.parent = line["uuid"]
        return line

    def wait(self, seconds: float) -> SessionFile:
        self.clock += dt.timedelta(seconds=seconds)
        return self

    def prompt(self, text: str, after_s: float = 20) -> SessionFile:
        self.wait(after_s)
        self._base("user", message={"role": "user", "content": text})
        return self

    def tool_result(self, tool_id: str = "toolu_x", after_s: float = 2) -> SessionFile:
        self.wait(after_s)
        content = [{"tool_use_id": tool_id, "type": "tool_result", "content": "ok"}]
        self._base("user", message={"role": "user", "content": content}, toolUseResult={})
        return self

    def reply(
        self,
        counts: dict,
        model: str = SONNET,
        tools: tuple[str, ...] = (),
        blocks: int = 2,
        after_s: float = 3,
        message_id: str | None = None,
        request_id: str | None = None,
    ) -> SessionFile:
        """A response of ``blocks`` text/thinking blocks and a tool use per name in ``tools``:
        one line each, the usage repeated on every line (output grows to its final count)."""
        self.wait(after_s)
        n = next(_ids)
        message_id = message_id or f"msg_{n:024d}"
        request_id = request_id or f"req_{n:024d}"
        content: list[dict] = []
        if blocks > 1:
            content.append({"type": "thinking", "thinking": "…", "signature": "sig"})
        while len(content) < max(blocks, 0 if tools else 1):
            content.append({"type": "text", "text": f"Answer {n}."})
        content += [
            {"type": "tool_use", "id": f"toolu_{n}_{i}", "name": name, "input": {}}
            for i, name in enumerate(tools)
        ]
        final = counts["output_tokens"]
        for i, block in enumerate(content):
            partial = dict(counts, output_tokens=final if i == len(content) - 1 else min(final, 1))
            message = {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [block],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": partial,
            }
            self._base("assistant", message=message, requestId=request_id)
            self.wait(0.5)
        return self

    def compact(self, pre_tokens: int = 155_000, after_s: float = 5) -> SessionFile:
        """A compaction: the boundary (a new root) and the summary user line after it."""
        self.wait(after_s)
        logical = self.parent
        self.parent = None
        self._base(
            "system",
            subtype="compact_boundary",
            content="Conversation compacted",
            logicalParentUuid=logical,
            compactMetadata={"trigger": "auto", "preTokens": pre_tokens},
            level="info",
            isMeta=False,
        )
        self._base(
            "user",
            isCompactSummary=True,
            isVisibleInTranscriptOnly=True,
            message={"role": "user", "content": "This session is being continued from …"},
        )
        return self

    def other(self, kind: str, **fields) -> SessionFile:
        """A line of another type (progress, file-history-snapshot, queue-operation, ...)."""
        line = {"type": kind, "timestamp": self.clock.isoformat().replace("+00:00", "Z")}
        line.update(fields)
        self.lines.append(line)
        return self

    def rewind_to(self, index: int) -> SessionFile:
        """Continue from the line ``index`` (a rewind: the next line's parent is that line)."""
        self.parent = self.lines[index]["uuid"]
        return self

    def text(self) -> str:
        return "".join(json.dumps(line) + "\n" for line in self.lines)

    def save(self, path: Path, cut_last_line: bool = False) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = self.text()
        if cut_last_line:  # a session still being written: the last line stops mid-way
            last = json.dumps(self.lines[-1]) + "\n"
            text = text[: len(text) - len(last) + len(last) // 2]
        path.write_text(text, encoding="utf-8")
        return path


def project_folder(config: Path, cwd: str = CWD) -> Path:
    return config / "projects" / cwd.replace("/", "-")


def session_id(n: int) -> str:
    return f"5e5510{n:02d}-aaaa-4bbb-8ccc-0000000000{n:02d}"


def growing_session(
    turns: int,
    session: SessionFile | None = None,
    system: int = 18_000,
    step: int = 2_000,
    pause_s: float = 30,
    model: str = SONNET,
    ttl: str = "5m",
    warm: bool = False,
) -> SessionFile:
    """``turns`` requests as Claude Code bills them: each reads what the one before cached (the
    first reads nothing, or with ``warm`` the ``system`` tokens an earlier request cached) and
    writes what was added (``step`` tokens a request)."""
    session = session or SessionFile(session_id(1))
    cached, total = (system, system + step) if warm else (0, system)
    for i in range(turns):
        session.prompt(f"Step {i + 1}, please.", after_s=pause_s)
        written = total - cached
        counts = usage(cached, w5m=written if ttl == "5m" else 0, w1h=written if ttl == "1h" else 0)
        session.reply(counts, model=model)
        cached, total = total, total + step
    return session
