"""Session traces: the fixed JSON format of issue 13, checked, and the content each event stands
for, generated to the given token counts by the project's estimator.

    {"name": "...", "model": "claude-sonnet-4-6", "system_tokens": 3000, "tool_tokens": 6000,
     "events": [{"wait": 0, "do": "attach", "document_tokens": 42000},
                {"wait": 0, "do": "attach", "image": [1600, 1000]},
                {"wait": 3, "do": "type", "seconds": 20},
                {"wait": 0, "do": "send", "tokens": 40, "reply_tokens": 800},
                {"wait": 25, "do": "edit_last", "tokens": 55, "reply_tokens": 600},
                {"wait": 20, "do": "set_system", "system_tokens": 2200},
                {"wait": 30, "do": "close"}]}

``wait`` is idle seconds after the previous event ended (a send ends when its reply has finished).
"""

from __future__ import annotations

import io
import json
import math
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from app.conversation.blocks import ToolDefinition
from app.conversation.documents import LockedDocument, document_from_text
from app.conversation.images import LockedImage, lock_image
from app.facts.catalogue import ModelInfo, default_catalogue
from app.facts.tokens import (
    BYTES_PER_TOKEN,
    TOOL_USE_PREAMBLE_TOKENS,
    text_tokens,
    tool_definition_tokens,
)

ACTIONS = {
    "attach": (),
    "type": ("seconds",),
    "send": ("tokens", "reply_tokens"),
    "edit_last": ("tokens", "reply_tokens"),
    "set_system": ("system_tokens",),
    "close": (),
}
TOOL_TOKENS_EACH = 1500
WORDS = (
    "cache prefix token reply draft window model read write breakpoint lifetime session user "
    "pause document image tool system answer question price second minute hour"
).split()


class TraceError(ValueError):
    pass


@dataclass(frozen=True)
class Event:
    wait: float
    do: str
    fields: dict

    def __getitem__(self, key: str):
        return self.fields[key]


@dataclass(frozen=True)
class Trace:
    name: str
    model: str
    system_tokens: int
    tool_tokens: int
    events: tuple[Event, ...]

    @property
    def sends(self) -> int:
        return sum(e.do in ("send", "edit_last") for e in self.events)


# Bounds on what a trace may hold (docs/replay.md): past them a file is refused with one line.
MAX_FILE_BYTES = 32 * 1024 * 1024  # a trace or an export, read whole
MAX_EVENTS = 5_000
MAX_SENDS = 1_000
MAX_WAIT_S = 86_400.0  # one pause: a day
MAX_TYPING_S = 3_600.0
MAX_IMAGE_SIDE = 8_000  # vision.md: "The maximum dimensions per image are 8000x8000 px."
MAX_NAME_CHARS = 120


def _number(value, what: str, minimum: float = 0, maximum: float | None = None) -> float:
    """A JSON number within bounds (never NaN or infinite: JSON has neither)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TraceError(f"{what} must be a number, not {_shown(value)}")
    if value < minimum:
        raise TraceError(f"{what} must be a number >= {minimum:,.0f}, not {_shown(value)}")
    if maximum is not None and value > maximum:
        raise TraceError(f"{what} must be a number <= {maximum:,.0f}, not {_shown(value)}")
    return value


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def model_of(name: object, origin: str) -> ModelInfo:
    """The trace's model: one Cachescope knows, not retired (its requests would fail)."""
    if not isinstance(name, str) or not name.strip():
        raise TraceError(f"{origin}: 'model' must name a model, not {_shown(name)}")
    model = default_catalogue().resolve(name)
    if model is None:
        raise TraceError(
            f"{origin}: {_shown(name)} is not a model Cachescope knows (resources/models.json)"
        )
    if model.retired:
        when = f" on {model.retires_at[:10]}" if model.retires_at else ""
        raise TraceError(
            f"{origin}: {model.display_name} was retired{when}: its requests fail with 404 "
            "(model-deprecations.md)"
        )
    return model


def _event(raw: object, where: str) -> Event:
    """One event's shape and the bounds that hold whatever the model."""
    if not isinstance(raw, dict) or raw.get("do") not in ACTIONS:
        raise TraceError(f"{where}: 'do' must be one of {', '.join(ACTIONS)}")
    do = raw["do"]
    for key in ACTIONS[do]:
        _number(raw.get(key), f"{where}: {key}")
    if do == "type":
        _number(raw["seconds"], f"{where}: seconds", 0, MAX_TYPING_S)
    elif do == "attach":
        image = raw.get("image")
        if "document_tokens" in raw:
            _number(raw["document_tokens"], f"{where}: document_tokens", 1)
        elif not (isinstance(image, list) and len(image) == 2):
            raise TraceError(f"{where}: attach needs document_tokens or image [w, h]")
        else:
            for v in image:
                _number(v, f"{where}: image size", 1, MAX_IMAGE_SIDE)
    fields = {k: v for k, v in raw.items() if k not in ("wait", "do")}
    return Event(_number(raw.get("wait", 0), f"{where}: wait", 0, MAX_WAIT_S), do, fields)


