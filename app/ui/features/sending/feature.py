"""Sending from the composer: the draft goes to the conversation on screen (one warm-up decision
per typing pause, at once on an attachment or a long paste), Enter sends it as a turn, Esc stops
it, and the pane and the composer follow each turn from its start to its end (a turn begun
anywhere: sent, regenerated, retried)."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Signal

from app.engine import events as ev
from app.ui.context import FeatureContext
from app.ui.menus import MenuEntry
from app.workspace import changes as ch
from app.workspace.chat import ChatRefusal


class Sending(QObject):
    turn_finished = Signal()  # the window showed a turn's outcome

    def __init__(self, ctx: FeatureContext):
        super().__init__(ctx.parent)
        self.ctx = ctx
        composer = ctx.widgets.composer
        composer.send_requested.connect(self.send)
        composer.stop_requested.connect(self.stop)
        # The draft changing decides a warm-up, never focus, opening or a timer (issue 35.1).
        composer.draft_edited.connect(lambda: self.draft_changed(now=False))
        composer.attachments_changed.connect(lambda: self.draft_changed(now=True))
        composer.pasted_as_text.connect(lambda: self.draft_changed(now=True))
        ctx.workspace.subscribe(self._on_change)
        ctx.add_menu_entries([MenuEntry("conversation", "&Stop reply", "Esc", self.stop)])
        self._shown = None  # the turn the pane follows

    def draft_changed(self, now: bool = False) -> None:
        """Typing moves the one warm-up decision to the end of the pause; an attachment, a paste
        or a finished upload decides at once (``Chat.set_draft``)."""
        composer = self.ctx.widgets.composer
        pasted = tuple(composer.pasted_texts)
        self.ctx.chat.set_draft(composer.text(), tuple(composer.items()), now, pasted)

    def send(self) -> None:
        entered = time.perf_counter()  # the first token is timed from here
        composer, view = self.ctx.widgets.composer, self.ctx.widgets.view
        if composer.pending:
            self.ctx.notify("Wait a moment: an attachment is still being prepared.")
            return
        chat = self.ctx.chat
        editing = chat.draft.editing
        try:
            chat.send(composer.text(), tuple(composer.items()), entered)
        except ChatRefusal as exc:
            self.ctx.notify(str(exc))
            return
        if editing is not None:
            view.editing = None
        composer.clear()  # a turn runs: the chips it clears warm nothing
        self.ctx.workspace.save()

    def stop(self) -> None:
        """Esc: the turn stops; a request whose response has not begun is let run until it
        begins (``Turn.stop``), and the status line says what it waits for."""
        chat = self.ctx.chat
        if chat.stop() and chat.turn.stop_wait_s is not None and not chat.turn.done():
            wait = chat.turn.stop_wait_s
            self.ctx.notify(
                "Stopping: the request has reached the API, which bills its prompt; waiting for"
                f" the response to begin (at most {wait:.0f} s) to record what it cost…"
            )

    def _on_change(self, change: ch.Change) -> None:
        if change.touches(ch.CURRENT):  # each conversation keeps its own draft
            draft = self.ctx.chat.draft
            self.ctx.widgets.composer.show_draft(draft.text, draft.attachments, draft.pasted)
        if not change.touches(ch.TURN):
            return
        chat = self.ctx.chat
        if chat.busy() and chat.turn is not self._shown:
            self._begin(chat.turn)
        elif not chat.busy() and chat.turn is self._shown and chat.turn is not None:
            self._end(chat.turn)

    def _begin(self, turn) -> None:
        widgets = self.ctx.widgets
        self._shown = turn
        widgets.view.show_conversation(self.ctx.chat.conversation)
        widgets.view.begin_reply()
        widgets.composer.set_streaming(True)
        self.ctx.notify("")

    def _end(self, turn) -> None:
        """The composer and the pane; the sidebar and inspector follow the chat's changes."""
        widgets = self.ctx.widgets
        self._shown = None
        widgets.composer.set_streaming(False)
        widgets.view.end_reply()
        widgets.view.show_conversation(self.ctx.chat.conversation)
        task = turn.task
        if task.cancelled():
            self.ctx.notify(ev.stop_sentence(turn.stop_event))
        elif task.exception() is not None:
            problem = f"The turn could not run: {task.exception()}"
            self.ctx.notify(problem)
            widgets.view.show_error(problem, "Retry.")
        self.turn_finished.emit()
