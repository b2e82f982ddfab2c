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
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from app.conversation.blocks import ToolDefinition
from app.conversation.documents import LockedDocument, document_from_text
from app.conversation.images import LockedImage, lock_image
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


def _number(value, what: str, minimum: float = 0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise TraceError(f"{what} must be a number >= {minimum}, not {value!r}")
    return value


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
                f"not {value!r}"
            )


def parse(data: dict, origin: str = "trace") -> Trace:
    if not isinstance(data, dict):
        raise TraceError(f"{origin}: a trace is a JSON object")
    try:
        name, model, events = data["name"], data["model"], data["events"]
    except KeyError as exc:
        raise TraceError(f"{origin}: missing {exc.args[0]!r}") from None
    parsed = []
    for i, raw in enumerate(events):
        where = f"{origin}: event {i + 1}"
        if not isinstance(raw, dict) or raw.get("do") not in ACTIONS:
            raise TraceError(f"{where}: 'do' must be one of {', '.join(ACTIONS)}")
        for key in ACTIONS[raw["do"]]:
            _number(raw.get(key), f"{where}: {key}")
        if raw["do"] == "attach":
            image = raw.get("image")
            if "document_tokens" in raw:
                _number(raw["document_tokens"], f"{where}: document_tokens", 1)
            elif not (isinstance(image, list) and len(image) == 2):
                raise TraceError(f"{where}: attach needs document_tokens or image [w, h]")
            else:
                for v in image:
                    _number(v, f"{where}: image size", 1)
        _check_branch(raw, where, sum(e.do in SENDS for e in parsed))
        fields = {k: v for k, v in raw.items() if k not in ("wait", "do")}
        parsed.append(Event(_number(raw.get("wait", 0), f"{where}: wait"), raw["do"], fields))
    if not any(e.do == "send" for e in parsed):
        raise TraceError(f"{origin}: the trace sends nothing")
    return Trace(
        str(name),
        str(model),
        int(_number(data.get("system_tokens", 0), f"{origin}: system_tokens")),
        int(_number(data.get("tool_tokens", 0), f"{origin}: tool_tokens")),
        tuple(parsed),
    )


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


def from_requests(name: str, model: str, requests: list[tuple[float, object, int]]) -> Trace:
    """A session another program sent (the inspector's capture) as a trace: ``requests`` are
    (start time, its flattened request, the reply's output tokens), warm-ups left out (each
    policy decides its own). Each turn sends what its request added after the previous one's
    prefix, after the pause between their starts; the tools and the system prompt are the
    first request's. An approximation: the content is generated to the same token counts."""
    if not requests:
        raise TraceError(f"{name}: no request to replay")
    first = requests[0][1]
    tools = sum(b.tokens for b in first.blocks if b.facts.level == "tools")
    system = sum(b.tokens for b in first.blocks if b.facts.level == "system")
    events, previous_start, previous_total = [], requests[0][0], tools + system
    for started, flat, output in requests:
        added = max(1, flat.total_tokens - previous_total)
        events.append(
            {
                "wait": round(max(0.0, started - previous_start), 3),
                "do": "send",
                "tokens": added,
                "reply_tokens": max(1, output),
            }
        )
        previous_start, previous_total = started, flat.total_tokens + output
    data = {
        "name": name,
        "model": model,
        "system_tokens": system,
        "tool_tokens": tools,
        "events": [*events, {"wait": 30, "do": "close"}],
    }
    return parse(data, name)
