"""What a response says: its shape decided before it is sent, its usage, its stream deltas."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from app.facts.rules import CachePlan
from app.facts.tokens import text_tokens
from app.simulator.context_edits import Edited, iterations
from app.simulator.replies import Reply

CHUNK_CHARS = 16


@dataclass(frozen=True)
class Shape:
    """What a response says, decided before it is sent."""

    body: dict
    plan: CachePlan
    reply: Reply
    message_id: str
    diagnosis: dict | None
    speed: str = "standard"  # what ran (fast-mode.md, "Checking which speed was used")
    fallback_credit: dict | None = None  # usage.fallback_credit when a token was presented
    server_entry: tuple[str, int, str] | None = None  # the automatic write at a server result
    edits: Edited | None = None  # context management applied (reported when asked for)
    iterations: bool = False  # the compaction beta: usage.iterations on every response
    service_tier: str = "standard"  # "batch" for a Message Batch's results
    compaction: tuple | None = None  # the compaction iteration's (flat prompt, CachePlan)


def input_counts(plan: CachePlan, auto: int = 0) -> dict:
    """A plan's input fields as usage reports them (``auto``: tokens written at a server tool
    result's automatic breakpoint, which would otherwise be paid in full)."""
    return {
        "input_tokens": plan.uncached_tokens - auto,
        "cache_creation_input_tokens": plan.write_tokens + auto,
        "cache_read_input_tokens": plan.read_tokens,
        "cache_creation": {
            "ephemeral_5m_input_tokens": plan.write_5m_tokens + auto,
            "ephemeral_1h_input_tokens": plan.write_1h_tokens,
        },
    }


def usage_of(shape: Shape, output_tokens: int) -> dict:
    """Every field of the SDK's ``Usage``."""
    body, plan, reply = shape.body, shape.plan, shape.reply
    # The results a server tool read into the prompt: written at its automatic 5m breakpoint
    # when the request caches, else paid in full.
    auto = reply.extra_input_tokens if shape.server_entry else 0
    usage = {
        **input_counts(plan, auto),
        "output_tokens": output_tokens,
        "output_tokens_details": {"thinking_tokens": min(reply.thinking_tokens, output_tokens)},
        "server_tool_use": {
            "web_search_requests": reply.web_searches,
            "web_fetch_requests": reply.web_fetches,
        },
        "service_tier": shape.service_tier,
        "inference_geo": body.get("inference_geo") or "global",
        "speed": shape.speed,
    }
    if shape.fallback_credit is not None:
        usage["fallback_credit"] = shape.fallback_credit
    usage["input_tokens"] += reply.extra_input_tokens
    paused = shape.edits is not None and shape.edits.paused
    if paused:  # no message iteration ran: the top level counts none (compaction.md)
        none = {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}
        usage.update(
            input_tokens=0,
            cache_creation_input_tokens=0,
            cache_read_input_tokens=0,
            cache_creation=none,
        )
    if shape.iterations and shape.edits is not None:
        summary = text_tokens(shape.edits.compaction or "")
        compacted = input_counts(shape.compaction[1]) if shape.compaction else None
        usage["iterations"] = iterations(usage, summary, compacted)
        if paused:
            usage["iterations"] = usage["iterations"][:-1]
    return usage


def context_of(shape: Shape) -> dict:
    """The ``context_management`` a response reports (context-editing.md, "Context editing
    response"), as a dict to merge into it."""
    if shape.edits is None or "context_management" not in shape.body:
        return {}
    return {"context_management": {"applied_edits": shape.edits.applied}}


def with_compaction(reply: Reply, edited: Edited) -> Reply:
    """A reply that compacted begins with its ``compaction`` block (compaction.md, "Working
    with compaction blocks"); its summary is billed in the compaction iteration."""
    if edited.compaction is None:
        return reply
    block = {"type": "compaction", "content": edited.compaction}
    if edited.paused:  # "Pausing after compaction": the message iteration does not run
        return Reply((block,), "compaction", None, 0)
    return replace(reply, content=(block, *reply.content))


def deltas(block: dict):
    kind = block["type"]
    if kind == "text":
        text = block["text"]
        for i in range(0, len(text), CHUNK_CHARS):
            yield {"type": "text_delta", "text": text[i : i + CHUNK_CHARS]}
        for citation in block.get("citations") or ():
            yield {"type": "citations_delta", "citation": citation}
    elif kind == "thinking":
        text = block["thinking"]
        for i in range(0, len(text), CHUNK_CHARS):
            yield {"type": "thinking_delta", "thinking": text[i : i + CHUNK_CHARS]}
        yield {"type": "signature_delta", "signature": block["signature"]}
    elif kind == "compaction":
        yield {"type": "compaction_delta", "content": block["content"]}
    elif kind in ("tool_use", "server_tool_use"):
        raw = json.dumps(block["input"])
        for i in range(0, len(raw), CHUNK_CHARS):
            yield {"type": "input_json_delta", "partial_json": raw[i : i + CHUNK_CHARS]}
