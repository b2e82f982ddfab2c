"""Conversation → What would it have cost: the open conversation, as a trace with its own times
(``app.replay.trace.from_conversation``), replayed under every policy off the GUI thread; the
dialog shows the answer and applies the cheapest policy that has an equivalent here, priced as
any other switch."""

from __future__ import annotations

from PySide6.QtCore import QObject

from app.history.sessions import records_of
from app.replay.trace import TraceError, from_conversation
from app.ui.menus import MenuEntry
from app.ui.replay_dialog import APPLIES, ReplayDialog


class WhatItWouldHaveCost(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.dialog: ReplayDialog | None = None
        window.add_menu_entries(
            [MenuEntry("conversation", "What would it have &cost…", "Ctrl+Shift+R", self.open)]
        )

    def open(self) -> ReplayDialog | None:
        w = self.window
        session = w.session
        try:
            trace, notes = from_conversation(session.conversation, records_of(session))
        except TraceError as exc:
            w.notify(f"Nothing to replay: {exc}.")
            return None
        dialog = ReplayDialog(session.conversation.title or "this conversation", w)
        dialog.apply_button.clicked.connect(lambda: self.apply(dialog))
        dialog.open()
        self.dialog = dialog
        records = session.totals.records
        paid = sum(r.cost.paid_usd for r in records if r.cost.known) if records else None
        dialog.task = w.spawn(dialog.replay(trace, paid, tuple(notes)))
        return dialog

    def apply(self, dialog: ReplayDialog) -> None:
        changes = APPLIES.get(dialog.best or "")
        if not changes:
            return
        dialog.accept()
        label = ", ".join(f"{k} {v}" for k, v in changes.items())
        self.window.claude.change_setting(label, **changes)
