"""A conversation: system prompt, tools, request settings and messages of immutable blocks.

Messages are replaced, never changed in place, so everything derived from a message (its API
form, its token facts, its serialized JSON) can be cached once and reused on every send.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from app.conversation.blocks import (
    Block,
    DocumentBlock,
    ImageBlock,
    Message,
    RawBlock,
    TextBlock,
    ThinkingBlock,
    ToolDefinition,
    ToolResultBlock,
    ToolUseBlock,
)
from app.conversation.documents import LockedDocument
from app.conversation.images import LockedImage
from app.facts.tokens import canonical_json

FORMAT_VERSION = 1


def new_id(prefix: str = "m") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


@dataclass(frozen=True)
class ConversationHeader:
    """What the history keeps of a conversation besides its messages, fixed at one moment (so
    another thread may save it while the conversation goes on changing)."""

    id: str
    title: str
    model: str
    meta_json: str


@dataclass(frozen=True)
class Branch:
    """Messages that once followed the message ``parent`` ("" for the start) and were replaced
    (edit and resend, regenerate): kept, to switch back to. Everything up to ``parent`` is the
    same prefix in both, so a switch can read it from the cache."""

    parent: str
    messages: tuple[Message, ...]


@dataclass
class Conversation:
    model: str
    system: tuple[TextBlock, ...] = ()
    tools: tuple[ToolDefinition, ...] = ()
    messages: list[Message] = field(default_factory=list)
    tool_choice: dict | None = None
    thinking: dict | None = None
    effort: str | None = None  # output_config.effort; None: the model's default
    # An effort for each turn from here on, sent as a system message's output_config after each
    # user turn (per-message effort) so that the cached prefix, written at ``effort``, stays.
    turn_effort: str | None = None
    server_tools: tuple[str, ...] = ()  # "web_search", "web_fetch" (definitions: app.facts)
    max_tokens: int = 1024
    title: str = ""
    id: str = field(default_factory=lambda: new_id("c"))
    # An instruction (text, tool changes) waiting for the next user turn: a mid-conversation
    # system message must follow a user turn, so it is sent right after the next one.
    pending: tuple[Block, ...] = ()
    pattern: str | None = None  # this conversation's cache pattern; None: the default
    ttl: str | None = None  # and its TTL
    # Whether it warms while the user types, and how many keep-alive pings may follow a reply;
    # None: the user's (every conversation's). Set when "Use ..." follows a replayed policy.
    warming: bool | None = None
    keepalive_pings: int | None = None
    branches: list[Branch] = field(default_factory=list)  # the paths not on screen
    # What the API may clear from this conversation's requests (context-editing.md): "tool_results"
    # and "thinking"; none by default (docs/choices.md).
    context_editing: tuple[str, ...] = ()

    # -- editing --------------------------------------------------------------------------------
    def add(self, role: str, *blocks: Block, created_at: float | None = None) -> Message:
        message = Message(role, tuple(blocks), new_id(), created_at or time.time())
        self.messages.append(message)
        return message

    def add_user_text(
        self,
        text: str,
        *attachments: Block | LockedImage | LockedDocument,
        created_at: float | None = None,
    ) -> Message:
        """A user turn: attachments first (images and documents as locked bytes), then the text."""
        parts = tuple(attachment_block(a) for a in attachments)
        blocks = (*parts, TextBlock(text)) if text else parts
        message = self.add("user", *blocks, created_at=created_at)
        if self.pending:
            self.add("system", *self.pending, created_at=created_at)
            self.pending = ()
        if self.turn_effort is not None:
            self.messages.append(turn_effort_message(self.turn_effort, created_at))
        return message

    def replace_message(self, index: int, message: Message) -> None:
        self.messages[index] = message

    def set_pinned(self, index: int, pinned: bool) -> None:
        self.messages[index] = replace(self.messages[index], pinned=pinned)

    def truncate(self, length: int) -> list[Message]:
        """Drop messages from ``length`` on; returns what was dropped."""
        dropped = self.messages[length:]
        del self.messages[length:]
        return dropped

    # -- branches -------------------------------------------------------------------------------
    def parent_of(self, index: int) -> str:
        """The id of the message before position ``index`` ("" at the start)."""
        return self.messages[index - 1].id if index > 0 else ""

    def fork(self, index: int) -> list[Message]:
        """Replace everything from ``index`` on (edit and resend, regenerate), keeping it as a
        branch to switch back to; returns what left the screen."""
        parent = self.parent_of(index)
        dropped = self.truncate(index)
        if dropped:
            self.branches.append(Branch(parent, tuple(dropped)))
        return dropped

    def alternatives(self, index: int) -> list[tuple[Message, ...]]:
        """The paths that differ from position ``index`` on, oldest first: the one on screen
        and each kept branch forked there."""
        parent = self.parent_of(index)
        paths = [tuple(self.messages[index:])]
        paths += [b.messages for b in self.branches if b.parent == parent]
        return sorted((p for p in paths if p), key=lambda p: p[0].created_at)

    def shown_among(self, index: int, paths: list[tuple[Message, ...]]) -> int:
        """Which of ``paths`` (``alternatives(index)``) is the one on screen."""
        return next(i for i, p in enumerate(paths) if p[0] is self.messages[index])

    def switch(self, index: int, path: tuple[Message, ...]) -> None:
        """Put ``path`` (one of ``alternatives(index)``) on screen from ``index`` on; the path
        it replaces becomes a branch."""
        parent = self.parent_of(index)
        kept = next(b for b in self.branches if b.parent == parent and b.messages is path)
        self.branches.remove(kept)
        self.fork(index)
        self.messages.extend(path)

    def add_instruction(self, *blocks: Block) -> Message:
        """A mid-conversation ``role: "system"`` message (instruction text or tool changes)."""
        return self.add("system", *blocks)

    def withdrawn_tools(self) -> set[str]:
        """Tools declared in ``tools`` but withdrawn by a ``tool_removal`` (sent or pending)
        and not offered again since."""
        out: set[str] = set()
        system = [m.blocks for m in self.messages if m.role == "system"] + [self.pending]
        for blocks in system:
            for block in blocks:
                if isinstance(block, RawBlock) and block.kind in ("tool_addition", "tool_removal"):
                    name = (block.data.get("tool") or {}).get("name", "")
                    (out.add if block.kind == "tool_removal" else out.discard)(name)
        return out

    def set_system_text(self, text: str) -> None:
        self.system = (TextBlock(text),) if text else ()

    @property
    def system_text(self) -> str:
        return "\n".join(b.text for b in self.system)

    def images(self) -> list[LockedImage]:
        out = []
        for message in self.messages:
            for block in message.blocks:
                if isinstance(block, ImageBlock):
                    out.append(block.image)
                elif isinstance(block, ToolResultBlock):
                    out.extend(p.image for p in block.content if isinstance(p, ImageBlock))
        return out

    # -- save / load ----------------------------------------------------------------------------
    def to_dict(self, images: dict[str, str] | None = None) -> dict[str, Any]:
        """A complete JSON-able form; images and documents go by sha256 into ``images``
        (sha -> base64)."""
        found: dict[str, LockedImage | LockedDocument] = {}
        data = {
            **self.meta_dict(),
            "messages": [_message_to_dict(m, found) for m in self.messages],
        }
        for branch in self.branches:  # their attachments travel too
            for message in branch.messages:
                _message_to_dict(message, found)
        encoded = {sha: base64.b64encode(item.data).decode("ascii") for sha, item in found.items()}
        if images is None:
            data["images"] = encoded
        else:
            images.update(encoded)
        return data

    def meta_dict(self) -> dict[str, Any]:
        """Everything but the messages: id, title, model, system prompt, tools, settings."""
        return {
            "format": FORMAT_VERSION,
            "id": self.id,
            "title": self.title,
            "model": self.model,
            "max_tokens": self.max_tokens,
            "system": [b.text for b in self.system],
            "tools": [
                {"name": t.name, "description": t.description, "input_schema": t.input_schema_json}
                for t in self.tools
            ],
            "tool_choice": self.tool_choice,
            "thinking": self.thinking,
            "effort": self.effort,
            "turn_effort": self.turn_effort,
            "server_tools": list(self.server_tools),
            "pending": [_block_to_dict(b, {}) for b in self.pending],
            "pattern": self.pattern,
            "ttl": self.ttl,
            "context_editing": list(self.context_editing),
            "warming": self.warming,
            "keepalive_pings": self.keepalive_pings,
            # Attachments go by hash: the history's image table and an export's images hold them.
            "branches": [
                {"parent": b.parent, "messages": [_message_to_dict(m, {}) for m in b.messages]}
                for b in self.branches
            ],
        }

    def header(self) -> ConversationHeader:
        return ConversationHeader(self.id, self.title, self.model, json.dumps(self.meta_dict()))

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], images: dict[str, bytes] | None = None
    ) -> Conversation:
        if data.get("format") != FORMAT_VERSION:
            raise ValueError(f"unsupported conversation format {data.get('format')!r}")
        pool: dict[str, bytes] = dict(images or {})
        loaded: dict[str, LockedImage] = {}
        for sha, b64 in _typed(data.get("images") or {}, dict, "images").items():
            pool[sha] = base64.b64decode(_typed(b64, str, "an image"))
        return cls(
            model=_typed(data["model"], str, "model"),
            system=tuple(TextBlock(_typed(t, str, "system")) for t in _list(data, "system")),
            tools=tuple(
                ToolDefinition(
                    _typed(t["name"], str, "a tool name"),
                    _typed(t["description"], str, "a tool description"),
                    _schema_json(t["input_schema"]),
                )
                for t in _list(data, "tools")
            ),
            messages=_distinct_ids(
                [_message_from_dict(m, pool, loaded) for m in _list(data, "messages")]
            ),
            tool_choice=_typed(data.get("tool_choice"), dict | None, "tool_choice"),
            thinking=_typed(data.get("thinking"), dict | None, "thinking"),
            effort=_typed(data.get("effort"), str | None, "effort"),
            turn_effort=_typed(data.get("turn_effort"), str | None, "turn_effort"),
            server_tools=tuple(
                _typed(t, str, "a server tool") for t in _list(data, "server_tools")
            ),
            pending=tuple(_block_from_dict(b, {}, {}) for b in _list(data, "pending")),
            max_tokens=_typed(data.get("max_tokens", 1024), int, "max_tokens"),
            title=_typed(data.get("title", ""), str, "title"),
            id=_typed(data.get("id") or new_id("c"), str, "id"),
            branches=[
                Branch(
                    _typed(b.get("parent", ""), str, "a branch's parent"),
                    tuple(_message_from_dict(m, pool, loaded) for m in _list(b, "messages")),
                )
                for b in _list(data, "branches")
                if _typed(b, dict, "a branch")
            ],
            pattern=_typed(data.get("pattern"), str | None, "pattern"),
            ttl=_typed(data.get("ttl"), str | None, "ttl"),
            context_editing=tuple(
                _typed(k, str, "a context edit") for k in _list(data, "context_editing")
            ),
            warming=_typed(data.get("warming"), bool | None, "warming"),
            keepalive_pings=_typed(data.get("keepalive_pings"), int | None, "keepalive_pings"),
        )


def _distinct_ids(messages: list[Message]) -> list[Message]:
    """Messages whose ids repeat (a hand-edited or hostile export) get new ids after the first:
    an id is a message's key in the history, and a repeated one would drop a message there."""
    seen: set[str] = set()
    out = []
    for message in messages:
        if message.id in seen:
            message = replace(message, id=new_id())
        seen.add(message.id)
        out.append(message)
    return out


