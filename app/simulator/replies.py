"""The simulator's deterministic answers: a short report of what the request holds.

No model runs. The reply quotes the question and says how large the prompt is and where its
breakpoints sit: it depends on the request alone, never on what the cache held. It honours
``max_tokens`` and ``stop_sequences``, answers with ``tool_use`` when the user names a defined
tool, and adds a thinking block when thinking is enabled.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from app.facts.catalogue import ModelInfo
from app.facts.prefix import FlatRequest, as_blocks
from app.facts.rules import CachePlan
from app.facts.thinking_signature import sign
from app.facts.tokens import BYTES_PER_TOKEN, canonical_json, text_tokens
from app.simulator.schema_values import value_for
from app.simulator.server_tools import server_uses


@dataclass(frozen=True)
class Reply:
    content: tuple[dict, ...]
    stop_reason: str
    stop_sequence: str | None
    output_tokens: int
    thinking_tokens: int = 0
    web_searches: int = 0
    web_fetches: int = 0
    extra_input_tokens: int = 0  # server tool results read into the prompt during the turn


def _last_user(body: dict) -> dict | None:
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            return message
    return None


def _user_text(message: dict | None) -> str:
    if message is None:
        return ""
    parts = [
        b.get("text", "") for b in as_blocks(message.get("content")) if b.get("type") == "text"
    ]
    return " ".join(p for p in parts if p).strip()


def _tool_results(message: dict | None) -> list[dict]:
    if message is None:
        return []
    return [b for b in as_blocks(message.get("content")) if b.get("type") == "tool_result"]


def _result_text(result: dict) -> str:
    content = result.get("content", "")
    if isinstance(content, str):
        return content
    return " ".join(p.get("text", "") for p in content if p.get("type") == "text")


def _breakpoints(plan: CachePlan, flat: FlatRequest, model: ModelInfo) -> str:
    """Where the request put its breakpoints: a fact of the request, not of the cache."""
    if not plan.breakpoints:
        return "No block carries `cache_control`, so nothing is read from or written to the cache."
    marks = ", ".join(
        f"`{flat.blocks[p.index].path}` ({p.ttl}{', automatic' if p.automatic else ''})"
        for p in plan.breakpoints
    )
    line = f"Breakpoints: {marks}."
    if not plan.effective:
        line += (
            f" Every breakpoint's prefix is under {model.display_name}'s minimum of "
            f"{model.min_cacheable_tokens} tokens, so they are ignored."
        )
    return line


def _report(body: dict, plan: CachePlan, flat: FlatRequest, model: ModelInfo) -> str:
    """The reply's text: what the request holds, never what the cache held (the same request
    gets the same reply whether it wrote or read; what it read, wrote and paid in full is in
    the response's ``usage``)."""
    last = _last_user(body)
    lines = ["**Offline simulator** (no model ran; this reply describes the request)."]
    results = _tool_results(last)
    if results:
        for result in results:
            lines.append(f"\nThe tool returned: {_result_text(result)[:200]}")
    question = _user_text(last)
    if question:
        quoted = question if len(question) <= 160 else question[:157] + "..."
        lines.append(f"\nYou wrote: \u201c{quoted}\u201d")
    lines.append(
        f"\nThe prompt holds {flat.total_tokens} tokens by this simulator's estimate. "
        + _breakpoints(plan, flat, model)
        + " What was read from the cache, written and paid in full is in this response's usage."
    )
    instructions = _instructions(body)
    if instructions:
        lines.append("\nInstructions added mid-conversation (role system): " + instructions)
    return "\n".join(lines)


def _instructions(body: dict) -> str:
    """The mid-conversation system messages in force, quoted short, and the tool changes."""
    said = []
    for message in body.get("messages") or []:
        if message.get("role") != "system":
            continue
        for block in as_blocks(message.get("content")):
            if block.get("type") == "text":
                text = block.get("text", "")
                said.append("\u201c" + (text if len(text) <= 80 else text[:77] + "...") + "\u201d")
            elif block.get("type") in ("tool_addition", "tool_removal"):
                verb = "added" if block["type"] == "tool_addition" else "removed"
                said.append(f"tool `{(block.get('tool') or {}).get('name', '')}` {verb}")
    return "; ".join(said)


def _tool_call(body: dict) -> dict | None:
    tools = [t for t in body.get("tools") or [] if t.get("type", "custom") == "custom"]
    choice = body.get("tool_choice") or {"type": "auto"}
    if not tools or choice.get("type") == "none":
        return None
    messages = [m for m in body.get("messages") or [] if m.get("role") != "system"]
    if not messages or messages[-1].get("role") != "user":
        return None
    last = messages[-1]
    if _tool_results(last) and choice.get("type") == "auto":
        return None
    text = _user_text(last)
    chosen = None
    if choice.get("type") == "tool":
        chosen = next(t for t in tools if t["name"] == choice.get("name"))
    else:
        named = [t for t in tools if re.search(rf"(?<![\w-]){re.escape(t['name'])}(?![\w-])", text)]
        chosen = named[0] if named else (tools[0] if choice.get("type") == "any" else None)
    if chosen is None:
        return None
    after = text.split(chosen["name"], 1)[1] if chosen["name"] in text else text
    return {
        "type": "tool_use",
        "id": "toolu_sim_" + hashlib.sha256(canonical_json(messages).encode()).hexdigest()[:20],
        "name": chosen["name"],
        "input": _tool_input(chosen.get("input_schema") or {}, after),
    }


