"""Commands on the messages of the conversation on screen: pin, edit and resend (the old messages
stay until the new one is sent), regenerate and retry, the branches where paths part, the error
card with its advice and the badge, and the image viewer. The intents themselves are the chat's
(``app.workspace.chat``); the turn they begin is shown by whoever follows turns."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt

from app.caching.costs import Kind
from app.engine import events as ev
from app.engine.failures import Failure
from app.ui.context import FeatureContext
from app.ui.menus import MenuEntry
from app.ui.widgets.image_viewer import ImageViewer
from app.ui.widgets.toolbar import CONNECTION_WORDS
from app.workspace import changes as ch
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


class MessageActions(QObject):
    def __init__(self, ctx: FeatureContext):
        super().__init__(ctx.parent)
        self.ctx = ctx
        view = ctx.widgets.view
        view.pin_requested.connect(self.pin_message)
        view.edit_requested.connect(self.edit_message)
        view.image_requested.connect(self.show_image)
        view.regenerate_requested.connect(self.regenerate)
        view.retry_requested.connect(self.regenerate)
        view.cancel_edit_requested.connect(self.cancel_edit)
        view.branch_requested.connect(self.switch_branch)
        ctx.workspace.events.subscribe(self._on_event)
        ctx.workspace.subscribe(self._on_change)
        ctx.add_menu_entries(
            [MenuEntry("conversation", "&Regenerate reply", "Ctrl+R", self.regenerate)]
        )

    def _on_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.Failed) and event.kind == Kind.TURN:
            self.turn_failed(event.failure)
        elif isinstance(event, ev.Finished) and event.kind == Kind.TURN:
            self.ctx.widgets.toolbar.show_connection(None)

    def _on_change(self, change: ch.Change) -> None:
        if change.touches(ch.MESSAGES, ch.CURRENT) and not self.ctx.chat.busy():
            self.refresh_branches()

    def pin_message(self, index: int, pinned: bool) -> None:
        self.ctx.chat.set_pinned(index, pinned)
        self.ctx.workspace.save()
        dropped = self.ctx.chat.outlook.request.dropped if self.ctx.chat.outlook.request else ()
        if dropped:
            self.ctx.notify("; ".join(dropped))

    def edit_message(self, index: int) -> None:
        """Put a message back in the composer; it and the later ones are replaced only when
        the edited message is sent (Cancel the edit keeps them)."""
        chat, widgets = self.ctx.chat, self.ctx.widgets
        try:
            draft = chat.edit(index)
        except ChatRefusal as exc:
            self.ctx.notify(str(exc))
            return
        widgets.composer.set_draft(draft.text, list(draft.attachments))
        widgets.view.set_editing(index)
        later = len(chat.messages) - index
        self.ctx.notify(
            f"Editing message {index + 1}: send to replace it and the {later - 1} after it."
        )

    def cancel_edit(self) -> None:
        if self.ctx.chat.cancel_edit():
            self.ctx.widgets.view.set_editing(None)
            self.ctx.widgets.composer.clear()
            self.ctx.notify("Edit cancelled; nothing was changed.")

    def regenerate(self) -> None:
        """Answer the last message again: the reply after it (or what a failure left) goes."""
        try:
            self.ctx.chat.regenerate()
        except ChatRefusal as exc:
            self.ctx.notify(str(exc))
            return
        self.ctx.workspace.save()

    def refresh_branches(self) -> None:
        """Each message where paths part says which one is shown, and what switching to the
        next would read from cache and write (edit and resend, regenerate keep the old path)."""
        found = self.ctx.chat.branches_here()
        self.ctx.widgets.view.set_branches(
            self.ctx.chat.id,
            {
                index: (
                    position,
                    count,
                    f"all share {view.shared_tokens:,} tokens up to here; branch {view.position}"
                    f" would read {view.read_tokens:,} from cache and write {view.write_tokens:,}",
                )
                for index, (position, count, view) in found.items()
            },
        )

    def switch_branch(self, index: int, step: int) -> None:
        widgets = self.ctx.widgets
        try:
            view = self.ctx.chat.switch_branch(index, step)
        except ChatRefusal as exc:
            self.ctx.notify(str(exc))
            return
        widgets.view.set_editing(None)
        widgets.composer.clear()
        self.ctx.workspace.save()
        self.ctx.notify(f"Switched. {view.sentence()}")

    def turn_failed(self, failure: Failure) -> None:
        """An error card at the end of the conversation, and the badge says what it means."""
        advice = ADVICE.get(failure.kind, "Retry; if it fails again, edit the message.")
        self.ctx.widgets.view.show_error(failure.message, advice)
        self.ctx.widgets.toolbar.show_connection(CONNECTION_WORDS.get(failure.kind))

    def show_image(self, sha: str) -> None:
        image = self.ctx.chat.image(sha)
        if image is None:
            return
        title = f"{image.source_name} ({image.width}x{image.height})"
        viewer = ImageViewer(image.data, title, self.ctx.parent)
        viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        viewer.open()
