"""What one client does at each event of a trace (``app.replay.runner`` calls it): the base every
policy builds on. It keeps the conversation the client sends, what the user attached since the
last send, and each send's request, usage and time."""

from __future__ import annotations

import asyncio
import copy

from app.caching.builder import RequestBuilder
from app.caching.ledger import Usage
from app.conversation.blocks import Message
from app.conversation.conversation import Conversation
from app.engine.responses import blocks_of

EPOCH = 1.8e9  # the replay's wall clock at simulated time 0


def attachments_of(message: Message) -> list:
    """The images and documents a user message carries (what an edit puts back in the draft)."""
    found = (getattr(b, "image", None) or getattr(b, "document", None) for b in message.blocks)
    return [item for item in found if item is not None]


def last_user_index(messages) -> int:
    return max(i for i, m in enumerate(messages) if m.role == "user")


class Actor:
    """Sends with no breakpoint; subclasses say where breakpoints go and what happens while the
    user types. Between sends the runner may move the conversation to another point of its
    history (``prepare``: an edit begun, a branch switched to) before the user types."""

    def __init__(self, client, conversation: Conversation, loop):
        self.client = client
        self.conv = conversation
        self.loop = loop
        self.items: list = []  # attached since the last send
        self.builder = RequestBuilder()
        self.failures: list[str] = []
        self.last_body: dict = {}  # the last send's request, as sent
        self.sent_usage: list[Usage] = []  # each send's usage, as billed
        self.sent_at: list[float] = []  # each send's simulated time (the user's click)

    def clock(self) -> float:
        return EPOCH + self.loop.time()

    # -- events ---------------------------------------------------------------------------------
    async def attach(self, item) -> None:
        self.items.append(item)

    async def typing(self, seconds: float, text: str = "") -> None:
        """The user types ``text`` (the message they will send) over ``seconds``."""
        await asyncio.sleep(seconds)

    def set_system(self, text: str) -> None:
        self.conv.set_system_text(text)

    async def prepare(self, base: tuple[Message, ...], keep_attachments: bool) -> None:
        """Before the user types: the next message will follow ``base`` (messages of this
        conversation, as it went). A message of the user after it is being edited (with
        ``keep_attachments`` its attachments stay in the draft)."""
        if list(base) == self.conv.messages:
            return
        replaced = self.conv.messages[len(base)] if self._extends(base) else None
        if keep_attachments and replaced is not None:
            self.items = attachments_of(replaced) + self.items
        self.conv.messages = list(base)

    def _extends(self, base: tuple[Message, ...]) -> bool:
        shown = self.conv.messages
        return len(shown) > len(base) and all(a is b for a, b in zip(base, shown, strict=False))

    async def send(self, text: str) -> float | None:
        """Send; returns the simulated time of the first token."""
        self.conv.add_user_text(text, *self.items, created_at=self.clock())
        self.items = []
        return await self._ask()

    async def regenerate(self, asked: tuple[Message, ...]) -> float | None:
        """Answer again the last message of ``asked`` (the conversation up to it)."""
        self.conv.messages = list(asked)
        return await self._ask()

    async def _ask(self) -> float | None:
        self.sent_at.append(self.loop.time())
        body = self.body(self.plain(self.conv))
        first = None
        async with self.client.messages.stream(**body) as stream:
            async for event in stream:
                if event.type == "content_block_delta" and first is None:
                    first = self.loop.time()
            final = await stream.get_final_message()
        self.conv.add("assistant", *blocks_of(final.content), created_at=self.clock())
        self.sent_usage.append(Usage.from_api(final.usage))
        self.last_body = body
        self.sent(body)
        return first

    async def close(self) -> None:
        pass

    def spending(self):
        """What this policy's own requests were for (``app.replay.spending.Spending``), when it
        keeps such an account (Cachescope's engine does); None otherwise."""
        return None

    # -- requests -------------------------------------------------------------------------------
    def plain(self, conv: Conversation, tail: Message | None = None) -> dict:
        built = self.builder.build(conv, "none", max_tokens=None, extra_user=tail)
        return copy.deepcopy(built.body)

    def body(self, body: dict) -> dict:
        return body

    def sent(self, body: dict) -> None:
        pass
