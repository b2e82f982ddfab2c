"""Claude's own features in the window: the model, pattern and TTL switches of the toolbar,
thinking and effort (from the model's capabilities), web search and fetch, the conversation's
tools and MCP servers, tool-call approval, and instructions that keep the cache. Every switch
goes through the priced switch: one that costs says so, with dollars, before it is made."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QInputDialog, QMessageBox

from app.facts.server_tools import server_tools
from app.ui.context import FeatureContext
from app.ui.features.claude.dialogs import ApprovalDialog, ToolsDialog
from app.ui.menus import MenuEntry

THINKING_NAMES = {
    "adaptive": "Adaptive (Claude decides when to think)",
    "between_tools": "Between tool calls",
    "enabled": "Extended, with a budget…",
    "disabled": "Off",
}


class ClaudeFeatures(QObject):
    def __init__(self, ctx: FeatureContext):
        super().__init__(ctx.parent)
        self.ctx = ctx
        self.approval: ApprovalDialog | None = None
        self.tools_dialog: ToolsDialog | None = None
        ctx.add_menu_entries(
            [
                MenuEntry("claude", "&Tools and MCP servers…", "Ctrl+Shift+T", self.edit_tools),
                MenuEntry("claude", "Web &search", "", self.toggle_web_search),
                MenuEntry("claude", "Web &fetch", "", self.toggle_web_fetch),
            ]
        )
        menu = ctx.menus["claude"]  # Thinking and Effort list what the model offers, each time
        self.thinking_menu = menu.addMenu("&Thinking")
        self.effort_menu = menu.addMenu("&Effort")
        self.thinking_menu.aboutToShow.connect(self._fill_thinking)
        self.effort_menu.aboutToShow.connect(self._fill_effort)
        bar, switch = ctx.widgets.toolbar, ctx.switch
        bar.model_box.currentIndexChanged.connect(
            lambda: switch.change(
                f"the model to {bar.model_box.currentText()}", model=bar.model_box.currentData()
            )
        )
        bar.pattern_box.currentIndexChanged.connect(
            lambda: switch.change(
                f"the pattern to {bar.pattern_box.currentText()}",
                pattern=bar.pattern_box.currentData(),
            )
        )
        bar.ttl_box.currentIndexChanged.connect(
            lambda: switch.change(
                f"the TTL to {bar.ttl_box.currentData()}", ttl=bar.ttl_box.currentData()
            )
        )
        self.install_tools(ctx.data_folder)  # mcp.json's servers, and the tools always allowed
        if ctx.workspace.tools.hub.servers:  # started in the background, off the GUI thread
            ctx.spawn(self.start_enabled_servers())

    def install_tools(self, folder) -> None:
        """The MCP servers of ``folder/mcp.json`` and the tools always allowed; calls of the
        others are asked about here."""
        prefs = self.ctx.settings.prefs
        problem = self.ctx.workspace.tools.install(
            folder,
            approve=self.approve_tool,
            always={k: set(v) for k, v in prefs.always_allow.items()},
            remember=self._remember_always,
        )
        if problem:
            self.ctx.notify(problem)

    async def start_enabled_servers(self) -> None:
        """At launch, in the background: the servers of mcp.json that are not disabled."""
        problem = await self.ctx.workspace.tools.start_enabled()
        if problem:
            self.ctx.notify(problem)

    def _remember_always(self, always: dict[str, set[str]]) -> None:
        self.ctx.settings.prefs.always_allow = {k: sorted(v) for k, v in always.items()}
        self.ctx.preferences_changed()

    def _model(self):
        return self.ctx.engine.model_of(self.ctx.chat.conversation)

    def _fill_thinking(self) -> None:
        menu, model, conv = self.thinking_menu, self._model(), self.ctx.chat.conversation
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
        menu, model, conv = self.effort_menu, self._model(), self.ctx.chat.conversation
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

    def choose_thinking(self, kind: str | None) -> QMessageBox | None:
        if kind == "enabled":
            budget, ok = QInputDialog.getInt(
                self.ctx.parent,
                "Thinking budget",
                "Tokens Claude may think before answering:",
                4096,
                1024,
            )
            if not ok:
                return None
        else:
            budget = 0
        changes = self.ctx.chat.thinking_changes(kind, budget)
        label = THINKING_NAMES.get(kind, "the model's default").split(" (")[0].rstrip("…,")
        return self.ctx.switch.change(f"thinking to {label.lower()}", **changes)

    def choose_effort(self, level: str | None) -> QMessageBox | None:
        changes = self.ctx.chat.effort_changes(level)
        return self.ctx.switch.change(f"effort to {level or 'the default'}", **changes)

    def toggle_web_search(self) -> QMessageBox | None:
        return self._toggle_server_tool("web_search")

    def toggle_web_fetch(self) -> QMessageBox | None:
        return self._toggle_server_tool("web_fetch")

    def _toggle_server_tool(self, key: str) -> QMessageBox | None:
        current = self.ctx.chat.server_tools
        on = key not in current
        chosen = tuple(k for k in server_tools() if (k in current) != (k == key))
        label = server_tools()[key].label.lower()
        return self.ctx.switch.change(f"{label} {'on' if on else 'off'}", server_tools=chosen)

    # -- tools ----------------------------------------------------------------------------------
    def _offered(self):
        return self.ctx.workspace.tools.offered(self.ctx.chat.tools)

    def preview_tools(self, names: set[str]) -> tuple[str, int, int, bool]:
        choice = self.ctx.chat.tool_choice(self._offered(), names)
        found = self.ctx.chat.preview(tools=choice.tools)
        return found.sentence, found.lost_tokens, found.cached_tokens, choice.can_withdraw

    def edit_tools(self) -> ToolsDialog:
        conv = self.ctx.chat.conversation
        enabled = {t.name for t in conv.tools} - conv.withdrawn_tools()
        dialog = ToolsDialog(
            self.ctx.workspace.tools.text,
            self._offered(),
            enabled,
            self.preview_tools,
            self.start_servers,
            self.ctx.parent,
        )
        dialog.status.setText(self.ctx.workspace.tools.status())
        dialog.accepted.connect(lambda: self.apply_tools(dialog))
        dialog.open()
        self.tools_dialog = dialog
        return dialog

    def apply_tools(self, dialog: ToolsDialog) -> None:
        chat = self.ctx.chat
        choice = chat.tool_choice(self._offered(), dialog.chosen())
        found = chat.preview(tools=choice.tools)
        chat.choose_tools(choice, from_here_on=dialog.as_instruction)
        if dialog.as_instruction:  # the definitions stay; the changes go in after the next turn
            self.ctx.notify("The tools change from your next message on; the cache is kept.")
        else:
            self.ctx.notify(found.sentence)
        self.ctx.workspace.save()

    def start_servers(self, text: str):
        """Save the servers' JSON and (re)start them all; the dialog shows how each went."""
        problem = self.ctx.workspace.tools.save(text)
        if problem:
            self.tools_dialog.status.setText(problem)
            return None
        return self.ctx.spawn(self._restart())

    async def _restart(self) -> None:
        dialog = self.tools_dialog
        dialog.status.setText("Starting…")
        await self.ctx.workspace.tools.restart()
        dialog.status.setText(self.ctx.workspace.tools.status())
        dialog.set_tools(self._offered(), dialog.chosen())

    async def approve_tool(self, request) -> str:
        """Ask the user about one MCP tool call; a stopped turn closes the question unanswered."""
        future = asyncio.get_running_loop().create_future()
        dialog = ApprovalDialog(request, self.ctx.parent)
        dialog.decided.connect(lambda answer: future.done() or future.set_result(answer))
        self.approval = dialog
        dialog.open()
        self.ctx.notify(f"Waiting for your answer: run {request.tool} on {request.server}?")
        try:
            return await future
        finally:
            self.approval = None
            dialog.deleteLater() if dialog.answer else dialog.reject()
