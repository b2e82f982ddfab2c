"""Cache strategies: where the breakpoints of the next request go.

Each strategy is a pure function of the conversation, the settings and the request's layout
(tokens and blocks in order, derived from the conversation). The five lm-deluge patterns place
exactly what lm-deluge 0.0.168 places; ``automatic`` uses the API's top-level cache_control;
``smart`` is Cachescope's own. Pins ("cache up to here") and the hard rules are applied by
``apply_rules``, the same for every strategy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.conversation.conversation import Conversation
from app.facts.rules import LOOKBACK_BLOCKS, MAX_BREAKPOINTS

LONG_GAP_S = 270.0  # a pause past 4.5 minutes would outlive a 5-minute entry
ONE_HOUR_S = 3600.0
LARGE_ATTACHMENT_TOKENS = 1024


@dataclass(frozen=True)
class Spot:
    """A block that can carry a breakpoint: ("tools", i), ("system", i) or ("messages", i, j)."""

    level: str
    index: int
    block: int = 0


@dataclass(frozen=True)
class Position:
    spot: Spot
    flat_index: int
    cumulative: int
    tokens: int
    can_carry: bool
    kind: str


@dataclass(frozen=True)
class Layout:
    positions: tuple[Position, ...]
    min_tokens: int

    def of_message(self, index: int) -> list[Position]:
        return [p for p in self.positions if p.spot.level == "messages" and p.spot.index == index]

    def last_carrier_of_message(self, index: int) -> Position | None:
        return next((p for p in reversed(self.of_message(index)) if p.can_carry), None)

    def last_of_level(self, level: str) -> Position | None:
        return next((p for p in reversed(self.positions) if p.spot.level == level), None)


@dataclass(frozen=True)
class Mark:
    spot: Spot
    ttl: str
    reason: str


@dataclass(frozen=True)
class Placement:
    marks: tuple[Mark, ...]  # in priority order: the first ones win when slots run out
    automatic_ttl: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class CacheSettings:
    ttl: str = "5m"  # "5m", "1h" or "adaptive"


@dataclass(frozen=True)
class Strategy:
    name: str
    label: str
    explanation: str
    place: Callable[[Conversation, CacheSettings, Layout], Placement]


def user_turn_gaps(conversation: Conversation) -> list[float]:
    """Seconds between the user's own turns (tool results are not the user typing)."""
    times = [
        m.created_at
        for m in conversation.messages
        if m.role == "user" and not m.is_tool_result and m.created_at
    ]
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def resolve_ttl(conversation: Conversation, settings: CacheSettings) -> str:
    if settings.ttl != "adaptive":
        return settings.ttl
    recent = user_turn_gaps(conversation)[-5:]
    return "1h" if any(LONG_GAP_S < gap < ONE_HOUR_S for gap in recent) else "5m"


def _mark_message(layout: Layout, index: int, ttl: str, reason: str) -> Mark | None:
    position = layout.last_carrier_of_message(index)
    return Mark(position.spot, ttl, reason) if position else None


def _none(conversation, settings, layout) -> Placement:
    return Placement(())


def _system_and_tools(conversation, settings, layout) -> Placement:
    last = layout.last_of_level("system")
    if last is None:
        return Placement((), notes=("no system prompt: nothing to mark",))
    return Placement((Mark(last.spot, resolve_ttl(conversation, settings), "system prompt"),))


def _tools_only(conversation, settings, layout) -> Placement:
    last = layout.last_of_level("tools")
    if last is None:
        return Placement((), notes=("no tools: nothing to mark",))
    return Placement((Mark(last.spot, resolve_ttl(conversation, settings), "last tool"),))


def _last_user_messages(count: int):
    def place(conversation, settings, layout) -> Placement:
        ttl = resolve_ttl(conversation, settings)
        users = [i for i, m in enumerate(conversation.messages) if m.role == "user"][-count:]
        # Newest first: when pins leave fewer slots, the newest messages keep theirs.
        marks = [_mark_message(layout, i, ttl, "user message") for i in reversed(users)]
        return Placement(tuple(m for m in marks if m))

    return place


def _automatic(conversation, settings, layout) -> Placement:
    return Placement((), automatic_ttl=resolve_ttl(conversation, settings))


def _smart(conversation, settings, layout) -> Placement:
    """Cachescope's own placement, aiming at the lowest total cost over the conversation."""
    ttl = resolve_ttl(conversation, settings)
    messages = conversation.messages
    marks: list[Mark] = []
    notes: list[str] = []
    end = None
    if messages:
        # The newest message that can carry a mark: a system message after the last user turn
        # (an instruction's tool changes, a turn's effort) may have none.
        last = next(
            (i for i in range(len(messages) - 1, -1, -1) if layout.last_carrier_of_message(i)),
            len(messages) - 1,
        )
        end = _mark_message(layout, last, ttl, "newest content: the next turn reads all of it")
        if end:
            marks.append(end)
        previous_end = _previous_request_end(conversation, layout)
        if previous_end is not None and end is not None:
            end_position = next(p for p in layout.positions if p.spot == end.spot)
            # The window counts the breakpoint itself: an entry 20 or more positions back is
            # out of reach (prompt-caching.md, "The lookback window is 20 blocks").
            if end_position.flat_index - previous_end.flat_index >= LOOKBACK_BLOCKS:
                marks.append(
                    Mark(
                        previous_end.spot,
                        ttl,
                        "where the last turn's entry ends: over 20 new blocks",
                    )
                )
    stable = layout.last_of_level("system") or layout.last_of_level("tools")
    if stable is not None:
        if stable.cumulative >= layout.min_tokens:
            marks.append(Mark(stable.spot, ttl, "stable part: tools and system prompt"))
        else:
            notes.append("tools and system prompt are under the model's minimum")
    attachment = _large_attachments_end(conversation, layout)
    if attachment is not None:
        marks.append(
            Mark(attachment.spot, ttl, "after the attachments: an edited question reuses them")
        )
    return Placement(tuple(marks), notes=tuple(notes))


