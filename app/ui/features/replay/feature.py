"""Conversation → What would it have cost: the open conversation, as a trace with its own times
(``app.replay.saved.saved_session``), first replayed the way this window sends it to see how
well that reproduces what its history billed (``app.replay.calibration``), then under every
policy off the GUI thread (Cachescope's rows at this conversation's settings); the dialog shows
the answer and applies the whole of the cheapest policy Cachescope can follow (pattern, TTL,
warming, keep-alive pings), priced as any other switch. The replay machinery is loaded the
first time it is asked for."""

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
        from app.replay.billed import conversation_segment
        from app.replay.calibration import replay_segments
        from app.replay.ours import in_force, ours_at, settings_for
        from app.replay.trace import TraceError
        from app.ui.widgets.replay_dialog import ReplayDialog

        session = self.ctx.chat.session
        conv = session.conversation
        try:
            segment, notes = conversation_segment(conv, records_of(session))
        except TraceError as exc:
            self.ctx.notify(f"Nothing to replay: {exc}.")
            return None
        settings = settings_for(conv, self.ctx.engine.settings)
        ours = ours_at(settings)  # Cachescope's rows at this conversation's settings
        layouts = {"cachescope": ours["cachescope"]}
        dialog = ReplayDialog(self.ctx.chat.title or "this conversation", self.ctx.parent)
        dialog.yours = in_force(settings)
        dialog.apply_button.clicked.connect(lambda: self.apply(dialog))
        dialog.open()
        self.dialog = dialog

        def job(progress):
            return replay_segments(
                segment.name,
                [segment],
                None,
                layouts,
                "5m",
                progress=progress,
                notes=notes,
                actors=ours,
            )

        dialog.task = self.ctx.spawn(dialog.replay_calibrated(job))
        return dialog

    def apply(self, dialog) -> None:
        """Follow the policy the dialog chose: all of it that differs from what is in force
        (pattern, TTL, warming, keep-alive pings), priced as any other switch; the status line
        then says what was applied."""
        from app.replay.following import changes_needed
        from app.replay.policies import LABELS

        follow = dialog.follow
        if follow is None:
            return
        changes = changes_needed(follow, dialog.yours)
        dialog.accept()
        label = LABELS.get(follow.policy, follow.policy)
        self.ctx.switch.change(f"to “{label}” ({follow.words()})", **changes)
