"""Context management (build-with-claude/context-editing.md, build-with-claude/compaction.md):
what the API does to a request's messages before the prompt reaches the model. Pure functions
over Messages API dicts, applied by the simulator to answer and by the app to predict and to
build, so both see the same prompt.

- A ``compaction`` block sent back replaces everything before it: compaction.md, "How compaction
  works": "The API automatically drops all content blocks prior to the `compaction` block". Only
  a block that holds a summary counts: one whose ``content`` is null is a compaction that failed
  and "the server treats them as no-ops" (the SDK's ``BetaCompactionBlock``, 2.17); the SDK's
  errors say the block must be "the first block of the conversation" and that only "the block
  the conversation returned last" may be sent (``CompactionBlockMisplacedError``,
  ``CompactionBlockAmbiguousError``), so a client sends from that block on.
- ``clear_tool_uses_20250919``: once the prompt is over ``trigger`` (100,000 input tokens, or a
  number of tool uses), the oldest tool results are replaced by a placeholder, keeping the last
  ``keep`` (3) tool uses and those of ``exclude_tools``; ``clear_tool_inputs`` empties the calls
  too; under ``clear_at_least`` tokens cleared, nothing is (context-editing.md, "Configuration
  options for tool result clearing"). The prompt changes from the first cleared result on.
- ``clear_thinking_20251015``: keeps the thinking of the last ``keep`` assistant turns (or
  ``"all"``), dropping the others' thinking blocks from the prompt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

CLEAR_TOOLS = "clear_tool_uses_20250919"
CLEAR_THINKING = "clear_thinking_20251015"
COMPACT = "compact_20260112"
COMPACT_BETA = "compact-2026-01-12"  # compaction.md, "Compatibility"
EDITING_BETA = "context-management-2025-06-27"  # context-editing.md, "Server-side strategies"
MIN_COMPACT_TRIGGER = 50_000  # compaction.md, "Parameters": "must be at least 50,000 tokens"
DEFAULT_COMPACT_TRIGGER = 150_000
DEFAULT_CLEAR_TRIGGER = 100_000  # context-editing.md: the default trigger and keep
DEFAULT_KEEP_TOOL_USES = 3
PLACEHOLDER = "[tool result cleared to save context]"  # a choice: the docs say "placeholder text"
THINKING_KINDS = ("thinking", "redacted_thinking")

Count = Callable[[dict], int]  # a request body's prompt tokens


def is_summary(block: object) -> bool:
    """A ``compaction`` block that holds a summary (a null one is a no-op)."""
    return (
        isinstance(block, dict)
        and block.get("type") == "compaction"
        and block.get("content") is not None
    )


def compaction_point(contents: Sequence[object]) -> tuple[int, int] | None:
    """(message index, block index) of the compaction block the API continues from, given each
    message's ``content``; None when there is none."""
    for i in range(len(contents) - 1, -1, -1):
        blocks = contents[i] if isinstance(contents[i], list) else []
        at = max((j for j, b in enumerate(blocks) if is_summary(b)), default=None)
        if at is not None:
            return i, at
    return None


def after_compaction(body: dict) -> dict:
    """The request as the API keeps it: from the last compaction block with a summary on."""
    messages = body.get("messages") or []
    point = compaction_point([m.get("content") for m in messages])
    if point is None:
        return body
    i, at = point
    kept = {**messages[i], "content": messages[i]["content"][at:]}
    return {**body, "messages": [kept, *messages[i + 1 :]]}


def edits_of(body: dict) -> list[dict]:
    """The edits a request asks for (``context_management.edits``), in their order."""
    config = body.get("context_management")
    edits = config.get("edits") if isinstance(config, dict) else None
    return [e for e in edits or [] if isinstance(e, dict)]


def tool_uses(messages: list[dict]) -> list[tuple[int, int, dict]]:
    """Every tool_use block as (message index, block index, block), oldest first."""
    return [
        (i, j, b)
        for i, m in enumerate(messages)
        if m.get("role") == "assistant" and isinstance(m.get("content"), list)
        for j, b in enumerate(m["content"])
        if isinstance(b, dict) and b.get("type") == "tool_use"
    ]


