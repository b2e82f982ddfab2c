"""What Send would send now, as one state every view reads: the request, its price with what the
cache holds now and cold, the warm indicator, and the live entries on the conversation's path.

The draft line under the composer, the warm indicator and the sidebar's entries all come from one
``Outlook``, computed by ``look`` from the ledger and the request Send would send, so they cannot
disagree: right after a warm-up lands the line says what the send will read, the indicator says
warm, and both change together when the entry expires.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

from app.caching.builder import BuiltRequest
from app.caching.costs import cost_of
from app.caching.ledger import LedgerEntry, Usage
from app.conversation.blocks import TextBlock
from app.engine.engine import Engine
from app.engine.session import Session
from app.engine.warming import DRAFT_PLACEHOLDER
from app.facts.rules import plan_request
from app.workspace import changes as ch

EXPIRY_SLACK_S = 0.05  # look again just after an entry's expiry


@dataclass(frozen=True)
class Draft:
    text: str = ""
    attachments: tuple = ()
    editing: int | None = None  # the message an edit in progress will replace
    pasted: tuple[str, ...] = ()  # long texts pasted as text (the composer keeps them in view)

    @property
    def empty(self) -> bool:
        return not self.text and not self.attachments

    @property
    def parts(self) -> tuple[str, tuple]:
        """(the typed text, what goes before it): each long paste still whole in the text is a
        block of its own before the typed words, so it is cached, and warmed while the
        question is typed, like an attached document (issue 35.9)."""
        text, blocks = self.text, []
        for pasted in (p.strip() for p in self.pasted):
            if pasted and pasted in text:
                text = text.replace(pasted, "", 1)
                blocks.append(TextBlock(pasted))
        return text.strip(), (*self.attachments, *blocks)


@dataclass(frozen=True)
class SendPrice:
    """What Send would send now, as predicted: the whole request, not the draft alone."""

    tokens: int  # the request's input tokens, in the model's tokenizer
    read: int  # of which the cache would give
    usd: float | None  # its input's price now (None: prices unknown)
    cold_usd: float | None  # the same with nothing cached
    cold_ttl: str  # the lifetime the cold price writes at: "5m", "1h", "5m and 1h", "" (none)
    ttl: str = ""  # the lifetime the send writes at now, as the ledger predicts: as ``cold_ttl``


@dataclass(frozen=True)
class Decision:
    """The last warm-up decision, as the indicator tells it."""

    sent: bool = False
    why: str = ""  # why it was sent, or why not
    quiet: bool = True  # nothing worth telling (already warm, in flight)


@dataclass(frozen=True)
class Indicator:
    state: str = "idle"  # "idle", "warming", "warm" or "not warmed"
    tokens: int = 0  # when warm: what Send would read from cache
    expires_at: float | None = None  # when warm: when that part stops being readable
    note: str = ""  # why the last warm-up was sent, or why not

    def text(self, now: float) -> str:
        """The indicator's words at ``now`` (the widget calls this once a second)."""
        if self.state == "warming":
            return f"warming… ({self.note})" if self.note else "warming…"
        if self.state == "not warmed":
            return f"not warmed ({self.note})"
        if self.state == "warm" and self.expires_at is not None:
            left = max(0, int(self.expires_at - now))
            note = f"; {self.note}" if self.note else ""
            return f"warm, {self.tokens:,} tokens, {left // 60}:{left % 60:02d} left{note}"
        return "idle"


@dataclass(frozen=True)
class Outlook:
    request: BuiltRequest | None  # what Send would send (a placeholder text when no draft)
    price: SendPrice | None  # None: the draft is empty (nothing to send)
    indicator: Indicator
    entries: tuple[LedgerEntry, ...]  # live entries on this request's path, longest first
    next_expiry: float | None  # the earliest expiry among them: the outlook changes then

    def same_view(self, other: Outlook | None) -> bool:
        """Whether a view would show the same (the request object aside)."""
        return (
            other is not None
            and self.price == other.price
            and self.indicator == other.indicator
            and [(e.fingerprint, e.expires_at) for e in self.entries]
            == [(e.fingerprint, e.expires_at) for e in other.entries]
        )


NOTHING = Outlook(None, None, Indicator(), (), None)


def cold_ttl(request: BuiltRequest) -> str:
    ttls = sorted({b.ttl for b in request.breakpoints})
    return " and ".join(ttls)


def written_ttl(usage: Usage) -> str:
    """The lifetimes a usage writes at: "5m", "1h", "5m and 1h", or "" when it writes none."""
    return " and ".join(t for t, n in (("5m", usage.write_5m), ("1h", usage.write_1h)) if n)


def price_of(request: BuiltRequest, read: int, now_plan, cold_choice: str = "") -> SendPrice:
    """The request's input priced with what is cached now and with nothing cached. With an
    adaptive TTL, ``cold_choice`` is the lifetime the engine would choose if nothing were
    cached (a cold send writes everything, usually for 5 minutes), not the one this request
    writes with now (a warm send writes a few tokens, often for an hour)."""
    model = request.model
    cold = plan_request(
        request.flat, list(request.breakpoints), model.min_cacheable_tokens, lambda _: False
    )
    cold_usage = Usage.from_plan(cold)
    ttl = cold_ttl(request)
    if cold_choice and cold_choice != ttl and cold_usage.write:
        written = cold_usage.write
        cold_usage = Usage(
            write_5m=written if cold_choice == "5m" else 0,
            write_1h=written if cold_choice == "1h" else 0,
            uncached=cold_usage.uncached,
        )
        ttl = cold_choice
    now_usage = Usage.from_plan(now_plan)
    now, then = cost_of(now_usage, model), cost_of(cold_usage, model)
    return SendPrice(
        request.flat.total_tokens,
        read,
        now.paid_usd if now.known else None,
        then.paid_usd if then.known else None,
        ttl,
        written_ttl(now_usage),
    )


