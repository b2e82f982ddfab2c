"""File → Open Claude Code sessions: the dialog (``dialog.ClaudeCodeDialog``, given the Qt-free
``app.agents.browser.ClaudeCodeSessions``), loaded the first time it is asked for."""