def _fits(model: ModelInfo, system: int, tools: int, events: list[Event], origin: str) -> None:
    """Every count within the model's context window and output limit, and the conversation,
    summed as it grows, never over the context window."""
    window = model.context_window
    held, sent = system + tools, []  # the conversation's tokens so far; each send's share
    for i, event in enumerate(events):
        where = f"{origin}: event {i + 1}"
        if event.do in ("send", "edit_last"):
            tokens = _number(event["tokens"], f"{where}: tokens", 0, window)
            reply = _number(
                event["reply_tokens"], f"{where}: reply_tokens", 0, model.max_output_tokens
            )
            if event.do == "edit_last" and sent:
                held -= sent.pop()
            sent.append(int(tokens) + int(reply))
            held += sent[-1]
        elif event.do == "set_system":
            new = int(_number(event["system_tokens"], f"{where}: system_tokens", 0, window))
            held, system = held + new - system, new
        elif event.do == "attach" and "document_tokens" in event.fields:
            held += int(_number(event["document_tokens"], f"{where}: document_tokens", 1, window))
        if held * model.token_scale > window:
            raise TraceError(
                f"{where}: the conversation reaches about {held:,} tokens, over "
                f"{model.display_name}'s context window of {window:,}"
            )


def parse(data: dict, origin: str = "trace") -> Trace:
    """A trace checked, its shape first, then its model, then every count against the model's
    context window and output limit: a replay never starts on what the API would refuse or a
    loop could not finish (the bounds above)."""
    if not isinstance(data, dict):
        raise TraceError(f"{origin}: a trace is a JSON object")
    try:
        name, model_name, events = data["name"], data["model"], data["events"]
    except KeyError as exc:
        raise TraceError(f"{origin}: missing {exc.args[0]!r}") from None
    if not isinstance(events, list):
        raise TraceError(f"{origin}: 'events' must be a list of events, not {_shown(events)}")
    if len(events) > MAX_EVENTS:
        raise TraceError(f"{origin}: {len(events):,} events; a trace holds at most {MAX_EVENTS:,}")
    parsed = [_event(raw, f"{origin}: event {i + 1}") for i, raw in enumerate(events)]
    if not any(e.do == "send" for e in parsed):
        raise TraceError(f"{origin}: the trace sends nothing")
    if sum(e.do in ("send", "edit_last") for e in parsed) > MAX_SENDS:
        raise TraceError(f"{origin}: more than {MAX_SENDS:,} sends; a replay holds at most that")
    model = model_of(model_name, origin)
    window = model.context_window
    system = int(_number(data.get("system_tokens", 0), f"{origin}: system_tokens", 0, window))
    tools = int(_number(data.get("tool_tokens", 0), f"{origin}: tool_tokens", 0, window))
    _fits(model, system, tools, parsed, origin)
    return Trace(str(name)[:MAX_NAME_CHARS], model.id, system, tools, tuple(parsed))


def load(folder: Path) -> list[Trace]:
    files = sorted(Path(folder).glob("*.json"))
    if not files:
        raise TraceError(f"no *.json traces in {folder}")
    traces = []
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise TraceError(f"{path.name}: {exc}") from None
        traces.append(parse(data, path.name))
    return traces


class Content:
    """Deterministic text, documents, images and tools for one trace (the same for every
    policy, so that every policy sends the same bytes)."""

    def __init__(self, trace: Trace):
        self.trace = trace
        self.rng = random.Random(trace.name)
        self.count = 0

    def text(self, tokens: int, tag: str) -> str:
        """Text of exactly ``tokens`` tokens by the estimator, unique to this trace and tag."""
        self.count += 1
        head = f"[{self.trace.name} {tag} {self.count}] "
        words = [head]
        size = len(head)
        target = max(1, int(tokens)) * BYTES_PER_TOKEN
        while size < target:
            word = self.rng.choice(WORDS) + " "
            words.append(word)
            size += len(word)
        return "".join(words)[:target]

    def document(self, tokens: int) -> LockedDocument:
        name = f"document-{self.count + 1}.txt"
        probe = document_from_text("x", name)
        overhead = probe.tokens - text_tokens("x")
        return document_from_text(self.text(max(1, tokens - overhead), "document"), name)

    def image(self, width: int, height: int) -> LockedImage:
        small = Image.new("RGB", (32, 24))
        small.putdata([tuple(self.rng.randrange(256) for _ in range(3)) for _ in range(32 * 24)])
        buf = io.BytesIO()
        small.resize((int(width), int(height))).save(buf, "JPEG", quality=85)
        return lock_image(buf.getvalue())

    def tools(self, tokens: int) -> tuple[ToolDefinition, ...]:
        """Tool definitions whose estimate (preamble included) is about ``tokens``."""
        if tokens <= TOOL_USE_PREAMBLE_TOKENS:
            return ()
        left = tokens - TOOL_USE_PREAMBLE_TOKENS
        tools = []
        while left > 0:
            each = min(TOOL_TOKENS_EACH, left)
            name = f"tool_{len(tools)}"
            schema = {"type": "object", "properties": {"q": {"type": "string"}}}
            probe = tool_definition_tokens(ToolDefinition.create(name, "", schema).api)
            description = self.text(max(1, each - probe), "tool")
            tools.append(ToolDefinition.create(name, description, schema))
            left -= each
        return tuple(tools)