def _tool_input(schema: dict, text: str) -> dict:
    """A call's input: a JSON object the user wrote, else plausible values of the schema
    (``schema_values``), with the user's words in its one string parameter if it has one."""
    match = re.search(r"\{.*\}", text, re.S)
    if match:
        try:
            value = json.loads(match.group(0))
            if isinstance(value, dict):
                return value
        except ValueError:
            pass
    props = schema.get("properties") or {}
    out = value_for(schema)
    if not isinstance(out, dict):
        out = {}
    strings = [n for n, p in props.items() if isinstance(p, dict) and p.get("type") == "string"]
    free = [n for n in strings if not {"enum", "const", "format"} & set(props[n])]
    if len(strings) == 1 and free and text.strip(" :,.\n\t"):
        out[strings[0]] = text.strip(" :,.\n\t")
    return out


def _structured(body: dict) -> str | None:
    """The reply's text under ``output_config.format``: JSON matching the schema
    (structured-outputs.md: "valid JSON matching your schema, returned in the response's text
    content block")."""
    fmt = (body.get("output_config") or {}).get("format")
    if not isinstance(fmt, dict):
        return None
    return json.dumps(value_for(fmt.get("schema") or {}), ensure_ascii=False)


def _cut(text: str, body: dict) -> tuple[str, str, str | None]:
    stop_reason, stop_sequence = "end_turn", None
    found = [(text.find(s), s) for s in body.get("stop_sequences") or [] if s in text]
    if found:
        position, stop_sequence = min(found)
        text, stop_reason = text[:position], "stop_sequence"
    limit = body["max_tokens"] * BYTES_PER_TOKEN
    encoded = text.encode("utf-8")
    if len(encoded) > limit:
        text = encoded[:limit].decode("utf-8", "ignore")
        stop_reason, stop_sequence = "max_tokens", None
    return text, stop_reason, stop_sequence


def _thinks(body: dict) -> bool:
    """Thinking is asked for explicitly (with adaptive thinking on by a model's default the
    simulator, like Claude on an easy question, decides not to think)."""
    return (body.get("thinking") or {}).get("type") in ("enabled", "adaptive", "between_tools")


def display_of(body: dict, model: ModelInfo) -> str:
    """What a thinking block shows (thinking.md, "Controlling thinking display"): the request's
    ``display``, else the model's default (``omitted`` on Opus 4.7 and later)."""
    return (body.get("thinking") or {}).get("display") or model.thinking_display


def _filler(tokens: int) -> str:
    """Plain text the estimator counts as ``tokens`` tokens."""
    words = "The simulator pads this reply to the length a benchmark asked for. "
    return (words * (tokens * BYTES_PER_TOKEN // len(words) + 1))[: tokens * BYTES_PER_TOKEN]


def compose(
    body: dict,
    plan: CachePlan,
    flat: FlatRequest,
    model: ModelInfo,
    reply_tokens: int | None = None,
) -> Reply:
    """The reply; ``reply_tokens`` (a benchmark's ``x-sim-reply-tokens``) sets a text reply's
    length instead of the report."""
    if body.get("max_tokens") == 0:  # pre-warming: the prompt is read, nothing is generated
        return Reply((), "max_tokens", None, 0)
    content: list[dict] = []
    thinking_tokens = 0
    if _thinks(body):
        words = "The simulator does not think; this block stands in for Claude's thinking."
        omitted = display_of(body, model) == "omitted"
        content.append(
            {"type": "thinking", "thinking": "" if omitted else words, "signature": sign(words)}
        )
        thinking_tokens = text_tokens(words)
    used = server_uses(body, _user_text(_last_user(body))) if reply_tokens is None else None
    server = {}
    if used is not None:
        content.extend(used.blocks)
        server = {
            "web_searches": used.searches,
            "web_fetches": used.fetches,
            "extra_input_tokens": used.input_tokens,
        }
    call = _tool_call(body)
    if call is not None:
        content.append({"type": "text", "text": f"Calling `{call['name']}`."})
        content.append(call)
        output = sum(text_tokens(canonical_json(b)) for b in content)
        return Reply(tuple(content), "tool_use", None, output, thinking_tokens, **server)
    report = _structured(body)
    if report is None:
        report = _report(body, plan, flat, model) if reply_tokens is None else _filler(reply_tokens)
    text, stop_reason, stop_sequence = _cut(report, body)
    if text:
        content.append({"type": "text", "text": text})
    output = sum(text_tokens(b.get("text") or "") for b in content) + thinking_tokens
    return Reply(
        tuple(content), stop_reason, stop_sequence, max(output, 1), thinking_tokens, **server
    )
