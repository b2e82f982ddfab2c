"""Scripted conversations against the simulator: build, predict, send, record (no engine)."""

from __future__ import annotations

from dataclasses import dataclass, field

import anthropic

from app.caching.builder import BuiltRequest, RequestBuilder
from app.caching.explainer import Explanation, explain
from app.caching.ledger import CacheLedger, Usage
from app.caching.strategies import CacheSettings
from app.conversation.blocks import TextBlock, ToolUseBlock
from app.conversation.conversation import Conversation
from tests.helpers import FakeClock, raw_post


@dataclass
class Turn:
    built: BuiltRequest
    predicted: Usage
    actual: Usage
    explanation: Explanation
    server: str | None = None  # the API's cache_miss_reason type (cache diagnostics), if any


@dataclass
class Session:
    """One conversation, one strategy, one simulator; the clock moves for both sides together."""

    client: anthropic.Anthropic
    base_url: str
    conversation: Conversation
    strategy: str = "smart"
    settings: CacheSettings = field(default_factory=CacheSettings)
    clock: FakeClock = field(default_factory=FakeClock)
    builder: RequestBuilder = field(default_factory=RequestBuilder)
    turns: list[Turn] = field(default_factory=list)
    max_tokens: int = 60

    def __post_init__(self) -> None:
        self.ledger = CacheLedger(self.clock)

    def wait(self, seconds: float) -> None:
        self.clock.offset += seconds
        raw_post(self.base_url, "/_sim/clock/advance", {"seconds": seconds})

    def now(self) -> float:
        return self.clock()

    def send(self) -> Turn:
        built = self.builder.build(
            self.conversation, self.strategy, self.settings, max_tokens=self.max_tokens
        )
        plan = self.ledger.predict(built)
        previous_id = self.turns[-1].message_id if self.turns else None
        message = self.client.messages.create(
            **built.body, diagnostics={"previous_message_id": previous_id}
        )
        actual = Usage.from_api(message.usage)
        previous = self.turns[-1].built if self.turns else None
        why = explain(built, actual, plan, previous, self.ledger)
        self.ledger.record(built, actual)
        reason = message.diagnostics.cache_miss_reason if message.diagnostics else None
        turn = Turn(
            built, Usage.from_plan(plan, actual.output), actual, why, reason and reason.type
        )
        turn.message_id = message.id
        self.turns.append(turn)
        blocks = []
        for block in message.content:
            if block.type == "text" and block.text:
                blocks.append(TextBlock(block.text))
            elif block.type == "tool_use":
                blocks.append(ToolUseBlock.create(block.id, block.name, block.input))
        self.conversation.add("assistant", *blocks, created_at=self.now())
        return turn

    def ask(self, text: str, *attachments) -> Turn:
        self.conversation.add_user_text(text, *attachments, created_at=self.now())
        return self.send()
