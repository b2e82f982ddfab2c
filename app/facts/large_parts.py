"""What makes a request large, in words: the part a refusal ("prompt is too long",
context-windows.md) names, so the user knows what to take out. The blocks of a flattened request
are grouped by where they are (the tools, the system prompt, one message) and what they are (a
document, an image, web search results, ...); the largest group is named with the message it is
in and what to do about it. Never "Remove an attachment" when the large part is no attachment
(issue 40: web search results with 20 MB of encrypted content were blamed on one).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.facts.prefix import FlatRequest

KIND_WORDS = {
    "text": "text",
    "image": "an image",
    "document": "a document",
    "tool_use": "a tool call",
    "tool_result": "a tool's result",
    "thinking": "thinking",
    "redacted_thinking": "thinking",
    "server_tool_use": "a server tool call",
    "web_search_tool_result": "web search results",
    "web_fetch_tool_result": "a fetched web page",
    "code_execution_tool_result": "code execution output",
    "compaction": "a compaction summary",
}
ATTACHMENTS = frozenset({"image", "document"})
ROLE_WORDS = {"user": "yours", "assistant": "Claude's reply", "system": "an instruction"}


@dataclass(frozen=True)
class LargePart:
    level: str  # tools, system, messages
    message_index: int | None  # in the request's messages
    role: str | None
    kind: str
    tokens: int
    messages: int  # how many messages the request holds

    @property
    def is_attachment(self) -> bool:
        return self.level == "messages" and self.role == "user" and self.kind in ATTACHMENTS

    @property
    def is_new_message(self) -> bool:
        """In the message being sent (the request's last, the user's)."""
        last = self.message_index is not None and self.message_index == self.messages - 1
        return last and self.role == "user"


def largest_part(flat: FlatRequest) -> LargePart | None:
    """The largest group of blocks of one kind in one place (None for an empty request)."""
    sizes: dict[tuple, int] = {}
    for block in flat.blocks:
        facts = block.facts
        key = (facts.level, facts.message_index, facts.role, facts.kind)
        sizes[key] = sizes.get(key, 0) + facts.tokens + facts.overhead
    if not sizes:
        return None
    (level, index, role, kind), tokens = max(sizes.items(), key=lambda item: item[1])
    indices = [b.facts.message_index for b in flat.blocks if b.facts.message_index is not None]
    count = max(indices) + 1 if indices else 0
    return LargePart(level, index, role, kind, tokens, count)


def what_is_large(flat: FlatRequest) -> str:
    """One sentence: the largest part, where it is, about how many tokens, and what to do."""
    part = largest_part(flat)
    if part is None:
        return ""
    size = f"about {part.tokens:,} tokens"
    if part.level == "tools":
        return f"The largest part is the tool definitions, {size}: switch some tools off."
    if part.level == "system":
        return f"The largest part is the system prompt, {size}: shorten it."
    what = KIND_WORDS.get(part.kind, f"a {part.kind} block")
    number = (part.message_index or 0) + 1
    if part.is_new_message:
        if part.is_attachment:
            return (
                f"The largest part is {what} attached to your new message, {size}: remove that "
                "attachment, or send it in a new conversation."
            )
        return f"The largest part is the {what} of your new message, {size}: shorten it."
    whose = ROLE_WORDS.get(part.role or "", part.role or "")
    where = f"message {number} of {part.messages} ({whose})"
    if part.is_attachment:
        return (
            f"The largest part is {what} attached to {where}, {size}: start a new "
            "conversation, or edit that message without it and resend (a branch)."
        )
    return (
        f"The largest part is {what} in {where}, {size}: start a new conversation, or edit a "
        "message before it and resend (a branch without it)."
    )
