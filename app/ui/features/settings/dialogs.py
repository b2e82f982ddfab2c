"""The settings dialogs: the conversation's system prompt and tools, and the preferences."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
)

from app.caching.strategies import STRATEGIES
from app.conversation.blocks import ToolDefinition
from app.conversation.tool_json import ToolJsonError, parse_tools, tools_to_json
from app.engine.connect import base_url_problem
from app.storage.preferences import MAX_WAIT_USD_PER_S, Preferences
from app.ui.widgets.plain import heading, plain_label, plain_tip

PREVIEW_DELAY_MS = 250


class ConversationSettingsDialog(QDialog):
    """Edit the system prompt and the tool definitions; see what the edit invalidates first."""

    def __init__(
        self,
        system_text: str,
        tools: tuple[ToolDefinition, ...],
        preview: Callable[[str, tuple[ToolDefinition, ...]], object],
        parent=None,
        instructions: bool = False,
    ):
        """``preview`` gives an ``Invalidation``; with ``instructions`` (the model takes
        mid-conversation system messages) a changed prompt can instead go in as an instruction
        from here on."""
        super().__init__(parent)
        self.setWindowTitle("Conversation settings")
        self._original, self._instructions = system_text, instructions
        self.as_instruction = False
        self.resize(720, 560)
        self._preview = preview
        self.system_edit = QPlainTextEdit(system_text)
        self.system_edit.setPlaceholderText("Instructions, documents, anything every turn needs.")
        self.tools_edit = QPlainTextEdit(tools_to_json(tools) if tools else "")
        self.tools_edit.setPlaceholderText(
            '[{"name": "lookup", "description": "…", "input_schema": {"type": "object"}}]'
        )
        tabs = QTabWidget()
        tabs.addTab(self.system_edit, "System prompt")
        tabs.addTab(self.tools_edit, "Tools (JSON)")
        self.error = plain_label("")
        self.error.setObjectName("settingsError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d9534f;")
        self.impact = plain_label("")
        self.impact.setObjectName("invalidationPreview")
        self.impact.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.instruction_button = QPushButton("")
        self.instruction_button.setVisible(False)
        self.buttons.addButton(self.instruction_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.instruction_button.clicked.connect(self._as_instruction)
        layout = QVBoxLayout(self)
        layout.addWidget(tabs, 1)
        layout.addWidget(heading("Effect on the cache"))
        layout.addWidget(self.impact)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PREVIEW_DELAY_MS)
        self._timer.timeout.connect(self.refresh)
        self.system_edit.textChanged.connect(self._timer.start)
        self.tools_edit.textChanged.connect(self._timer.start)
        self.tools: tuple[ToolDefinition, ...] = tools
        self.refresh()

    @property
    def system_text(self) -> str:
        return self.system_edit.toPlainText()

    def refresh(self) -> bool:
        """Validate the tools and update the invalidation preview; True when valid."""
        try:
            self.tools = parse_tools(self.tools_edit.toPlainText())
        except ToolJsonError as exc:
            self.error.setText(str(exc))
            self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
            return False
        self.error.setText("")
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(True)
        found = self._preview(self.system_text, self.tools)
        self.impact.setText(found.sentence)
        ok.setText(
            f"Edit the system prompt (invalidates {found.lost_tokens:,})"
            if found.lost_tokens
            else "OK"
        )
        offer = self._instructions and bool(self.instruction) and self._tools_unchanged(found)
        self.instruction_button.setVisible(offer)
        self.instruction_button.setText(
            f"Add as an instruction from here on (keeps {found.cached_tokens:,} cached tokens)"
        )
        return True

    @property
    def instruction(self) -> str:
        """What the edit adds: the new text after the old one, or the whole new text."""
        new, old = self.system_text.strip(), self._original.strip()
        if new == old:
            return ""
        return new[len(old) :].strip() if old and new.startswith(old) else new

    def _tools_unchanged(self, found) -> bool:
        return not (found.first_difference or "").startswith("tools")

    def _as_instruction(self) -> None:
        if self.refresh():
            self.as_instruction = True
            super().accept()

    def accept(self) -> None:
        if self.refresh():
            super().accept()


class PreferencesDialog(QDialog):
    """Defaults for new conversations, the send key, the base URL and the API key."""

    def __init__(
        self,
        prefs: Preferences,
        models: list[tuple[str, str]],
        store_key: Callable[[str], Awaitable[str | None]],
        parent,
        spawn: Callable,
    ):
        """``store_key`` keeps a key in the keyring: None when it did, else why not; ``spawn``
        runs that as a task its owner ends at quit (the workspace's)."""
        super().__init__(parent)
        self.spawn = spawn
        self._store_key = store_key
        self.setWindowTitle("Preferences")
        self.prefs = prefs
        self.session_key: str | None = None  # set when the keyring could not take the key
        self.key_edit = QLineEdit()
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText("sk-ant-… (stored in the system keyring)")
        self.key_status = plain_label("")
        self.key_status.setWordWrap(True)
        self.base_url = QLineEdit(prefs.base_url)
        self.base_url.setPlaceholderText("https://api.anthropic.com (empty: default)")
        self.base_url_status = plain_label("")  # why a base URL was refused
        self.base_url_status.setWordWrap(True)
        self.model = QComboBox()
        for label, model_id in models:
            self.model.addItem(label, model_id)
        self.model.setCurrentIndex(max(0, self.model.findData(prefs.model)))
        self.strategy = QComboBox()
        for strategy in STRATEGIES.values():
            self.strategy.addItem(strategy.label, strategy.name)
        self.strategy.setCurrentIndex(max(0, self.strategy.findData(prefs.strategy)))
        self.ttl = QComboBox()
        for ttl in ("5m", "1h", "adaptive"):
            self.ttl.addItem(ttl, ttl)
        self.ttl.setCurrentIndex(max(0, self.ttl.findData(prefs.ttl)))
        self.warming = QCheckBox("Warm the cache while I type")
        self.warming.setChecked(prefs.warming)
        self.update_prices = QCheckBox("Update prices hourly from genai-prices' published data")
        self.update_prices.setChecked(prefs.update_prices)
        self.update_prices.setToolTip(
            "Off: the prices installed with the app (genai-prices' bundled data). On: the "
            "library fetches its published prices in the background; nothing waits for it."
        )
        self.pings = QSpinBox()
        self.pings.setRange(0, 12)
        self.pings.setValue(prefs.keepalive_pings)
        self.wait_value = QDoubleSpinBox()
        self.wait_value.setRange(0.0, MAX_WAIT_USD_PER_S)
        self.wait_value.setDecimals(2)
        self.wait_value.setSingleStep(0.01)
        self.wait_value.setPrefix("$")
        self.wait_value.setSuffix(" a second")
        self.wait_value.setValue(prefs.wait_usd_per_s)
        self.wait_value.setToolTip(
            plain_tip(
                "A warm-up is sent only when the seconds it saves at the send are worth, at this"
                " rate, more than it adds. $0.02 a second is $72 an hour; warming before every"
                " message, as Anthropic's cookbook does, buys a tenth of a second for about a"
                " cent in a 40,000-token conversation."
            )
        )
        self.send_key = QComboBox()
        self.send_key.addItem("Enter sends, Shift+Enter adds a line", True)
        self.send_key.addItem("Ctrl+Enter sends, Enter adds a line", False)
        self.send_key.setCurrentIndex(0 if prefs.enter_sends else 1)
        form = QFormLayout()
        form.addRow(plain_label("API key"), self.key_edit)
        form.addRow(plain_label(""), self.key_status)
        form.addRow(plain_label("Base URL"), self.base_url)
        form.addRow(plain_label(""), self.base_url_status)
        form.addRow(plain_label("Default model"), self.model)
        form.addRow(plain_label("Default pattern"), self.strategy)
        form.addRow(plain_label("Default TTL"), self.ttl)
        form.addRow(plain_label(""), self.warming)
        form.addRow(plain_label(""), self.update_prices)
        form.addRow(plain_label("Keep-alive pings"), self.pings)
        form.addRow(plain_label("A second less waiting is worth"), self.wait_value)
        form.addRow(plain_label("Send key"), self.send_key)
        note = plain_label("Model, pattern and TTL apply to new conversations; the rest at once.")
        note.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self._save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.buttons)

    def values(self) -> Preferences:
        """The preferences with what this dialog shows changed; the rest (appearance, window
        state, MCP approvals, ...) as they were."""
        return replace(
            self.prefs,
            base_url=self.base_url.text().strip(),
            model=self.model.currentData() or "",
            strategy=self.strategy.currentData(),
            ttl=self.ttl.currentData(),
            warming=self.warming.isChecked(),
            update_prices=self.update_prices.isChecked(),
            keepalive_pings=self.pings.value(),
            wait_usd_per_s=round(self.wait_value.value(), 2),
            enter_sends=bool(self.send_key.currentData()),
        )

    def _save(self) -> None:
        problem = base_url_problem(self.base_url.text().strip())
        self.base_url_status.setText(problem or "")
        if problem is not None:  # not saved: the key would never reach the API
            self.base_url.setFocus()
            return
        key = self.key_edit.text().strip()
        if not key:
            self.accept()
            return
        self.buttons.setEnabled(False)
        self.key_status.setText("Saving the key in the keyring…")
        self.spawn(self._store(key))

    async def _store(self, key: str) -> None:
        problem = await self._store_key(key)
        self.buttons.setEnabled(True)
        self.key_edit.clear()
        if problem is None:
            self.session_key = key
            self.key_status.setText("Saved in the keyring.")
            self.accept()
            return
        # No working keyring: keep the key in memory for this session only, and say so.
        self.session_key = key
        self.key_status.setText(problem)
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setText("Close")
        self.buttons.accepted.disconnect()
        self.buttons.accepted.connect(self.accept)
