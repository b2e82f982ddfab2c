"""Context management (context-editing.md, compaction.md): the edits the API applies to a
request before the prompt reaches the model, and their checks.

- ``clear_tool_uses_20250919``: once the prompt is over ``trigger`` (100,000 input tokens, or a
  number of tool uses), the oldest tool results are replaced by a placeholder, keeping the last
  ``keep`` (3) tool uses and those of ``exclude_tools``; ``clear_tool_inputs`` empties the calls
  too; under ``clear_at_least`` tokens cleared, nothing is. The prompt changes from the first
  cleared result on, so the cache is read up to it and written after it.
- ``clear_thinking_20251015``: keeps the thinking of the last ``keep`` assistant turns (or
  ``"all"``); it must be listed first.
- ``compact_20260112``: a ``compaction`` block sent back replaces everything before it; when the
  prompt reaches ``trigger`` (150,000, at least 50,000) the reply begins with a new one and the
  response carries a ``compaction`` iteration in ``usage.iterations``.

Each applied edit is reported as the API reports it (``context_management.applied_edits``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

from app.simulator.errors import invalid

CLEAR_TOOLS = "clear_tool_uses_20250919"
CLEAR_THINKING = "clear_thinking_20251015"
COMPACT = "compact_20260112"
COMPACT_BETA = "compact-2026-01-12"
MIN_COMPACT_TRIGGER = 50_000
PLACEHOLDER = "[tool result cleared to save context]"


@dataclass
class Edited:
    """A request as the model sees it after its edits, and what the edits did."""

    body: dict
    applied: list[dict] = field(default_factory=list)
    compaction: str | None = None  # the summary a new compaction wrote
    compacted_tokens: int = 0  # the prompt the compaction iteration read


def _value(spec: object, path: str, kinds: tuple[str, ...], default: int | str | None):
    if spec is None:
        return default
    if spec == "all" and "all" in kinds:
        return "all"
    if not isinstance(spec, dict) or spec.get("type") not in kinds:
        raise invalid(f"{path}.type: Input should be {' or '.join(repr(k) for k in kinds)}")
    value = spec.get("value")
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise invalid(f"{path}.value: Input should be a non-negative integer")
    return value


def check_context_management(config: object) -> list[dict]:
    """The edits of ``context_management``, checked as the API checks them."""
    if config is None:
        return []
    if not isinstance(config, dict) or not isinstance(config.get("edits", []), list):
        raise invalid("context_management.edits: Input should be a valid list")
    edits = config.get("edits") or []
    for i, edit in enumerate(edits):
        path = f"context_management.edits.{i}"
        kind = edit.get("type") if isinstance(edit, dict) else None
        if kind == CLEAR_THINKING and i > 0:  # context-editing.md, "Combining strategies"
            raise invalid(
                f"{path}: the clear_thinking_20251015 strategy must be listed first in edits"
            )
        if kind == CLEAR_TOOLS:
            _value(edit.get("trigger"), f"{path}.trigger", ("input_tokens", "tool_uses"), None)
            _value(edit.get("keep"), f"{path}.keep", ("tool_uses",), None)
            _value(edit.get("clear_at_least"), f"{path}.clear_at_least", ("input_tokens",), None)
        elif kind == CLEAR_THINKING:
            keep = _value(edit.get("keep"), f"{path}.keep", ("thinking_turns", "all"), None)
            if keep == 0:
                raise invalid(f"{path}.keep.value: must be greater than 0")
        elif kind == COMPACT:
            trigger = _value(edit.get("trigger"), f"{path}.trigger", ("input_tokens",), None)
            if trigger is not None and trigger < MIN_COMPACT_TRIGGER:  # compaction.md
                raise invalid(
                    f"{path}.trigger.value: must be at least {MIN_COMPACT_TRIGGER} tokens"
                )
        else:
            raise invalid(
                f"{path}.type: Input should be '{CLEAR_TOOLS}', '{CLEAR_THINKING}' or '{COMPACT}'"
            )
    return edits


def after_compaction(body: dict) -> dict:
    """compaction.md: "The API automatically drops all content blocks prior to the
    `compaction` block, continuing the conversation from the summary"."""
    messages = body.get("messages") or []
    for i in range(len(messages) - 1, -1, -1):
        content = messages[i].get("content")
        blocks = content if isinstance(content, list) else []
        at = max((j for j, b in enumerate(blocks) if b.get("type") == "compaction"), default=None)
        if at is not None:
            kept = {**messages[i], "content": blocks[at:]}
            return {**body, "messages": [kept, *messages[i + 1 :]]}
    return body


