"""What the pane offers on one message: its context menu, copying, the action links it draws
itself (show thinking, retry, cancel an edit), the tooltip of its cache marks, and the read-only
browser opened over a message to select text in."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMenu, QToolTip

from app.conversation.blocks import DocumentBlock, ThinkingBlock
from app.ui.widgets.image_viewer import open_document
from app.ui.widgets.message_delegate import GUTTER, PAD
from app.ui.widgets.message_rows import CARD_CHARS, OPENABLE, Row
from app.ui.widgets.plain import plain_tip
from app.ui.widgets.safe_browser import SafeBrowser
from app.ui.widgets.untrusted import unbreak


class MessageActions:
    """Mixed into ``ConversationView``."""

    def act(self, verb: str, argument: str) -> None:
        if verb == "expand":
            self.toggle_expanded(argument)
        elif verb == "retry":
            self.retry_requested.emit()
        elif verb == "cancel-edit":
            self.cancel_edit_requested.emit()
        elif verb == "branch":
            index, _, step = argument.partition(":")
            if index.isdigit() and step in ("-1", "1"):
                self.branch_requested.emit(int(index), int(step))

    def toggle_expanded(self, message_id: str) -> None:
        expanded = self.maker.expanded
        expanded.symmetric_difference_update({message_id})
        self._update()

    def copy_row(self, row: Row) -> None:
        """The message as written (its text blocks), else what the row shows."""
        text = ""
        if row.kind == "message" and self.conversation is not None:
            text = self.conversation.messages[row.index].text
        if not text:
            text = unbreak(self.delegate.document(row).toPlainText())
        QGuiApplication.clipboard().setText(text)
        self.said.emit(f"Copied the message ({len(text):,} characters).")

    def add_row_actions(self, menu: QMenu, row: Row) -> None:
        menu.addAction("Copy message", lambda: self.copy_row(row))
        if row.kind != "message" or self.conversation is None or self.streaming:
            return
        messages = self.conversation.messages
        message = messages[row.index]
        menu.addSeparator()
        pin = menu.addAction("Cache up to here")
        pin.setCheckable(True)
        pin.setChecked(message.pinned)
        pin.setToolTip("Keep a breakpoint on this message (counted within the four)")
        pin.toggled.connect(lambda on: self.pin_requested.emit(row.index, on))
        if message.role == "user" and not message.is_tool_result:
            menu.addAction("Edit and resend", lambda: self.edit_requested.emit(row.index))
        if message.role == "assistant" and row.index == len(messages) - 1:
            menu.addAction("Regenerate reply", self.regenerate_requested.emit)
        foldable = any(isinstance(b, ThinkingBlock) for b in message.blocks) or (
            message.role == "user" and len(message.text) > CARD_CHARS
        )
        if foldable:
            shown = message.id in self.maker.expanded
            menu.addAction(
                "Collapse" if shown else "Show thinking and long text in full",
                lambda: self.toggle_expanded(message.id),
            )
        documents = [b.document for b in message.blocks if isinstance(b, DocumentBlock)]
        for document in documents[:OPENABLE]:
            menu.addAction(
                f"Open {document.name.rsplit('/', 1)[-1]}", lambda d=document: open_document(d)
            )

    def contextMenuEvent(self, event):  # noqa: N802 (Qt's name)
        found = self.hit(event.pos())
        if found is None:
            return
        row, what = found
        menu = QMenu(self)
        kind, value = what or ("", "")
        if kind == "image":
            menu.addAction("Open image at full size", lambda: self.image_requested.emit(value))
        elif kind == "copy":
            menu.addAction("Copy code block", lambda: QGuiApplication.clipboard().setText(value))
        elif kind == "link" and self.maker.parse_action(value) is None:
            menu.addAction("Copy link address", lambda: QGuiApplication.clipboard().setText(value))
        self.add_row_actions(menu, row)
        menu.exec(event.globalPos())

    def show_tooltip(self, event) -> None:
        """Over a link: its address. Over the gutter or header: the row's cache figures."""
        found = self.hit(event.pos())
        text = ""
        if found is not None:
            row, what = found
            if what and what[0] == "link" and self.maker.parse_action(what[1]) is None:
                text = what[1]
            elif what is None or event.pos().x() < GUTTER:
                lines = [row.marks.describe()]
                if row.turn is not None:
                    lines.append("This reply's request: " + row.turn.line())
                    if row.turn.miss:
                        lines.append("Cache miss: " + row.turn.miss)
                text = "\n".join(line for line in lines if line)
        if text:
            QToolTip.showText(event.globalPos(), plain_tip(text), self.viewport())
        else:
            QToolTip.hideText()

    # -- selecting text -------------------------------------------------------------------------
    def _open_editor(self, row: Row) -> None:
        position = self.model_.position_of(row.key)
        if position is None or row.key == self._editor_key:
            return
        self._close_editor()
        self._editor_key = row.key
        self.openPersistentEditor(self.model_.index(position))

    def _close_editor(self) -> None:
        key, self._editor_key = self._editor_key, None
        position = self.model_.position_of(key) if key else None
        if position is not None:
            self.closePersistentEditor(self.model_.index(position))

    def editor_for(self, parent, row: Row) -> SafeBrowser:
        """Called by the delegate: a browser showing the row's body, to select text in."""
        editor = SafeBrowser(parent, is_action=lambda u: self.maker.parse_action(u) is not None)
        editor.setDocument(self.delegate.make_document(row, self.delegate.text_width()))
        editor.setFrameShape(SafeBrowser.Shape.NoFrame)
        editor.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        editor.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        editor.viewport().setAutoFillBackground(False)
        editor.setStyleSheet("QTextBrowser { background: transparent; }")
        editor.confirm_links = self.confirm_links
        editor.link_refused.connect(self.link_refused)
        editor.action.connect(self.follow)
        editor.extra_menu = lambda menu: self.add_row_actions(menu, row)
        return editor

    def editor(self) -> SafeBrowser | None:
        """The browser open over a message for selecting text, if any."""
        position = self.model_.position_of(self._editor_key) if self._editor_key else None
        return None if position is None else self.indexWidget(self.model_.index(position))

    def select_text_of(self, position: int) -> SafeBrowser | None:
        """Open the selection browser over a row (what a click on its text does)."""
        self._open_editor(self.model_.rows[position])
        return self.editor()

    def editor_rect(self, row: Row, rect):
        origin = self.delegate.body_origin(row, rect)
        return rect.adjusted(GUTTER + PAD, int(origin.y()) - rect.top(), -PAD, -PAD)