def message_to_dict(message: Message) -> tuple[dict, dict[str, LockedImage]]:
    """A message's JSON-able form, and the images it refers to by sha256."""
    found: dict[str, LockedImage] = {}
    return _message_to_dict(message, found), found


def message_from_dict(
    data: dict, images: dict[str, bytes], loaded: dict[str, LockedImage] | None = None
) -> Message:
    """The inverse; ``loaded`` shares one image object between messages that show it."""
    return _message_from_dict(data, images, {} if loaded is None else loaded)


def attachment_block(item) -> Block:
    """The block that carries a locked image or document (blocks pass through)."""
    if isinstance(item, LockedImage):
        return ImageBlock(item)
    if isinstance(item, LockedDocument):
        return DocumentBlock(item)
    return item


def message_images(data: dict) -> list[str]:
    """The sha256 of every stored attachment (image or document) a message's dict refers to."""
    out = []
    for block in data.get("blocks", []):
        if block.get("type") in ("image", "document"):
            out.append(block["sha256"])
        for part in block.get("content", []) if block.get("type") == "tool_result" else []:
            if part.get("type") == "image":
                out.append(part["sha256"])
    return out


def _schema_json(value) -> str:
    """A stored tool schema: canonical JSON text (older files may hold the object itself)."""
    if isinstance(value, dict):
        return canonical_json(value)
    return _typed(value, str, "a tool schema")


