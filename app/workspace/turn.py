"""One send and its replies: a handle the window and the tests hold (as llm's ``Response``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from app.caching.costs import Kind, RequestRecord
from app.engine import events as ev
from app.engine.engine import Engine
from app.engine.failures import Failure
from app.engine.turn_stream import TurnStream


class Turn:
    """A send and the replies it takes (a tool loop sends several requests): awaitable and
    cancellable; while it runs it hears its own stream and records from the engine, and when it
    ends it says so once to each ``on_done`` callback. Its one task is owned by the engine."""

    def __init__(self, chat_id: str, engine: Engine, entered_at: float, records_before: int):
        self.chat_id = chat_id
        self._before = records_before  # the conversation's records when it began
        self.entered_at = entered_at  # perf_counter() of the user's Enter
        self.records: list[RequestRecord] = []  # the requests it sent, as recorded
        self.failure: Failure | None = None
        self.stopped = False
        # Stopped before its response began: it ends when that begins, at most this long after
        self.stop_wait_s: float | None = None
        self.stop_event: ev.Cancelled | None = None  # the engine's word on it (None: none out)
        self.task: asyncio.Task | None = None
        self._engine = engine
        self._texts: list[str] = []
        self._done: list[Callable[[Turn], None]] = []
        engine.subscribe(self._hear)

    def run(self, coro) -> Turn:
        self.task = self._engine.own(coro, f"turn {self.chat_id}")
        self.task.add_done_callback(self._ended)
        return self

    def __await__(self):
        return self.task.__await__()

    def done(self) -> bool:
        return self.task is not None and self.task.done()

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def stop(self, stream: TurnStream | None, wait_s: float) -> None:
        """The user stops the turn. A request on the wire whose response has not begun runs on
        until it begins, at most ``wait_s`` (``TurnStream.stop``; ``stop_wait_s`` says so), so that
        what it is billed is recorded; anything else ends now, what arrived kept."""
        if stream is not None and stream.stop(wait_s):
            self.stop_wait_s = wait_s
        else:
            self.cancel()

    def on_done(self, callback: Callable[[Turn], None]) -> None:
        """Call ``callback(turn)`` once the turn has ended (at once if it has)."""
        if self.done():
            callback(self)
        else:
            self._done.append(callback)

    @property
    def text(self) -> str:
        """What has streamed of the reply so far."""
        return "".join(self._texts)

    @property
    def cost_usd(self) -> float:
        return sum(r.cost.paid_usd for r in self.records)

    @property
    def first_token_s(self) -> float | None:
        """Seconds from the Enter to the first token of the reply."""
        found = [r.ttft_s for r in self.records if r.ttft_s is not None]
        return found[0] if found else None

    def _hear(self, event: ev.Event) -> None:
        if getattr(event, "conversation_id", None) != self.chat_id:
            return
        if isinstance(event, ev.TextDelta):
            self._texts.append(event.text)
        elif isinstance(event, ev.Finished) and event.kind == Kind.TURN:
            self.records.append(event.record)
        elif isinstance(event, ev.Failed) and event.kind == Kind.TURN:
            self.failure = event.failure
            self._take_new(event.totals.records)
        elif isinstance(event, ev.Cancelled):
            self.stopped, self.stop_event = True, event
            self._take_new(event.totals.records)

    def _take_new(self, records: list[RequestRecord]) -> None:
        """A failed or stopped request's record comes in the totals the event carries."""
        for record in records[self._before :]:
            if record.kind == Kind.TURN and record not in self.records:
                self.records.append(record)

    def _ended(self, _task: asyncio.Task) -> None:
        self._engine.unsubscribe(self._hear)
        callbacks, self._done = self._done, []
        for callback in callbacks:
            callback(self)
