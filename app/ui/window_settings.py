"""The main window's settings dialogs: the conversation's system prompt and tools (with what an
edit invalidates), and the preferences (with the API key). Mixed into ``MainWindow``."""

from __future__ import annotations

from app.conversation.blocks import TextBlock
from app.storage.keys import store_key
from app.ui.dialogs import ConversationSettingsDialog, PreferencesDialog


class SettingsDialogs:
    """Needs ``engine``, ``session``, ``settings``, ``prefs``, ``library``, ``notify``,
    ``composer``, ``set_mode``, ``_spawn`` and ``_refresh_markers`` from the window."""

    # -- dialogs --------------------------------------------------------------------------------
    def preview_change(self, system_text: str, tools):
        system = (TextBlock(system_text),) if system_text else ()
        return self.preview_edit(system=system, tools=tools)  # app.ui.window_claude

    def edit_conversation_settings(self) -> ConversationSettingsDialog:
        conv = self.session.conversation
        model = self.engine.catalogue.require(conv.model)
        instructions = model.system_messages and bool(conv.messages)
        dialog = ConversationSettingsDialog(
            conv.system_text, conv.tools, self.preview_change, self, instructions
        )
        dialog.accepted.connect(lambda: self.apply_conversation_settings(dialog))
        dialog.open()
        return dialog

    def apply_conversation_settings(self, dialog: ConversationSettingsDialog) -> None:
        conv = self.session.conversation
        if dialog.as_instruction:  # sent after the next user turn, as a system message
            conv.pending = (*conv.pending, TextBlock(dialog.instruction))
            self.conversation_changed()
            self.notify("The instruction goes in with your next message; the cache is kept.")
            return
        conv.set_system_text(dialog.system_text)
        conv.tools = dialog.tools
        self.conversation_changed()
        self._refresh_markers()
        self.notify(dialog.impact.text())

    def edit_preferences(self) -> PreferencesDialog:
        catalogue = self.engine.catalogue
        default = catalogue.require(catalogue.default_model)
        # "" first: with no default chosen, saving untouched keeps following the catalogue's.
        models = [(f"The default ({default.label})", "")]
        models += [(m.label, m.id) for m in catalogue.usable]
        dialog = PreferencesDialog(self.prefs, models, store_key, self)
        dialog.accepted.connect(lambda: self.apply_preferences(dialog))
        dialog.open()
        return dialog

    def apply_preferences(self, dialog: PreferencesDialog) -> None:
        self.settings.set_preferences(dialog.values())  # nothing happens if nothing changed
        self.composer.edit.set_enter_sends(self.prefs.enter_sends)
        if dialog.session_key:
            self.use_key(dialog.session_key, "key from preferences")

    def preferences_changed(self) -> None:
        if self.library is None:
            return
        try:
            self.prefs.save(self.library.folder)
        except OSError as exc:
            self.notify(f"Preferences not saved: {exc.strerror or exc}.")

    def use_key(self, key: str, where: str) -> None:
        """Talk to the real API (or the preferred base URL) with this key from now on."""
        import anthropic

        old = self.engine.client
        base_url = self.prefs.base_url or None
        self.engine.client = anthropic.AsyncAnthropic(api_key=key, base_url=base_url, max_retries=2)
        self.set_mode(f"Claude API ({where})" if not base_url else f"API at {base_url}")
        if old is not None:
            self._spawn(old.close())
