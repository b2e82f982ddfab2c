"""File → Open Claude Code sessions: the dialog (``dialog.ClaudeCodeDialog``, given the Qt-free
``app.agents.browser.ClaudeCodeSessions``) and ``register``, which adds its menu entry to a
window. The window calls ``register(self)`` and knows nothing else of it."""

from __future__ import annotations

from PySide6.QtCore import QObject

from app.ui.menus import MenuEntry


class ClaudeCodeView(QObject):
    """The menu entry and the one dialog it opens (made on first use, kept while the window
    lives, so a session stays open and live between looks)."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.dialog = None
        entry = MenuEntry("file", "Open &Claude Code sessions…", "", self.open, first=True)
        window.add_menu_entries([entry])  # above Quit

    def open(self):
        if self.dialog is None:
            from app.agents.browser import ClaudeCodeSessions
            from app.ui.claude_code.dialog import ClaudeCodeDialog

            self.dialog = ClaudeCodeDialog(ClaudeCodeSessions(), self.window)
        else:
            self.dialog.fill_projects()
        self.dialog.open()
        return self.dialog


def register(window) -> ClaudeCodeView:
    """Add File → Open Claude Code sessions… to ``window`` (anything with ``add_menu_entries``)."""
    return ClaudeCodeView(window)
