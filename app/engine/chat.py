"""One open conversation's controller (Qt-free): its conversation and settings, its draft, its
tasks (the turn, warm-ups, keep-alive pings) and the lifetime of what records it.

Every intent the window offers is a method here, tested without Qt: send, regenerate (retry),
edit and cancel the edit, stop, preview a change and apply it. The window hands the controller
what the user did and shows what it says; it decides nothing.

- **A turn is a handle** (``Turn``): ``send`` returns it; it carries its task, its record (usage,
  cost, time to the first token from the user's Enter) and ``cancel``.
- **Warm what will be sent, once per pause.** The draft (typed text, attachments, an edit in
  progress) is kept here; typing only reschedules one decision ``DEBOUNCE_S`` later, attaching
  or pasting decides at once, and so does the first key after the conversation changed (a reply,
  a setting), right after that key. A decision warms the prefix Send would send at that moment: the
  messages an edit keeps, then the draft's attachments. While a turn runs nothing is decided, so
  the composer clearing its chips after a send warms nothing.
- **What Send would send now** (``next_request``) is built at each decision and after each change
  of model, pattern, TTL or other setting: the warm indicator speaks of it, not of the last request.
- **Setup and teardown in pairs**: ``on_close`` registers what ends with the controller (the
  history's recorder); ``close`` cancels its tasks and runs them. A conversation left for another
  stays open while it has work (a keep-alive ping under its own settings) and is closed when it
  has none (``when_idle``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from itertools import takewhile

from app.caching.builder import BuiltRequest
from app.caching.costs import Kind, RequestRecord, cost_of
from app.caching.invalidation import Invalidation, preview_change
from app.caching.ledger import Usage
from app.conversation.blocks import DocumentBlock, ImageBlock, Message, TextBlock, tool_change
from app.conversation.conversation import Conversation
from app.engine.branches import BranchView, branch_view, branches_here
from app.engine.engine import WARM_TAIL, Engine
from app.engine.session import Session
from app.facts.rules import plan_request

DEBOUNCE_S = 0.4  # a typing pause this long is one warm-up decision


@dataclass(frozen=True)
class SendPrice:
    """What Send would send now, as predicted: the whole request, not the draft alone."""

    tokens: int  # the request's input tokens, in the model's tokenizer
    read: int  # of which the cache would give
    usd: float | None  # its input's price now (None: prices unknown)
    cold_usd: float | None  # the same with nothing cached


class ChatRefusal(ValueError):
    """An intent that cannot run now, with the sentence the user sees."""


@dataclass(frozen=True)
class ToolChoice:
    tools: tuple  # the definitions to send
    changes: tuple  # the tool_removal / tool_addition blocks that make the choice from here on
    can_withdraw: bool  # whether the changes alone can make it (keeping the cache)


@dataclass(frozen=True)
class Draft:
    text: str = ""
    attachments: tuple = ()
    editing: int | None = None  # the message an edit in progress will replace


class Turn:
    """One send and its replies: awaitable, cancellable, and what it cost once it ended."""

    def __init__(self, chat: Chat, task: asyncio.Task, entered_at: float, records_before: int):
        self.chat = chat
        self.task = task
        self.entered_at = entered_at  # perf_counter() of the user's Enter
        self._records_before = records_before

    def __await__(self):
        return self.task.__await__()

    def done(self) -> bool:
        return self.task.done()

    def cancel(self) -> None:
        self.task.cancel()

    @property
    def records(self) -> list[RequestRecord]:
        """The requests this turn sent (a tool loop sends several), as recorded."""
        records = self.chat.session.totals.records[self._records_before :]
        return [r for r in records if r.kind == Kind.TURN]

    @property
    def cost_usd(self) -> float:
        return sum(r.cost.paid_usd for r in self.records)

    @property
    def first_token_s(self) -> float | None:
        """Seconds from the Enter to the first token of the reply."""
        found = [r.ttft_s for r in self.records if r.ttft_s is not None]
        return found[0] if found else None


class Chat:
    def __init__(self, engine: Engine, session: Session):
        self.engine = engine
        self.session = session
        self.draft = Draft()
        self.turn: Turn | None = None
        self.before_send: list[Callable[[], Awaitable[None]]] = []  # e.g. the history's commit
        self.decisions = 0  # warm-up decisions made (one per typing pause)
        self._decision: asyncio.TimerHandle | None = None
        self._decided_on: tuple = ()  # ``_state()`` at the last decision
        self._closers: list[Callable[[], None]] = []
        self._idle_waiters: list[Callable[[Chat], None]] = []
        self._watched: set[asyncio.Task] = set()  # tasks whose end looks for idleness
        self.closed = False

    @property
    def id(self) -> str:
        return self.session.id

    @property
    def conversation(self) -> Conversation:
        return self.session.conversation

    def busy(self) -> bool:
        return self.turn is not None and not self.turn.done()

    # -- the turn -------------------------------------------------------------------------------
    def send(self, text: str, attachments: tuple = (), entered_at: float | None = None) -> Turn:
        """Send the draft: an edit in progress replaces its message and the ones after it now."""
        if self.busy():
            raise ChatRefusal("Wait for the reply to finish (or stop it) first.")
        if not text and not attachments:
            raise ChatRefusal("Type a message or attach an image first.")
        self._refuse_a_retired_model()
        self._refuse_a_forced_tool_choice()
        self._refuse_system_messages_the_model_refuses()
        editing = self.draft.editing
        self._refuse_a_prompt_too_long(text, attachments, editing)
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
        self._refuse_a_retired_model()
        self._refuse_a_forced_tool_choice()
        self._refuse_system_messages_the_model_refuses()
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
        self.refresh_next_request()
        return view

    def _refuse_a_prompt_too_long(self, text: str, attachments: tuple, editing: int | None):
        """A prompt over the model's context window is a 400 ("prompt is too long",
        context-windows.md): it is not sent, and the draft stays."""
        conv = self.conversation
        model = self.engine.resolve_model(conv.model)
        if model is None:
            return
        trial = replace(conv, messages=list(conv.messages[:editing]))
        trial.add_user_text(text, *attachments)
        tokens = self.engine.build(self.session, trial).flat.total_tokens
        if tokens > model.context_window:
            raise ChatRefusal(
                f"With this message the request is about {tokens:,} tokens, more than "
                f"{model.display_name}'s context window of {model.context_window:,}: the API "
                "would refuse it (prompt is too long). Remove an attachment, or start a new "
                "conversation."
            )

    def price_send(self, text: str, attachments: tuple = ()) -> SendPrice | None:
        """The request Send would send with this draft (None: nothing to send), priced with
        what the ledger says is cached now and with nothing cached."""
        if not text and not attachments:
            return None
        conv = self.conversation
        trial = replace(conv, messages=list(conv.messages[: self.draft.editing]))
        trial.add_user_text(text, *attachments)
        built = self.engine.build(self.session, trial)
        plan = self.engine.ledger.predict(built)
        cold = plan_request(
            built.flat, list(built.breakpoints), built.model.min_cacheable_tokens, lambda _: False
        )
        now, then = (
            cost_of(Usage.from_plan(plan), built.model),
            cost_of(Usage.from_plan(cold), built.model),
        )
        return SendPrice(
            built.flat.total_tokens,
            plan.read_tokens,
            now.paid_usd if now.known else None,
            then.paid_usd if then.known else None,
        )

    def _refuse_system_messages_the_model_refuses(self) -> None:
        """Instructions added mid-conversation are a 400 on a model without system messages
        (mid-conversation-system-messages.md): not sent; the user chooses what to do."""
        model = self.engine.resolve_model(self.conversation.model)
        if model is None or model.system_messages:
            return
        if any(m.role == "system" and m.blocks for m in self.conversation.messages):
            raise ChatRefusal(
                f"This conversation holds instructions added mid-conversation, which "
                f"{model.display_name} does not take: the API would refuse it. Switch back to "
                "the model they were written for, or start a new conversation."
            )

    def _refuse_a_forced_tool_choice(self) -> None:
        """A tool choice that forces a call is a 400 with extended thinking (define-tools.md)
        and on the models whose data says they refuse it: not sent."""
        conv = self.conversation
        if (conv.tool_choice or {}).get("type") not in ("any", "tool"):
            return
        model = self.engine.resolve_model(conv.model)
        if (conv.thinking or {}).get("type") == "enabled":
            raise ChatRefusal(
                "A tool choice that forces a tool call cannot go with extended thinking: the API "
                "would refuse it. Choose adaptive thinking, or let Claude choose its tools."
            )
        if model is not None and model.refuses_forced_tool_choice:
            raise ChatRefusal(
                f"{model.display_name} refuses a tool choice that forces a tool call: the API "
                "would refuse the request. Let Claude choose its tools (auto)."
            )

    def _refuse_a_retired_model(self) -> None:
        """A send the API would refuse (404) is not sent: say so, and what to use instead."""
        model = self.engine.resolve_model(self.conversation.model)
        if model is None or not model.retired:
            return
        successor = self.engine.resolve_model(model.successor) if model.successor else None
        instead = (
            f" Switch to {successor.display_name}, its successor (Model, in the toolbar)."
            if successor is not None
            else " Pick another model in the toolbar."
        )
        when = f" on {model.retires_at[:10]}" if model.retires_at else ""
        raise ChatRefusal(
            f"{model.display_name} was retired{when}: the API no longer answers it.{instead}"
        )

    def _start(self, entered_at: float | None) -> Turn:
        entered = time.perf_counter() if entered_at is None else entered_at
        before = len(self.session.totals.records)
        self.session.next_request = None  # built before the send: the indicator follows the turn
        task = asyncio.get_running_loop().create_task(
            self._run_turn(entered), name=f"turn {self.id}"
        )
        self.turn = Turn(self, task, entered, before)
        task.add_done_callback(lambda _: self._maybe_idle())
        return self.turn

    async def _run_turn(self, entered_at: float) -> None:
        for hook in list(self.before_send):
            await hook()
        self.session.entered_at = entered_at
        await self.engine.start_turn(self.session)

    def stop(self) -> bool:
        """Stop the reply (the partial one is kept); False when none runs."""
        if not self.busy():
            return False
        self.turn.cancel()
        return True

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
        return self.draft

    def cancel_edit(self) -> bool:
        if self.draft.editing is None:
            return False
        self.draft = Draft()
        return True

    # -- the draft and warming ------------------------------------------------------------------
    def set_draft(
        self, text: str, attachments: tuple = (), now: bool = False
    ) -> asyncio.Task | None:
        """The composer changed. Typing only moves the one decision to the end of the pause;
        ``now`` (an attachment, a paste, a finished upload) decides at once (its warm-up, if
        one went out, is returned)."""
        self.draft = replace(self.draft, text=text, attachments=tuple(attachments))
        if now:
            return self.decide_now()
        self._cancel_decision()
        # The first key after the conversation changed (a reply arrived, a setting or the system
        # prompt changed) decides right after the key, as the cookbook warms when typing starts;
        # the keys after it only move the one decision to the end of the pause.
        soon = self._decided_on != self._state()
        delay = 0.0 if soon else DEBOUNCE_S
        self._decision = asyncio.get_event_loop().call_later(delay, self.decide_now)
        return None

    def _state(self) -> tuple:
        """What a warm-up depends on besides the draft, cheaply (no build): the conversation's
        last message, system prompt, tools and request settings."""
        conv = self.conversation
        last = conv.messages[-1].id if conv.messages else ""
        return (
            len(conv.messages), last, id(conv.system), id(conv.tools), conv.model,
            conv.pattern, conv.ttl, str(conv.thinking), conv.effort, conv.server_tools,
        )  # fmt: skip

    def _cancel_decision(self) -> None:
        if self._decision is not None:
            self._decision.cancel()
            self._decision = None

    def decide_now(self) -> asyncio.Task | None:
        """One warm-up decision for what Send would send now (none while a turn runs)."""
        self._cancel_decision()
        if self.closed or self.busy():
            return None
        self.decisions += 1
        self._decided_on = self._state()
        draft = self.draft
        self.session.next_request = None  # the decision sets it when it builds the request
        task = self.engine.draft_activity(self.session, draft.attachments, draft.editing)
        if self.session.next_request is None:  # blocked before building (warming off, ...):
            self.refresh_next_request()  # the indicator still speaks of what Send would send
        return task

    def refresh_next_request(self) -> BuiltRequest | None:
        """Build what Send would send now (after a setting changed, or a decision that built
        nothing), for the warm indicator."""
        conv, draft = self.conversation, self.draft
        if self.engine.catalogue.resolve(conv.model) is None:
            return None
        if not conv.messages and not conv.system and not conv.tools and not draft.attachments:
            self.session.next_request = None
            return None
        built = self.engine.warm_request(self.session, draft.attachments, draft.editing)
        self.session.next_request = built
        return built

    # -- changes and what they cost ------------------------------------------------------------
    def preview(self, **changes) -> Invalidation:
        """What applying ``changes`` to the conversation (model, pattern, ttl, thinking, effort,
        tools, server tools, system) would cost in cached tokens, before it is made."""
        conv = self.conversation
        tail = Message("user", (TextBlock(WARM_TAIL),), "preview", 0.0)
        before = self.engine.build(self.session, conv, extra_user=tail)
        after = self.engine.build(self.session, replace(conv, **changes), extra_user=tail)
        return preview_change(before, after, self.engine.ledger)

    def apply(self, **changes) -> None:
        """Make the changes; the indicator then speaks of the request as it now is."""
        for key, value in changes.items():
            setattr(self.conversation, key, value)
        self.refresh_next_request()

    # -- the API's rules for Claude's settings -------------------------------------------------
    def thinking_changes(self, kind: str | None, budget: int = 0) -> dict:
        """The changes that choose a thinking mode: ``None`` the model's default; "enabled"
        with a ``budget`` also raises ``max_tokens`` above it (the budget must be below
        ``max_tokens``, thinking.md), with 1,024 tokens left for the answer."""
        if kind == "enabled":
            max_tokens = max(self.conversation.max_tokens, budget + 1024)
            return {
                "thinking": {"type": "enabled", "budget_tokens": budget},
                "max_tokens": max_tokens,
            }
        return {"thinking": None if kind is None else {"type": kind}}

    def effort_changes(self, level: str | None) -> dict:
        """The changes that choose an effort (``None``: the model's default). Once the
        conversation has a reply, on a model that takes system messages the new effort goes
        per turn (a system message's ``output_config`` after each user turn): the prefix
        written at the old effort stays cached. Otherwise the top-level effort changes, and
        with it the messages' cache (prompt-caching.md, "What invalidates the cache")."""
        conv = self.conversation
        model = self.engine.model_of(conv)
        replied = any(m.role == "assistant" for m in conv.messages)
        if replied and model.system_messages and model.effort is not None:
            wanted = level or model.effort.default
            in_prefix = conv.effort or model.effort.default
            return {"turn_effort": None if wanted == in_prefix else wanted}
        return {"effort": level, "turn_effort": None}

    def fit_to_model(self) -> list[str]:
        """After a model change: drop a thinking type or effort the model does not take (its
        capabilities); returns what was dropped."""
        conv = self.conversation
        model = self.engine.model_of(conv)
        dropped = []
        accepts = model.thinking.accepts if model.thinking else ()
        if conv.thinking and conv.thinking.get("type") not in accepts:
            dropped.append(f"thinking {conv.thinking.get('type')}")
            conv.thinking = None
        if conv.turn_effort and not model.system_messages:  # per turn only where it can be
            conv.effort, conv.turn_effort = conv.turn_effort, None
        if conv.effort and (model.effort is None or conv.effort not in model.effort.levels):
            dropped.append(f"effort {conv.effort}")
            conv.effort = None
        if conv.turn_effort and conv.turn_effort not in model.effort.levels:
            dropped.append(f"effort {conv.turn_effort}")
            conv.turn_effort = None
        return dropped

    def tool_choice(self, offered: list, names: set[str]) -> ToolChoice:
        """What choosing the tools ``names`` among ``offered`` (built-in and MCP definitions)
        sends: the definitions (the user's own JSON tools kept), and the ``tool_removal`` /
        ``tool_addition`` blocks that make the same choice from here on without touching the
        cached definitions (mid-conversation-system-messages.md), when the model takes them."""
        conv = self.conversation
        by_name = {t.name: t for t in offered}
        kept = [t for t in conv.tools if t.name not in by_name]
        declared, withdrawn = {t.name for t in conv.tools}, conv.withdrawn_tools()
        # A tool a sent tool change names stays declared: the API refuses a reference to a
        # tool that is not in ``tools`` (it stays withdrawn).
        sending = names | (withdrawn & by_name.keys() & declared)
        tools = tuple(sorted(kept + [by_name[n] for n in sending], key=lambda t: t.name))
        live = declared - withdrawn
        changes = [tool_change("tool_removal", n) for n in sorted(live & by_name.keys() - names)]
        changes += [tool_change("tool_addition", n) for n in sorted(withdrawn & names)]
        model = self.engine.model_of(conv)
        can_withdraw = bool(
            changes and declared.issuperset(names) and model.system_messages and conv.messages
        )
        return ToolChoice(tools, tuple(changes), can_withdraw)

    def choose_tools(self, choice: ToolChoice, from_here_on: bool) -> None:
        """Apply a tool choice: as tool changes after the next user turn (the definitions and
        their cache stay), or as new definitions (a tool withdrawn before and chosen again is
        also offered again by a ``tool_addition``)."""
        conv = self.conversation
        if from_here_on:
            conv.pending = (*conv.pending, *choice.changes)
            return
        self.apply(tools=choice.tools)
        additions = [b for b in choice.changes if b.kind == "tool_addition"]
        if additions:
            conv.pending = (*conv.pending, *additions)

    # -- lifetime -------------------------------------------------------------------------------
    def tasks(self) -> list[asyncio.Task]:
        """What still runs for this conversation: the turn, warm-ups, the keep-alive."""
        session = self.session
        found = list(session.warm_tasks.values())
        if self.turn is not None:
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
        for task in self.tasks():
            task.cancel()
        closers, self._closers = self._closers, []
        for closer in reversed(closers):
            closer()
