"""Context management (context-editing.md, compaction.md): the edits the API applies to a
request before the prompt reaches the model, and their checks.

- ``clear_tool_uses_20250919`` and ``clear_thinking_20251015`` as ``app.facts.context_management``
  applies them (the rules the app predicts with); ``clear_thinking`` must be listed first. The
  prompt changes from the first cleared block on, so the cache is read up to it and written
  after it.
- ``compact_20260112``: a ``compaction`` block sent back replaces everything before it; when the
  prompt reaches ``trigger`` (150,000, at least 50,000) the reply begins with a new one (with
  ``pause_after_compaction``, the reply is that block alone, ``stop_reason: "compaction"``:
  compaction.md, "Pausing after compaction") and the
  response carries a ``compaction`` iteration in ``usage.iterations``, with its own cache
  statistics (the SDK's ``BetaCompactionIterationUsage``): it reads the prompt as it stood, from
  the cache where it is cached, like the request would have without compaction.

Each applied edit is reported as the API reports it (``context_management.applied_edits``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from app.facts.context_management import (
    CLEAR_THINKING,
    CLEAR_TOOLS,
    COMPACT,
    COMPACT_BETA,
    DEFAULT_COMPACT_TRIGGER,
    MIN_COMPACT_TRIGGER,
    after_compaction,
    apply_clearing,
)
from app.simulator.errors import invalid

__all__ = ["COMPACT_BETA", "Edited", "apply_edits", "check_context_management", "iterations"]


@dataclass
class Edited:
    """A request as the model sees it after its edits, and what the edits did."""

    body: dict
    applied: list[dict] = field(default_factory=list)
    compaction: str | None = None  # the summary a new compaction wrote
    before: dict | None = None  # that prompt's request (what the compaction iteration read)
    read: tuple | None = None  # the server's: that request flattened, and its breakpoints
    paused: bool = False  # ``pause_after_compaction``: the response is the compaction alone


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


def apply_edits(
    body: dict, count: Callable[[dict], int], counting: bool = False, keeps_thinking: bool = False
) -> Edited:
    """The request after its edits; ``count(body)`` is its prompt's tokens. count_tokens
    applies the clearing strategies and earlier compactions but triggers no new compaction
    (the rules themselves, shared with the app: ``app.facts.context_management``)."""
    edits = check_context_management(body.get("context_management"))
    cleared, applied = apply_clearing(after_compaction(body), count, keeps_thinking)
    edited = Edited(cleared, applied)
    for edit in edits:
        if edit["type"] == COMPACT and not counting:
            _compact(edited, edit, count)
    return edited


def _compact(edited: Edited, edit: dict, count: Callable[[dict], int]) -> None:
    trigger = (edit.get("trigger") or {"value": DEFAULT_COMPACT_TRIGGER})["value"]
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
    edited.before = body
    edited.paused = edit.get("pause_after_compaction") is True
    said = {"role": "assistant", "content": [{"type": "compaction", "content": summary}]}
    edited.body = {**body, "messages": [said]}


def iterations(message: dict, summary_tokens: int, compaction: dict | None) -> list:
    """``usage.iterations`` under the compaction beta (compaction.md, "Understanding usage"):
    a ``compaction`` entry when this request compacted (``compaction``: its input counts, as a
    usage dict's four input fields), then the ``message`` entry (``message``: the top-level
    usage, which counts the message iteration alone)."""
    fields = (
        "input_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
        "cache_creation",
        "output_tokens",
    )
    out = []
    if compaction is not None:
        counts = {k: compaction[k] for k in fields if k in compaction}
        out.append({"type": "compaction", **counts, "output_tokens": summary_tokens})
    out.append({"type": "message", **{k: message[k] for k in fields if k in message}})
    return out
