"""What a response holds, in the app's terms: its content as conversation blocks, and the API's
own cache diagnosis as a sentence."""

from __future__ import annotations

from app.conversation.blocks import (
    Message,
    RawBlock,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
)
from app.conversation.conversation import Conversation, new_id
from app.facts.tokens import canonical_json

# Blocks sent back exactly as received (web-search-tool.md: "send the assistant's content blocks
# back exactly as you received them, including each result's encrypted_content").
KEPT_AS_RECEIVED = (
    "server_tool_use",
    "web_search_tool_result",
    "web_fetch_tool_result",
    "redacted_thinking",
    "compaction",  # compaction.md, "Passing compaction blocks back"; the SDK: "verbatim"
)


def describe_diagnosis(diagnostics) -> str:
    """The API's own cache diagnosis (cache-diagnostics.md) as one line, "" when there is none."""
    reason = getattr(diagnostics, "cache_miss_reason", None) if diagnostics else None
    if reason is None:
        return ""
    kind = getattr(reason, "type", "")
    missed = getattr(reason, "cache_missed_input_tokens", None)
    words = {
        "model_changed": "the model changed",
        "system_changed": "the system prompt changed",
        "tools_changed": "the tools changed",
        "messages_changed": "an earlier message changed",
        "previous_message_not_found": "it could not find the previous request",
        "unavailable": "no diagnosis (another setting such as thinking or tool_choice differs)",
    }.get(kind, kind.replace("_", " "))
    tail = f" ({missed:,} tokens after the divergence)" if missed is not None else ""
    return f"The API's diagnosis against the previous turn: {words}{tail}."


def clean(value):
    """Text from the wire as text that can be saved and sent again: a lone surrogate (a faulty or
    non-Anthropic endpoint can put one in JSON) becomes U+FFFD, in strings, lists and dicts."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    return value


def _as_sent(block) -> dict:
    """A response block as it came over the wire (only the fields the API set)."""
    if isinstance(block, dict):
        return block
    return block.model_dump(mode="json", exclude_unset=True)


def blocks_of(content) -> list:
    blocks = []
    for block in content:
        if block.type == "text" and block.text:
            citations = getattr(block, "citations", None)
            kept = canonical_json([_as_sent(c) for c in citations]) if citations else ""
            blocks.append(TextBlock(clean(block.text), kept))
        elif block.type in KEPT_AS_RECEIVED:
            blocks.append(RawBlock.create(clean(_as_sent(block))))
        elif block.type == "tool_use":
            blocks.append(ToolUseBlock.create(block.id, clean(block.name), clean(block.input)))
        elif block.type == "thinking":
            blocks.append(ThinkingBlock(clean(block.thinking), block.signature))
    return blocks or [TextBlock("(empty reply)")]


def keep_partial(conversation: Conversation, texts: list[str], at: float) -> Message | None:
    """What had arrived of a reply that was stopped or failed, kept and marked interrupted."""
    text = "".join(texts)
    if not text:
        return None
    message = Message("assistant", (TextBlock(text),), new_id(), at, interrupted=True)
    conversation.messages.append(message)
    return message


STOPPED_CALL = "The user stopped the turn before this tool call ran."


def stopped_results(calls: list[ToolUseBlock]) -> list[ToolResultBlock]:
    """The results of tool calls a stop left unanswered: the API takes no message after a
    ``tool_use`` but its ``tool_result``, so the conversation stays sendable."""
    return [ToolResultBlock(c.id, (TextBlock(STOPPED_CALL),), True) for c in calls]
