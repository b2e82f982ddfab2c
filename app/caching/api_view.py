"""A request's messages as the API reads them, for the builder's prefix (build-with-claude/
compaction.md, build-with-claude/context-editing.md; the rules: ``app.facts.context_management``).

- From the last compaction block that holds a summary on: the messages before it are not sent
  (the API drops them, and its SDK refuses a compaction block that is not the first block).
- Tool results and thinking the request's clearing edits clear: still sent (the client keeps
  the full history, "Context editing happens server-side"), but counted and hashed as the API
  leaves them, so the prediction, the price and the ledger's entries are those of the prompt
  the model reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from app.conversation.blocks import Message
from app.facts.catalogue import ModelInfo
from app.facts.context_management import (
    CLEAR_THINKING,
    CLEAR_TOOLS,
    PLACEHOLDER,
    clear_thinking,
    clear_tool_uses,
    compaction_point,
)
from app.facts.prefix import BlockFacts, counted_tokens

MAX_TRIMMED = 64  # messages cut at a compaction block kept (one per conversation, mostly)
MAX_EDITED = 8192  # messages as a clearing left them, remembered between builds
STEPS = {CLEAR_TOOLS: clear_tool_uses, CLEAR_THINKING: clear_thinking}

Indexed = list[tuple[int, Message]]  # (the conversation's number, the message) of each sent
FactsOf = Callable[[int, dict, Message], list[BlockFacts]]  # (number, API form, message)


class ApiView:
    def __init__(self) -> None:
        # A message cut at its compaction block, by the message's id: (the message, the cut),
        # so its facts and JSON are made once.
        self._trimmed: dict[int, tuple[Message, Message]] = {}
        # The facts of a message as an edit left it, by (message id, number, what was cleared):
        # a cleared result stays cleared from one send to the next, and is counted once.
        self._edited: dict[tuple, tuple[Message, list[BlockFacts]]] = {}

    def cleared(self, indexed, per_message, head, model, edits, facts_of):
        """``cleared`` (below), remembering the facts of the messages the edits change."""
        if len(self._edited) > MAX_EDITED:
            self._edited.clear()

        def remembered(number: int, api: dict, message: Message) -> list[BlockFacts]:
            key = (id(message), number, _what_changed(api))
            hit = self._edited.get(key)
            if hit is None or hit[0] is not message:
                hit = self._edited[key] = (message, facts_of(number, api, message))
            return hit[1]

        return cleared(indexed, per_message, head, model, edits, remembered)

    def from_compaction(self, indexed: Indexed) -> Indexed:
        """The messages the API keeps: from the last compaction block with a summary on."""
        contents = [
            m.api_content if any(b.kind == "compaction" for b in m.blocks) else None
            for _, m in indexed
        ]
        point = compaction_point(contents)
        if point is None:
            return indexed
        k, at = point
        number, message = indexed[k]
        if at:  # blocks before the compaction block in its own message are dropped too
            hit = self._trimmed.get(id(message))
            if hit is None or hit[0] is not message:
                if len(self._trimmed) > MAX_TRIMMED:
                    self._trimmed.clear()
                cut = replace(message, blocks=message.blocks[at:])
                hit = self._trimmed[id(message)] = (message, cut)
            message = hit[1]
        return [(number, message), *indexed[k + 1 :]]


def cleared(
    indexed: Indexed,
    per_message: list[list[BlockFacts]],
    head: list[BlockFacts],
    model: ModelInfo,
    edits: tuple[dict, ...],
    facts_of: FactsOf,
) -> tuple[list[list[BlockFacts]], dict[int, list[int]]]:
    """Each sent message's facts as the clearing ``edits`` leave it, and, for a message that
    lost blocks (cleared thinking), the original index of each block it keeps (a breakpoint
    placed on the cleared view goes on that block of the message as sent). ``head``: the tools'
    and system prompt's facts (they count towards the trigger)."""
    steps = [(STEPS[e["type"]], e) for e in edits if e.get("type") in STEPS]
    if not steps:
        return per_message, {}
    scale = model.token_scale
    base = sum(counted_tokens(f, scale) for f in head)
    api = [m.api_fields() for _, m in indexed]
    known = {  # by the message dict: the edits copy only the messages they change
        id(a): sum(counted_tokens(f, scale) for f in chunk)
        for a, chunk in zip(api, per_message, strict=True)
    }
    made: dict[int, tuple[dict, list[BlockFacts]]] = {}  # the dict is kept: its id stays its

    def facts(k: int, message: dict) -> list[BlockFacts]:
        hit = made.get(id(message))
        if hit is None or hit[0] is not message:
            hit = made[id(message)] = (message, facts_of(indexed[k][0], message, indexed[k][1]))
        return hit[1]

    def count(body: dict) -> int:
        total = base
        for k, message in enumerate(body["messages"]):
            tokens = known.get(id(message))
            if tokens is None:
                tokens = sum(counted_tokens(f, scale) for f in facts(k, message))
            total += tokens
        return total

    body = {"messages": api}
    for step, edit in steps:
        if step is clear_thinking:
            body, _ = clear_thinking(body, edit, count, model.keeps_thinking)
        else:
            body, _ = step(body, edit, count)
    out, origin = [], {}
    for k, (before, after) in enumerate(zip(api, body["messages"], strict=True)):
        if after is before:
            out.append(per_message[k])
            continue
        out.append(facts(k, after))
        if len(after["content"]) != len(before["content"]):  # thinking blocks went
            kinds = ("thinking", "redacted_thinking")
            origin[k] = [j for j, b in enumerate(before["content"]) if b.get("type") not in kinds]
    return out, origin


def _what_changed(api: dict) -> tuple:
    """What a clearing edit can change in a message: which blocks it holds, which results are
    the placeholder, which calls lost their input."""
    return tuple(
        (
            b.get("type"),
            b.get("content") == PLACEHOLDER,
            b.get("type") == "tool_use" and b.get("input") == {},
        )
        for b in api.get("content") or ()
        if isinstance(b, dict)
    )
