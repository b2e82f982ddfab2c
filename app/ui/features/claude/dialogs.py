"""The dialogs of Claude's own features: approving one MCP tool call, and choosing a
conversation's tools (MCP servers' and the built-in ones) with what the choice does to the cache.

The approval dialog answers only to the user: its default button is Deny, and the Allow buttons
wake up ``ARM_MS`` after it shows, so keys already on their way (a reply's last Enter) cannot
run anything. Names and arguments are shown as plain text."""

from __future__ import annotations

import json
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
)

from app.conversation.blocks import ToolDefinition
from app.engine.mcp_hub import ConfigError, add_server
from app.engine.toolbox import ALWAYS, DENY, ONCE, ApprovalRequest
from app.facts.tokens import tool_definition_tokens
from app.ui.widgets.plain import heading, plain_label

ARM_MS = 800


class ApprovalDialog(QDialog):
    decided = Signal(str)  # ONCE, ALWAYS or DENY

    def __init__(self, request: ApprovalRequest, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Run a tool?")
        self.resize(560, 360)
        self.setModal(True)
        head = plain_label(
            f"Claude asks to run the tool “{request.tool}” of the MCP server “{request.server}”."
            " Nothing runs unless you allow it. Its arguments:"
        )
        head.setWordWrap(True)
        try:
            pretty = json.dumps(json.loads(request.arguments_json), indent=2, ensure_ascii=False)
        except ValueError:
            pretty = request.arguments_json
        self.arguments = QPlainTextEdit(pretty)
        self.arguments.setReadOnly(True)
        self.deny = QPushButton("&Deny")
        self.once = QPushButton("Allow &once")
        self.always = QPushButton(f"Always allow “{request.tool}” on {request.server}")
        buttons = QDialogButtonBox()
        buttons.addButton(self.deny, QDialogButtonBox.ButtonRole.RejectRole)
        buttons.addButton(self.once, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.always, QDialogButtonBox.ButtonRole.AcceptRole)
        for button in (self.once, self.always):
            button.setAutoDefault(False)
            button.setEnabled(False)
        self.deny.setDefault(True)
        layout = QVBoxLayout(self)
        layout.addWidget(head)
        layout.addWidget(self.arguments, 1)
        layout.addWidget(buttons)
        self.deny.clicked.connect(lambda: self._answer(DENY))
        self.once.clicked.connect(lambda: self._answer(ONCE))
        self.always.clicked.connect(lambda: self._answer(ALWAYS))
        QTimer.singleShot(ARM_MS, self._arm)
        self.answer = ""

    def _arm(self) -> None:
        self.once.setEnabled(True)
        self.always.setEnabled(True)

    def _answer(self, answer: str) -> None:
        if not self.answer:
            self.answer = answer
            self.decided.emit(answer)
        self.done(QDialog.DialogCode.Accepted if answer != DENY else QDialog.DialogCode.Rejected)

    def reject(self) -> None:  # Escape or the window's close button: no
        self._answer(DENY)


class ToolsDialog(QDialog):
    """The MCP servers (``mcpServers`` JSON, started on request) and the tools this conversation
    offers, each with its definition's token cost; the effect on the cache before applying."""

    def __init__(
        self,
        servers_text: str,
        available: list[ToolDefinition],
        enabled: set[str],
        preview: Callable[[set[str]], tuple[str, int, int, bool]],
        start_servers: Callable[[str], None],
        parent=None,
    ):
        """``preview(names)`` gives (sentence, lost tokens, kept tokens, can withdraw instead)."""
        super().__init__(parent)
        self.setWindowTitle("Tools and MCP servers")
        self.resize(760, 620)
        self._preview = preview
        self._start = start_servers
        self.servers = QPlainTextEdit(servers_text)
        self.servers.setPlaceholderText(
            '{"mcpServers": {"files": {"command": "npx", "args": ["-y", "…"], "env": {}},'
            ' "remote": {"url": "https://…/mcp"}}}'
        )
        self.new_name = QLineEdit()
        self.new_name.setPlaceholderText("name")
        self.new_target = QLineEdit()
        self.new_target.setPlaceholderText("command (stdio) or https://… URL (HTTP)")
        self.new_args = QLineEdit()
        self.new_args.setPlaceholderText("arguments, as in a shell")
        self.new_env = QLineEdit()
        self.new_env.setPlaceholderText("environment: NAME=value, …")
        self.add_button = QPushButton("&Add server")
        self.add_button.clicked.connect(self.add_server)
        self.start_button = QPushButton("Save and &start servers")
        self.start_button.clicked.connect(lambda: self._start(self.servers.toPlainText()))
        self.status = plain_label("")
        self.status.setWordWrap(True)
        self.list = QListWidget()
        self.impact = plain_label("")
        self.impact.setObjectName("invalidationPreview")
        self.impact.setWordWrap(True)
        self.apply_button = QPushButton("Apply")
        self.withdraw_button = QPushButton("")
        self.withdraw_button.setVisible(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        buttons.addButton(self.withdraw_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.apply_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.rejected.connect(self.reject)
        self.apply_button.clicked.connect(lambda: self._finish(False))
        self.withdraw_button.clicked.connect(lambda: self._finish(True))
        layout = QVBoxLayout(self)
        layout.addWidget(heading("MCP servers (the mcpServers JSON other apps use)"))
        layout.addWidget(self.servers, 1)
        form = QHBoxLayout()
        for widget, stretch in (
            (self.new_name, 1),
            (self.new_target, 3),
            (self.new_args, 2),
            (self.new_env, 2),
            (self.add_button, 0),
        ):
            form.addWidget(widget, stretch)
        layout.addLayout(form)
        layout.addWidget(self.start_button)
        layout.addWidget(self.status)
        layout.addWidget(heading("Tools offered in this conversation"))
        layout.addWidget(self.list, 2)
        layout.addWidget(heading("Effect on the cache"))
        layout.addWidget(self.impact)
        layout.addWidget(buttons)
        self.as_instruction = False
        self.set_tools(available, enabled)
        self.list.itemChanged.connect(lambda _: self.refresh())

    def add_server(self) -> None:
        """The form's server goes into the JSON (still editable); Save and start runs it."""
        try:
            text = add_server(
                self.servers.toPlainText(),
                self.new_name.text(),
                self.new_target.text(),
                self.new_args.text(),
                self.new_env.text(),
            )
        except ConfigError as exc:
            self.status.setText(str(exc))
            return
        self.servers.setPlainText(text)
        self.status.setText(f"Added {self.new_name.text().strip()}: Save and start to run it.")
        for field in (self.new_name, self.new_target, self.new_args, self.new_env):
            field.clear()

    def set_tools(self, available: list[ToolDefinition], enabled: set[str]) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for tool in available:
            tokens = tool_definition_tokens(tool.api)
            item = QListWidgetItem(f"{tool.name} · {tokens:,} tokens · {tool.description[:90]}")
            item.setData(Qt.ItemDataRole.UserRole, tool.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            checked = tool.name in enabled
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            self.list.addItem(item)
        self.list.blockSignals(False)
        self.refresh()

    def chosen(self) -> set[str]:
        return {
            self.list.item(i).data(Qt.ItemDataRole.UserRole)
            for i in range(self.list.count())
            if self.list.item(i).checkState() == Qt.CheckState.Checked
        }

    def refresh(self) -> None:
        sentence, lost, kept, can_withdraw = self._preview(self.chosen())
        self.impact.setText(sentence)
        self.apply_button.setText(
            f"Change the tools (invalidates {lost:,} cached tokens)" if lost else "Apply"
        )
        self.withdraw_button.setVisible(can_withdraw)
        self.withdraw_button.setText(f"Change from here on (keeps {kept:,} cached tokens)")

    def _finish(self, as_instruction: bool) -> None:
        self.as_instruction = as_instruction
        self.accept()
