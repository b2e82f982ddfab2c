"""One typed change after every intent and every event that moves what a view shows: what
changed, in which conversation, caused by what (as Anki's ``OpChanges``). Views subscribe and
decide what to redraw; no caller lists the views to refresh."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

# What a change can touch. A view redraws what it shows of these.
MESSAGES = "messages"  # the messages on screen (a reply, a send, a branch switched, an edit)
SETTINGS = "settings"  # model, pattern, TTL, thinking, effort, tools, system prompt
OUTLOOK = "outlook"  # what Send would send, its price and the warm indicator
RECORDS = "records"  # the request records and totals (a request ended)
ENTRIES = "entries"  # what the cache holds (a write, a refresh, an expiry)
DRAFT = "draft"  # the draft (an edit begun or cancelled, a branch switched)
TITLE = "title"
CURRENT = "current"  # another conversation is on screen
TURN = "turn"  # a turn began or ended (``Chat.turn``)
CONNECTION = "connection"  # requests go elsewhere now (another client, key or endpoint)
ASPECTS = frozenset(
    {MESSAGES, SETTINGS, OUTLOOK, RECORDS, ENTRIES, DRAFT, TITLE, CURRENT, TURN, CONNECTION}
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    chat_id: str
    aspects: frozenset[str]
    cause: str  # in words: "typing", "a warm-up landed", "the reply ended", "an entry expired"

    def __post_init__(self) -> None:
        unknown = self.aspects - ASPECTS
        if unknown:
            raise ValueError(f"unknown aspects {sorted(unknown)}")

    def touches(self, *aspects: str) -> bool:
        return any(a in self.aspects for a in aspects)


class Changes:
    """Who hears the changes: called in order; one that fails is logged and the others still
    hear it."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[Change], None]] = []

    def subscribe(self, listener: Callable[[Change], None]) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[Change], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def emit(self, change: Change) -> None:
        for listener in list(self._listeners):
            try:
                listener(change)
            except Exception:
                log.exception("a view failed on a change (%s)", change.cause)
