"""Conversation → What would it have cost: the open conversation, as a trace with its own times
(``app.replay.trace.from_conversation``), replayed under every policy off the GUI thread; the
dialog shows the answer and applies the cheapest policy that has an equivalent here, priced as
any other switch. The replay machinery is loaded the first time it is asked for."""

from __future__ import annotations

from PySide6.QtCore import QObject

from app.ui.context import FeatureContext
from app.ui.menus import MenuEntry


class WhatItWouldHaveCost(QObject):
    def __init__(self, ctx: FeatureContext):
        super().__init__(ctx.parent)
        self.ctx = ctx
        self.dialog = None
        ctx.add_menu_entries(
            [MenuEntry("conversation", "What would it have &cost…", "Ctrl+Shift+R", self.open)]
        )

    def open(self):
        from app.history.sessions import records_of
        from app.replay.trace import TraceError, from_conversation
        from app.ui.widgets.replay_dialog import ReplayDialog

        session = self.ctx.chat.session
        try:
            trace, notes = from_conversation(session.conversation, records_of(session))
        except TraceError as exc:
            self.ctx.notify(f"Nothing to replay: {exc}.")
            return None
        dialog = ReplayDialog(self.ctx.chat.title or "this conversation", self.ctx.parent)
        dialog.apply_button.clicked.connect(lambda: self.apply(dialog))
        dialog.open()
        self.dialog = dialog
        records = session.totals.records
        paid = sum(r.cost.paid_usd for r in records if r.cost.known) if records else None
        dialog.task = self.ctx.spawn(dialog.replay(trace, paid, tuple(notes)))
        return dialog

    def apply(self, dialog) -> None:
        from app.ui.widgets.replay_dialog import APPLIES

        changes = APPLIES.get(dialog.best or "")
        if not changes:
            return
        dialog.accept()
        label = ", ".join(f"{k} {v}" for k, v in changes.items())
        self.ctx.switch.change(label, **changes)
