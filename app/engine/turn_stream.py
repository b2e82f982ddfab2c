"""One turn request on the wire: its stream read into the engine's events, what arrived kept, and
a stop that keeps the books.

- The stream's ``message_start`` "contains a ``Message`` object with empty ``content``"
  (build-with-claude/streaming.md, "Event types") whose ``usage`` counts the prompt: what it read
  from the cache, wrote and paid in full. From then on the response has begun, and what the
  request wrote is in the cache (prompt-caching.md: an entry "only becomes available after the
  first response begins").
- **A stop keeps the books.** The docs do not say what the API bills for a request the client
  abandons (streaming.md, api/errors.md and api/rate-limits.md are silent; docs/choices.md has
  the choice): a request that reached the service is taken as billed for its prompt. So a stop
  after ``message_start`` ends the stream at once, its usage known; a stop before it lets the
  request run until ``message_start`` arrives (at most ``wait_s``), then ends it there, so that
  what it read, wrote and cost is recorded and the ledger knows what it wrote. Past the wait the
  request is abandoned, and what it cost is recorded as not known.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace

from app.caching.costs import Cost, Stop
from app.caching.ledger import Usage
from app.engine import events as ev
from app.engine.context_management import compaction_usage
from app.engine.responses import clean, describe_diagnosis
from app.facts.tokens import text_tokens

NOT_KNOWN = "stopped before the reply began: the API may have billed the prompt; not known"


class TurnStream:
    """What one turn request's stream has said so far, and how it stops. Made in the task that
    reads the stream (the turn's), which is the task a stop ends."""

    def __init__(
        self, emit: Callable[[ev.Event], None], chat_id: str, started: float, predicted: Usage
    ):
        self._emit = emit
        self._predicted = predicted  # what the ledger expected the request to read and write
        self._chat_id = chat_id
        self._started = started  # perf_counter() the first token is timed from
        self._task = asyncio.current_task()
        self._deadline: asyncio.TimerHandle | None = None
        self.stopping = False  # stopped by the user; ends when the response begins
        self.texts: list[str] = []  # the reply's text so far
        self._streamed: list[str] = []  # everything generated so far: text, thinking, tool input
        self.begun: Usage | None = None  # message_start's usage: the response has begun
        self.compacted: Usage | None = None  # a compaction's iteration, when it reports one
        self.diagnosis = ""  # the API's own cache diagnosis, in words
        self.ttft: float | None = None

    async def read(self, stream, on_start: Callable[[TurnStream], None]) -> None:
        """Read ``stream`` to its end; ``on_start`` hears the response begin (its usage known).
        A stop that waited for that ends the request right after: its task is cancelled, so the
        stream's next read ends it and the HTTP stream closes in order (an exception raised here
        would leave the HTTP client's reader suspended, to be finalized outside the loop)."""
        async for event in stream:
            if event.type == "message_start":
                usage = event.message.usage
                self.begun = Usage.from_api(usage)
                self.compacted = compaction_usage(usage)
                self.diagnosis = describe_diagnosis(getattr(event.message, "diagnostics", None))
                on_start(self)
                if self.stopping:  # what it bills is known now: end it as the user asked
                    self._task.cancel()
            elif self.stopping:  # arrived before the cancel lands: the user had stopped it
                continue
            elif event.type == "content_block_delta":
                self._delta(event.delta)
        if self.stopping and self.begun is not None:  # it ended before the cancel landed
            raise asyncio.CancelledError

    def _delta(self, delta) -> None:
        if self.ttft is None:
            self.ttft = time.perf_counter() - self._started
            self._emit(ev.FirstToken(self._chat_id, self.ttft))
        if delta.type == "text_delta":
            text = clean(delta.text)
            self.texts.append(text)
            self._streamed.append(text)
            self._emit(ev.TextDelta(self._chat_id, text))
        elif delta.type == "thinking_delta":
            text = clean(delta.thinking)
            self._streamed.append(text)
            self._emit(ev.ThinkingDelta(self._chat_id, text))
        elif delta.type == "input_json_delta":
            self._streamed.append(delta.partial_json)
            self._emit(ev.ToolInputDelta(self._chat_id, delta.partial_json))

    def stop(self, wait_s: float) -> bool:
        """The user stops the request. Once the response has begun the caller ends it at once
        (False); before, it ends when ``message_start`` arrives, or ``wait_s`` from now when
        none does (True: the stop is waiting)."""
        if self.begun is not None or self._task is None or self._task.done():
            return False
        if not self.stopping:
            self.stopping = True
            loop = asyncio.get_running_loop()
            self._deadline = loop.call_later(wait_s, self._task.cancel)
        return True

    def close(self) -> None:
        """The request ended: a stop's deadline has nothing left to end."""
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def stopped(self) -> dict:
        """The stopped request's record, as far as known: its usage (the prompt as
        ``message_start`` counted it, and the output generated until the stop), how it stopped
        and why; before ``message_start`` nothing is known of what it was billed."""
        if self.begun is None:
            unknown = Cost(0.0, 0.0, known=False)
            return {
                "usage": Usage(),
                "predicted": self._predicted,
                "stopped": Stop.UNKNOWN,
                "error": NOT_KNOWN,
                "cost": unknown,
            }
        streamed = text_tokens("".join(self._streamed))
        usage = replace(self.begun, output=max(self.begun.output, streamed))
        if self.ttft is None:
            how, why = Stop.BEFORE, " before the reply began: the prompt is billed"
        else:
            how, why = Stop.REPLY, ": the prompt and the reply so far are billed"
        return {
            "usage": usage,
            "predicted": replace(self._predicted, output=usage.output),
            "stopped": how,
            "explanation": f"stopped by the user{why}",
            "ttft_s": self.ttft,
            "compaction": self.compacted,
        }
