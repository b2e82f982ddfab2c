"""A conversation of this app (open in the window, or exported) as a trace, with what its history
paid for the same requests: like with like.

- **Every branch is replayed, in the order it was made.** An edit and resend, a regenerate, a
  switch back to a kept branch: each later message says after which reply it came (the trace's
  ``after``), a new answer to the same message is a ``regenerate``. So what the replay sends is
  what was sent, and what was paid counts every turn of every branch.
- **The same pings on both sides.** The replay runs until the last request the history holds
  (a keep-alive ping an hour after the last reply, say), so a policy's own pings over that time
  are counted as the history's are. A warm-up for a draft that was never sent is left out of
  what was paid, since the replay has no such draft, and the notes say so.
- The replies' lengths come from the turn that produced them (``reply_id``), else their text.
- Typing time is not saved: each message is assumed typed at 5 characters a second within the
  pause before it, or from the first warm-up the history holds for it when that was earlier (the
  draft was there then); attachments are attached before it is typed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from app.caching.costs import Kind
from app.conversation.blocks import DocumentBlock, ImageBlock, ToolResultBlock
from app.facts.tokens import TOOL_USE_PREAMBLE_TOKENS, text_tokens, tool_definition_tokens
from app.replay.trace import Trace, TraceError, parse

TYPING_CHARS_PER_S = 5.0  # assumed when a saved conversation does not say how long typing took
ASSUMED_PAUSE_S = 60.0  # between messages that carry no time
CLOSE_AFTER_S = 30.0  # the replay ends this long after the last request the history holds


@dataclass
class Saved:
    trace: Trace
    paid_usd: float | None  # what the history paid for the requests the replay replays
    turn_records: list[dict | None]  # per send of the trace, its turn's record (None: unknown)
    notes: list[str] = field(default_factory=list)
    tool_rounds: int = 0  # turns that called tools: several requests the replay makes as one


@dataclass
class _Turn:
    user: object  # the user's message
    reply: object | None  # the first assistant message after it (None: no reply)
    end: object  # the last message of the turn (its reply, or the user's message)
    start: float  # when it began: the message sent, or the new answer asked for
    regenerates: int | None = None  # the earlier turn answering the same message


def _paths(conversation) -> dict[str, tuple[str, object]]:
    """Every message of every branch by id, with the id of the message before it."""
    found: dict[str, tuple[str, object]] = {}
    previous = ""
    for message in conversation.messages:
        found[message.id] = (previous, message)
        previous = message.id
    for branch in conversation.branches:
        previous = branch.parent
        for message in branch.messages:
            found.setdefault(message.id, (previous, message))
            previous = message.id
    return found


def _is_question(message) -> bool:
    return message.role == "user" and not any(
        isinstance(b, ToolResultBlock) for b in message.blocks
    )


def _turns(found: dict[str, tuple[str, object]]) -> tuple[list[_Turn], int]:
    """The turns of every branch, oldest first, and how many called tools."""
    children: dict[str, list] = {}
    for parent, message in found.values():
        children.setdefault(parent, []).append(message)
    turns: list[_Turn] = []
    tool_rounds = 0
    for _, message in found.values():
        if not _is_question(message):
            continue
        # Its answers: each path from the question through system messages to an assistant's.
        frontier, replies = [message], []
        while frontier:
            node = frontier.pop()
            for child in children.get(node.id, []):
                if child.role == "system":
                    frontier.append(child)
                elif child.role == "assistant":
                    replies.append(child)
        replies.sort(key=lambda m: m.created_at)
        if not replies:
            turns.append(_Turn(message, None, message, message.created_at))
        for n, reply in enumerate(replies):
            end, calls = reply, False
            while True:  # a tool loop: the turn ends with its last assistant message
                nxt = [c for c in children.get(end.id, []) if not _is_question(c)]
                if not nxt:
                    break
                calls = calls or any(c.role == "user" for c in nxt)
                end = max(nxt, key=lambda m: m.created_at)
            tool_rounds += calls
            start = message.created_at if n == 0 else reply.created_at
            turns.append(_Turn(message, reply, end, start))
    turns.sort(key=lambda t: t.start)
    first_answer: dict[str, int] = {}
    for k, turn in enumerate(turns):
        if turn.user.id in first_answer:
            turn.regenerates = first_answer[turn.user.id]
        else:
            first_answer[turn.user.id] = k
    return turns, tool_rounds


def _records_per_turn(turns: list[_Turn], records: list[dict]) -> list[dict | None]:
    """Each turn's record: the one that produced its reply (``reply_id``); a turn whose reply no
    record names (a history from before stopped replies were named, or older than ``reply_id``)
    takes the next record that names none."""
    turn_records = [r for r in records if r.get("kind") == Kind.TURN and not r.get("error")]
    by_reply = {r["reply_id"]: r for r in turn_records if r.get("reply_id")}
    # (a request stopped before its reply began answered no reply: it is nobody's)
    loose = [r for r in turn_records if not r.get("reply_id") and not r.get("stopped")]
    out: list[dict | None] = []
    for turn in turns:
        record = by_reply.get(turn.reply.id) if turn.reply is not None else None
        if record is None and turn.reply is not None and loose:
            record = loose.pop(0)
        out.append(record)
    return out


def _reply_tokens(turn: _Turn, record: dict | None) -> int:
    if record is not None:
        return max(1, int((record.get("usage") or {}).get("output", 0)))
    return max(1, text_tokens(turn.reply.text)) if turn.reply is not None else 1


def _events(
    turn: _Turn, k: int, pause: float, after: int, reply_tokens: int, composing: float = 0.0
) -> list[dict]:
    """Send ``k`` (1-based): its attachments, its typing and the send, or a regenerate. The
    typing takes the assumed pace, or longer when the history shows the draft was there
    earlier (``composing``: seconds from the first warm-up for it to the send)."""
    if turn.regenerates is not None:
        return [
            {
                "wait": round(pause, 3),
                "do": "regenerate",
                "of": turn.regenerates + 1,
                "reply_tokens": reply_tokens,
            }
        ]
    text = turn.user.text
    typing = min(pause, max(len(text) / TYPING_CHARS_PER_S, composing))
    wait = round(pause - typing, 3)
    events: list[dict] = []
    for block in turn.user.blocks:
        if isinstance(block, DocumentBlock):
            events.append({"wait": wait, "do": "attach", "document_tokens": block.document.tokens})
            wait = 0
        elif isinstance(block, ImageBlock):
            size = [block.image.width, block.image.height]
            events.append({"wait": wait, "do": "attach", "image": size})
            wait = 0
    events.append({"wait": wait, "do": "type", "seconds": round(typing, 3)})
    send = {
        "wait": 0,
        "do": "send",
        "tokens": max(1, text_tokens(text)),
        "reply_tokens": reply_tokens,
    }
    if after != k - 1:
        send["after"] = after
    return [*events, send]


def saved_session(conversation, records: list[dict] | None = None) -> Saved:
    """The conversation as a trace and what its history paid for the same requests (see the
    module's docstring); TraceError when it holds no message of the user."""
    records = list(records or [])
    notes: list[str] = []
    found = _paths(conversation)
    turns, tool_rounds = _turns(found)
    if not turns:
        raise TraceError("the conversation has no message of yours to replay")
    per_send = _records_per_turn(turns, records)
    ends: dict[str, int] = {}  # the id of the last message of each turn -> its send number
    events: list[dict] = []
    previous_end: float | None = None
    untimed = 0
    warmed = sorted(float(r["at"]) for r in records if r.get("kind") == Kind.WARM and r.get("at"))
    for k, turn in enumerate(turns, start=1):
        # The first warm-up for this message: the draft was there from then (at least).
        since = previous_end or float("-inf")
        first_warm = next((t for t in warmed if since < t <= turn.start), None)
        composing = turn.start - first_warm if first_warm is not None else 0.0
        if previous_end is None:
            pause = composing  # the conversation began when its first draft did
        elif not turn.start or not previous_end:
            pause, untimed = ASSUMED_PAUSE_S, untimed + 1
        else:
            pause = max(0.0, turn.start - previous_end)
        parent = found[turn.user.id][0]
        after = ends.get(parent, 0) if parent else 0
        reply_tokens = _reply_tokens(turn, per_send[k - 1])
        events += _events(turn, k, pause, after, reply_tokens, composing)
        ends[turn.end.id] = k
        previous_end = turn.end.created_at or turn.start or previous_end
    paid, last_at = _paid(records, notes)
    if not records:
        notes.append("the history holds no request records: what was paid is unknown")
    close_wait = CLOSE_AFTER_S + max(0.0, (last_at or 0) - (previous_end or 0))
    _say_what_was_assumed(conversation, turns, tool_rounds, untimed, notes)
    system_tokens = text_tokens(conversation.system_text) if conversation.system else 0
    tool_tokens = sum(tool_definition_tokens(t.api) for t in conversation.tools)
    if tool_tokens:
        tool_tokens += TOOL_USE_PREAMBLE_TOKENS
    data = {
        "name": conversation.title or conversation.id,
        "model": conversation.model,
        "system_tokens": system_tokens,
        "tool_tokens": tool_tokens,
        "events": [*events, {"wait": round(close_wait, 3), "do": "close"}],
    }
    trace = parse(data, data["name"])
    return Saved(trace, paid if records else None, per_send, notes, tool_rounds)


def _paid(records: list[dict], notes: list[str]) -> tuple[float, float | None]:
    """What the history paid for what the replay replays, and when its last such request was:
    every request but the warm-ups after the last turn (a draft never sent)."""
    last_turn = max((i for i, r in enumerate(records) if r.get("kind") == Kind.TURN), default=-1)
    kept, unsent = [], []
    for i, record in enumerate(records):
        (unsent if i > last_turn and record.get("kind") == Kind.WARM else kept).append(record)
    known = [c for c in map(_price, kept) if c is not None]
    if len(known) < len(kept):
        notes.append(f"{len(kept) - len(known)} requests in the history have no known price")
    if unsent:
        spent = sum(c for c in map(_price, unsent) if c is not None)
        notes.append(
            f"{len(unsent)} warm-up(s) for a draft never sent (${spent:.4f}) are left out of what"
            " was paid: the replay has no such draft"
        )
    times = [float(r["at"]) for r in kept if _finite(r.get("at"))]
    return sum(known), max(times, default=None)


def _price(record: dict) -> float | None:
    """What one saved request paid (None: not known, or not a price: an export is a file
    anyone may have edited)."""
    cost = record.get("cost")
    if not (isinstance(cost, list) and len(cost) == 3 and cost[2] is True):
        return None
    value = cost[0]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value if math.isfinite(value) and 0 <= value < 1e6 else None


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _say_what_was_assumed(conversation, turns, tool_rounds: int, untimed: int, notes) -> None:
    if untimed:
        notes.append(f"{untimed} message(s) with no time: {ASSUMED_PAUSE_S:.0f} s pauses assumed")
    notes.append(f"typing assumed at {TYPING_CHARS_PER_S:.0f} characters a second")
    if tool_rounds:
        notes.append(f"{tool_rounds} tool round(s) replayed as plain turns")
    unanswered = sum(t.reply is None for t in turns)
    if unanswered:
        notes.append(f"{unanswered} message(s) that got no reply replayed with a one-token reply")
    if conversation.branches:
        paths = 1 + len(conversation.branches)
        notes.append(
            f"all {paths} branches replayed in the order they were made; what was paid counts"
            " every request of every branch"
        )
