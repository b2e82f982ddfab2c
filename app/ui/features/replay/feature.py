"""Conversation → What would it have cost: the open conversation, as a trace with its own times
(``app.replay.trace.from_conversation``), first replayed the way this window sends it to see how
well that reproduces what its history billed (``app.replay.calibration``), then under every
policy off the GUI thread; the dialog shows the answer and applies the cheapest policy that has
an equivalent here, priced as any other switch. The replay machinery is loaded the first time it
is asked for."""

from __future__ import annotations

import dataclasses

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
        from app.caching.strategies import CacheSettings
        from app.history.sessions import records_of
        from app.replay.billed import conversation_segment
        from app.replay.calibration import engine_layout, replay_segments
        from app.replay.trace import TraceError
        from app.ui.widgets.replay_dialog import ReplayDialog

        session = self.ctx.chat.session
        conv = session.conversation
        try:
            segment, notes = conversation_segment(conv, records_of(session))
        except TraceError as exc:
            self.ctx.notify(f"Nothing to replay: {exc}.")
            return None
        ours = self.ctx.engine.settings
        settings = dataclasses.replace(
            ours,
            strategy=conv.pattern or ours.strategy,
            cache=CacheSettings(ttl=conv.ttl) if conv.ttl else ours.cache,
        )
        layouts = {"cachescope": engine_layout(settings)}
        dialog = ReplayDialog(self.ctx.chat.title or "this conversation", self.ctx.parent)
        dialog.apply_button.clicked.connect(lambda: self.apply(dialog))
        dialog.open()
        self.dialog = dialog

        def job(progress):
            return replay_segments(
                segment.name, [segment], None, layouts, "5m", progress=progress, notes=notes
            )

        dialog.task = self.ctx.spawn(dialog.replay_calibrated(job))
        return dialog

    def apply(self, dialog) -> None:
        from app.ui.widgets.replay_dialog import APPLIES

        changes = APPLIES.get(dialog.best or "")
        if not changes:
            return
        dialog.accept()
        label = ", ".join(f"{k} {v}" for k, v in changes.items())
        self.ctx.switch.change(label, **changes)
