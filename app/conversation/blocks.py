"""Content blocks: immutable, each knows its Messages API form (without cache_control)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from app.conversation.documents import LockedDocument
from app.conversation.images import LockedImage
from app.facts.tokens import canonical_json


@dataclass(frozen=True)
class TextBlock:
    text: str
    citations_json: str = ""  # the reply's citations as received (sent back unchanged)
    kind = "text"

    def to_api(self) -> dict:
        if self.citations_json:
            return {"type": "text", "text": self.text, "citations": json.loads(self.citations_json)}
        return {"type": "text", "text": self.text}

    @property
    def citations(self) -> list[dict]:
        return json.loads(self.citations_json) if self.citations_json else []


@dataclass(frozen=True, eq=False)
class ImageBlock:
    image: LockedImage
    kind = "image"

    def to_api(self) -> dict:
        return self.image.api_block


@dataclass(frozen=True, eq=False)
class DocumentBlock:
    document: LockedDocument
    file_id: str = ""  # set once uploaded through the Files API: sent as a reference from then on
    kind = "document"

    def to_api(self) -> dict:
        if self.file_id:
            source = {"type": "file", "file_id": self.file_id}
            return {"type": "document", "source": source, "title": self.document.name}
        return self.document.api_block


@dataclass(frozen=True)
class ToolUseBlock:
    id: str
    name: str
    input_json: str  # canonical JSON, so the block stays immutable and byte-stable
    kind = "tool_use"

    @classmethod
    def create(cls, id: str, name: str, input: dict[str, Any]) -> ToolUseBlock:
        return cls(id, name, canonical_json(input))

    @property
    def input(self) -> dict[str, Any]:
        return json.loads(self.input_json)

    def to_api(self) -> dict:
        return {"type": "tool_use", "id": self.id, "name": self.name, "input": self.input}


@dataclass(frozen=True, eq=False)
class ToolResultBlock:
    tool_use_id: str
    content: tuple[TextBlock | ImageBlock, ...]
    is_error: bool = False
    kind = "tool_result"

    def to_api(self) -> dict:
        out: dict = {
            "type": "tool_result",
            "tool_use_id": self.tool_use_id,
            "content": [part.to_api() for part in self.content],
        }
        if self.is_error:
            out["is_error"] = True
        return out

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.content if isinstance(p, TextBlock))


@dataclass(frozen=True)
class ThinkingBlock:
    thinking: str
    signature: str
    kind = "thinking"

    def to_api(self) -> dict:
        return {"type": "thinking", "thinking": self.thinking, "signature": self.signature}


@dataclass(frozen=True)
class RawBlock:
    """A block the app keeps exactly as the API gave it and sends back unchanged: a server tool's
    call and result (web search, web fetch), redacted thinking, and the ``tool_addition`` /
    ``tool_removal`` blocks of a mid-conversation system message."""

    kind: str
    json_text: str  # canonical JSON of the whole block

    @classmethod
    def create(cls, block: dict) -> RawBlock:
        return cls(block["type"], canonical_json(block))

    @property
    def data(self) -> dict:
        return json.loads(self.json_text)

    def to_api(self) -> dict:
        return json.loads(self.json_text)


def tool_change(kind: str, name: str) -> RawBlock:
    """A ``tool_addition`` or ``tool_removal`` block naming a tool declared in ``tools``."""
    return RawBlock.create({"type": kind, "tool": {"type": "tool_reference", "name": name}})


Block = (
    TextBlock
    | ImageBlock
    | DocumentBlock
    | ToolUseBlock
    | ToolResultBlock
    | ThinkingBlock
    | RawBlock
)


@dataclass(frozen=True)
class ToolDefinition:
    name: str
    description: str
    input_schema_json: str

    @classmethod
    def create(cls, name: str, description: str, input_schema: dict) -> ToolDefinition:
        return cls(name, description, canonical_json(input_schema))

    @cached_property
    def api(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "input_schema": json.loads(self.input_schema_json),
        }


@dataclass(frozen=True, eq=False)
class Message:
    """One message; replace it (``with_blocks``) rather than change it."""

    role: str
    blocks: tuple[Block, ...]
    id: str
    created_at: float = 0.0
    pinned: bool = False  # "cache up to here"
    interrupted: bool = False  # a reply the user stopped, or that failed mid-stream
    effort: str | None = None  # a system message's per-turn ``output_config.effort``

    @cached_property
    def api_content(self) -> list[dict]:
        return [block.to_api() for block in self.blocks]

    def api_fields(self) -> dict:
        """The message as the API takes it, besides cache_control: a system message carrying a
        per-turn effort sends it as ``output_config`` (and may have no content)."""
        out: dict = {"role": self.role}
        if self.blocks or self.effort is None:
            out["content"] = self.api_content
        if self.effort is not None:
            out["output_config"] = {"effort": self.effort}
        return out

    @property
    def text(self) -> str:
        return "\n".join(b.text for b in self.blocks if isinstance(b, TextBlock))

    @property
    def is_tool_result(self) -> bool:
        return any(isinstance(b, ToolResultBlock) for b in self.blocks)
