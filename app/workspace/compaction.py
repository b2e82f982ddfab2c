"""Compaction, priced before it is made (build-with-claude/compaction.md; issue 39, "And in the
app"): what the API's own compaction of this conversation would read, write and save, in
dollars, from the request Send would send now and what the cache holds for it.

- The compacting turn: its compaction iteration reads the conversation as the cache holds it
  (what the ledger predicts for the request) and writes a summary, billed as output; its reply
  is then written from the tools, the system prompt and the summary.
- The turn after it writes the summary to the cache; every later turn sends the summary instead
  of the conversation, and reads that much less.
- It is offered once the request holds ``compaction_offer_share`` of the model's context window
  (EngineSettings; docs/choices.md), on the models compaction.md lists and nowhere else; it can
  be asked for at any size the API compacts (its trigger's minimum, 50,000 tokens).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from app.caching.builder import BuiltRequest
from app.caching.costs import cost_of
from app.caching.ledger import Usage
from app.engine.engine import Engine
from app.engine.session import Session
from app.engine.warming import DRAFT_PLACEHOLDER
from app.facts.context_management import MIN_COMPACT_TRIGGER
from app.workspace import changes as ch
from app.workspace.refusals import ChatRefusal


@dataclass(frozen=True)
class CompactionPrice:
    model: str  # its display name
    tokens: int  # the prompt the compaction reads: the request Send would send now
    window: int  # the model's context window
    read: int  # of ``tokens``, read from cache as it holds them now
    written: int  # written at the request's breakpoints
    summary: int  # the summary's tokens, estimated (``compaction_summary_tokens``)
    kept: int  # what each later request sends before its new messages: tools, system, summary
    compaction_usd: float | None  # the compaction iteration: its input, and the summary's output
    extra_usd: float | None  # the compacting turn beyond what it costs without compaction
    rewrite_usd: float | None  # the summary written to the cache by the turn after it
    saved_per_turn_usd: float | None  # every later turn: ``tokens - kept`` fewer tokens read
    threshold: int = 0  # the tokens from which it is offered

    @property
    def share(self) -> float:
        return self.tokens / self.window if self.window else 0.0

    @property
    def pays_after(self) -> int | None:
        """Later turns until the savings cover the compacting turn's extra and the rewrite."""
        if not self.saved_per_turn_usd or self.extra_usd is None or self.rewrite_usd is None:
            return None
        return max(1, math.ceil((self.extra_usd + self.rewrite_usd) / self.saved_per_turn_usd))

    def question(self) -> str:
        return (
            f"This conversation holds {self.tokens:,} tokens, {self.share:.0%} of "
            f"{self.model}'s {self.window:,}-token context window. Compact it with your next "
            "message?"
        )

    def sentence(self) -> str:
        """What it reads, writes, rewrites and saves, in dollars where prices are known."""
        cached = f", {self.read:,} of them from cache" if self.read else ", none from cache"
        price = f": about ${self.compaction_usd:.4f}" if self.compaction_usd is not None else ""
        text = (
            f"The API's compaction reads the conversation once more ({self.tokens:,} tokens"
            f"{cached}) and writes a summary of about {self.summary:,} tokens, billed as "
            f"output{price}. Your reply is then written from the summary. "
        )
        if self.rewrite_usd is not None:
            text += (
                f"The turn after it writes the summary to the cache (about "
                f"${self.rewrite_usd:.4f}); "
            )
        text += f"every later turn sends about {self.kept:,} tokens instead of {self.tokens:,}"
        if self.saved_per_turn_usd is not None:
            text += f", ${self.saved_per_turn_usd:.4f} less each"
            if self.pays_after is not None:
                text += f" (it pays for itself after {self.pays_after} turn"
                text += "s)" if self.pays_after > 1 else ")"
        return (
            text + ". Everything stays on screen; the requests send only the summary and what "
            "follows it."
        )


def _send(engine: Engine, session: Session, send: BuiltRequest | None) -> BuiltRequest:
    return send if send is not None else engine.drafts.send_request(session, DRAFT_PLACEHOLDER)


