"""The settings dialogs: the conversation's system prompt and tools (with what an edit
invalidates, or an instruction that keeps the cache), and the preferences (with the API key).
Attaches to the window's menus; prices every change through the controller."""

from __future__ import annotations

from PySide6.QtCore import QObject

from app.conversation.blocks import TextBlock
from app.engine.connect import BaseUrlRefused, connect
from app.storage.keys import store_key
from app.ui.dialogs import ConversationSettingsDialog, PreferencesDialog
from app.ui.menus import MenuEntry


class SettingsDialogs(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        window.add_menu_entries(
            [
                MenuEntry(
                    "conversation",
                    "System prompt and &tools…",
                    "Ctrl+Shift+E",
                    self.edit_conversation_settings,
                ),
                MenuEntry("settings", "&Preferences…", "Ctrl+,", self.edit_preferences),
            ]
        )

    def preview_change(self, system_text: str, tools):
        system = (TextBlock(system_text),) if system_text else ()
        return self.window.chat.preview(system=system, tools=tools)

    def edit_conversation_settings(self) -> ConversationSettingsDialog:
        w = self.window
        conv = w.chat.conversation
        model = w.engine.model_of(conv)
        instructions = model is not None and model.system_messages and bool(conv.messages)
        dialog = ConversationSettingsDialog(
            conv.system_text, conv.tools, self.preview_change, w, instructions
        )
        dialog.accepted.connect(lambda: self.apply_conversation_settings(dialog))
        dialog.open()
        return dialog

    def apply_conversation_settings(self, dialog: ConversationSettingsDialog) -> None:
        w = self.window
        conv = w.chat.conversation
        if dialog.as_instruction:  # sent after the next user turn, as a system message
            conv.pending = (*conv.pending, TextBlock(dialog.instruction))
            w.conversation_changed()
            w.notify("The instruction goes in with your next message; the cache is kept.")
            return
        system = (TextBlock(dialog.system_text),) if dialog.system_text else ()
        w.chat.apply(system=system, tools=dialog.tools)
        w.conversation_changed()
        w.refresh_markers()
        w.notify(dialog.impact.text())

    def edit_preferences(self) -> PreferencesDialog:
        w = self.window
        catalogue = w.engine.catalogue
        default = catalogue.require(catalogue.default_model)
        # "" first: with no default chosen, saving untouched keeps following the catalogue's.
        models = [(f"The default ({default.label})", "")]
        models += [(m.label, m.id) for m in catalogue.usable]
        dialog = PreferencesDialog(w.prefs, models, store_key, w)
        dialog.accepted.connect(lambda: self.apply_preferences(dialog))
        dialog.open()
        return dialog

    def apply_preferences(self, dialog: PreferencesDialog) -> None:
        w = self.window
        w.settings.set_preferences(dialog.values())  # nothing happens if nothing changed
        w.composer.edit.set_enter_sends(w.prefs.enter_sends)
        if dialog.session_key:
            self.use_key(dialog.session_key, "key from preferences")

    def use_key(self, key: str, where: str) -> None:
        """Talk to the real API (or the preferred base URL) with this key from now on."""
        w = self.window
        try:
            client, mode, _ = connect(key, where, w.prefs.base_url or None, 1.0)  # one factory
        except BaseUrlRefused as exc:  # ANTHROPIC_BASE_URL with a login: the key would be lost
            w.notify(str(exc))
            return
        w.connection.use_client(client, mode)