def _block_to_dict(block: Block, store: dict[str, LockedImage]) -> dict:
    if isinstance(block, TextBlock):
        if block.citations_json:
            return {"type": "text", "text": block.text, "citations": block.citations_json}
        return {"type": "text", "text": block.text}
    if isinstance(block, RawBlock):
        return {"type": "raw", "kind": block.kind, "json": block.json_text}
    if isinstance(block, ImageBlock | DocumentBlock):
        item, name = (
            (block.image, block.image.source_name)
            if isinstance(block, ImageBlock)
            else (block.document, block.document.name)
        )
        store.setdefault(item.sha256, item)  # stored once, by hash (see _pooled)
        out = {"type": block.kind, "sha256": item.sha256, "media_type": item.media_type}
        out["name"] = name
        if isinstance(block, DocumentBlock) and block.file_id:
            out["file_id"] = block.file_id
        return out
    if isinstance(block, ToolUseBlock):
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input_json}
    if isinstance(block, ToolResultBlock):
        return {
            "type": "tool_result",
            "tool_use_id": block.tool_use_id,
            "is_error": block.is_error,
            "content": [_block_to_dict(p, store) for p in block.content],
        }
    if isinstance(block, ThinkingBlock):
        return {"type": "thinking", "thinking": block.thinking, "signature": block.signature}
    raise TypeError(f"unknown block {block!r}")


