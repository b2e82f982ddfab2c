"""A Messages API request seen as the service caches it: an ordered list of blocks.

Order is ``tools`` -> ``system`` -> ``messages``. Each block gets its token estimate, the running
total and a fingerprint of the whole prefix through it. ``cache_control`` is left out of every
hash (moving a breakpoint does not change the prefix), a plain string body counts as one text
block, and the settings that invalidate a whole level are folded into the chain where that level
starts: web search or citations at the system level, ``tool_choice`` and ``thinking`` at the
messages level.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from app.facts.tokens import (
    MESSAGE_OVERHEAD_TOKENS,
    TOOL_BLOCK_OVERHEAD_TOKENS,
    TOOL_USE_PREAMBLE_TOKENS,
    canonical_json,
    image_tokens,
    text_tokens,
    tool_definition_tokens,
)

LEVELS = ("tools", "system", "messages")
NOT_CARRIERS = frozenset({"thinking", "redacted_thinking"})

ImageSizer = Callable[[dict], tuple[int, int]]


@dataclass(frozen=True)
class BlockFacts:
    """What one block contributes, before it is placed in a prefix."""

    level: str
    path: str
    kind: str
    tokens: int
    digest: bytes
    ttl: str | None  # the breakpoint it carries, if any ("5m" or "1h")
    can_carry: bool
    message_index: int | None = None
    role: str | None = None


@dataclass(frozen=True)
class FlatBlock:
    index: int
    facts: BlockFacts
    cumulative: int  # tokens from the start of the request through this block
    fingerprint: str  # hash of the prefix through this block

    @property
    def path(self) -> str:
        return self.facts.path

    @property
    def tokens(self) -> int:
        return self.facts.tokens


@dataclass(frozen=True)
class FlatRequest:
    blocks: tuple[FlatBlock, ...]
    total_tokens: int
    level_contexts: dict[str, str]

    def first_index_of(self, level: str) -> int | None:
        for block in self.blocks:
            if block.facts.level == level:
                return block.index
        return None


def digest_of(kind_marker: str, payload: object) -> bytes:
    return hashlib.sha256((kind_marker + canonical_json(payload)).encode("utf-8")).digest()


def _strip_cc(block: dict) -> dict:
    return {k: v for k, v in block.items() if k != "cache_control"}


def ttl_of(block: dict) -> str | None:
    cc = block.get("cache_control")
    if not cc:
        return None
    return cc.get("ttl") or "5m"


def image_size_from_base64(block: dict) -> tuple[int, int]:
    """Width and height of an inline image, read from its header with Pillow."""
    from PIL import Image

    source = block.get("source") or {}
    if source.get("type") != "base64":
        return (0, 0)
    try:
        raw = base64.b64decode(source.get("data", ""), validate=True)
        with Image.open(io.BytesIO(raw)) as img:
            return img.size
    except (binascii.Error, ValueError, OSError):
        return (0, 0)


def content_tokens(block: dict, image_size: ImageSizer) -> int:
    kind = block.get("type")
    if kind == "text":
        return text_tokens(block.get("text", ""))
    if kind == "image":
        return image_tokens(*image_size(block))
    if kind == "tool_use" or kind == "server_tool_use":
        return (
            TOOL_BLOCK_OVERHEAD_TOKENS
            + text_tokens(block.get("name", ""))
            + text_tokens(canonical_json(block.get("input", {})))
        )
    if kind == "tool_result":
        content = block.get("content")
        if isinstance(content, str):
            inner = text_tokens(content)
        elif isinstance(content, list):
            inner = sum(content_tokens(part, image_size) for part in content)
        else:
            inner = 0
        return TOOL_BLOCK_OVERHEAD_TOKENS + inner
    if kind == "thinking":
        return text_tokens(block.get("thinking", ""))
    if kind == "redacted_thinking":
        return text_tokens(block.get("data", "")) // 4
    if kind == "document":
        source = block.get("source") or {}
        extra = text_tokens(block.get("title") or "") + text_tokens(block.get("context") or "")
        if source.get("type") == "text":
            return 10 + extra + text_tokens(source.get("data", ""))
        if source.get("type") == "content" and isinstance(source.get("content"), list):
            return 10 + extra + sum(content_tokens(p, image_size) for p in source["content"])
        # A PDF: a rough figure of one token per 8 characters of base64.
        return 10 + extra + len(source.get("data", "")) // 8
    return text_tokens(canonical_json(_strip_cc(block)))


def system_context(body: dict) -> dict:
    tools = body.get("tools") or []
    web_search = any(str(t.get("type", "")).startswith("web_search") for t in tools)
    citations = False
    for message in body.get("messages") or []:
        content = message.get("content")
        if isinstance(content, list):
            for block in content:
                if block.get("type") == "document" and (block.get("citations") or {}).get(
                    "enabled"
                ):
                    citations = True
    return {"web_search": web_search, "citations": citations}


def messages_context(body: dict) -> dict:
    return {"tool_choice": body.get("tool_choice"), "thinking": body.get("thinking")}


def as_blocks(content: object) -> list[dict]:
    """A ``system`` or message ``content`` as a list of blocks (a string is one text block)."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return list(content or [])


