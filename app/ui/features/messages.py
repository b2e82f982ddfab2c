"""Commands on the messages of the conversation on screen: pin, edit and resend (the old messages
stay until the new one is sent), regenerate and retry, the error card with its advice and the
badge, and the image viewer. Attaches to the window's pane and menus; the intents themselves are
the controller's (``app.engine.chat``)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt

from app.caching.costs import Kind
from app.engine import events as ev
from app.engine.failures import Failure
from app.ui.dialogs import ImageViewer
from app.ui.menus import MenuEntry
from app.workspace.chat import ChatRefusal

ADVICE = {
    "network": "Cachescope could not reach the API. Check the network, then retry.",
    "timeout": "The API did not answer in time. Retry in a moment.",
    "auth": "Set a working key in Settings → Preferences, then retry.",
    "permission": "This key may not use that model or feature: pick another model, then retry.",
    "rate_limited": "Wait a moment, then retry.",
    "overloaded": "Wait a moment, then retry.",
    "too_large": "Edit the message to remove an attachment, then send it again.",
}
CONNECTION = {  # failures that say something about the connection itself, for the badge
    "network": "offline",
    "timeout": "not answering",
    "auth": "key refused",
    "permission": "not permitted",
    "rate_limited": "rate limited",
    "overloaded": "overloaded",
}


class MessageActions(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        view = window.view
        view.pin_requested.connect(self.pin_message)
        view.edit_requested.connect(self.edit_message)
        view.image_requested.connect(self.show_image)
        view.regenerate_requested.connect(self.regenerate)
        view.retry_requested.connect(self.regenerate)
        view.cancel_edit_requested.connect(self.cancel_edit)
        view.branch_requested.connect(self.switch_branch)
        window.feed.subscribe(self._on_event)
        window.add_menu_entries(
            [MenuEntry("conversation", "&Regenerate reply", "Ctrl+R", self.regenerate)]
        )

    def _on_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.Failed) and event.kind == Kind.TURN:
            self.turn_failed(event.failure)
        elif isinstance(event, ev.Finished) and event.kind == Kind.TURN:
            self.window.toolbar.show_connection(None)
            self.refresh_branches()

    def pin_message(self, index: int, pinned: bool) -> None:
        w = self.window
        w.chat.conversation.set_pinned(index, pinned)
        w.conversation_changed()
        built = w.refresh_markers()
        if built is not None and built.dropped:
            w.notify("; ".join(built.dropped))

    def edit_message(self, index: int) -> None:
        """Put a message back in the composer; it and the later ones are replaced only when
        the edited message is sent (Cancel the edit keeps them)."""
        w = self.window
        try:
            draft = w.chat.edit(index)
        except ChatRefusal as exc:
            w.notify(str(exc))
            return
        w.composer.set_draft(draft.text, list(draft.attachments))
        w.view.set_editing(index)
        later = len(w.chat.conversation.messages) - index
        w.notify(f"Editing message {index + 1}: send to replace it and the {later - 1} after it.")

    def cancel_edit(self) -> None:
        w = self.window
        if w.chat.cancel_edit():
            w.view.set_editing(None)
            w.composer.clear()
            w.notify("Edit cancelled; nothing was changed.")

    def regenerate(self) -> None:
        """Answer the last message again: the reply after it (or what a failure left) goes."""
        w = self.window
        try:
            turn = w.chat.regenerate()
        except ChatRefusal as exc:
            w.notify(str(exc))
            return
        w.conversation_changed()
        w.sending.show_turn(turn)

    def refresh_branches(self) -> None:
        """Each message where paths part says which one is shown, and what switching to the
        next would read from cache and write (edit and resend, regenerate keep the old path)."""
        found = self.window.chat.branches_here()
        self.window.view.set_branches(
            {
                index: (
                    position,
                    count,
                    f"all share {view.shared_tokens:,} tokens up to here; branch {view.position}"
                    f" would read {view.read_tokens:,} from cache and write {view.write_tokens:,}",
                )
                for index, (position, count, view) in found.items()
            }
        )

    def switch_branch(self, index: int, step: int) -> None:
        w = self.window
        try:
            view = w.chat.switch_branch(index, step)
        except ChatRefusal as exc:
            w.notify(str(exc))
            return
        w.view.set_editing(None)
        w.composer.clear()
        w.view.show_conversation(w.chat.conversation)
        w.refresh_markers()
        self.refresh_branches()
        w.conversation_changed()
        w.notify(f"Switched. {view.sentence()}")

    def turn_failed(self, failure: Failure) -> None:
        """An error card at the end of the conversation, and the badge says what it means."""
        advice = ADVICE.get(failure.kind, "Retry; if it fails again, edit the message.")
        self.window.view.show_error(failure.message, advice)
        self.window.toolbar.show_connection(CONNECTION.get(failure.kind))

    def show_image(self, sha: str) -> None:
        for image in self.window.chat.conversation.images():
            if image.sha256 == sha:
                viewer = ImageViewer(
                    image.data, f"{image.source_name} ({image.width}x{image.height})", self.window
                )
                viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
                viewer.open()
                return
