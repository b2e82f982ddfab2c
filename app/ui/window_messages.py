"""The main window's commands on messages: pin, edit and resend (the old messages stay until the
new one is sent), regenerate and retry, the error card, the image viewer. Mixed into
``MainWindow``."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.conversation.blocks import DocumentBlock, ImageBlock, TextBlock
from app.engine.failures import Failure
from app.ui.dialogs import ImageViewer

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


class MessageCommands:
    """Needs ``session``, ``engine``, ``view``, ``composer``, ``toolbar``, ``notify``, ``busy``,
    ``conversation_changed``, ``_start`` from the window."""

    def pin_message(self, index: int, pinned: bool) -> None:
        self.session.conversation.set_pinned(index, pinned)
        self.conversation_changed()
        built = self.engine.build(self.session)
        self.view.set_cache_view(built, None)
        if built.dropped:
            self.notify("; ".join(built.dropped))

    def edit_message(self, index: int) -> None:
        """Put a message back in the composer; it and the later ones are replaced only when
        the edited message is sent (Cancel the edit keeps them)."""
        if self.busy():
            return
        message = self.session.conversation.messages[index]
        text = "\n".join(b.text for b in message.blocks if isinstance(b, TextBlock))
        items = [
            b.image if isinstance(b, ImageBlock) else b.document
            for b in message.blocks
            if isinstance(b, ImageBlock | DocumentBlock)
        ]
        self.composer.set_draft(text, items)
        self.view.set_editing(index)
        later = len(self.session.conversation.messages) - index
        self.notify(
            f"Editing message {index + 1}: send to replace it and the {later - 1} after it."
        )

    def cancel_edit(self) -> None:
        if self.view.editing is not None:
            self.view.set_editing(None)
            self.composer.clear()
            self.notify("Edit cancelled; nothing was changed.")

    def apply_edit(self) -> None:
        """Sending an edit: now the edited message and what followed it go."""
        index = self.view.editing
        if index is not None:
            self.view.editing = None
            self.session.conversation.truncate(index)
            self.conversation_changed()

    def regenerate(self) -> None:
        """Answer the last message again: the reply after it (or what a failure left) goes."""
        if self.busy():
            return
        conv = self.session.conversation
        last_user = next(
            (
                i
                for i in range(len(conv.messages) - 1, -1, -1)
                if conv.messages[i].role == "user" and not conv.messages[i].is_tool_result
            ),
            None,
        )
        if last_user is None:
            self.notify("Nothing to answer yet: send a message first.")
            return
        if len(conv.messages) > last_user + 1:
            conv.truncate(last_user + 1)
            self.conversation_changed()
        self._start()

    def turn_failed(self, failure: Failure) -> None:
        """An error card at the end of the conversation, and the badge says what it means."""
        advice = ADVICE.get(failure.kind, "Retry; if it fails again, edit the message.")
        self.view.show_error(failure.message, advice)
        self.toolbar.show_connection(CONNECTION.get(failure.kind))

    def show_image(self, sha: str) -> None:
        for image in self.session.conversation.images():
            if image.sha256 == sha:
                viewer = ImageViewer(
                    image.data, f"{image.source_name} ({image.width}x{image.height})", self
                )
                viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
                viewer.open()
                return
