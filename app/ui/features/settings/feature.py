"""The settings dialogs: the conversation's system prompt and tools (with what an edit
invalidates, or an instruction that keeps the cache), and the preferences (with the API key).
Every change of the request is priced by the chat before it is made."""

from __future__ import annotations

from PySide6.QtCore import QObject

from app.conversation.blocks import TextBlock
from app.engine.connect import BaseUrlRefused, connect
from app.storage.keys import store_key
from app.ui.context import FeatureContext
from app.ui.features.settings.dialogs import ConversationSettingsDialog, PreferencesDialog
from app.ui.menus import MenuEntry


class SettingsDialogs(QObject):
    def __init__(self, ctx: FeatureContext):
        super().__init__(ctx.parent)
        self.ctx = ctx
        ctx.add_menu_entries(
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
        return self.ctx.chat.preview(system=system, tools=tools)

    def edit_conversation_settings(self) -> ConversationSettingsDialog:
        chat = self.ctx.chat
        conv = chat.conversation
        model = self.ctx.engine.model_of(conv)
        instructions = model is not None and model.system_messages and bool(chat.messages)
        dialog = ConversationSettingsDialog(
            conv.system_text, conv.tools, self.preview_change, self.ctx.parent, instructions
        )
        dialog.accepted.connect(lambda: self.apply_conversation_settings(dialog))
        dialog.open()
        return dialog

    def apply_conversation_settings(self, dialog: ConversationSettingsDialog) -> None:
        chat = self.ctx.chat
        if dialog.as_instruction:  # sent after the next user turn, as a system message
            chat.add_instruction(dialog.instruction)
            self.ctx.workspace.save()
            self.ctx.notify("The instruction goes in with your next message; the cache is kept.")
            return
        system = (TextBlock(dialog.system_text),) if dialog.system_text else ()
        chat.apply(system=system, tools=dialog.tools)
        self.ctx.workspace.save()
        self.ctx.notify(dialog.impact.text())

    def edit_preferences(self) -> PreferencesDialog:
        catalogue = self.ctx.engine.catalogue
        default = catalogue.require(catalogue.default_model)
        # "" first: with no default chosen, saving untouched keeps following the catalogue's.
        models = [(f"The default ({default.label})", "")]
        models += [(m.label, m.id) for m in catalogue.usable]
        prefs = self.ctx.settings.prefs
        dialog = PreferencesDialog(prefs, models, store_key, self.ctx.parent, self.ctx.spawn)
        dialog.accepted.connect(lambda: self.apply_preferences(dialog))
        dialog.open()
        return dialog

    def apply_preferences(self, dialog: PreferencesDialog) -> None:
        settings = self.ctx.settings
        settings.set_preferences(dialog.values())  # nothing happens if nothing changed
        self.ctx.widgets.composer.edit.set_enter_sends(settings.prefs.enter_sends)
        if dialog.session_key:
            self.use_key(dialog.session_key, "key from preferences")

    def use_key(self, key: str, where: str) -> None:
        """Talk to the real API (or the preferred base URL) with this key from now on."""
        base_url = self.ctx.settings.prefs.base_url or None
        try:
            client, mode, _ = connect(key, where, base_url, 1.0)  # one factory
        except BaseUrlRefused as exc:  # ANTHROPIC_BASE_URL with a login: the key would be lost
            self.ctx.notify(str(exc))
            return
        self.ctx.workspace.use_client(client, mode)