def tool_facts(tools: list[dict]) -> list[BlockFacts]:
    out = []
    for i, tool in enumerate(tools):
        tokens = tool_definition_tokens(tool) + (TOOL_USE_PREAMBLE_TOKENS if i == 0 else 0)
        out.append(
            BlockFacts(
                level="tools",
                path=f"tools.{i}",
                kind="tool",
                tokens=tokens,
                digest=digest_of("tool", _strip_cc(tool)),
                ttl=ttl_of(tool),
                can_carry=True,
            )
        )
    return out


def system_facts(system: object) -> list[BlockFacts]:
    blocks = as_blocks(system)
    plain = isinstance(system, str)
    out = []
    for i, block in enumerate(blocks):
        out.append(
            BlockFacts(
                level="system",
                path="system" if plain else f"system.{i}",
                kind="text",
                tokens=text_tokens(block.get("text", "")),
                digest=digest_of("system", _strip_cc(block)),
                ttl=ttl_of(block),
                can_carry=bool(block.get("text")),
            )
        )
    return out


def message_facts(
    index: int, message: dict, image_size: ImageSizer = image_size_from_base64
) -> list[BlockFacts]:
    role = message.get("role", "")
    content = message.get("content")
    plain = isinstance(content, str)
    out = []
    for j, block in enumerate(as_blocks(content)):
        kind = block.get("type", "")
        tokens = content_tokens(block, image_size) + (MESSAGE_OVERHEAD_TOKENS if j == 0 else 0)
        can_carry = kind not in NOT_CARRIERS and not (kind == "text" and not block.get("text"))
        out.append(
            BlockFacts(
                level="messages",
                path=f"messages.{index}.content" if plain else f"messages.{index}.content.{j}",
                kind=kind,
                tokens=tokens,
                digest=digest_of(f"{role}|{'new' if j == 0 else 'cont'}|", _strip_cc(block)),
                ttl=ttl_of(block),
                can_carry=can_carry,
                message_index=index,
                role=role,
            )
        )
    return out


def assemble(facts: Iterable[BlockFacts], system_ctx: dict, messages_ctx: dict) -> FlatRequest:
    """Place blocks in order, with running totals and prefix fingerprints."""
    contexts = {"system": canonical_json(system_ctx), "messages": canonical_json(messages_ctx)}
    state = hashlib.sha256(b"cachescope-prefix-v1").digest()
    level = "tools"
    cumulative = 0
    blocks: list[FlatBlock] = []
    for fact in facts:
        while LEVELS.index(level) < LEVELS.index(fact.level):
            level = LEVELS[LEVELS.index(level) + 1]
            state = hashlib.sha256(state + contexts[level].encode("utf-8")).digest()
        state = hashlib.sha256(state + fact.digest).digest()
        cumulative += fact.tokens
        blocks.append(FlatBlock(len(blocks), fact, cumulative, state.hex()[:32]))
    return FlatRequest(tuple(blocks), cumulative, contexts)


def flatten_request(body: dict, image_size: ImageSizer = image_size_from_base64) -> FlatRequest:
    """The blocks of a (valid) Messages API request body, in caching order."""
    facts: list[BlockFacts] = tool_facts(body.get("tools") or [])
    if body.get("system"):
        facts.extend(system_facts(body["system"]))
    for i, message in enumerate(body.get("messages") or []):
        facts.extend(message_facts(i, message, image_size))
    return assemble(facts, system_context(body), messages_context(body))
