"""The policies a session is replayed under: what each tool really sends, and Cachescope's engine.

Every anchor builds the same conversation with the app's request builder (no breakpoints) and
then places ``cache_control`` where that tool does:

- ``none``: nothing.
- ``automatic``: the API's top-level ``cache_control`` (prompt-caching.md, "Automatic caching";
  lm-deluge 0.0.168 ``automatic``).
- ``last_user_message``: lm-deluge 0.0.168's pattern of that name: the last block of the last
  message whose role is user (../shared/reference/peers.md).
- ``claude_code``: a breakpoint on the system prompt and one moving marker on the last block of
  the request (peers.md: "fixed layer order, one moving marker at the end").
- ``cookbook``: Anthropic's speculative prompt caching notebook (claude-cookbooks,
  misc/speculative_prompt_caching.ipynb): when the user starts typing, ``sample_one_token`` sends
  the context with ``max_tokens=1`` and a breakpoint on its last block; at send it awaits that
  task and sends the context (breakpoint kept) with the question appended.
- ``aider_keepalive``: aider's ``ChatChunks.add_cache_control_headers`` (aider/coders/
  chat_chunks.py) marks the end of the system prompt, of the read-only files and of the chat
  files, never the chat history; ``--cache-keepalive-pings 3`` makes ``Coder.warm_cache``
  (aider/coders/base_coder.py) re-send ``cacheable_messages()`` (the messages up to the last
  marked one) with ``max_tokens=1`` 295 s after each send and after each ping, three times.
  The files are the trace's attachments here (aider sends them before the history; the trace
  keeps them where the user attached them, as every policy must send the same conversation).
- ``cachescope``: the app's engine with the settings a new install starts with, driven through
  the window's controller (``app.replay.ours``).

Warm-up tails are the same one-character user turn Cachescope uses (a request needs a user turn
after the context; the cookbook's context is itself a user message).
"""

from __future__ import annotations

import asyncio
import copy

from app.conversation.blocks import Message, TextBlock
from app.conversation.conversation import attachment_block
from app.replay.actor import EPOCH, Actor
from app.replay.ours import Cachescope, Cachescope1h, Cachescope5m

__all__ = ["ANCHORS", "EPOCH", "LABELS", "POLICIES", "TTL_CHOICES", "Actor", "Cachescope"]

EPHEMERAL = {"type": "ephemeral"}
AIDER_DELAY_S = 5 * 60 - 5
AIDER_PINGS = 3


def _last_block(message: dict) -> dict:
    return message["content"][-1]


class Automatic(Actor):
    def body(self, body):
        body["cache_control"] = dict(EPHEMERAL)
        return body


class LastUserMessage(Actor):
    def body(self, body):
        users = [m for m in body["messages"] if m["role"] == "user"]
        _last_block(users[-1])["cache_control"] = dict(EPHEMERAL)
        return body


class ClaudeCode(Actor):
    def body(self, body):
        if body.get("system"):
            body["system"][-1]["cache_control"] = dict(EPHEMERAL)
        _last_block(body["messages"][-1])["cache_control"] = dict(EPHEMERAL)
        return body


def _tail_message(items) -> Message:
    blocks = (*[attachment_block(a) for a in items], TextBlock("."))
    return Message("user", blocks, "warm-tail", 0.0)


def _mark_context_end(body: dict, context_blocks: int) -> None:
    """A breakpoint on the last block of the context: everything before the last user turn's
    text (its attachments included), or the system prompt when there is nothing else."""
    flat = [b for m in body["messages"] for b in m["content"]]
    if context_blocks > 0:
        flat[context_blocks - 1]["cache_control"] = dict(EPHEMERAL)
    elif body.get("system"):
        body["system"][-1]["cache_control"] = dict(EPHEMERAL)