def build_request(engine: Engine, session: Session, draft: Draft) -> BuiltRequest | None:
    """The request Send would send with ``draft`` (a placeholder text when it is empty, so the
    indicator can say what a send would read); None when nothing could be sent."""
    conv = session.conversation
    if engine.resolve_model(conv.model) is None:
        return None
    if draft.empty and not conv.messages and not conv.system and not conv.tools:
        return None
    text, before = draft.parts
    text = text or DRAFT_PLACEHOLDER  # as the warm-up decision builds it
    return engine.drafts.send_request(session, text, before, draft.editing)


def look(
    engine: Engine,
    session: Session,
    draft: Draft,
    decision: Decision,
    request: BuiltRequest | None,
) -> Outlook:
    """The outlook of ``request`` (``build_request``'s) with what the ledger holds now."""
    if request is None:
        return NOTHING
    ledger, now = engine.ledger, engine.clock()
    plan = ledger.predict(request)
    model = request.model.id
    entries = []
    for block in request.flat.blocks:
        entry = ledger.find(model, block.fingerprint)
        if entry is not None and entry.expires_at > now:
            entries.append(entry)
    entries.sort(key=lambda e: -e.tokens)
    hit = (
        ledger.find(model, request.flat.blocks[plan.hit_index].fingerprint)
        if plan.hit_index is not None
        else None
    )
    if session.warm_tasks:
        indicator = Indicator("warming", note=decision.why if decision.sent else "")
    elif plan.read_tokens and hit is not None:
        note = ("warm-up: " if decision.sent else "no warm-up: ") + decision.why
        indicator = Indicator(
            "warm", plan.read_tokens, hit.expires_at, note if decision.why else ""
        )
    elif decision.why and not decision.sent and not decision.quiet:
        indicator = Indicator("not warmed", note=decision.why)
    else:
        indicator = Indicator()
    price = None
    if not draft.empty:
        choice = ""
        if engine.caching_of(session.conversation)[1].ttl == "adaptive":
            cold = plan_request(
                request.flat, list(request.breakpoints), request.model.min_cacheable_tokens,
                lambda _: False,
            )  # fmt: skip
            choice = engine.ttl_for(request, session.conversation, plan=cold)
        price = price_of(request, plan.read_tokens, plan, choice)
    expiries = [e.expires_at for e in entries]
    return Outlook(request, price, indicator, tuple(entries), min(expiries, default=None))


class OutlookKeeper:
    """Keeps one chat's outlook current and says each change once. The request is rebuilt when
    what it depends on changed (the draft, the messages, the settings: ``state``; with an
    adaptive TTL, the ledger too: the TTL is chosen from what is cached), otherwise the same
    request is looked at against the ledger as it is now; and it is looked at again just after
    the next expiry of an entry on its path. While a decision is under way (``holding``), the
    changes its events cause wait and are said once, at its end."""

    def __init__(
        self,
        engine: Engine,
        session: Session,
        state: Callable[[], tuple],
        draft: Callable[[], Draft],
        decision: Callable[[], Decision],
        changes: ch.Changes,
    ):
        self.engine, self.session = engine, session
        self._state, self._draft, self._decision = state, draft, decision
        self._changes = changes
        self.outlook: Outlook = NOTHING
        self._request_for: tuple | None = None  # what ``outlook.request`` was built for
        self._holding = False
        self._held: set[str] = set()
        self._expiry: asyncio.TimerHandle | None = None
        self._closed = False

    @contextmanager
    def holding(self):
        self._holding = True
        try:
            yield
        finally:
            self._holding = False

    def changed(self, aspects: set[str], cause: str, built=None) -> ch.Change:
        """Look again at what Send would send (``built``: that request, already built) and say
        one change with everything it touched."""
        chat_id = self.session.id
        if self._holding:
            self._held |= set(aspects)
            return ch.Change(chat_id, frozenset(aspects), cause)
        aspects = set(aspects) | self._held
        self._held = set()
        draft = self._draft()
        key = self._state() + (draft,)
        request = self.outlook.request
        adaptive = self.engine.caching_of(self.session.conversation)[1].ttl == "adaptive"
        if built is not None:
            request, self._request_for = built, key
        elif (
            key != self._request_for
            or request is None
            or (adaptive and not self.engine.ttl_still_chosen(request, self.session.conversation))
        ):
            request = build_request(self.engine, self.session, draft)
            self._request_for = key
        before = self.outlook
        self.outlook = look(self.engine, self.session, draft, self._decision(), request)
        if not self.outlook.same_view(before):
            aspects |= {ch.OUTLOOK, ch.ENTRIES}
        self._watch_expiry()
        change = ch.Change(chat_id, frozenset(aspects), cause)
        self._changes.emit(change)
        return change

    def _watch_expiry(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        expiry = self.outlook.next_expiry
        if expiry is None or self._closed:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop runs (a widget driven outside it): the next change looks
            return
        delay = max(0.0, expiry - self.engine.clock()) + EXPIRY_SLACK_S
        self._expiry = loop.call_later(
            delay, lambda: self.changed({ch.ENTRIES}, "a cache entry expired")
        )

    def close(self) -> None:
        self._closed = True
        if self._expiry is not None:
            self._expiry.cancel()
