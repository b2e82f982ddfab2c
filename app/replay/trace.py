"""Session traces: the fixed JSON format of issue 13, checked, and the content each event stands
for, generated to the given token counts by the project's estimator.

    {"name": "...", "model": "claude-sonnet-4-6", "system_tokens": 3000, "tool_tokens": 6000,
     "events": [{"wait": 0, "do": "attach", "document_tokens": 42000},
                {"wait": 0, "do": "attach", "image": [1600, 1000]},
                {"wait": 3, "do": "type", "seconds": 20},
                {"wait": 0, "do": "send", "tokens": 40, "reply_tokens": 800},
                {"wait": 25, "do": "edit_last", "tokens": 55, "reply_tokens": 600},
                {"wait": 20, "do": "set_system", "system_tokens": 2200},
                {"wait": 9, "do": "send", "tokens": 30, "reply_tokens": 90, "after": 1},
                {"wait": 5, "do": "regenerate", "of": 3, "reply_tokens": 120},
                {"wait": 30, "do": "close"}]}

``wait`` is idle seconds after the previous event ended (a send ends when its reply has finished).
Sends are numbered from 1 in order (``send``, ``edit_last`` and ``regenerate`` each make one).
A ``send`` follows the reply of the send before it, or, with ``after``: k, the reply of send k (0:
the start), so that a conversation's branches replay in the order they were made: the user went
back to that point (an edit of the message after it, or a switch to that branch) before typing.
``edit_last`` replaces the last message of the user (its attachments stay attached);
``regenerate`` answers the message of send ``of`` again.
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
    "regenerate": ("of", "reply_tokens"),
    "set_system": ("system_tokens",),
    "close": (),
}
SENDS = ("send", "edit_last", "regenerate")  # each is one turn, with its time to first token
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
        return sum(e.do in SENDS for e in self.events)


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
    """Every count within the model's context window and output limit, and the conversation
    each send sends (its own path: a send ``after`` an earlier reply, an edit, a regenerate),
    never over the context window."""
    window = model.context_window
    attached = 0  # attachments waiting for the next message
    path = 0  # the conversation's tokens on the path the next send follows
    starts: list[int] = []  # per send: the path before its message
    asked: list[tuple[int, int]] = []  # per send: its message (attachments, text)
    ends: list[int] = []  # per send: the path after its reply
    for i, event in enumerate(events):
        where = f"{origin}: event {i + 1}"
        if event.do in SENDS:
            reply = int(
                _number(event["reply_tokens"], f"{where}: reply_tokens", 0, model.max_output_tokens)
            )
            if event.do == "regenerate":
                k = int(event["of"]) - 1
                start, message = starts[k], asked[k]
            else:
                text = int(_number(event["tokens"], f"{where}: tokens", 0, window))
                if event.do == "edit_last" and starts:
                    start, message = starts[-1], (asked[-1][0] + attached, text)
                else:
                    after = event.fields.get("after")
                    start = path if after is None else (ends[after - 1] if after else 0)
                    message = (attached, text)
                attached = 0
            starts.append(start)
            asked.append(message)
            path = start + sum(message) + reply
            ends.append(path)
        elif event.do == "set_system":
            system = int(_number(event["system_tokens"], f"{where}: system_tokens", 0, window))
        elif event.do == "attach" and "document_tokens" in event.fields:
            attached += int(
                _number(event["document_tokens"], f"{where}: document_tokens", 1, window)
            )
        held = system + tools + path + attached
        if held * model.token_scale > window:
            raise TraceError(
                f"{where}: the conversation reaches about {held:,} tokens, over "
                f"{model.display_name}'s context window of {window:,}"
            )


def _check_branch(raw: dict, where: str, sent: int) -> None:
    """``after`` (a send) and ``of`` (a regenerate) name a send made before this one."""
    for key, lowest in (("after", 0), ("of", 1)):
        if key not in raw:
            continue
        owner = "send" if key == "after" else "regenerate"
        if raw["do"] != owner:
            raise TraceError(f"{where}: {key!r} belongs to a {owner}")
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= sent:
            raise TraceError(
                f"{where}: {key} must name a send made before it ({lowest} to {sent}), "
                f"not {_shown(value)}"
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
    parsed: list[Event] = []
    sends = 0
    for i, raw in enumerate(events):
        where = f"{origin}: event {i + 1}"
        parsed.append(_event(raw, where))
        _check_branch(raw, where, sends)
        sends += parsed[-1].do in SENDS
    if not any(e.do == "send" for e in parsed):
        raise TraceError(f"{origin}: the trace sends nothing")
    if sends > MAX_SENDS:
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
