"""One Claude Code session file read as a stream of requests.

Each assistant line carries ``message.id``, ``requestId``, ``message.model``, ``timestamp`` and
``message.usage``; one API response is written as several lines (one per content block) that
repeat its usage, so a request is counted once by its message id and request id (ccusage's
``createUniqueHash``; without it every total doubles). The lines of one response are merged
field by field (the largest count wins: a later line may carry the final output count).

The file is read in binary chunks from where the last read ended (a session still being written
is read again for its new lines only), one line at a time, so memory follows the number of
requests and lines, not the file's bytes; a line over 64 MB is passed over and counted. An
incomplete last line (no newline yet) is left for the next read; the final read parses it if it
is whole JSON and otherwise says the file ends mid-line. Lines of other types (``summary``,
``progress``, ``file-history-snapshot``, ``queue-operation``, anything newer) are counted by type
and otherwise passed over; ``system`` lines of subtype ``compact_boundary`` and user lines with
``isCompactSummary`` mark a compaction (microsoft/amplifier's
``ai_working/claude_code_logging/session_format_specification.md``). ``parentUuid`` links each
line to the one before it in its conversation: a request whose chain does not lead back to the
previous request's reply went back in the conversation (a rewind or an edit), and the first
message path after the common point is where its prefix changed.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

from app.agents.calls import MAIN, Call, Pricer, epoch
from app.caching.ledger import Usage
from app.facts.prices import Terms

CHUNK_BYTES = 1 << 20
MAX_LINE_BYTES = 64 * 1024 * 1024
MAX_WALK = 10_000  # lines walked back along parentUuid to find the previous request
SYNTHETIC = "<synthetic>"  # Claude Code's own messages (no request was made)


def _whole(raw: bytes) -> bool:
    try:
        return isinstance(json.loads(raw), dict)
    except (ValueError, RecursionError):
        return False


def _pass_line(fh) -> int | None:
    """Read past the rest of an over-long line; its length, or None at the end of the file."""
    passed = 0
    while True:
        part = fh.readline(CHUNK_BYTES)
        passed += len(part)
        if not part:
            return None
        if part.endswith(b"\n"):
            return passed


class Transcript:
    """A session file (or a subagent's), read incrementally. ``seen`` is shared by the files of
    one reading so that a request copied into another file (a resumed session) counts once."""

    def __init__(
        self, path: Path, pricer: Pricer, agent: str = MAIN, seen: set[str] | None = None
    ) -> None:
        self.path = Path(path)
        self.pricer = pricer
        self.agent = agent
        self.seen = set() if seen is None else seen
        self.calls: list[Call] = []
        self.title = ""
        self._reset()

    def _reset(self) -> None:
        for key in getattr(self, "_index", {}):
            self.seen.discard(key)
        self.calls.clear()
        self.offset = 0
        self.lines = 0
        self.unreadable = 0  # lines that are not JSON objects, or lines too long to read
        self._copied: set[str] = set()  # requests another file of this reading counted
        self.compactions = 0
        self.other_types: Counter[str] = Counter()
        self.truncated = False
        self._index: dict[str, int] = {}
        # by the hash of a line's uuid (an int is a third of the string's memory): the hash of
        # its parent's, its request's index (-1: none), its message's index, its role
        self._nodes: dict[int, tuple[int | None, int, int, str]] = {}
        self._last: dict[str, int] = {}  # per thread, the index of its last request
        self._compacted: set[str] = set()  # threads compacted since their last request

    # -- reading ---------------------------------------------------------------------------------
    def read(self, final: bool = True) -> int:
        """Read what was added since the last read; returns how many requests were added or
        grew. ``final``: the file is not being written, so a last line without its newline is
        read if it is whole. A file that got shorter was replaced: it is read again from the
        start. OSError when the file cannot be read."""
        size = os.stat(self.path).st_size
        if size < self.offset:
            self._reset()
        before = len(self.calls)
        grown = 0
        self.truncated = False
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            while True:
                raw = fh.readline(MAX_LINE_BYTES + 1)
                if not raw:
                    break
                if raw.endswith(b"\n"):
                    self.offset += len(raw)
                    grown += self._line(raw)
                elif len(raw) > MAX_LINE_BYTES:  # too long to hold: pass over it
                    passed = _pass_line(fh)
                    if passed is None:  # the file ends inside it
                        self.truncated = True
                        break
                    self.offset += len(raw) + passed
                    self.lines += 1
                    self.unreadable += 1
                else:  # the last line, without its newline (yet)
                    if final and _whole(raw):
                        self.offset += len(raw)
                        grown += self._line(raw)
                    elif raw.strip():
                        self.truncated = True
                    break
        return len(self.calls) - before + grown

    # -- one line ----------------------------------------------------------------------------------
    def _line(self, raw: bytes) -> int:
        if not raw.strip():
            return 0
        self.lines += 1
        try:
            line = json.loads(raw)
        except (ValueError, RecursionError):
            self.unreadable += 1
            return 0
        if not isinstance(line, dict):
            self.unreadable += 1
            return 0
        kind = line.get("type")
        thread = self._thread_of(line)
        if kind == "assistant":
            return self._assistant(line, thread)
        if kind == "user":
            if line.get("isCompactSummary"):
                self._compaction(thread)
            self._node(line, "user", parent=line.get("parentUuid"))
        elif kind == "system" and line.get("subtype") == "compact_boundary":
            self._compaction(thread)
            self._node(line, "system", parent=None)  # a new root
        elif kind == "summary":
            if isinstance(line.get("summary"), str) and not self.title:
                self.title = line["summary"]
            self.other_types["summary"] += 1
        else:
            self.other_types[str(kind)] += 1
            self._node(line, "", parent=line.get("parentUuid"))
        return 0

    def _thread_of(self, line: dict) -> str:
        if self.agent:
            return self.agent
        if line.get("isSidechain"):
            return sys.intern(str(line.get("agentId") or "sidechain"))
        return MAIN

    def _compaction(self, thread: str) -> None:
        if thread not in self._compacted:
            self.compactions += 1
        self._compacted.add(thread)

    def _node(self, line: dict, role: str, parent, call: int = -1) -> None:
        """Remember where a line sits: its parent, its request, its message's index."""
        uuid = line.get("uuid")
        if not isinstance(uuid, str):
            return
        parent = hash(parent) if isinstance(parent, str) else None
        above = self._nodes.get(parent) if parent is not None else None
        if above is None:
            index, last_role = 0, role
        else:
            index, last_role = above[2], above[3]
            if role and last_role and role != last_role:
                index += 1
            last_role = role or last_role
        self._nodes[hash(uuid)] = (parent, call, index, last_role)

    def _assistant(self, line: dict, thread: str) -> int:
        message = line.get("message")
        if not isinstance(message, dict) or line.get("isApiErrorMessage"):
            self.other_types["assistant without a request"] += 1
            return 0
        model = message.get("model")
        usage_raw = message.get("usage")
        if model == SYNTHETIC or not isinstance(model, str) or not isinstance(usage_raw, dict):
            self.other_types["assistant without a request"] += 1
            return 0
        terms = Terms.of(usage_raw)  # a /fast session's usage says "speed": "fast"
        try:
            usage = Usage.from_api(usage_raw)
            counts = (usage.read, usage.write_5m, usage.write_1h, usage.uncached, usage.output)
            if not all(isinstance(n, int) and n >= 0 for n in counts):
                raise TypeError
        except (TypeError, AttributeError):
            self.unreadable += 1
            return 0
        message_id, request_id = message.get("id"), line.get("requestId")
        key = f"{message_id}:{request_id}" if message_id else f"{self.path.name}#{self.lines}"
        tools = tuple(
            sys.intern(str(b.get("name")))
            for b in message.get("content") or ()
            if isinstance(b, dict) and b.get("type") == "tool_use" and b.get("name")
        )
        at = epoch(line.get("timestamp"))
        if key in self._index:
            self._node(line, "assistant", line.get("parentUuid"), self._index[key])
            return self._merge(self._index[key], usage, tools, at)
        if key in self.seen:
            self._copied.add(key)
            return 0
        previous = self._last.get(thread)
        if at is None:
            at = self.calls[previous].ended if previous is not None else 0.0
        branched = self._branch(line.get("parentUuid"), previous, thread)
        model = sys.intern(model)
        call = Call(
            key,
            at,
            at,
            model,
            usage.read,
            usage.write_5m,
            usage.write_1h,
            usage.uncached,
            usage.output,
            self.pricer.cost(model, at, usage, terms),
            thread,
            tools,
            self.calls[previous].tools if previous is not None else (),
            thread in self._compacted,
            branched,
            web_searches=usage.web_searches,
            terms=terms,
        )
        self._compacted.discard(thread)
        self._index[key] = len(self.calls)
        self.seen.add(key)
        self._last[thread] = len(self.calls)
        self._node(line, "assistant", line.get("parentUuid"), len(self.calls))
        self.calls.append(call)
        return 0

    def _merge(self, index: int, usage: Usage, tools: tuple, at: float | None) -> int:
        """Another line of a response already counted: the largest counts win, its tools are
        added, its end moves on. Returns 1 when its counts or tools changed."""
        old = self.calls[index]
        counts = (usage.read, usage.write_5m, usage.write_1h, usage.uncached, usage.output)
        known = (old.read, old.written_5m, old.written_1h, old.uncached, old.output)
        more = tuple(t for t in tools if t not in old.tools)
        grown = any(n > k for n, k in zip(counts, known, strict=True))
        if not grown and not more and usage.web_searches <= old.web_searches:
            if at is not None and at > old.ended:
                self.calls[index] = replace(old, ended=at)
            return 0
        read, w5m, w1h, uncached, output = (max(n, k) for n, k in zip(counts, known, strict=True))
        searches = max(old.web_searches, usage.web_searches)
        cost = old.cost_usd
        if grown or searches > old.web_searches:
            merged = Usage(read, w5m, w1h, uncached, output, web_searches=searches)
            cost = self.pricer.cost(old.model, old.at, merged, old.terms)
        self.calls[index] = replace(
            old,
            read=read,
            written_5m=w5m,
            written_1h=w1h,
            uncached=uncached,
            output=output,
            web_searches=searches,
            tools=old.tools + more,
            ended=max(old.ended, at or old.ended),
            cost_usd=cost,
        )
        return 1

    def _branch(self, parent, previous: int | None, thread: str) -> str:
        """Where the prefix left the previous request's: "" when the chain leads back to the
        previous request's reply (or cannot be followed), else the first message path after the
        last request the chain does reach ("messages.0" back to the start)."""
        if previous is None or thread in self._compacted or not isinstance(parent, str):
            return ""
        node = self._nodes.get(hash(parent))
        for _ in range(MAX_WALK):
            if node is None:
                return ""  # a line this file does not hold: nothing to say
            up, call, index, _ = node
            if call >= 0:
                if call == previous or self.calls[call].agent != thread:
                    return ""
                return f"messages.{index + 1}"
            if up is None:
                return "messages.0"
            node = self._nodes.get(up)
        return ""

    # -- what the reading says about the file ---------------------------------------------------
    def notes(self) -> list[str]:
        out = []
        name = self.path.name
        if self.unreadable:
            out.append(f"{name}: {self.unreadable} line(s) could not be read and were passed over")
        if self._copied:
            out.append(f"{name}: {len(self._copied)} request(s) already counted in another file")
        if self.truncated:
            out.append(f"{name}: the last line is incomplete (a session still being written?)")
        return out
