"""One open conversation's controller (Qt-free): its conversation and settings, its draft, its
outlook (what Send would send now, priced, and what the cache holds for it), its tasks (the turn,
warm-ups, keep-alive pings) and the lifetime of what records it.

Every intent the window offers is a method here, tested without Qt: send, regenerate (retry),
edit and cancel the edit, switch a branch, stop, preview a change and apply it. After each intent,
and after each engine event that moves what a view shows (a warm-up landing, a reply ending, an
entry expiring), the chat says one typed ``Change``; views subscribe and redraw what it touches.

- **A turn is a handle** (``Turn``): ``send`` returns it.
- **Warm what will be sent, once per pause, and only what the send reads.** The draft (typed
  text, attachments, an edit in progress) is kept here; typing only reschedules one decision
  ``DEBOUNCE_S`` later, attaching or pasting decides at once, and so does the first key after
  the conversation changed. A decision warms the prefix Send would send at that moment, and only
  when the request Send would send reads all of it (``economics.send_reads_warm``). Nothing
  else decides: not focus, not opening, not a timer. While a turn runs nothing is decided.
- **One outlook** (``app.workspace.outlook``): the draft line, the warm indicator and the live
  entries come from it, rebuilt when the draft, the messages or a setting change, looked at again
  (no build) when the ledger moves.
- **Setup and teardown in pairs**: the chat listens to the engine from its making until
  ``close``; ``on_close`` registers what ends with it (the history's recorder); a conversation
  left for another stays open while it has work (a keep-alive ping) and closes when idle.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from itertools import takewhile

from app.caching.costs import Kind
from app.caching.invalidation import Invalidation, preview_change
from app.conversation.blocks import DocumentBlock, ImageBlock, TextBlock
from app.conversation.conversation import Conversation
from app.engine import events as ev
from app.engine.branches import BranchView, branch_view, branches_here
from app.engine.engine import Engine
from app.engine.session import Session
from app.engine.warming import DRAFT_PLACEHOLDER
from app.workspace import changes as ch
from app.workspace import claude_settings as rules
from app.workspace.compaction import Compaction
from app.workspace.outlook import Decision, Draft, Outlook, OutlookKeeper, build_request
from app.workspace.refusals import (
    ChatRefusal,
    refuse_a_prompt_too_long,
    refuse_what_the_api_would,
)
from app.workspace.turn import Turn

DEBOUNCE_S = 0.4  # a typing pause this long is one warm-up decision

__all__ = ["Chat", "ChatRefusal", "DEBOUNCE_S", "Draft", "Turn"]


class Chat:
    def __init__(self, engine: Engine, session: Session):
        self.engine = engine
        self.session = session
        self.draft = Draft()
        self.turn: Turn | None = None
        self.before_send: list[Callable[[], Awaitable[None]]] = []  # e.g. the history's commit
        self.decisions = 0  # warm-up decisions made (one per typing pause)
        self.changes = ch.Changes()
        self.closed = False
        self._decision_timer: asyncio.TimerHandle | None = None
        self._decided_on: tuple = ()  # ``_state()`` at the last decision
        self._decision = Decision()
        self._deciding_task: asyncio.Task | None = None
        self.keeper = OutlookKeeper(
            engine, session, self._state, lambda: self.draft, lambda: self._decision, self.changes
        )
        self.compaction = Compaction(engine, session, lambda: self.outlook.request, self.changed)
        self._closers: list[Callable[[], None]] = []
        self._idle_waiters: list[Callable[[Chat], None]] = []
        self._watched: set[asyncio.Task] = set()  # tasks whose end looks for idleness
        engine.subscribe(self._on_event)

    @property
    def id(self) -> str:
        return self.session.id

    @property
    def conversation(self) -> Conversation:
        return self.session.conversation

    @property
    def model_id(self) -> str:
        return self.conversation.model

    @property
    def messages(self) -> list:
        """The messages on screen (read them; change them through the intents)."""
        return self.conversation.messages

    @property
    def title(self) -> str:
        return self.conversation.title

    @property
    def tools(self) -> tuple:
        """The tool definitions its requests send."""
        return self.conversation.tools

    @property
    def server_tools(self) -> tuple:
        """The server tools (web search, web fetch) its requests offer."""
        return self.conversation.server_tools

    @property
    def context_editing(self) -> tuple[str, ...]:
        """What the API may clear from its requests (context-editing.md; none by default)."""
        return self.conversation.context_editing

    def image(self, sha256: str):
        """The locked image with this hash among the conversation's attachments (None: none)."""
        return next((i for i in self.conversation.images() if i.sha256 == sha256), None)

    def busy(self) -> bool:
        return self.turn is not None and not self.turn.done()

    # -- what every view reads ------------------------------------------------------------------
    def subscribe(self, listener: Callable[[ch.Change], None]) -> None:
        self.changes.subscribe(listener)

    def unsubscribe(self, listener: Callable[[ch.Change], None]) -> None:
        self.changes.unsubscribe(listener)

    @property
    def outlook(self) -> Outlook:
        """What Send would send now, priced, the indicator and the live entries."""
        return self.keeper.outlook

    def changed(self, aspects: set[str], cause: str, built=None) -> ch.Change:
        """Look again at what Send would send (``OutlookKeeper``) and say one change."""
        return self.keeper.changed(aspects, cause, built)

    def _on_event(self, event: ev.Event) -> None:
        """The engine's events about this conversation, as changes of what a view shows."""
        if getattr(event, "conversation_id", None) != self.id or self.closed:
            return
        if isinstance(event, ev.RequestBuilt) and event.kind == Kind.WARM:
            self._decision = Decision(True, event.why, False)
            self.changed({ch.OUTLOOK}, "a warm-up was sent")
        elif isinstance(event, ev.WarmSkipped):
            self._decision = Decision(False, event.reason, event.quiet)
            self.changed({ch.OUTLOOK}, "no warm-up")
        elif isinstance(event, ev.Finished | ev.Failed | ev.Cancelled):
            turn = event.kind == Kind.TURN if not isinstance(event, ev.Cancelled) else True
            if turn:
                aspects = {ch.MESSAGES, ch.RECORDS, ch.TITLE}
                cause = "the reply ended"
            else:
                aspects = {ch.RECORDS}
                cause = f"a {event.kind} request ended"
            self.changed(aspects, cause)
        elif isinstance(event, ev.UploadFinished):
            self.decide_now()  # a warm-up waited for it
            self.changed({ch.DRAFT}, "an upload finished")

    # -- the turn -------------------------------------------------------------------------------
    def send(self, text: str, attachments: tuple = (), entered_at: float | None = None) -> Turn:
        """Send the draft: an edit in progress replaces its message and the ones after it now."""
        if self.busy():
            raise ChatRefusal("Wait for the reply to finish (or stop it) first.")
        if not text and not attachments:
            raise ChatRefusal("Type a message or attach an image first.")
        refuse_what_the_api_would(self.engine, self.session)
        editing = self.draft.editing
        text, attachments = Draft(text, tuple(attachments), pasted=self.draft.pasted).parts
        refuse_a_prompt_too_long(self.engine, self.session, text, attachments, editing)
        self.draft = Draft()
        self._cancel_decision()
        if editing is not None:
            self.conversation.fork(editing)  # the old branch is kept, to switch back to
            self.session.forked_at = editing
        self.conversation.add_user_text(text, *attachments, created_at=self.engine.clock())
        return self._start(entered_at)

    def regenerate(self, entered_at: float | None = None) -> Turn:
        """Answer the last message again: the reply after it (or what a failure left) is kept
        as a branch."""
        if self.busy():
            raise ChatRefusal("Wait for the reply to finish (or stop it) first.")
        conv = self.conversation
        last_user = next(
            (
                i
                for i in range(len(conv.messages) - 1, -1, -1)
                if conv.messages[i].role == "user" and not conv.messages[i].is_tool_result
            ),
            None,
        )
        if last_user is None:
            raise ChatRefusal("Nothing to answer yet: send a message first.")
        refuse_what_the_api_would(self.engine, self.session)
        # The system messages that follow it (an instruction, the turn's effort) stay with it.
        after = last_user + 1
        after += sum(1 for _ in takewhile(lambda m: m.role == "system", conv.messages[after:]))
        if any(m.role == "assistant" and m.blocks for m in conv.messages[after:]):
            conv.fork(after)  # a reply to switch back to
            self.session.forked_at = after
        else:
            conv.truncate(after)  # what a failure left: nothing worth keeping
        return self._start(entered_at)

    retry = regenerate

    def _start(self, entered_at: float | None) -> Turn:
        entered = time.perf_counter() if entered_at is None else entered_at
        before = len(self.session.totals.records)
        self.turn = Turn(self.id, self.engine, entered, before).run(self._run_turn(entered))
        self.turn.on_done(self._turn_ended)
        self.changed({ch.MESSAGES, ch.DRAFT, ch.TURN}, "a turn began")
        return self.turn

    def _turn_ended(self, turn: Turn) -> None:
        if not self.closed:
            self.changed({ch.TURN, ch.MESSAGES}, "the turn ended")
        self._maybe_idle()

    async def _run_turn(self, entered_at: float) -> None:
        for hook in list(self.before_send):
            await hook()
        self.session.entered_at = entered_at
        self.engine.begin_turn(self.session)
        await self.engine.run_turn(self.session)

    def stop(self) -> bool:
        """Stop the turn, its books kept (``Turn.stop``); False when none runs."""
        if not self.busy():
            return False
        self.turn.stop(self.session.stream, self.engine.settings.stop_wait_s)
        return True

    # -- branches -------------------------------------------------------------------------------
    def branches_here(self) -> dict[int, tuple[int, int, BranchView]]:
        """For each fork on screen: (this path's number, how many, what switching to the next
        one would mean)."""
        return branches_here(self.engine, self.session)

    def switch_branch(self, index: int, step: int) -> BranchView:
        """Show the previous (-1) or next (+1) path from message ``index`` on; the one on screen
        becomes a branch. Returns what the switch means for the cache (judged before it)."""
        if self.busy():
            raise ChatRefusal("Wait for the reply to finish (or stop it) first.")
        conv = self.conversation
        paths = conv.alternatives(index)
        if len(paths) < 2:
            raise ChatRefusal("This message has no other branch.")
        target = paths[(conv.shown_among(index, paths) + step) % len(paths)]
        view = branch_view(self.engine, self.session, index, target)
        conv.switch(index, target)
        self.draft = Draft()
        self.changed({ch.MESSAGES, ch.DRAFT, ch.RECORDS}, "a branch was switched")
        return view

    # -- editing --------------------------------------------------------------------------------
    def edit(self, index: int) -> Draft:
        """Put message ``index`` back in the draft; it and the later ones are replaced only when
        the draft is sent. Returns the draft to show."""
        if self.busy():
            raise ChatRefusal("Wait for the reply to finish (or stop it) first.")
        message = self.conversation.messages[index]
        text = "\n".join(b.text for b in message.blocks if isinstance(b, TextBlock))
        items = tuple(
            b.image if isinstance(b, ImageBlock) else b.document
            for b in message.blocks
            if isinstance(b, ImageBlock | DocumentBlock)
        )
        self.draft = Draft(text, items, index)
        self.decide_now()  # the prefix the edit keeps is what Send will read
        self.changed({ch.DRAFT}, "an edit began")
        return self.draft

    def cancel_edit(self) -> bool:
        if self.draft.editing is None:
            return False
        self.draft = Draft()
        self.changed({ch.DRAFT}, "the edit was cancelled")
        return True

    # -- the draft and warming ------------------------------------------------------------------
    def set_draft(
        self, text: str, attachments: tuple = (), now: bool = False, pasted: tuple = ()
    ) -> asyncio.Task | None:
        """The composer's draft changed (text typed, an attachment, a paste). Typing only moves
        the one decision to the end of the pause; ``now`` (an attachment, a paste, a finished
        upload) decides at once (its warm-up, if one went out, is returned). ``pasted``: long
        texts pasted as text, sent (and warmed) as blocks of their own."""
        self.draft = replace(
            self.draft, text=text, attachments=tuple(attachments), pasted=tuple(pasted)
        )
        if now:
            return self.decide_now()
        self._cancel_decision()
        # The first key after the conversation changed (a reply arrived, a setting or the system
        # prompt changed) decides right after the key, as the cookbook warms when typing starts;
        # the keys after it only move the one decision to the end of the pause.
        soon = self._decided_on != self._state()
        delay = 0.0 if soon else DEBOUNCE_S
        self._decision_timer = asyncio.get_event_loop().call_later(delay, self.decide_now)
        return None

    def _state(self) -> tuple:
        """What a warm-up depends on besides the draft, cheaply (no build): the conversation's
        last message, system prompt, tools and request settings."""
        conv = self.conversation
        last = conv.messages[-1].id if conv.messages else ""
        return (
            len(conv.messages), last, id(conv.system), id(conv.tools), conv.model,
            conv.pattern, conv.ttl, conv.warming, str(conv.thinking), conv.effort, conv.turn_effort,
            conv.server_tools, conv.pending, conv.tool_choice and str(conv.tool_choice),
            tuple(i for i, m in enumerate(conv.messages) if m.pinned),
        )  # fmt: skip

    def _cancel_decision(self) -> None:
        if self._decision_timer is not None:
            self._decision_timer.cancel()
            self._decision_timer = None

    def decide_now(self) -> asyncio.Task | None:
        """One warm-up decision for what Send would send now (none while a turn runs, none
        for an empty draft: there is nothing to send). The two requests it needs are built in
        a worker thread; the decision itself, against the ledger, on this one. Returns the
        decision's task: it ends with the warm-up's record (None: none was sent)."""
        self._cancel_decision()
        if self.closed or self.busy():
            return None
        self.decisions += 1
        self._decided_on = self._state()
        if self._deciding_task is not None and not self._deciding_task.done():
            self._deciding_task.cancel()  # a newer draft: the older decision is moot
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no loop runs (a widget driven outside it): nothing can be sent
            self.changed({ch.DRAFT}, "the draft changed")
            return None
        self._deciding_task = self.engine.own(self._decide(self.draft), f"decide {self.id}")
        return self._deciding_task

    async def _decide(self, draft: Draft):
        engine, session = self.engine, self.session
        text, before = draft.parts
        reason = "nothing to send yet" if draft.empty else None
        if reason is None:
            reason = engine.drafts.blocker(session, before)  # starts uploads: this thread
        if reason is None:
            built, send = await asyncio.to_thread(
                engine.drafts.requests, session, before, draft.editing, text
            )
        else:
            built, send = None, await asyncio.to_thread(build_request, engine, session, draft)
        if self.closed or self.busy() or self.draft is not draft:
            return None  # the draft moved on, or a turn began: this decision is moot
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # resumed by Qt with the loop stopped: the window is going away
            return None
        task = self._decide_with(draft, built, send, reason)
        if task is None:
            return None
        return await asyncio.shield(task)  # a newer decision never stops a warm-up under way

    def _decide_with(self, draft: Draft, built, send, reason) -> asyncio.Task | None:
        """The decision on this thread, with the requests built: against the ledger as it is
        now, the warm-up sent if it pays (its task), the reason said if not; one change."""
        engine, session = self.engine, self.session
        task = None
        with self.keeper.holding():  # the decision's events say one change, at its end
            if built is not None:
                task = engine.drafts.warm(session, built, send)
            elif not draft.empty:
                engine.emit(ev.WarmSkipped(self.id, reason, False))
        self.changed({ch.DRAFT}, "the draft changed", send)
        return task

    # -- changes and what they cost ------------------------------------------------------------
    def preview(self, **changes) -> Invalidation:
        """What applying ``changes`` to the conversation (model, pattern, ttl, thinking, effort,
        tools, server tools, system) would cost in cached tokens, before it is made: the request
        Send would send now against the same request after the change."""
        conv = self.conversation
        before = self.engine.drafts.send_request(self.session, DRAFT_PLACEHOLDER)
        after_conv = replace(conv, **changes)
        after = self.engine.drafts.send_request(
            self.session, DRAFT_PLACEHOLDER, conversation=after_conv
        )
        return preview_change(before, after, self.engine.ledger)

    def apply(self, **changes) -> None:
        """Make the changes; every view then shows the request as it now is."""
        for key, value in changes.items():
            setattr(self.conversation, key, value)
        self.changed({ch.SETTINGS, ch.MESSAGES}, "a setting changed")

    # -- the API's rules for Claude's settings (app.workspace.claude_settings) -----------------
    def thinking_changes(self, kind: str | None, budget: int = 0) -> dict:
        model = self.engine.resolve_model(self.conversation.model)
        return rules.thinking_changes(self.conversation, kind, budget, model)

    def effort_changes(self, level: str | None) -> dict:
        model = self.engine.model_of(self.conversation)
        return rules.effort_changes(self.conversation, model, level)

    def fit_to_model(self) -> list[str]:
        return rules.fit_to_model(self.conversation, self.engine.model_of(self.conversation))

    def tool_choice(self, offered: list, names: set[str]) -> rules.ToolChoice:
        model = self.engine.model_of(self.conversation)
        return rules.tool_choice(self.conversation, model, offered, names)

    def choose_tools(self, choice: rules.ToolChoice, from_here_on: bool) -> None:
        """Apply a tool choice: as tool changes after the next user turn (the definitions and
        their cache stay), or as new definitions (a tool withdrawn before and chosen again is
        also offered again by a ``tool_addition``)."""
        conv = self.conversation
        if from_here_on:
            conv.pending = (*conv.pending, *choice.changes)
            self.changed({ch.SETTINGS}, "tools change from the next message")
            return
        additions = tuple(b for b in choice.changes if b.kind == "tool_addition")
        if additions:
            conv.pending = (*conv.pending, *additions)
        self.apply(tools=choice.tools)

    def add_instruction(self, text: str) -> None:
        """An instruction sent after the next user turn, as a system message (the cache kept)."""
        conv = self.conversation
        conv.pending = (*conv.pending, TextBlock(text))
        self.changed({ch.SETTINGS}, "an instruction goes with the next message")

    def set_pinned(self, index: int, pinned: bool) -> None:
        self.conversation.set_pinned(index, pinned)
        why = "a message was pinned" if pinned else "a pin was removed"
        self.changed({ch.MESSAGES, ch.SETTINGS}, why)  # the breakpoints move

    def rename(self, title: str) -> None:
        self.conversation.title = title
        self.changed({ch.TITLE}, "renamed")

    # -- lifetime -------------------------------------------------------------------------------
    def tasks(self) -> list[asyncio.Task]:
        """What still runs for this conversation: the turn, warm-ups, the keep-alive."""
        session = self.session
        found = list(session.warm_tasks.values())
        if self._deciding_task is not None:
            found.append(self._deciding_task)
        if self.turn is not None and self.turn.task is not None:
            found.append(self.turn.task)
        if session.keepalive_task is not None:
            found.append(session.keepalive_task)
        return [t for t in found if not t.done()]

    def idle(self) -> bool:
        return not self.tasks()

    def on_close(self, closer: Callable[[], None]) -> None:
        """Run ``closer`` when the controller closes (the history's recorder, a subscription)."""
        self._closers.append(closer)

    def when_idle(self, then: Callable[[Chat], None]) -> None:
        """Call ``then(self)`` once nothing runs for this conversation (at once if nothing does)."""
        self._idle_waiters.append(then)
        self._maybe_idle()

    def _maybe_idle(self) -> None:
        if not self._idle_waiters:
            return
        running = self.tasks()
        if running:  # a keep-alive may follow a turn: look again when each of these ends
            for task in running:
                if task not in self._watched:
                    self._watched.add(task)
                    task.add_done_callback(self._task_ended)
            return
        waiters, self._idle_waiters = self._idle_waiters, []
        for then in waiters:
            then(self)

    def _task_ended(self, task: asyncio.Task) -> None:
        self._watched.discard(task)
        self._maybe_idle()

    def close(self) -> None:
        """Cancel what runs for this conversation and end what was set up for it."""
        if self.closed:
            return
        self.closed = True
        self._cancel_decision()
        self.keeper.close()
        self.engine.unsubscribe(self._on_event)
        for task in self.tasks():
            task.cancel()
        closers, self._closers = self._closers, []
        for closer in reversed(closers):
            closer()
