"""What the engine tells its listeners (the UI, the storage, the tests).

Each event carries what happened, so that a listener never reads the session back: the usage with
the request it answered, and after each request ends the totals as they then stood (a snapshot).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from app.caching.builder import BuiltRequest
from app.caching.costs import Kind, RequestRecord, Stop, UsageTotals
from app.caching.explainer import Explanation
from app.caching.ledger import Usage
from app.conversation.blocks import Message
from app.engine.failures import Failure
from app.storage.uploads import Upload


@dataclass(frozen=True)
class RequestBuilt:
    conversation_id: str
    kind: str  # an app.caching.costs.Kind
    built: BuiltRequest
    predicted: Usage
    why: str = ""  # for a warm-up or keep-alive ping: why it is sent


@dataclass(frozen=True)
class FirstToken:
    conversation_id: str
    ttft_s: float


@dataclass(frozen=True)
class TextDelta:
    conversation_id: str
    text: str


@dataclass(frozen=True)
class ThinkingDelta:
    conversation_id: str
    text: str


@dataclass(frozen=True)
class ToolInputDelta:
    conversation_id: str
    partial_json: str


@dataclass(frozen=True)
class UsageReported:
    conversation_id: str
    kind: str
    usage: Usage
    explanation: Explanation | None
    built: BuiltRequest  # the request this usage answered


@dataclass(frozen=True)
class ToolRan:
    conversation_id: str
    name: str
    result: str
    is_error: bool
    problem: str = ""  # a server that failed, said to the user


@dataclass(frozen=True)
class Finished:
    conversation_id: str
    kind: str
    message: Message | None  # the assistant message appended (None for warms and pings)
    record: RequestRecord
    totals: UsageTotals  # the conversation's totals with this record in them


@dataclass(frozen=True)
class Failed:
    conversation_id: str
    kind: str
    failure: Failure
    partial: Message | None  # what had arrived, kept in the conversation and marked interrupted
    totals: UsageTotals


@dataclass(frozen=True)
class Cancelled:
    """A turn stopped (by the user, or the app's end): what had arrived of the reply, and the
    record of the request it stopped (None: none was under way, so nothing more was sent)."""

    conversation_id: str
    partial: Message | None
    totals: UsageTotals  # with the stopped request's record in them
    record: RequestRecord | None = None


@dataclass(frozen=True)
class UploadProgress:
    conversation_id: str
    name: str
    sent: int  # bytes
    total: int


@dataclass(frozen=True)
class UploadFinished:
    conversation_id: str
    name: str
    file_id: str  # "" when it failed: the document goes inline
    error: str
    upload: Upload | None = None  # what to remember


@dataclass(frozen=True)
class WarmSkipped:
    conversation_id: str
    reason: str
    quiet: bool = False  # nothing to tell the user: the prefix is warm or being warmed


Event = (
    RequestBuilt
    | FirstToken
    | TextDelta
    | ThinkingDelta
    | ToolInputDelta
    | UsageReported
    | ToolRan
    | Finished
    | Failed
    | Cancelled
    | WarmSkipped
    | UploadProgress
    | UploadFinished
)


def status_text(event: Event) -> str:
    """What the status line says of an event ("" for most)."""
    if isinstance(event, Failed):
        prefix = "" if event.kind == Kind.TURN else f"{event.kind} (quiet): "
        return prefix + event.failure.message
    if isinstance(event, ToolRan):
        if event.problem:
            return f"{event.problem} (the model was told the call failed)"
        return f"Ran {event.name}: {event.result[:80]}"
    if isinstance(event, UploadProgress):
        share = event.sent / event.total if event.total else 1.0
        return f"Uploading {event.name}: {share:.0%} of {event.total / 1e6:.1f} MB…"
    if isinstance(event, UploadFinished):
        if event.file_id:
            return f"Uploaded {event.name}: sent by reference from now on."
        return f"{event.name} not uploaded ({event.error.rstrip('.')}); it is sent inline."
    return ""


def stop_sentence(event: Cancelled | None) -> str:
    """What the status line says of a stopped turn (``event``: what the engine said of it,
    None when it had sent nothing), in true words: what was billed and what was kept."""
    record = event.record if event is not None else None
    if record is None:
        return "Stopped: no request was under way, so nothing more was sent."
    if record.stopped == Stop.UNKNOWN:
        return "Stopped before the reply began: the API may have billed the prompt; not known."
    cost = f"${record.cost.paid_usd:.4f}" if record.cost.known else "at prices not known"
    if record.stopped == Stop.BEFORE:
        return f"Stopped before the reply began: the prompt was billed, {cost}."
    if event.partial is None:  # only thinking or a tool call's input had streamed
        return (
            "Stopped before any text of the reply arrived: its prompt and output so far were"
            f" billed, {cost}."
        )
    return f"Stopped: the reply so far is kept ({cost} billed)."


class Listeners:
    """Who hears the events: listeners are called in order; one that fails is logged, and the
    others still hear the event."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[Event], None]] = []

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[Event], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def emit(self, event: Event) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                logging.getLogger(__name__).exception(
                    "a listener failed on %s", type(event).__name__
                )
