"""A Messages API request seen as the service caches it: an ordered list of blocks.

Order is ``tools`` -> ``system`` -> ``messages``. Each block gets its token estimate, the running
total and a fingerprint of the whole prefix through it. ``cache_control`` is left out of every
hash (moving a breakpoint does not change the prefix), a plain string body counts as one text
block, and the settings that invalidate a whole level are folded into the chain where that level
starts (prompt-caching.md, "What invalidates the cache"): web search, citations and ``speed`` at
the system level; ``tool_choice``, whether the prompt holds any image, and the thinking and
effort configuration (compared with the model's defaults) at the messages level, or earlier on
models whose data says so. Token counts follow the model's tokenizer, and thinking blocks the
model drops from earlier turns count for nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from app.facts.catalogue import ModelInfo
from app.facts.documents import DOCUMENT_OVERHEAD_TOKENS, pdf_source_tokens
from app.facts.server_tools import ENCRYPTED_CARRIERS, server_result_tokens
from app.facts.thinking_signature import shown_thinking
from app.facts.tokens import (
    MESSAGE_OVERHEAD_TOKENS,
    SERVICE_MAX_IMAGE_TOKENS,
    TOOL_BLOCK_OVERHEAD_TOKENS,
    TOOL_USE_PREAMBLE_TOKENS,
    canonical_json,
    image_tokens,
    text_tokens,
    tool_definition_tokens,
)

LEVELS = ("tools", "system", "messages")
MESSAGE_SETTINGS = ("output_config", "clear_at")  # fields of a role "system" message
NOT_CARRIERS = frozenset({"thinking", "redacted_thinking"})
THINKING_KINDS = NOT_CARRIERS

ImageSizer = Callable[[dict], tuple[int, int]]
DocumentSizer = Callable[[dict], int]


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
    stripped: bool = False  # dropped by the service (earlier-turn thinking): no hash
    overhead: int = 0  # the message's own tokens, carried by its first block
    fixed: int = 0  # tokens already in the model's own count (the tool-use system prompt)


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


def _keyed(block: dict) -> dict:
    """A block as its bytes in the prompt: without ``cache_control``, and a tool call's
    ``input`` as the JSON it was sent in, keys in their order (prompt-caching.md,
    "Troubleshooting": tool_use keys in another order break the cache)."""
    out = _strip_cc(block)
    if out.get("type") == "thinking":  # the thinking its signature holds, not the field's text
        out["thinking"] = shown_thinking(out)
    if out.get("type") == "compaction":  # a field sent back as null is one not sent (the SDK
        out = {k: v for k, v in out.items() if v is not None}  # streams encrypted_content: null)
    if out.get("type") in ("tool_use", "server_tool_use") and "input" in out:
        out["input"] = json.dumps(out["input"], separators=(",", ":"), ensure_ascii=False)
    return out


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


def content_tokens(
    block: dict, image_size: ImageSizer, document_size: DocumentSizer = pdf_source_tokens
) -> int:
    kind = block.get("type")
    if kind == "text":
        return text_tokens(block.get("text", ""))
    if kind == "image":
        if (block.get("source") or {}).get("type") == "url":
            return SERVICE_MAX_IMAGE_TOKENS  # not fetched here: counted at the most it can be
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
            inner = sum(content_tokens(part, image_size, document_size) for part in content)
        else:
            inner = 0
        return TOOL_BLOCK_OVERHEAD_TOKENS + inner
    if kind == "thinking":
        return text_tokens(shown_thinking(block))
    if kind == "compaction":  # compaction.md: the summary stands for what came before it
        return text_tokens(str(block.get("content") or ""))
    if kind == "redacted_thinking":
        return text_tokens(block.get("data", "")) // 4
    if kind == "document":
        source = block.get("source") or {}
        extra = text_tokens(block.get("title") or "") + text_tokens(block.get("context") or "")
        if source.get("type") == "text":
            return DOCUMENT_OVERHEAD_TOKENS + extra + text_tokens(source.get("data", ""))
        if source.get("type") == "content" and isinstance(source.get("content"), list):
            inner = sum(content_tokens(p, image_size, document_size) for p in source["content"])
            return DOCUMENT_OVERHEAD_TOKENS + extra + inner
        return DOCUMENT_OVERHEAD_TOKENS + extra + document_size(block)
    if kind in ENCRYPTED_CARRIERS:
        return server_result_tokens(_strip_cc(block))
    return text_tokens(canonical_json(_strip_cc(block)))


def _has_image(content: object) -> bool:
    if isinstance(content, dict):
        if content.get("type") == "image":
            return True
        return any(_has_image(v) for k, v in content.items() if k in ("content", "source"))
    if isinstance(content, list):
        return any(_has_image(part) for part in content)
    return False


def thinking_key(thinking: dict | None, model: ModelInfo | None) -> dict | None:
    """The thinking configuration as the prompt renders it: None when it is the model's default.

    ``display`` only changes what the response shows, so it is left out (a choice: the docs
    name the mode and ``budget_tokens``)."""
    kind = (thinking or {}).get("type")
    default = model.thinking.default if model is not None and model.thinking else "disabled"
    if kind is None or kind == default:
        return None
    key = {"type": kind}
    if kind == "enabled":
        key["budget_tokens"] = thinking.get("budget_tokens")
    return key


def effort_key(output_config: dict | None, model: ModelInfo | None) -> str | None:
    """The effort as the prompt renders it: None when omitted or set to the model's default."""
    effort = (output_config or {}).get("effort")
    default = model.effort.default if model is not None and model.effort else "high"
    return None if effort is None or effort == default else effort


