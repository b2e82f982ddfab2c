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


def _steps(session: SessionFile, cached: int, steps: list, model: str, pause_s: float = 4):
    """Requests that each read what the one before cached and write what they add: ``steps``
    are (tokens added, tools its reply calls); a tool result precedes each after the first."""
    for i, (added, tools) in enumerate(steps):
        if i:
            session.tool_result(after_s=pause_s)
        session.reply(usage(cached, w5m=added, output=400 + 37 * i), model=model, tools=tools)
        cached += added
    return cached


def demo_session(config: Path) -> Path:
    """A made-up day and a half of work in one Claude Code session, for the view's tests and its
    screenshot: tool loops with two MCP servers, a subagent, a pause past the TTL, a compaction,
    a switch to Opus, and a resume the next morning."""
    sonnet = "claude-sonnet-4-6"
    main = SessionFile(session_id(90), dt.datetime(2026, 11, 16, 9, 2, tzinfo=dt.UTC))
    main.other(
        "summary", summary="Checkout refactor: move to the new payment client", leafUuid="l1"
    )
    main.prompt("Refactor the checkout module to use the new payment client", after_s=0)
    main.reply(usage(0, w5m=24_310, output=512), model=sonnet, tools=("Read", "Grep"))
    cached = _steps(
        main,
        24_310,
        [
            (3_150, ("mcp__github__search_issues",)),
            (2_480, ("mcp__github__get_issue", "Read")),
            (5_920, ("Task",)),
            (1_340, ("Edit",)),
            (2_210, ("Bash",)),
            (860, ()),
        ],
        sonnet,
    )
    path = main.save(project_folder(config) / f"{main.session_id}.jsonl")
    sub = SessionFile(main.session_id, dt.datetime(2026, 11, 16, 9, 3, tzinfo=dt.UTC), "a83f1c2")
    sub.prompt("Find every caller of PaymentGateway.charge", after_s=0)
    sub.reply(usage(0, w5m=11_200, output=300), model="claude-haiku-4-5-20251001", tools=("Grep",))
    _steps(
        sub,
        11_200,
        [(4_100, ("Read",)), (6_300, ("Read",)), (900, ())],
        "claude-haiku-4-5-20251001",
    )
    sub.save(path.with_suffix("") / "subagents" / "agent-a83f1c2.jsonl")
    main.prompt("Looks good. Now the refunds path too.", after_s=9 * 60)  # read the diff first
    main.reply(usage(0, w5m=cached + 40, output=620), model=sonnet, tools=("Read",))
    cached = _steps(
        main,
        cached + 40,
        [(4_700, ("mcp__linear__create_issue",)), (3_900, ("Edit",)), (1_200, ())],
        sonnet,
    )
    main.compact(pre_tokens=cached)
    main.prompt("Continue with the tests", after_s=6)
    main.reply(usage(14_200, w5m=5_600, output=700), model=sonnet, tools=("Bash",))
    cached = _steps(main, 19_800, [(2_600, ("Edit",)), (900, ())], sonnet)
    main.prompt("Think hard about the race in capture()", after_s=40)
    main.reply(usage(0, w5m=cached + 60, output=2_400), model="claude-opus-4-6", tools=("Read",))
    cached = _steps(main, cached + 60, [(1_800, ())], "claude-opus-4-6")
    main.prompt("Good morning: run the suite again", after_s=24 * 3600 + 10 * 60)
    main.reply(usage(0, w5m=cached + 30, output=300), model="claude-opus-4-6", tools=("Bash",))
    _steps(main, cached + 30, [(3_300, ("Edit",)), (700, ())], "claude-opus-4-6")
    return main.save(path)