class Cookbook(Actor):
    def __init__(self, *args):
        super().__init__(*args)
        self.warming: asyncio.Task | None = None
        self.context = 0  # blocks before the question of the send being made

    def _context_blocks(self) -> int:
        blocks = sum(len(m.blocks) for m in self.conv.messages)
        return blocks + len(self.items)

    async def typing(self, seconds: float, text: str = "") -> None:
        body = self.plain(self.conv, _tail_message(self.items))
        _mark_context_end(body, self._context_blocks())
        body["max_tokens"] = 1
        self.warming = asyncio.ensure_future(self.client.messages.create(**body))
        await asyncio.sleep(seconds)

    async def send(self, text: str) -> float | None:
        await self._await_warming()
        self.context = self._context_blocks()
        return await super().send(text)

    async def regenerate(self, asked: tuple[Message, ...]) -> float | None:
        await self._await_warming()
        self.context = sum(len(m.blocks) for m in asked) - 1  # all but the question
        return await super().regenerate(asked)

    async def _await_warming(self) -> None:
        if self.warming is not None:  # the notebook awaits its warming task before sending
            try:
                await self.warming
            except Exception as exc:  # noqa: BLE001 - a failed warm-up is reported, not fatal
                self.failures.append(f"warm-up: {exc}")
            self.warming = None

    def body(self, body):
        _mark_context_end(body, self.context)
        return body


class AiderKeepalive(Actor):
    def __init__(self, *args):
        super().__init__(*args)
        self.pinger: asyncio.Task | None = None
        self.pings: dict | None = None

    def body(self, body):
        if body.get("system"):
            body["system"][-1]["cache_control"] = dict(EPHEMERAL)
        last_file = None
        for m, message in enumerate(body["messages"]):
            for b, block in enumerate(message["content"]):
                if block["type"] in ("image", "document"):
                    last_file = (m, b)
        if last_file is not None:
            body["messages"][last_file[0]]["content"][last_file[1]]["cache_control"] = dict(
                EPHEMERAL
            )
        return body

    def sent(self, body):
        """warm_cache: three pings of the cacheable messages, 295 s apart, from this send."""
        marked = [
            i
            for i, m in enumerate(body["messages"])
            if any("cache_control" in b for b in m["content"])
        ]
        ping = copy.deepcopy(body)
        ping["messages"] = ping["messages"][: marked[-1] + 1] if marked else []
        if not ping["messages"] or ping["messages"][-1]["role"] != "user":
            ping["messages"].append({"role": "user", "content": [{"type": "text", "text": "."}]})
        ping["max_tokens"] = 1
        if self.pinger is not None:
            self.pinger.cancel()
        self.pinger = asyncio.ensure_future(self._ping(ping))

    async def _ping(self, body: dict) -> None:
        for _ in range(AIDER_PINGS):
            await asyncio.sleep(AIDER_DELAY_S)
            try:
                await self.client.messages.create(**body)
            except Exception as exc:  # noqa: BLE001 - aider warns and goes on
                self.failures.append(f"ping: {exc}")

    async def _ask(self) -> float | None:
        if self.pinger is not None:
            self.pinger.cancel()
        return await super()._ask()

    async def close(self) -> None:
        if self.pinger is not None:
            self.pinger.cancel()


POLICIES: dict[str, type[Actor]] = {
    "none": Actor,
    "automatic": Automatic,
    "last_user_message": LastUserMessage,
    "claude_code": ClaudeCode,
    "cookbook": Cookbook,
    "aider_keepalive": AiderKeepalive,
    "cachescope": Cachescope,
}
ANCHORS = tuple(p for p in POLICIES if p != "cachescope")
# Cachescope at each TTL choice: for "what would it have cost", not the benchmark's columns.
TTL_CHOICES: dict[str, type[Actor]] = {"cachescope_5m": Cachescope5m, "cachescope_1h": Cachescope1h}
LABELS = {
    "none": "No caching",
    "automatic": "Automatic (top-level cache_control)",
    "last_user_message": "lm-deluge: last user message",
    "claude_code": "Claude Code's layout",
    "cookbook": "Cookbook: warm while typing",
    "aider_keepalive": "aider with keep-alive pings",
    "cachescope": "Cachescope, your settings",
    "cachescope_5m": "Cachescope, 5m TTL",
    "cachescope_1h": "Cachescope, 1h TTL",
}
