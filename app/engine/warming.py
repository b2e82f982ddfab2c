"""What a draft would send, and warming it: the request Send would send with the draft, the
warm-up's request (the same prefix, its breakpoint on the last block the send shares), whether
a warm-up may go and pays (``economics.warm_decision``), and the warm-up itself, a
``max_tokens: 0`` request (prompt-caching.md, "Pre-warming the cache") sent quietly by the
engine. A send waits for a warm-up of its prefix only while it is on time."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from app.caching.builder import BuiltRequest
from app.caching.costs import Kind
from app.conversation.attachments import Attachment
from app.conversation.blocks import Message, TextBlock
from app.conversation.conversation import Conversation, attachment_block
from app.conversation.documents import LockedDocument
from app.engine import events as ev
from app.engine.economics import ALREADY_WARM, IN_FLIGHT, expected_s, warm_decision
from app.engine.session import Session, WarmRecord
from app.engine.settings import warm_blocker

WARM_TAIL = "."
DRAFT_PLACEHOLDER = "…"  # the text of a send whose words are not known yet (a decision, a preview)


class Drafts:
    def __init__(self, engine) -> None:
        self.engine = engine

    def warm_request(
        self,
        session: Session,
        attachments: tuple[Attachment, ...] = (),
        upto: int | None = None,
        away_s: float = 0.0,
    ):
        """The request a warm-up (or a keep-alive ping, sent while the user has been away
        ``away_s``) sends: the conversation (its first ``upto`` messages when an edit will
        replace the rest) and the draft's attachments, then a placeholder."""
        # No timestamp: the tail is not the user pausing, so adaptive TTLs ignore it.
        uploads, place = self.engine.uploads, self.engine.ledger.place
        parts = [uploads.referred(place, attachment_block(a)) for a in attachments]
        tail = Message("user", (*parts, TextBlock(WARM_TAIL)), "warm-tail", 0.0)
        conv = session.conversation
        if upto is not None:
            conv = replace(conv, messages=conv.messages[:upto])
        return self.engine.build(session, conv, away_s, max_tokens=0, extra_user=tail)

    def send_request(
        self,
        session: Session,
        text: str,
        attachments: tuple[Attachment, ...] = (),
        upto: int | None = None,
        conversation: Conversation | None = None,
    ) -> BuiltRequest:
        """The request Send would send now: the conversation (its first ``upto`` messages when
        an edit will replace the rest), then the draft as the user's turn (attachments as the
        send will refer to them), under the conversation's pattern, as ``Chat.send`` adds it."""
        conv = session.conversation if conversation is None else conversation
        uploads, place = self.engine.uploads, self.engine.ledger.place
        parts = [uploads.referred(place, attachment_block(a)) for a in attachments]
        trial = replace(conv, messages=list(conv.messages[:upto]))
        trial.add_user_text(text, *parts, created_at=self.engine.clock())
        return self.engine.build(session, trial)

    def activity(
        self,
        session: Session,
        attachments: tuple[Attachment, ...] = (),
        upto: int | None = None,
        text: str = DRAFT_PLACEHOLDER,
    ) -> asyncio.Task | None:
        """The user paused typing, or attached something: warm what Send would send, if it
        pays. ``upto``: an edit in progress keeps only the messages before it; ``text``: the
        draft's text (a placeholder when the caller has none). A warm-up is sent only when the
        request Send would send with this draft reads all that it writes
        (``economics.send_reads_warm``). All on the calling thread; ``Chat`` makes the two
        builds in a worker thread instead (``blocker``, ``requests``, ``warm``)."""
        reason = self.blocker(session, attachments)
        if reason is not None:
            self.engine.emit(ev.WarmSkipped(session.id, reason, False))
            return None
        built, send = self.requests(session, attachments, upto, text)
        return self.warm(session, built, send)

    def blocker(self, session: Session, attachments: tuple = ()) -> str | None:
        """Why no warm-up may go now (None: it may, if it pays): warming off, a pattern or a
        setting that cannot pre-warm, a document still uploading (the uploads start here: a
        warm-up of what the send will not send would be money thrown away)."""
        conv = session.conversation
        strategy, _ = self.engine.caching_of(conv)
        if self.engine.client is None:
            return "not connected yet"
        reason = warm_blocker(self.engine.settings, strategy, conv, attachments)
        if reason is not None:
            return reason
        documents = [a for a in attachments if isinstance(a, LockedDocument)]
        place = self.engine.ledger.place
        uploading = self.engine.uploads.start_all(
            self.engine.client, place, conv, documents, self.engine.clock
        )
        self.engine.uploads.apply(place, conv)
        return f"uploading {uploading} first" if uploading else None

    def requests(
        self, session: Session, attachments: tuple = (), upto: int | None = None, text: str = ""
    ) -> tuple[BuiltRequest, BuiltRequest]:
        """(the warm-up's request, the send's) for this draft: builds only, which may run in a
        worker thread (the builder takes them one at a time)."""
        built = self.warm_request(session, attachments, upto)
        built.body  # noqa: B018 (made here, off the GUI thread, for when the warm-up is sent)
        return built, self.send_request(session, text or DRAFT_PLACEHOLDER, attachments, upto)

    def warm(
        self, session: Session, built: BuiltRequest, send: BuiltRequest
    ) -> asyncio.Task | None:
        """Decide with the ledger as it is now and send the warm-up if it pays (the reason is
        said either way); returns its task."""
        reason, why, plan = warm_decision(self.engine, session, built, send)
        if reason is not None:
            self.engine.emit(
                ev.WarmSkipped(session.id, reason, reason in (ALREADY_WARM, IN_FLIGHT))
            )
            return None
        self.engine.count_tokens_of(built)
        end = built.flat.blocks[built.breakpoints[-1].index]
        expected = expected_s(plan)
        due = asyncio.get_running_loop().time() + self.engine.settings.warm_patience(expected)
        session.warms.append(
            WarmRecord(self.engine.clock(), end.fingerprint, end.cumulative, due=due)
        )
        task = self.engine.own(
            self.engine.send_quiet(session, Kind.WARM, built, session.warms[-1], why),
            f"warm {session.id}",
        )
        session.warm_tasks[end.fingerprint] = task
        task.add_done_callback(lambda _: session.warm_tasks.pop(end.fingerprint, None))
        return task

    async def wait_for_warm(self, session: Session, built: BuiltRequest) -> None:
        """Wait for a warm-up of this send's prefix while it is on time, never for a stalled one."""
        fingerprints = {b.fingerprint for b in built.flat.blocks}
        tasks = session.warm_tasks.items()
        waiting = {fp: t for fp, t in tasks if fp in fingerprints and not t.done()}
        if not waiting:
            return
        due = max(w.due for w in session.warms if w.prefix_fingerprint in waiting)
        now = asyncio.get_running_loop().time()
        await asyncio.wait(
            waiting.values(), timeout=max(0.0, min(self.engine.settings.warm_wait_s, due - now))
        )
        if not all(t.done() for t in waiting.values()):
            late = asyncio.get_running_loop().time() - due
            reason = f"the warm-up is late ({late:.0f} s past its expected time): sent without it"
            self.engine.emit(ev.WarmSkipped(session.id, reason, False))
