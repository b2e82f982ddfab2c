"""Sending from the composer: the draft goes to the controller (one warm-up decision per typing
pause, at once on an attachment), Enter sends it as a turn, Esc stops it, and the pane and the
composer follow the turn from its start to its end."""

from __future__ import annotations

import asyncio
import time

from PySide6.QtCore import QObject

from app.engine import events as ev
from app.ui.menus import MenuEntry
from app.workspace.chat import ChatRefusal, Turn


class Sending(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        composer = window.composer
        composer.send_requested.connect(self.send)
        composer.stop_requested.connect(self.stop)
        # The draft changing decides a warm-up, never focus, opening or a timer (issue 35.1).
        composer.draft_edited.connect(lambda: self.draft_changed(now=False))
        composer.attachments_changed.connect(lambda: self.draft_changed(now=True))
        composer.pasted_as_text.connect(lambda: self.draft_changed(now=True))
        window.feed.subscribe(self._on_event)
        window.add_menu_entries([MenuEntry("conversation", "&Stop reply", "Esc", self.stop)])

    def _on_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.UploadFinished):
            self.draft_changed(now=True)  # a warm-up waited for it

    def draft_changed(self, now: bool = False) -> None:
        """Typing moves the one warm-up decision to the end of the pause; an attachment, a paste
        or a finished upload decides at once (``Chat.set_draft``)."""
        composer = self.window.composer
        pasted = tuple(composer.pasted_texts)
        self.window.chat.set_draft(composer.text(), tuple(composer.items()), now, pasted)

    def send(self) -> None:
        entered = time.perf_counter()  # the first token is timed from here
        w = self.window
        if w.composer.pending:
            w.notify("Wait a moment: an attachment is still being prepared.")
            return
        editing = w.chat.draft.editing
        try:
            turn = w.chat.send(w.composer.text(), tuple(w.composer.items()), entered)
        except ChatRefusal as exc:
            w.notify(str(exc))
            return
        if editing is not None:
            w.view.editing = None
        w.composer.clear()  # a turn runs: the chips it clears warm nothing
        w.conversation_changed()
        self.show_turn(turn)

    def stop(self) -> None:
        self.window.chat.stop()

    def show_turn(self, turn: Turn) -> None:
        w = self.window
        w.view.show_conversation(w.chat.conversation)
        w.view.begin_reply()
        w.composer.set_streaming(True)
        w.notify("")
        turn.task.add_done_callback(self._turn_done)

    def _turn_done(self, task: asyncio.Task) -> None:
        """The composer and the pane; the sidebar and inspector had the totals from the events."""
        w = self.window
        if w.chat.turn is None or task is not w.chat.turn.task:
            return  # a turn of a conversation no longer on screen
        w.composer.set_streaming(False)
        w.price_draft()
        w.view.end_reply()  # the turn's records came with its Finished/Failed/Cancelled event
        w.view.show_conversation(w.chat.conversation)
        w.update_title()
        if task.cancelled():
            w.notify("Stopped. The partial reply is kept.")
        elif task.exception() is not None:
            w.notify(f"The turn could not run: {task.exception()}")
            w.view.show_error(f"The turn could not run: {task.exception()}", "Retry.")
        w.turn_finished.emit()
