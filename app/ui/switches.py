"""A change that costs money is said, with dollars, before it is made (model, pattern, TTL,
thinking, effort, web tools, tools): the one place every feature goes through to change the
conversation's request settings. A change that costs nothing is made at once."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QWidget

from app.caching.invalidation import Invalidation
from app.engine.settings_model import SettingsModel
from app.ui.widgets.plain import plain_box


class PricedSwitch:
    def __init__(
        self,
        workspace,
        settings: SettingsModel,
        parent: QWidget,
        notify: Callable[[str], None],
    ):
        self.workspace = workspace
        self.settings = settings
        self.parent = parent
        self.notify = notify
        self.box: QMessageBox | None = None  # the question on screen, if any

    def preview(self, **changes) -> Invalidation:
        return self.workspace.current.preview(**changes)

    def change(self, what: str, **changes) -> QMessageBox | None:
        """Apply ``changes`` to the conversation on screen; when they cost, ask first."""
        found = self.preview(**changes)
        if not found.costs:
            self._apply(what, changes, found)
            return None
        box = plain_box(QMessageBox(self.parent))  # the sentence can name an MCP server's tool
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
                self._apply(what, changes, found) if button is change else self._declined()
            )
        )
        box.open()
        self.box = box
        return box

    def _declined(self) -> None:
        """The switch was declined: whoever shows the settings shows what is in force."""
        self.settings.open(self.workspace.current.conversation)

    def _apply(self, what: str, changes: dict, found: Invalidation) -> None:
        chat = self.workspace.current
        chat.apply(**changes)
        if "model" in changes:
            chat.fit_to_model()
        self.settings.open(chat.conversation)  # the toolbar shows it
        self.workspace.save()
        self.notify(f"Switched {what}. {found.sentence}")
