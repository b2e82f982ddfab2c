"""What the requests did with each row of the conversation pane, worked out without Qt.

The marks of a message (the breakpoints the last request, or the one Send would send, put on
its blocks; how many of their tokens were read, written and paid in full, and their cost), and
the turn request each reply answered (its usage, the reason for a miss, a stop), found from the
request records by the reply's id, on the branch shown.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from app.caching.builder import BuiltRequest
from app.caching.costs import Kind, RequestRecord, input_cost_usd
from app.caching.explainer import is_miss
from app.caching.ledger import Usage
from app.caching.prefix_map import PrefixMap
from app.facts.catalogue import ModelInfo
from app.ui.widgets.turn_notes import turn_note


@dataclass(frozen=True)
class Marks:
    """What the last request did with one message's blocks."""

    flags: tuple[str, ...] = ()  # the TTL of each breakpoint on it
    read: int = 0
    written: int = 0
    uncached: int = 0
    cost_usd: float | None = None  # those tokens at the request's rates (None: prices unknown)
    predicted: bool = False  # the request Send would send, as the ledger predicts it

    @property
    def tokens(self) -> int:
        return self.read + self.written + self.uncached

    def describe(self) -> str:
        if not self.tokens and not self.flags:
            return ""
        when = "If sent now (predicted)" if self.predicted else "In the last request"
        parts = [f"{when}: {self.tokens:,} tokens"]
        for label, count in (("read from cache", self.read), ("written to cache", self.written)):
            if count:
                parts.append(f"{count:,} {label}")
        if self.uncached:
            parts.append(f"{self.uncached:,} paid in full")
        text = "; ".join(parts)
        if self.cost_usd is not None and self.tokens:
            text += f" (${self.cost_usd:.4f})"
        cached = "would be cached" if self.predicted else "is cached"
        for ttl in self.flags:
            text += f"\nCache breakpoint here ({ttl}): the prefix up to this block {cached}."
        return text


NO_MARKS = Marks()


@dataclass(frozen=True)
class Turn:
    """The request a reply answered: what it read, wrote and paid, and why it missed."""

    read: int
    written: int
    uncached: int
    output: int
    cost_usd: float | None
    miss: str = ""
    note: str = ""  # what context management did (a compaction, a clearing), in words
    stopped: str = ""  # a Stop when the user stopped the request

    def line(self) -> str:
        cost = f" · ${self.cost_usd:.4f}" if self.cost_usd is not None else ""
        return (
            f"read {self.read:,} · wrote {self.written:,} · full {self.uncached:,}"
            f" · out {self.output:,}{cost}"
        )


def message_marks(
    prefix: PrefixMap | None,
    usage: Usage | None,
    model: ModelInfo | None,
    predicted: bool = False,
) -> dict[int | str, Marks]:
    """Per message index (and "system"): the breakpoints a request put there and, when its
    usage is known, how many of those blocks' tokens were read, written and paid in full
    (``predicted``: the usage is the ledger's prediction for a request not sent yet)."""
    if prefix is None:
        return {}
    rows = prefix.rows
    states = prefix.states(usage) if usage is not None else [None] * len(rows)
    points = [(row.index, row.breakpoint_ttl) for row in rows if row.breakpoint_ttl]
    starts = [index for index, _ in points]
    known = model is not None and model.prices is not None
    tallies: dict[int | str, dict] = {}
    for row, state in zip(rows, states, strict=True):
        owner = _owner(row.path)
        if owner is None:
            continue
        tally = tallies.setdefault(
            owner, {"flags": [], "read": 0, "written": 0, "uncached": 0, "usd": 0.0}
        )
        if row.breakpoint_ttl:
            tally["flags"].append(row.breakpoint_ttl)
        if state is None:
            continue
        tally[state] += row.tokens
        at = bisect.bisect_left(starts, row.index)  # the breakpoint whose prefix holds it
        ttl = points[at][1] if at < len(points) else "5m"
        if known:
            spent = Usage(
                read=row.tokens if state == "read" else 0,
                write_5m=row.tokens if state == "written" and ttl == "5m" else 0,
                write_1h=row.tokens if state == "written" and ttl == "1h" else 0,
                uncached=row.tokens if state == "uncached" else 0,
            )
            tally["usd"] += input_cost_usd(spent, model)
    out: dict[int | str, Marks] = {}
    for owner, t in tallies.items():
        counted = t["read"] + t["written"] + t["uncached"]
        if (
            t["flags"] or counted
        ):  # the others keep the one empty Marks: their rows stay as they are
            usd = t["usd"] if known and counted else None
            out[owner] = Marks(
                tuple(t["flags"]), t["read"], t["written"], t["uncached"], usd, predicted
            )
    return out


def flag_places(request: BuiltRequest | None, shown: int) -> dict[int | str, tuple[str, ...]]:
    """Where ``request`` puts its breakpoints among the rows on screen (the system prompt and
    the first ``shown`` messages): owner -> the TTL of each flag there."""
    if request is None:
        return {}
    return {
        owner: marks.flags
        for owner, marks in message_marks(PrefixMap.of(request), None, None).items()
        if marks.flags and (owner == "system" or (isinstance(owner, int) and owner < shown))
    }


def last_turn_record(records: list[RequestRecord], messages) -> RequestRecord | None:
    """The last turn that answered on the branch shown (``messages``): the one whose marks the
    pane draws, as the sidebar's "Last turn" says it."""
    ids = {m.id for m in messages}
    for record in reversed(records):
        if record.kind != Kind.TURN or record.error or record.prefix is None:
            continue
        if not record.reply_id or record.reply_id in ids:
            return record
    return None


def reply_turns(records: list[RequestRecord], messages=()) -> dict[int, Turn]:
    """For each reply on screen, by message index: the turn request that produced it (by the
    reply's id; a record from before ids were kept goes by position)."""
    out: dict[int, Turn] = {}
    index_of = {m.id: i for i, m in enumerate(messages)}
    for record in records:
        if record.kind != Kind.TURN or record.error or record.prefix is None:
            continue
        if record.stopped and not record.reply_id:  # no reply holds it: ``stopped_turns``
            continue
        if record.reply_id:
            if record.reply_id not in index_of:
                continue  # a reply on another branch
            at = index_of[record.reply_id]
        else:
            last = next((_owner(r.path) for r in reversed(record.prefix.rows)), None)
            if not isinstance(last, int):
                continue
            at = last + 1
        out[at] = turn_of(record)
    return out


def turn_of(record: RequestRecord) -> Turn:
    """A turn request's figures as a reply's header shows them."""
    usage = record.billed  # every iteration (a compaction's too), as the cost counts them
    miss = record.explanation if is_miss(record.cause) else ""
    return Turn(
        usage.read,
        usage.write,
        usage.uncached,
        usage.output,
        record.cost.paid_usd if record.cost.known else None,
        miss,
        turn_note(record),
        record.stopped,
    )


def stopped_turns(records: list[RequestRecord], messages=()) -> dict[int, list[RequestRecord]]:
    """Turn requests stopped before any text of a reply arrived (so no message holds them), by
    the index of the message on screen they were sent after; those of other branches left out."""
    index_of = {m.id: i for i, m in enumerate(messages)}
    out: dict[int, list[RequestRecord]] = {}
    for record in records:
        stopped = record.kind == Kind.TURN and record.stopped and not record.reply_id
        if stopped and record.after_id in index_of:
            out.setdefault(index_of[record.after_id], []).append(record)
    return out


def _owner(path: str) -> int | str | None:
    if path.startswith("messages."):
        return int(path.split(".")[1])
    if path.startswith("system."):
        return "system"
    return None
