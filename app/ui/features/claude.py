"""Claude's own features in the window: the model, pattern and TTL switches of the toolbar,
thinking and effort (from the model's capabilities), web search and fetch, the conversation's
tools and MCP servers, tool-call approval, and instructions that keep the cache. Every switch
that costs cached tokens says so, with dollars, before it is made (``Chat.preview``). Attaches
to the window's toolbar and menus."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QInputDialog, QMessageBox

from app.caching.invalidation import Invalidation
from app.engine.mcp_hub import SEPARATOR, ConfigError, McpHub, parse_servers
from app.engine.tools import BUILT_IN
from app.facts.server_tools import server_tools
from app.ui.claude_dialogs import ApprovalDialog, ToolsDialog
from app.ui.menus import MenuEntry
from app.ui.plain import plain_box

MCP_FILE = "mcp.json"
THINKING_NAMES = {
    "adaptive": "Adaptive (Claude decides when to think)",
    "between_tools": "Between tool calls",
    "enabled": "Extended, with a budget…",
    "disabled": "Off",
}


class ClaudeFeatures(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.hub = McpHub([])
        self.mcp_text, self.mcp_folder = "", None
        self.approval: ApprovalDialog | None = None
        self.setting_box: QMessageBox | None = None
        self.tools_dialog: ToolsDialog | None = None
        window.add_menu_entries(self.claude_entries())
        self.build_claude_menu()
        bar = window.toolbar
        bar.model_box.currentIndexChanged.connect(
            lambda: self.change_setting(
                f"the model to {bar.model_box.currentText()}", model=bar.model_box.currentData()
            )
        )
        bar.pattern_box.currentIndexChanged.connect(
            lambda: self.change_setting(
                f"the pattern to {bar.pattern_box.currentText()}",
                pattern=bar.pattern_box.currentData(),
            )
        )
        bar.ttl_box.currentIndexChanged.connect(
            lambda: self.change_setting(
                f"the TTL to {bar.ttl_box.currentData()}", ttl=bar.ttl_box.currentData()
            )
        )

    def install_tools(self, folder: Path | None) -> None:
        """The MCP servers from ``folder/mcp.json`` (none when missing) and the approvals."""
        self.mcp_folder = folder
        text = ""
        if folder is not None and (folder / MCP_FILE).is_file():
            try:
                text = (folder / MCP_FILE).read_text("utf-8")
            except OSError as exc:
                self.window.notify(f"MCP servers not read: {exc.strerror or exc}.")
        self.mcp_text = text
        try:
            configs = parse_servers(text)
        except ConfigError as exc:
            configs = []
            self.window.notify(f"{MCP_FILE}: {exc} No MCP server was started.")
        self.hub = McpHub(configs)
        self.window.engine.use_tools(
            self.hub,
            approve=self.approve_tool,
            always={k: set(v) for k, v in self.window.prefs.always_allow.items()},
            remember=self._remember_always,
        )
        self.approval: ApprovalDialog | None = None

    async def start_enabled_servers(self) -> None:
        """At launch: the servers of mcp.json that are not disabled start, so the tools a
        conversation sends are there (and shown checked) before it calls one."""
        if not self.hub.servers:
            return
        states = await self.hub.start_enabled()
        failed = [f"{s.config.name} ({s.error})" for s in states if s.status != "running"]
        if failed:
            self.window.notify("MCP servers that did not start: " + "; ".join(failed) + ".")

    def _remember_always(self, always: dict[str, set[str]]) -> None:
        self.window.prefs.always_allow = {k: sorted(v) for k, v in always.items()}
        self.window.preferences_changed()

    def claude_entries(self) -> list[MenuEntry]:
        return [
            MenuEntry("claude", "&Tools and MCP servers…", "Ctrl+Shift+T", self.edit_tools),
            MenuEntry("claude", "Web &search", "", self.toggle_web_search),
            MenuEntry("claude", "Web &fetch", "", self.toggle_web_fetch),
        ]

    def build_claude_menu(self) -> None:
        """Thinking and Effort list what the conversation's model offers, each time they open."""
        menu = self.window.menus["claude"]
        self.thinking_menu = menu.addMenu("&Thinking")
        self.effort_menu = menu.addMenu("&Effort")
        self.thinking_menu.aboutToShow.connect(self._fill_thinking)
        self.effort_menu.aboutToShow.connect(self._fill_effort)

    def _model(self):
        return self.window.engine.model_of(self.window.chat.conversation)

    def _fill_thinking(self) -> None:
        menu, model, conv = self.thinking_menu, self._model(), self.window.chat.conversation
        menu.clear()
        group = QActionGroup(menu)
        current = (conv.thinking or {}).get("type")
        accepts = model.thinking.accepts if model.thinking else ()
        default = model.thinking.default if model.thinking else "disabled"
        for kind in [None, *[k for k in THINKING_NAMES if k in accepts]]:
            name = f"The model's default ({default})" if kind is None else THINKING_NAMES[kind]
            action = QAction(name, menu, checkable=True, checked=kind == current)
            action.triggered.connect(lambda _=False, k=kind: self.choose_thinking(k))
            group.addAction(action)
            menu.addAction(action)

    def _fill_effort(self) -> None:
        menu, model, conv = self.effort_menu, self._model(), self.window.chat.conversation
        menu.clear()
        if model.effort is None:
            menu.addAction("(this model has no effort setting)").setEnabled(False)
            return
        group = QActionGroup(menu)
        in_force = conv.turn_effort or conv.effort
        for level in [None, *model.effort.levels]:
            name = f"The model's default ({model.effort.default})" if level is None else level
            action = QAction(name, menu, checkable=True, checked=level == in_force)
            action.triggered.connect(lambda _=False, v=level: self.choose_effort(v))
            group.addAction(action)
            menu.addAction(action)

    # -- what a change costs, asked before it is made -------------------------------------------
    def preview_edit(self, **changes) -> Invalidation:
        return self.window.chat.preview(**changes)

    def change_setting(self, what: str, **changes) -> QMessageBox | None:
        """Apply ``changes`` to the conversation; when they cost cached tokens, ask first."""
        found = self.preview_edit(**changes)
        if not found.costs:
            self._apply(what, changes, found)
            return None
        box = plain_box(QMessageBox(self.window))  # the sentence can name an MCP server's tool
        box.setWindowTitle("This change costs money")
        if found.lost_tokens:
            head = (
                f"Switching {what} invalidates {found.lost_tokens:,} cached tokens: about "
                f"${found.extra_usd:.{2 if found.extra_usd >= 0.01 else 4}f} more next turn"
            )
        else:
            head = f"Switching {what} keeps what is cached"
        if found.per_turn_usd > 0:
            head += f", and about ${found.per_turn_usd:.4f} more every turn after it"
        box.setText(head + ".")
        box.setInformativeText(found.sentence)
        change = box.addButton("Change it", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Keep it as it is", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(change)
        box.buttonClicked.connect(
            lambda button: (
                self._apply(what, changes, found) if button is change else self._show_in_force()
            )
        )
        box.open()
        self.setting_box = box
        return box

    def _show_in_force(self) -> None:
        """The switch was declined: the toolbar goes back to what is in force."""
        w = self.window
        w.toolbar.show_settings(w.settings, w.chat.conversation.model)

    def _apply(self, what: str, changes: dict, found: Invalidation) -> None:
        self.window.chat.apply(**changes)
        if "model" in changes:
            self.window.chat.fit_to_model()
            self.window.price_draft()
        self.window.settings.open(self.window.chat.conversation)  # the toolbar shows it
        self.window.conversation_changed()
        self.window.refresh_markers()
        self.window.notify(f"Switched {what}. {found.sentence}")

    def choose_thinking(self, kind: str | None) -> QMessageBox | None:
        if kind == "enabled":
            budget, ok = QInputDialog.getInt(
                self.window,
                "Thinking budget",
                "Tokens Claude may think before answering:",
                4096,
                1024,
            )
            if not ok:
                return None
        else:
            budget = 0
        changes = self.window.chat.thinking_changes(kind, budget)
        label = THINKING_NAMES.get(kind, "the model's default").split(" (")[0].rstrip("…,")
        return self.change_setting(f"thinking to {label.lower()}", **changes)

    def choose_effort(self, level: str | None) -> QMessageBox | None:
        changes = self.window.chat.effort_changes(level)
        return self.change_setting(f"effort to {level or 'the default'}", **changes)

    def toggle_web_search(self) -> QMessageBox | None:
        return self._toggle_server_tool("web_search")

    def toggle_web_fetch(self) -> QMessageBox | None:
        return self._toggle_server_tool("web_fetch")

    def _toggle_server_tool(self, key: str) -> QMessageBox | None:
        current = self.window.chat.conversation.server_tools
        on = key not in current
        chosen = tuple(k for k in server_tools() if (k in current) != (k == key))
        label = server_tools()[key].label.lower()
        return self.change_setting(f"{label} {'on' if on else 'off'}", server_tools=chosen)

    # -- tools ----------------------------------------------------------------------------------
    def _offered(self):
        mcp = [t.definition() for t in self.hub.tools()]
        # A tool of a configured server that the conversation sends stays offered (and so shown
        # checked) while its server is not running: its definition is still sent.
        names = {t.name for t in mcp}
        prefixes = tuple(f"{name}{SEPARATOR}" for name in self.hub.servers)
        sent = [
            t
            for t in self.window.chat.conversation.tools
            if prefixes and t.name.startswith(prefixes) and t.name not in names
        ]
        return [t.definition for t in BUILT_IN.values()] + mcp + sent

    def preview_tools(self, names: set[str]) -> tuple[str, int, int, bool]:
        choice = self.window.chat.tool_choice(self._offered(), names)
        found = self.preview_edit(tools=choice.tools)
        return found.sentence, found.lost_tokens, found.cached_tokens, choice.can_withdraw

    def edit_tools(self) -> ToolsDialog:
        conv = self.window.chat.conversation
        enabled = {t.name for t in conv.tools} - conv.withdrawn_tools()
        dialog = ToolsDialog(
            self.mcp_text,
            self._offered(),
            enabled,
            self.preview_tools,
            self.start_servers,
            self.window,
        )
        self._show_servers(dialog)
        dialog.accepted.connect(lambda: self.apply_tools(dialog))
        dialog.open()
        self.tools_dialog = dialog
        return dialog

    def apply_tools(self, dialog: ToolsDialog) -> None:
        chat = self.window.chat
        choice = chat.tool_choice(self._offered(), dialog.chosen())
        found = self.preview_edit(tools=choice.tools)
        chat.choose_tools(choice, from_here_on=dialog.as_instruction)
        if dialog.as_instruction:  # the definitions stay; the changes go in after the next turn
            self.window.notify("The tools change from your next message on; the cache is kept.")
        else:
            self.window.notify(found.sentence)
        self.window.conversation_changed()
        self.window.refresh_markers()

    def start_servers(self, text: str):
        """Save the servers' JSON and (re)start them all; the dialog shows how each went."""
        try:
            configs = parse_servers(text)
        except ConfigError as exc:
            self.tools_dialog.status.setText(str(exc))
            return None
        if self.mcp_folder is not None:
            try:
                (self.mcp_folder / MCP_FILE).write_text(text, "utf-8")
            except OSError as exc:
                self.window.notify(f"{MCP_FILE} not saved: {exc.strerror or exc}.")
        self.mcp_text = text
        return self.window.spawn(self._restart(configs))

    async def _restart(self, configs) -> None:
        old, dialog = self.hub, self.tools_dialog
        await old.stop_all()
        await asyncio.to_thread(old.close)
        self.hub = McpHub(configs)
        self.window.engine.use_tools(self.hub)
        dialog.status.setText("Starting…")
        await asyncio.gather(*(self.hub.start(c.name) for c in configs))
        self._show_servers(dialog)
        dialog.set_tools(self._offered(), dialog.chosen())

    def _show_servers(self, dialog: ToolsDialog) -> None:
        lines = [
            f"{s.config.name}: {s.status}"
            + (f", {len(s.tools)} tools" if s.tools else "")
            + (f" ({s.error})" if s.error else "")
            for s in self.hub.servers.values()
        ]
        dialog.status.setText("\n".join(lines) or "No MCP server is configured.")

    async def approve_tool(self, request) -> str:
        """Ask the user about one MCP tool call; a stopped turn closes the question unanswered."""
        future = asyncio.get_running_loop().create_future()
        dialog = ApprovalDialog(request, self.window)
        dialog.decided.connect(lambda answer: future.done() or future.set_result(answer))
        self.approval = dialog
        dialog.open()
        self.window.notify(f"Waiting for your answer: run {request.tool} on {request.server}?")
        try:
            return await future
        finally:
            self.approval = None
            dialog.deleteLater() if dialog.answer else dialog.reject()