def apply_edits(body: dict, count: Callable[[dict], int], counting: bool = False) -> Edited:
    """The request after its edits; ``count(body)`` is its prompt's tokens. count_tokens
    applies the clearing strategies and earlier compactions but triggers no new compaction."""
    edits = check_context_management(body.get("context_management"))
    edited = Edited(after_compaction(body))
    for edit in edits:
        if edit["type"] == CLEAR_THINKING:
            _clear_thinking(edited, edit, count)
        elif edit["type"] == CLEAR_TOOLS:
            _clear_tools(edited, edit, count)
        elif edit["type"] == COMPACT and not counting:
            _compact(edited, edit, count)
    return edited


def _tool_uses(messages: list[dict]) -> list[tuple[int, int, dict]]:
    """Every tool_use block as (message index, block index, block), oldest first."""
    return [
        (i, j, b)
        for i, m in enumerate(messages)
        if m.get("role") == "assistant" and isinstance(m.get("content"), list)
        for j, b in enumerate(m["content"])
        if isinstance(b, dict) and b.get("type") == "tool_use"
    ]


def _clear_tools(edited: Edited, edit: dict, count: Callable[[dict], int]) -> None:
    body = edited.body
    messages = body.get("messages") or []
    uses = _tool_uses(messages)
    trigger = edit.get("trigger") or {"type": "input_tokens", "value": 100_000}
    measured = len(uses) if trigger["type"] == "tool_uses" else count(body)
    if measured <= trigger["value"]:
        return
    keep = (edit.get("keep") or {"value": 3})["value"]
    excluded = set(edit.get("exclude_tools") or [])
    clear = {b["id"]: (i, j) for i, j, b in uses[: max(0, len(uses) - keep)]}
    clear = {
        k: v for k, v in clear.items() if messages[v[0]]["content"][v[1]]["name"] not in excluded
    }
    if not clear:
        return
    changed = copy.deepcopy(messages)
    cleared = 0
    for message in changed:
        for block in message.get("content") if isinstance(message.get("content"), list) else []:
            ours = block.get("type") == "tool_result" and block.get("tool_use_id") in clear
            if ours and block.get("content") != PLACEHOLDER:
                block["content"] = PLACEHOLDER
                cleared += 1
    if edit.get("clear_tool_inputs"):
        for i, j in clear.values():
            changed[i]["content"][j]["input"] = {}
    after = {**body, "messages": changed}
    saved = count(body) - count(after)
    least = (edit.get("clear_at_least") or {"value": 0})["value"]
    if cleared == 0 or saved < least:
        return
    edited.body = after
    edited.applied.append(
        {"type": CLEAR_TOOLS, "cleared_tool_uses": cleared, "cleared_input_tokens": saved}
    )


def _clear_thinking(edited: Edited, edit: dict, count: Callable[[dict], int]) -> None:
    keep = edit.get("keep") or {"type": "thinking_turns", "value": 1}
    if keep == "all":
        return
    body = edited.body
    messages = body.get("messages") or []
    turns = [
        i
        for i, m in enumerate(messages)
        if m.get("role") == "assistant"
        and isinstance(m.get("content"), list)
        and any(b.get("type") in ("thinking", "redacted_thinking") for b in m["content"])
    ]
    dropped = set(turns[: max(0, len(turns) - keep["value"])])
    if not dropped:
        return
    changed = [
        {
            **m,
            "content": [
                b for b in m["content"] if b.get("type") not in ("thinking", "redacted_thinking")
            ],
        }
        if i in dropped
        else m
        for i, m in enumerate(messages)
    ]
    after = {**body, "messages": changed}
    edited.applied.append(
        {
            "type": CLEAR_THINKING,
            "cleared_thinking_turns": len(dropped),
            "cleared_input_tokens": count(body) - count(after),
        }
    )
    edited.body = after


def _compact(edited: Edited, edit: dict, count: Callable[[dict], int]) -> None:
    trigger = (edit.get("trigger") or {"value": 150_000})["value"]
    body = edited.body
    tokens = count(body)
    if tokens < trigger:
        return
    turns = sum(1 for m in body.get("messages") or [] if m.get("role") == "user")
    summary = (
        f"Summary of the conversation so far ({turns} user turns, {tokens} tokens): the "
        "simulator does not summarize; this block stands in for the compaction summary."
    )
    edited.compaction = summary
    edited.compacted_tokens = tokens
    said = {"role": "assistant", "content": [{"type": "compaction", "content": summary}]}
    edited.body = {**body, "messages": [said]}


def iterations(edited: Edited, input_tokens: int, output_tokens: int, summary_tokens: int) -> list:
    """``usage.iterations`` under the compaction beta (compaction.md, "Understanding usage"):
    a ``compaction`` entry when this request compacted, then the ``message`` entry."""
    out = []
    if edited.compaction is not None:
        out.append(
            {
                "type": "compaction",
                "input_tokens": edited.compacted_tokens,
                "output_tokens": summary_tokens,
            }
        )
    out.append({"type": "message", "input_tokens": input_tokens, "output_tokens": output_tokens})
    return out
