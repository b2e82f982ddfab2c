"""One open conversation as the engine sees it: the conversation, its totals and its history of
requests (turns, warm-ups and keep-alive pings)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.caching.builder import BuiltRequest
from app.caching.costs import RequestRecord, UsageTotals
from app.conversation.conversation import Conversation

if TYPE_CHECKING:
    from app.engine.turn_stream import TurnStream


@dataclass
class WarmRecord:
    at: float
    prefix_fingerprint: str
    prefix_tokens: int
    record: RequestRecord | None = None
    followed_by_hit: bool | None = None  # set when the next send reads the warmed prefix
    due: float = 0.0  # event-loop time by which a send stops waiting for it


@dataclass
class Session:
    conversation: Conversation
    totals: UsageTotals = field(default_factory=UsageTotals)
    last_turn: BuiltRequest | None = None
    warms: list[WarmRecord] = field(default_factory=list)
    warm_tasks: dict[str, asyncio.Task] = field(default_factory=dict)  # by prefix fingerprint
    pings_left: int = 0
    keepalive_task: asyncio.Task | None = None
    last_message_id: str | None = None  # the last turn's response id, for cache diagnostics
    entered_at: float | None = None  # perf_counter() of the Enter that began the coming turn
    forked_at: int | None = None  # the coming turn starts a new branch at this message
    compact_next: bool = False  # the user asked that the next turn compact (compaction.md)
    stream: TurnStream | None = None  # the turn request on the wire, for a stop to find

    @property
    def id(self) -> str:
        return self.conversation.id