def _previous_request_end(conversation: Conversation, layout: Layout) -> Position | None:
    """The last block of the previous request: the user message before the last reply."""
    messages = conversation.messages
    last_assistant = max((i for i, m in enumerate(messages) if m.role == "assistant"), default=None)
    if last_assistant is None:
        return None
    before = [i for i in range(last_assistant) if messages[i].role == "user"]
    return layout.last_carrier_of_message(before[-1]) if before else None


def _large_attachments_end(conversation: Conversation, layout: Layout) -> Position | None:
    """The last block before the question in the newest user message, when what precedes the
    question is large: writes happen only at breakpoints, so an edited question can reuse the
    attachments (images, documents, pasted text) only if an entry ends right after them."""
    messages = conversation.messages
    newest = len(messages) - 1
    while newest >= 0 and messages[newest].role == "system":
        newest -= 1  # an instruction or a turn's effort sent after the question
    if newest < 0 or messages[newest].role != "user":
        return None
    positions = layout.of_message(newest)
    attached = [p for p in positions[:-1] if p.can_carry]
    if not attached or sum(p.tokens for p in positions[:-1]) < LARGE_ATTACHMENT_TOKENS:
        return None
    return attached[-1]


STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy("none", "No caching", "No breakpoints: every token is paid in full.", _none),
        Strategy(
            "system_and_tools",
            "System and tools",
            "One breakpoint on the system prompt; tools are cached because they come first.",
            _system_and_tools,
        ),
        Strategy(
            "tools_only", "Tools only", "One breakpoint on the last tool definition.", _tools_only
        ),
        Strategy(
            "last_user_message",
            "Last user message",
            "A breakpoint on the last user message.",
            _last_user_messages(1),
        ),
        Strategy(
            "last_2_user_messages",
            "Last 2 user messages",
            "Breakpoints on the last two user messages.",
            _last_user_messages(2),
        ),
        Strategy(
            "last_3_user_messages",
            "Last 3 user messages",
            "Breakpoints on the last three user messages.",
            _last_user_messages(3),
        ),
        Strategy(
            "automatic",
            "Automatic (API)",
            "The API's top-level cache_control: one breakpoint that follows the last block.",
            _automatic,
        ),
        Strategy(
            "smart",
            "Smart",
            "Stable part, newest content, lookback keeper and attachments; TTL by your pauses.",
            _smart,
        ),
    )
}


def apply_rules(
    placement: Placement, conversation: Conversation, settings: CacheSettings, layout: Layout
) -> tuple[list[tuple[Position, Mark]], str | None, list[str]]:
    """Pins first, then the strategy's marks, within the hard rules.

    Returns the marks placed (in request order), the automatic ttl and what was dropped and why.
    """
    by_spot = {p.spot: p for p in layout.positions}
    dropped: list[str] = []
    ttl = resolve_ttl(conversation, settings)
    pins = []
    for index, message in enumerate(conversation.messages):
        if message.pinned:
            mark = _mark_message(layout, index, ttl, "pinned: cache up to here")
            if mark:
                pins.append(mark)
    slots = MAX_BREAKPOINTS - (1 if placement.automatic_ttl else 0)
    if len(pins) > slots:
        dropped += [
            f"pin on message {m.spot.index + 1}: more pins than slots" for m in pins[:-slots]
        ]
        pins = pins[-slots:]
    chosen: dict[Spot, Mark] = {m.spot: m for m in pins}
    for mark in placement.marks:
        position = by_spot.get(mark.spot)
        if position is None:
            continue
        if not position.can_carry:
            dropped.append(f"{mark.reason}: that block cannot carry a breakpoint")
            continue
        if mark.spot in chosen:
            continue
        if len(chosen) >= slots:
            dropped.append(f"{mark.reason}: no slot left of four")
            continue
        chosen[mark.spot] = mark
    ordered = sorted(((by_spot[s], m) for s, m in chosen.items()), key=lambda pm: pm[0].flat_index)
    fixed: list[tuple[Position, Mark]] = []
    seen_5m = False
    for position, mark in ordered:
        if mark.ttl == "5m":
            seen_5m = True
        elif seen_5m:
            mark = Mark(
                mark.spot, "5m", mark.reason + " (5m: a 1h breakpoint cannot follow a 5m one)"
            )
        fixed.append((position, mark))
    auto = placement.automatic_ttl
    if auto == "1h" and seen_5m:
        auto = "5m"
    return fixed, auto, dropped