def clear_tool_uses(body: dict, edit: dict, count: Count) -> tuple[dict, dict | None]:
    """(the request after ``clear_tool_uses_20250919``, the edit as the response reports it in
    ``applied_edits``, or None when it cleared nothing)."""
    messages = body.get("messages") or []
    uses = tool_uses(messages)
    trigger = edit.get("trigger") or {"type": "input_tokens", "value": DEFAULT_CLEAR_TRIGGER}
    measured = len(uses) if trigger.get("type") == "tool_uses" else count(body)
    if measured <= trigger["value"]:
        return body, None
    keep = (edit.get("keep") or {"value": DEFAULT_KEEP_TOOL_USES})["value"]
    excluded = set(edit.get("exclude_tools") or [])
    clear = {
        b["id"]: (i, j)
        for i, j, b in uses[: max(0, len(uses) - keep)]
        if b.get("name") not in excluded
    }
    if not clear:
        return body, None
    changed = list(messages)  # the messages it changes are copied; the others stay as they are
    cleared = 0
    for i, message in enumerate(messages):
        content = message.get("content")
        hits = [
            j
            for j, b in enumerate(content if isinstance(content, list) else [])
            if isinstance(b, dict)
            and b.get("type") == "tool_result"
            and b.get("tool_use_id") in clear
            and b.get("content") != PLACEHOLDER
        ]
        if hits:
            blocks = list(content)
            for j in hits:
                blocks[j] = {**blocks[j], "content": PLACEHOLDER}
            changed[i] = {**message, "content": blocks}
            cleared += len(hits)
    if edit.get("clear_tool_inputs"):
        for i, j in clear.values():
            blocks = list(changed[i]["content"])
            blocks[j] = {**blocks[j], "input": {}}
            changed[i] = {**changed[i], "content": blocks}
    after = {**body, "messages": changed}
    saved = count(body) - count(after)
    least = (edit.get("clear_at_least") or {"value": 0})["value"]
    if cleared == 0 or saved < least:
        return body, None
    return after, {"type": CLEAR_TOOLS, "cleared_tool_uses": cleared, "cleared_input_tokens": saved}


def clear_thinking(
    body: dict, edit: dict, count: Count, keeps_all: bool = False
) -> tuple[dict, dict | None]:
    """(the request after ``clear_thinking_20251015``, its ``applied_edits`` entry or None).
    ``keeps_all``: the model keeps all prior thinking by default, and so does ``keep`` left out
    (context-editing.md, "Default behavior": Opus 4.5+ and Sonnet 4.6+; earlier Opus and Sonnet
    and all Haiku keep the last turn's)."""
    keep = edit.get("keep") or ("all" if keeps_all else {"type": "thinking_turns", "value": 1})
    if keep == "all":
        return body, None
    messages = body.get("messages") or []
    turns = [
        i
        for i, m in enumerate(messages)
        if m.get("role") == "assistant"
        and isinstance(m.get("content"), list)
        and any(b.get("type") in THINKING_KINDS for b in m["content"])
    ]
    dropped = set(turns[: max(0, len(turns) - keep["value"])])
    if not dropped:
        return body, None
    changed = [
        {**m, "content": [b for b in m["content"] if b.get("type") not in THINKING_KINDS]}
        if i in dropped
        else m
        for i, m in enumerate(messages)
    ]
    after = {**body, "messages": changed}
    applied = {
        "type": CLEAR_THINKING,
        "cleared_thinking_turns": len(dropped),
        "cleared_input_tokens": count(body) - count(after),
    }
    return after, applied


def apply_clearing(
    body: dict, count: Count, keeps_thinking: bool = False
) -> tuple[dict, list[dict]]:
    """The request after its clearing edits, in the order listed, and what each applied (the
    compaction edit, if any, is left to the caller: it needs a model to summarize).
    ``keeps_thinking``: the model's ``keeps_thinking`` (``clear_thinking``'s default)."""
    applied = []
    for edit in edits_of(body):
        kind = edit.get("type")
        if kind == CLEAR_THINKING:
            body, done = clear_thinking(body, edit, count, keeps_thinking)
        elif kind == CLEAR_TOOLS:
            body, done = clear_tool_uses(body, edit, count)
        else:
            continue
        if done is not None:
            applied.append(done)
    return body, applied