def request_contexts(
    body: dict, model: ModelInfo | None = None, has_images: bool | None = None
) -> dict[str, dict]:
    """The settings each level's cache depends on besides its blocks (prompt-caching.md, "What
    invalidates the cache"): folded into the prefix chain where that level starts.
    ``has_images`` spares a caller that knows it a walk over every message."""
    tools = body.get("tools") or []
    messages = body.get("messages") or []
    if has_images is None:
        has_images = any(_has_image(m.get("content")) for m in messages)
    web_search = any(str(t.get("type", "")).startswith("web_search") for t in tools)
    citations = any(
        block.get("type") == "document" and (block.get("citations") or {}).get("enabled")
        for message in messages
        for block in as_blocks(message.get("content"))
        if isinstance(block, dict)
    )
    speed = body.get("speed") if body.get("speed") == "fast" else None
    contexts: dict[str, dict] = {
        "tools": {},
        "system": {"web_search": web_search, "citations": citations, "speed": speed},
        "messages": {
            "tool_choice": body.get("tool_choice"),
            "images": has_images,
        },
    }
    fmt = output_format(body)
    if fmt is not None:  # structured-outputs.md: changing the format invalidates the cache
        contexts["messages"]["format"] = fmt
    rendered = {
        "thinking": thinking_key(body.get("thinking"), model),
        "effort": effort_key(body.get("output_config"), model),
    }
    levels = model.thinking_invalidates if model is not None else ("messages",)
    first = min((LEVELS.index(level) for level in levels), default=LEVELS.index("messages"))
    contexts[LEVELS[first]].update(rendered)
    return contexts


def output_format(body: dict) -> dict | None:
    """``output_config.format``, when the request asks for JSON outputs."""
    config = body.get("output_config")
    fmt = config.get("format") if isinstance(config, dict) else None
    return fmt if isinstance(fmt, dict) else None