def refusal(engine: Engine, session: Session, send: BuiltRequest | None = None) -> str | None:
    """Why this conversation cannot be compacted now (None: it can). ``send``: the request Send
    would send, when already built (the outlook's)."""
    model = engine.resolve_model(session.conversation.model)
    if model is None or not model.compaction:
        name = model.display_name if model is not None else session.conversation.model
        return (
            f"{name} does not take the API's compaction (compaction.md lists the models that "
            "do). Switch to one of them, or start a new conversation."
        )
    send = _send(engine, session, send)
    if send.flat.total_tokens < MIN_COMPACT_TRIGGER:
        return (
            f"The API compacts from {MIN_COMPACT_TRIGGER:,} tokens on (its trigger's minimum); "
            f"this conversation holds about {send.flat.total_tokens:,}."
        )
    return None


def price(engine: Engine, session: Session, send: BuiltRequest | None = None) -> CompactionPrice:
    """What compacting with the next message would cost and save (see the module's words)."""
    send = _send(engine, session, send)
    model = send.model
    plan = engine.ledger.predict(send)
    summary = engine.settings.compaction_summary_tokens
    first = send.flat.first_index_of("messages")
    head = send.flat.blocks[first - 1].cumulative if first else 0
    kept = head + summary
    known = model.prices is not None
    compaction = cost_of(Usage.from_plan(plan, summary), model)
    # the reply of the compacting turn reads the tools and system (cached: they stay) and the
    # summary in full; without compaction it would have read the prompt as planned
    reply_input = cost_of(Usage(read=head, uncached=summary), model).paid_usd
    summary_out = cost_of(Usage(output=summary), model).paid_usd
    rewrite = cost_of(Usage(write_5m=summary), model).paid_usd
    saved = (
        cost_of(Usage(read=send.flat.total_tokens), model).paid_usd
        - cost_of(Usage(read=kept), model).paid_usd
    )
    threshold = math.ceil(engine.settings.compaction_offer_share * model.context_window)
    return CompactionPrice(
        model.display_name,
        send.flat.total_tokens,
        model.context_window,
        plan.read_tokens,
        plan.write_tokens,
        summary,
        kept,
        compaction.paid_usd if known else None,
        summary_out + reply_input if known else None,
        rewrite if known else None,
        saved if known else None,
        max(threshold, MIN_COMPACT_TRIGGER),
    )


def offer(
    engine: Engine, session: Session, send: BuiltRequest | None = None
) -> CompactionPrice | None:
    """The price, when compaction is worth offering unasked: the model takes it, it is not asked
    for already, and the request holds the offer's share of the context window."""
    model = engine.resolve_model(session.conversation.model)
    if session.compact_next or model is None or not model.compaction:
        return None
    send = _send(engine, session, send)
    share = engine.settings.compaction_offer_share
    if send.flat.total_tokens < max(share * model.context_window, MIN_COMPACT_TRIGGER):
        return None
    return price(engine, session, send)


class Compaction:
    """One conversation's compaction intent (``Chat.compaction``): offered when the conversation
    nears its model's context window, priced before, asked; the next message then compacts."""

    def __init__(
        self,
        engine: Engine,
        session: Session,
        send: Callable[[], BuiltRequest | None],
        changed: Callable[[set[str], str], object],
    ):
        self.engine, self.session = engine, session
        self._send, self._changed = send, changed  # the request Send would send; say a change

    @property
    def asked(self) -> bool:
        """Whether the next message compacts the conversation (asked for, not yet sent)."""
        return self.session.compact_next

    def offer(self) -> CompactionPrice | None:
        """Compaction priced, when the conversation nears its model's context window."""
        return offer(self.engine, self.session, self._send())

    def price(self) -> CompactionPrice:
        """What compacting with the next message would cost and save, whatever the size;
        ``ChatRefusal`` when the API would not compact this conversation."""
        problem = refusal(self.engine, self.session, self._send())
        if problem is not None:
            raise ChatRefusal(problem)
        return price(self.engine, self.session, self._send())

    def ask(self, on: bool = True) -> None:
        """The next message compacts the conversation (``on``), or not after all."""
        if on:
            self.price()
        self.session.compact_next = on
        self._changed({ch.SETTINGS}, "the next message compacts" if on else "no compaction")
