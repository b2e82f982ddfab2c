"""The API's context management in the window (build-with-claude/compaction.md,
build-with-claude/context-editing.md; issue 39, "And in the app").

- **Compaction**: when a turn ends with the conversation past the offer's share of its model's
  context window (80 %), the window asks once, with the price: what the compaction reads and
  writes, what the turn after it rewrites, what every later turn saves (``Chat.compaction``).
  Conversation → Compact with the next message… asks at any size the API compacts. While it is
  asked for, the status bar says the next message compacts; the same entry takes it back.
- **Context editing**: Claude → Context editing lists clearing old tool results and old
  thinking, off by default, per conversation; a switch goes through the priced switch (it
  costs cached tokens when the request Send would send would be cleared now).
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox

from app.engine.context_management import THINKING, TOOL_RESULTS
from app.ui.context import FeatureContext
from app.ui.menus import MenuEntry
from app.ui.widgets.plain import plain_box, plain_label
from app.workspace import changes as ch
from app.workspace.chat import ChatRefusal
from app.workspace.compaction import CompactionPrice

COMPACT = "Compact with my next message"
NOT_NOW = "Not now"
EDITS = (
    (TOOL_RESULTS, "Clear old tool results (keep the last 3, from 100,000 tokens on)"),
    (THINKING, "Clear old thinking (keep the last turn's)"),
)


class ContextManagement(QObject):
    def __init__(self, ctx: FeatureContext):
        super().__init__(ctx.parent)
        self.ctx = ctx
        self.box: QMessageBox | None = None  # the question on screen, if any
        self._offered: set[str] = set()  # conversations asked once already (unasked offers)
        self.status = plain_label("")
        self.status.setObjectName("compactionStatus")
        self.status.hide()
        ctx.add_status_widget(self.status, 0)
        ctx.add_menu_entries(
            [MenuEntry("conversation", "Co&mpact with the next message…", "", self.ask)]
        )
        self.editing_menu = ctx.menus["claude"].addMenu("Context &editing")
        self.editing_menu.aboutToShow.connect(self._fill_editing)
        ctx.workspace.subscribe(self._on_change)

    # -- compaction -----------------------------------------------------------------------------
    def _on_change(self, change: ch.Change) -> None:
        chat = self.ctx.chat
        if change.touches(ch.SETTINGS, ch.TURN, ch.CURRENT):
            self._show_status()
        if not change.touches(ch.TURN) or chat.busy() or chat.id in self._offered:
            return
        offer = chat.compaction.offer()
        if offer is not None:  # once per conversation; the menu entry asks again
            self._offered.add(chat.id)
            self.question(offer)

    def _show_status(self) -> None:
        asked = self.ctx.chat.compaction.asked
        self.status.setText(
            "Your next message compacts this conversation (Conversation → Compact… to cancel)"
            if asked
            else ""
        )
        self.status.setVisible(asked)

    def ask(self) -> QMessageBox | None:
        """Conversation → Compact with the next message…: the priced question, or taking it
        back when it is asked for already; a conversation the API would not compact says why."""
        chat = self.ctx.chat
        if chat.compaction.asked:
            chat.compaction.ask(False)
            self.ctx.notify("The next message will not compact the conversation.")
            return None
        try:
            found = chat.compaction.price()
        except ChatRefusal as exc:
            self.ctx.notify(str(exc))
            return None
        return self.question(found)

    def question(self, found: CompactionPrice) -> QMessageBox:
        box = plain_box(QMessageBox(self.ctx.parent))
        box.setObjectName("compactionOffer")
        box.setWindowTitle("Compact this conversation?")
        box.setText(found.question())
        box.setInformativeText(found.sentence())
        yes = box.addButton(COMPACT, QMessageBox.ButtonRole.AcceptRole)
        box.addButton(NOT_NOW, QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(yes)
        box.buttonClicked.connect(lambda button: self._answered(button is yes))
        box.open()
        self.box = box
        return box

    def _answered(self, compact: bool) -> None:
        self.box = None
        if not compact:
            return
        try:
            self.ctx.chat.compaction.ask()
        except ChatRefusal as exc:  # the conversation changed under the question
            self.ctx.notify(str(exc))
            return
        self.ctx.notify("Your next message compacts the conversation; everything stays on screen.")

    # -- context editing ------------------------------------------------------------------------
    def _fill_editing(self) -> None:
        menu, chosen = self.editing_menu, self.ctx.chat.context_editing
        menu.clear()
        for key, text in EDITS:
            action = QAction(text, menu, checkable=True, checked=key in chosen)
            action.triggered.connect(lambda on, k=key: self.choose_editing(k, on))
            menu.addAction(action)

    def choose_editing(self, key: str, on: bool) -> QMessageBox | None:
        """Clear ``key`` ("tool_results" or "thinking") from this conversation's requests from
        now on (``on``), or no more: priced first when it costs cached tokens now."""
        chosen = set(self.ctx.chat.context_editing)
        (chosen.add if on else chosen.discard)(key)
        ordered = tuple(k for k, _ in EDITS if k in chosen)
        what = dict(EDITS)[key].split(" (")[0].lower()
        return self.ctx.switch.change(f"{what} {'on' if on else 'off'}", context_editing=ordered)