def with_format_prompt(facts: list[BlockFacts], fmt: dict) -> list[BlockFacts]:
    """The system prompt the API adds to explain the expected format (structured-outputs.md,
    "Prompt modification and token costs"), counted as its schema's JSON, at the start of the
    messages it invalidates (a choice: the docs give no size)."""
    for i, fact in enumerate(facts):
        if fact.level == "messages" and not fact.stripped:
            facts[i] = replace(fact, fixed=fact.fixed + text_tokens(canonical_json(fmt)))
            break
    return facts


def stripped_thinking(
    turns: list[tuple[str, tuple[str, ...]]], model: ModelInfo | None, counting: bool = False
) -> frozenset[int]:
    """Indexes of the messages whose thinking blocks the service drops from the prompt, given
    each message's role and block kinds.

    Thinking before the last user turn that is not only tool results is dropped on models that
    keep the last turn only (thinking.md, "Thinking block preservation by model"), and by
    count_tokens on every model (token-counting.md)."""
    if not counting and (model is None or model.keeps_thinking):
        return frozenset()
    last_human = None
    for i, (role, kinds) in enumerate(turns):
        if role == "user" and (not kinds or any(k != "tool_result" for k in kinds)):
            last_human = i
    if last_human is None:
        return frozenset()
    return frozenset(range(last_human))


