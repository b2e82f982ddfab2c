"""Cache diagnostics (cache-diagnostics.md): each response's request is remembered as a
fingerprint keyed by the message id; a later request naming it in
``diagnostics.previous_message_id`` is told where its prompt first diverged.

The order of the checks is the docs': model, then tools, system, the other prompt-affecting
parameters (``unavailable``), then whether ``messages`` only had entries appended.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

from app.facts.prefix import FlatRequest, as_blocks
from app.facts.tokens import canonical_json

KEEP = 10_000  # fingerprints kept (the service keeps them "for a limited time")
PARAMS = ("tool_choice", "thinking", "context_management", "output_config")


def _digest(value: object) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()[:24]


def _without_cc(value: object) -> object:
    if isinstance(value, dict):
        return {k: _without_cc(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [_without_cc(v) for v in value]
    return value


@dataclass(frozen=True)
class Fingerprint:
    owner: str
    model: str
    tools: str
    system: str
    params: str
    messages: tuple[str, ...]
    message_starts: tuple[int, ...]  # tokens before each message
    total_tokens: int


def fingerprint(owner: str, model: str, body: dict, flat: FlatRequest, betas: str) -> Fingerprint:
    starts: dict[int, int] = {}
    for block in flat.blocks:
        index = block.facts.message_index
        if index is not None and index not in starts:
            starts[index] = block.cumulative - block.tokens
    messages = body.get("messages") or []
    params = {k: body.get(k) for k in PARAMS}
    params["betas"] = sorted(b.strip() for b in betas.split(",") if b.strip())
    return Fingerprint(
        owner=owner,
        model=model,
        tools=_digest(_without_cc(body.get("tools") or [])),
        system=_digest(_without_cc(as_blocks(body.get("system")))),
        params=_digest(params),
        messages=tuple(
            _digest([m.get("role"), _without_cc(as_blocks(m.get("content")))]) for m in messages
        ),
        message_starts=tuple(starts.get(i, flat.total_tokens) for i in range(len(messages))),
        total_tokens=flat.total_tokens,
    )


class Diagnostician:
    def __init__(self) -> None:
        self._seen: OrderedDict[str, Fingerprint] = OrderedDict()

    def remember(self, message_id: str, print_: Fingerprint) -> None:
        self._seen[message_id] = print_
        while len(self._seen) > KEEP:
            self._seen.popitem(last=False)

    def compare(self, previous_id: str | None, now: Fingerprint) -> dict | None:
        """The response's ``diagnostics`` value (None when nothing diverged or no previous)."""
        if previous_id is None:
            return None
        before = self._seen.get(previous_id)
        if before is None or before.owner != now.owner:
            return {"cache_miss_reason": {"type": "previous_message_not_found"}}
        if before.model != now.model:
            return _changed("model_changed", now.total_tokens)
        if before.tools != now.tools:
            return _changed("tools_changed", now.total_tokens)
        if before.system != now.system:
            return _changed("system_changed", now.total_tokens)
        if before.params != now.params:
            return {"cache_miss_reason": {"type": "unavailable"}}
        for i, (old, new) in enumerate(zip(before.messages, now.messages, strict=False)):
            if old != new:
                return _changed("messages_changed", now.total_tokens - now.message_starts[i])
        if len(now.messages) < len(before.messages):
            cut = len(now.messages)
            return _changed(
                "messages_changed", max(0, before.total_tokens - before.message_starts[cut])
            )
        return None


def _changed(kind: str, missed: int) -> dict:
    return {"cache_miss_reason": {"type": kind, "cache_missed_input_tokens": missed}}
