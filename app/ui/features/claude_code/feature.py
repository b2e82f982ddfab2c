"""File → Open Claude Code sessions…: the menu entry and the one dialog it opens (made on first
use, kept while the window lives, so a session stays open and live between looks). Claude
Code's folder is only ever read."""

from __future__ import annotations

from PySide6.QtCore import QObject

from app.ui.context import FeatureContext
from app.ui.menus import MenuEntry


class ClaudeCodeView(QObject):
    def __init__(self, ctx: FeatureContext) -> None:
        super().__init__(ctx.parent)
        self.ctx = ctx
        self.dialog = None
        entry = MenuEntry("file", "Open &Claude Code sessions…", "", self.open, first=True)
        ctx.add_menu_entries([entry])  # above Quit

    def open(self):
        if self.dialog is None:
            from app.agents.browser import ClaudeCodeSessions
            from app.ui.features.claude_code.dialog import ClaudeCodeDialog

            sessions = ClaudeCodeSessions()
            self.dialog = ClaudeCodeDialog(sessions, self.ctx.parent, self.ctx.spawn)
        else:
            self.dialog.fill_projects()
        self.dialog.open()
        return self.dialog