def as_blocks(content: object) -> list[dict]:
    """A ``system`` or message ``content`` as a list of blocks (a string is one text block)."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return list(content or [])


def tool_facts(tools: list[dict], preamble: int = TOOL_USE_PREAMBLE_TOKENS) -> list[BlockFacts]:
    """One block per tool the prompt holds; the first carries the tool-use system prompt
    (``preamble``: the model's own count, which its tokenizer does not scale again)."""
    out = []
    for i, tool in enumerate(tools):
        if isinstance(tool, dict) and tool.get("defer_loading") is True:
            continue  # stripped before the cache key is computed (tool-reference.md)
        out.append(
            BlockFacts(
                level="tools",
                path=f"tools.{i}",
                kind="tool",
                tokens=tool_definition_tokens(tool),
                fixed=0 if out else preamble,
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
    index: int,
    message: dict,
    image_size: ImageSizer = image_size_from_base64,
    document_size: DocumentSizer = pdf_source_tokens,
) -> list[BlockFacts]:
    role = message.get("role", "")
    content = message.get("content")
    plain = isinstance(content, str)
    out = []
    for j, block in enumerate(as_blocks(content)):
        kind = block.get("type", "")
        overhead = MESSAGE_OVERHEAD_TOKENS if j == 0 else 0
        tokens = content_tokens(block, image_size, document_size) + overhead
        can_carry = kind not in NOT_CARRIERS and not (kind == "text" and not block.get("text"))
        out.append(
            BlockFacts(
                level="messages",
                path=f"messages.{index}.content" if plain else f"messages.{index}.content.{j}",
                kind=kind,
                tokens=tokens,
                digest=digest_of(f"{role}|{'cont' if j else 'new'}|", _keyed(block)),
                ttl=ttl_of(block),
                can_carry=can_carry,
                message_index=index,
                role=role,
                overhead=overhead,
            )
        )
    settings = {k: message[k] for k in MESSAGE_SETTINGS if message.get(k) is not None}
    if settings:  # a system message's per-turn output_config / clear_at: after its content
        overhead = 0 if out else MESSAGE_OVERHEAD_TOKENS
        out.append(
            BlockFacts(
                level="messages",
                path=f"messages.{index}",
                kind="message_settings",
                tokens=overhead,
                digest=digest_of(f"{role}|{'cont' if out else 'new'}|", settings),
                ttl=None,
                can_carry=False,
                message_index=index,
                role=role,
                overhead=overhead,
            )
        )
    return out


def strip(facts: Iterable[BlockFacts], messages: frozenset[int]) -> list[BlockFacts]:
    """Mark the thinking blocks of these messages as dropped by the service."""
    return [
        replace(f, stripped=True) if f.kind in THINKING_KINDS and f.message_index in messages else f
        for f in facts
    ]


def counted_tokens(fact: BlockFacts, token_scale: float) -> int:
    """What a block adds to the prompt under a tokenizer: images are counted by pixels, not by
    the tokenizer; a stripped block adds nothing."""
    if fact.stripped:
        return fact.overhead  # the message is still there, without its thinking
    if token_scale == 1.0 or fact.kind == "image":
        return fact.tokens + fact.fixed
    return math.ceil(fact.tokens * token_scale) + fact.fixed


def assemble(
    facts: Iterable[BlockFacts], contexts: dict[str, dict], token_scale: float = 1.0
) -> FlatRequest:
    """Place blocks in order, with running totals and prefix fingerprints.

    ``token_scale`` is the model's tokenizer against the base estimate (images are counted by
    pixels, not by the tokenizer). A stripped block adds no tokens and leaves the chain as it
    was, as if it had never been sent."""
    texts = {level: canonical_json(contexts.get(level, {})) for level in LEVELS}
    state = hashlib.sha256(b"cachescope-prefix-v2" + texts["tools"].encode("utf-8")).digest()
    level = "tools"
    cumulative = 0
    blocks: list[FlatBlock] = []
    for fact in facts:
        while LEVELS.index(level) < LEVELS.index(fact.level):
            level = LEVELS[LEVELS.index(level) + 1]
            state = hashlib.sha256(state + texts[level].encode("utf-8")).digest()
        tokens = counted_tokens(fact, token_scale)
        if tokens != fact.tokens or fact.fixed:
            fact = replace(fact, tokens=tokens, fixed=0)
        if not fact.stripped:
            state = hashlib.sha256(state + fact.digest).digest()
        cumulative += fact.tokens
        blocks.append(FlatBlock(len(blocks), fact, cumulative, state.hex()[:32]))
    return FlatRequest(tuple(blocks), cumulative, texts)


def with_thinking_prompt(facts: list[BlockFacts], model: ModelInfo) -> list[BlockFacts]:
    """Manual extended thinking adds the model's ``thinking_prompt_tokens`` to the prompt
    (token-counting.md, "Count tokens in messages with thinking": 88 tokens, where the same
    messages without it count 56 here), at the first level a thinking change invalidates."""
    first = min(LEVELS.index(level) for level in model.thinking_invalidates or ("messages",))
    for i, fact in enumerate(facts):
        if LEVELS.index(fact.level) >= first and not fact.stripped:
            facts[i] = replace(fact, fixed=fact.fixed + model.thinking_prompt_tokens)
            break
    return facts


def flatten_request(
    body: dict,
    image_size: ImageSizer = image_size_from_base64,
    model: ModelInfo | None = None,
    document_size: DocumentSizer = pdf_source_tokens,
    counting: bool = False,
) -> FlatRequest:
    """The blocks of a (valid) Messages API request body, in caching order, as ``model``
    renders it (tokenizer, thinking and effort defaults, thinking kept or dropped)."""
    preamble = model.tool_prompt(body.get("tool_choice")) if model else TOOL_USE_PREAMBLE_TOKENS
    facts: list[BlockFacts] = tool_facts(body.get("tools") or [], preamble)
    if body.get("system"):
        facts.extend(system_facts(body["system"]))
    messages = body.get("messages") or []
    for i, message in enumerate(messages):
        facts.extend(message_facts(i, message, image_size, document_size))
    turns = [
        (m.get("role", ""), tuple(b.get("type", "") for b in as_blocks(m.get("content"))))
        for m in messages
    ]
    facts = strip(facts, stripped_thinking(turns, model, counting))
    if model is not None and (body.get("thinking") or {}).get("type") == "enabled":
        facts = with_thinking_prompt(facts, model)
    if output_format(body) is not None:
        facts = with_format_prompt(facts, output_format(body))
    scale = model.token_scale if model is not None else 1.0
    return assemble(facts, request_contexts(body, model), scale)