def _block_from_dict(data: dict, pool: dict[str, bytes], loaded: dict[str, LockedImage]) -> Block:
    kind = data["type"]
    if kind == "text":
        citations = _typed(data.get("citations", ""), str, "citations")
        return TextBlock(_typed(data["text"], str, "a text"), citations)
    if kind == "raw":
        return RawBlock(
            _typed(data["kind"], str, "a block kind"), _typed(data["json"], str, "a block")
        )
    if kind == "image":
        return ImageBlock(_pooled("image", LockedImage.from_bytes, data, pool, loaded))
    if kind == "document":
        document = _pooled("document", LockedDocument.from_bytes, data, pool, loaded)
        return DocumentBlock(document, _typed(data.get("file_id", ""), str, "a file id"))
    if kind == "tool_use":
        return ToolUseBlock(
            _typed(data["id"], str, "a tool call id"),
            _typed(data["name"], str, "a tool name"),
            _typed(data["input"], str, "a tool input"),
        )
    if kind == "tool_result":
        parts = (_typed(p, dict, "a result block") for p in _list(data, "content"))
        content = tuple(_block_from_dict(p, pool, loaded) for p in parts)
        return ToolResultBlock(
            _typed(data["tool_use_id"], str, "a tool result id"),
            content,
            bool(data.get("is_error")),
        )
    if kind == "thinking":
        return ThinkingBlock(
            _typed(data["thinking"], str, "a thinking text"),
            _typed(data["signature"], str, "a signature"),
        )
    raise ValueError(f"unknown block type {kind!r}")


def _pooled(what: str, make, data: dict, pool: dict[str, bytes], loaded: dict):
    """A stored attachment (image or document) by hash: checked against its bytes, re-created
    with ``make(bytes, media_type, name)`` once, and shared by every message that shows it."""
    sha = _typed(data["sha256"], str, f"the {what}'s hash")
    item = loaded.get(sha)
    if item is None:
        if sha not in pool:
            raise ValueError(f"{what} {sha[:12]} is missing from the saved conversation")
        if hashlib.sha256(pool[sha]).hexdigest() != sha:
            raise ValueError(f"{what} {sha[:12]} is damaged (its bytes do not match)")
        media = _typed(data["media_type"], str, f"the {what}'s type")
        name = _typed(data.get("name", ""), str, f"the {what}'s name")
        try:
            item = make(pool[sha], media, name)
        except ValueError as exc:  # damaged, mislabelled or over the API's limits
            raise ValueError(f"{what} {sha[:12]}: {exc}") from None
        loaded[sha] = item
    return item


def _message_to_dict(message: Message, store: dict[str, LockedImage]) -> dict:
    return {
        "id": message.id,
        "role": message.role,
        "created_at": message.created_at,
        "pinned": message.pinned,
        "interrupted": message.interrupted,
        "effort": message.effort,
        "blocks": [_block_to_dict(b, store) for b in message.blocks],
    }


def turn_effort_message(effort: str, created_at: float | None = None) -> Message:
    """The system message that sets this turn's effort without touching the cached prefix."""
    return Message("system", (), new_id(), created_at or time.time(), effort=effort)


def _typed(value, kind, what: str):
    """``value`` if it is of ``kind``; else the ValueError a damaged file deserves."""
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"{what} is not what it should be ({type(value).__name__})")
    return value


def _list(data: dict, key: str) -> list:
    return _typed(data.get(key, []), list, key)


def _message_from_dict(data: dict, pool: dict[str, bytes], loaded: dict) -> Message:
    _typed(data, dict, "a message")
    if data["role"] not in ("user", "assistant", "system"):
        raise ValueError(f"a message's role is {data['role']!r}")
    return Message(
        role=data["role"],
        blocks=tuple(
            _block_from_dict(_typed(b, dict, "a block"), pool, loaded)
            for b in _list(data, "blocks")
        ),
        id=_typed(data["id"], str, "a message id"),
        created_at=float(_typed(data.get("created_at", 0.0), int | float, "a message time")),
        pinned=bool(data.get("pinned")),
        interrupted=bool(data.get("interrupted")),
        effort=_typed(data.get("effort"), str | None, "a message's effort"),
    )