TYPING_CHARS_PER_S = 5.0  # assumed when a saved conversation does not say how long typing took
ASSUMED_PAUSE_S = 60.0  # between messages that carry no time


def from_conversation(conversation, records: list[dict] | None = None) -> tuple[Trace, list[str]]:
    """A saved conversation as a trace (its messages on screen, with their times), and what
    had to be assumed. ``records`` are its saved request records (dicts), for the replies'
    lengths. Typing time is not saved: each message is assumed typed at 5 characters a second
    within the pause before it."""
    from app.conversation.blocks import DocumentBlock, ImageBlock, ToolResultBlock
    from app.facts.tokens import tool_definition_tokens

    notes: list[str] = []
    messages = conversation.messages
    outputs = [
        int(r.get("usage", {}).get("output", 0))
        for r in records or []
        if r.get("kind") == "turn" and not r.get("error")
    ]
    events: list[dict] = []
    previous_end: float | None = None
    untimed = tools_used = replies = 0
    for i, message in enumerate(messages):
        if message.role != "user":
            continue
        if any(isinstance(b, ToolResultBlock) for b in message.blocks):
            tools_used += 1
            continue  # a tool round: replayed as part of the turn it belongs to
        reply = next((m for m in messages[i + 1 :] if m.role == "assistant"), None)
        text = message.text
        if previous_end is None or not message.created_at or not previous_end:
            pause = 0.0 if previous_end is None else ASSUMED_PAUSE_S
            untimed += previous_end is not None and not message.created_at
        else:
            pause = max(0.0, message.created_at - previous_end)
        typing = min(pause, len(text) / TYPING_CHARS_PER_S)
        events.append({"wait": round(pause - typing, 3), "do": "type", "seconds": round(typing, 3)})
        for block in message.blocks:
            if isinstance(block, DocumentBlock):
                events.append({"wait": 0, "do": "attach", "document_tokens": block.document.tokens})
            elif isinstance(block, ImageBlock):
                image = block.image
                events.append({"wait": 0, "do": "attach", "image": [image.width, image.height]})
        reply_tokens = outputs[replies] if replies < len(outputs) else None
        if reply_tokens is None:
            reply_tokens = text_tokens(reply.text) if reply is not None else 1
        replies += 1
        events.append(
            {
                "wait": 0,
                "do": "send",
                "tokens": max(1, text_tokens(text)),
                "reply_tokens": max(1, reply_tokens),
            }
        )
        end = reply.created_at if reply is not None else message.created_at
        previous_end = end or previous_end
    if untimed:
        notes.append(f"{untimed} message(s) with no time: {ASSUMED_PAUSE_S:.0f} s pauses assumed")
    notes.append(f"typing assumed at {TYPING_CHARS_PER_S:.0f} characters a second")
    if tools_used:
        notes.append(f"{tools_used} tool round(s) replayed as plain turns")
    if conversation.branches:
        count = len(conversation.branches)
        notes.append(f"{count} branch{'es' if count > 1 else ''} left out: the path on screen only")
    system_tokens = text_tokens(conversation.system_text) if conversation.system else 0
    tool_tokens = sum(tool_definition_tokens(t.api) for t in conversation.tools)
    if tool_tokens:
        tool_tokens += TOOL_USE_PREAMBLE_TOKENS
    if not any(e["do"] == "send" for e in events):
        raise TraceError("the conversation has no message of yours to replay")
    data = {
        "name": conversation.title or conversation.id,
        "model": conversation.model,
        "system_tokens": system_tokens,
        "tool_tokens": tool_tokens,
        "events": [*events, {"wait": 30, "do": "close"}],
    }
    return parse(data, data["name"]), notes


def from_requests(name: str, model: str, requests: list[tuple[float, int, int, int, int]]) -> Trace:
    """A session another program sent (the inspector's capture) as a trace: ``requests`` are
    (start time, tools tokens, system tokens, the whole prompt's tokens, the reply's output
    tokens) of each turn, warm-ups left out (each policy decides its own). Each turn sends
    what its request added after the previous one's prefix, after the pause between their
    starts; the tools and the system prompt are the first request's. An approximation: the
    content is generated to the same token counts."""
    if not requests:
        raise TraceError(f"{name}: no request to replay")
    _, tools, system, _, _ = requests[0]
    events, previous_start, previous_total = [], requests[0][0], tools + system
    for started, _, _, total, output in requests:
        added = max(1, total - previous_total)
        events.append(
            {
                "wait": round(max(0.0, started - previous_start), 3),
                "do": "send",
                "tokens": added,
                "reply_tokens": max(1, output),
            }
        )
        previous_start, previous_total = started, total + output
    data = {
        "name": name,
        "model": model,
        "system_tokens": system,
        "tool_tokens": tools,
        "events": [*events, {"wait": 30, "do": "close"}],
    }
    return parse(data, name)
