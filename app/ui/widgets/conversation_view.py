"""The conversation pane: a list of messages that draws only the rows on screen.

Each row (``app.ui.widgets.message_rows``) is laid out once per body and width by the delegate
(``app.ui.widgets.message_delegate``); a turn's end, a pin or a pattern change updates the rows
whose marks or text changed and nothing else. A reply streams into its own row, redrawn in batches.
Clicking a message's text opens it in a read-only browser over the row, to select and copy.
"""

from __future__ import annotations

import secrets
import time

from PySide6.QtCore import QTimer, QUrl, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, Qt
from PySide6.QtWidgets import QAbstractItemView, QTreeView

from app.caching.builder import BuiltRequest
from app.caching.costs import Kind, RequestRecord
from app.caching.ledger import Usage
from app.caching.prefix_map import PrefixMap
from app.conversation.conversation import Conversation
from app.engine import events as ev
from app.facts.catalogue import ModelInfo
from app.ui.widgets.conversation_menu import MessageActions
from app.ui.widgets.empty_state import EmptyState
from app.ui.widgets.highlight import warm_lexers
from app.ui.widgets.message_delegate import MessageDelegate, is_dark
from app.ui.widgets.message_model import MessageModel
from app.ui.widgets.message_rows import ACTION_SCHEME, Row, RowMaker, shown
from app.ui.widgets.plain import plural
from app.ui.widgets.safe_browser import open_link
from app.ui.widgets.turn_marks import (
    flag_places,
    last_turn_record,
    message_marks,
    reply_turns,
    stopped_turns,
)
from app.ui.widgets.untrusted import literal
from app.workspace import changes as ch

BATCH_MS = 40
FLUSH_SHARE = 4  # the streaming tail may keep the GUI thread busy 1/FLUSH_SHARE of the time
REFINE_BUDGET_S = 0.003  # measuring rows off screen, per turn of the event loop
REFINE_EVERY_MS = 10


class ConversationView(MessageActions, QTreeView):
    link_refused = Signal(str)
    pin_requested = Signal(int, bool)  # message index, pinned
    edit_requested = Signal(int)  # message index of a user message to edit and resend
    image_requested = Signal(str)  # sha256 of an attachment to show at full size
    regenerate_requested = Signal()
    retry_requested = Signal()
    cancel_edit_requested = Signal()
    branch_requested = Signal(int, int)  # message index where paths part, step (-1 or +1)
    attach_requested = Signal(str)  # "document" or "image", from the empty state
    said = Signal(str)  # a sentence for the status line ("Copied …")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("conversation")
        self.setHeaderHidden(True)
        self.setRootIsDecorated(False)
        self.setIndentation(0)
        self.setUniformRowHeights(False)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setMouseTracking(True)
        self.verticalScrollBar().setSingleStep(24)
        self.model_ = MessageModel(self)
        self.setModel(self.model_)
        self.delegate = MessageDelegate(self)
        self.delegate.set_font(self.font())
        self.delegate.dark = is_dark(self.palette())
        self.setItemDelegate(self.delegate)
        self.delegate.measured.connect(self._measured)
        self.delegate.repaint_needed.connect(self.viewport().update)
        warm_lexers()
        self.maker = RowMaker(secrets.token_hex(8))
        self.conversation: Conversation | None = None
        self.last_built: BuiltRequest | None = None
        self._marks: dict = {}  # what the gutter shows, by message index (and "system")
        self._turn_marks: dict = {}  # the last turn's on the branch shown
        self._placed: dict = {}  # where the next request put its flags when those were taken
        self.branches: dict[int, str] = {}  # message index -> its branch line (set_branches)
        self._branches_of = ""  # the conversation whose forks ``branches`` draws
        self._records: list[RequestRecord] = []
        self.error: tuple[str, str] | None = None  # what failed, what to do
        self.editing: int | None = None
        self.streaming = False
        self._reply_from = 0
        self._tail_text = ""
        self._thinking = ""  # the streaming reply's thinking so far
        self.confirm_links = True
        self._editor_key: str | None = None
        self._timer = QTimer(self, singleShot=True, interval=BATCH_MS)
        self._timer.timeout.connect(self.flush_tail)
        self._refine_timer = QTimer(self, singleShot=True, interval=REFINE_EVERY_MS)
        self._refine_timer.timeout.connect(self._refine)
        self._refine_at = -1
        self._unmeasured: set[str] = set()
        self.empty = EmptyState(self.viewport())
        self.empty.attach.connect(self.attach_requested)

    # -- what is shown --------------------------------------------------------------------------
    def show_conversation(self, conversation: Conversation) -> None:
        if conversation.id != self._branches_of:
            self.branches = {}  # until the window says where this one's paths part
        self.conversation = conversation
        self._update(bottom=self.model_.owner != conversation.id)

    def set_cache_view(self, built: BuiltRequest | None, usage: Usage | None) -> None:
        """Breakpoint flags from ``built``; with ``usage``, what was read, written and paid."""
        self.last_built = built
        model = built.model if built is not None else None
        self._marks = message_marks(PrefixMap.of(built), usage, model) if built else {}
        if self.conversation is not None:
            self._update()

    def set_records(self, records: list[RequestRecord]) -> None:
        """The turns behind the replies (usage, cost and miss reason shown on each)."""
        self._records = records

    def show_error(self, what: str, advice: str) -> None:
        self.error = (what, advice)
        self._update(bottom=True)

    def set_editing(self, index: int | None) -> None:
        self.editing = index
        self._update(bottom=index is not None)

    def set_branches(self, conversation_id: str, branches: dict[int, tuple[int, int, str]]) -> None:
        """Where the paths of conversation ``conversation_id`` part: (this path's number, how
        many, a note). Kept when that conversation is shown after this is said (a conversation
        opened from the history is told of before the pane hears it is on screen)."""
        self._branches_of = conversation_id
        self.branches = {
            index: self.maker.branch_line(index, *found) for index, found in branches.items()
        }
        if self.conversation is not None and self.conversation.id == conversation_id:
            self._update()

    def _rows(self) -> list[Row]:
        conv = self.conversation
        messages = conv.messages if conv is not None else ()
        turns = reply_turns(self._records, messages)
        stops = stopped_turns(self._records, messages)  # replies that never began, kept in view
        offer = not self.streaming and self.error is None
        rows = self.maker.rows(conv, self._marks, turns, self.editing, self.branches, stops, offer)
        if self.editing is not None:
            later = len(conv.messages) - self.editing
            rows.append(
                Row(
                    "edit",
                    "edit",
                    "Editing",
                    f"Editing message {self.editing + 1}: the {plural(later, 'message')} shown"
                    " faded are replaced when you send, and kept as a branch to switch back to."
                    f" [Cancel the edit]({self.maker.action('cancel-edit')})",
                )
            )
        if self.streaming and len(conv.messages) == self._reply_from:
            # Until the reply is a message: then that message's row takes this place.
            rows.append(Row("reply", "reply", "Claude", shown(self._tail_text) or "…"))
        elif self.error is not None:
            what, advice = self.error
            rows.append(
                Row(
                    "error",
                    "error",
                    "The request failed",
                    f"{literal(what)}\n\n{literal(advice)}"
                    f"\n\n[Retry]({self.maker.action('retry')})",
                )
            )
        return rows

    def _update(self, bottom: bool = False) -> None:
        if self.conversation is None:
            return
        bar = self.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 4
        rows = self._rows()
        if self._editor_key is not None:
            self._close_editor()
        self.model_.set_rows(rows, self.conversation.id)
        self.empty.setVisible(not rows)
        self.empty.place()
        if bottom or at_bottom:
            self.scrollToBottom()
        self._refine_at = len(rows) - 1
        self._refine_timer.start()

    def rows(self) -> list[Row]:
        return self.model_.rows

    # -- the streaming reply --------------------------------------------------------------------
    def begin_reply(self) -> None:
        self.streaming, self._tail_text, self.error = True, "", None
        self._thinking = ""
        self._reply_from = len(self.conversation.messages) if self.conversation else 0
        self._timer.setInterval(BATCH_MS)
        self._update(bottom=True)

    def end_reply(self) -> None:
        self.streaming = False
        self._timer.stop()

    def append_delta(self, text: str) -> None:
        conv = self.conversation
        if self.streaming and conv is not None and len(conv.messages) > self._reply_from:
            # A reply after tool results: a new row for it.
            self._reply_from, self._tail_text, self._thinking = len(conv.messages), "", ""
            self._update(bottom=True)
        self._tail_text += text
        if not self._timer.isActive():
            self._timer.start()

    def flush_tail(self) -> None:
        """Show what has streamed since the last flush (the batch timer calls it)."""
        position = self.model_.position_of("reply")
        if position is None:
            return
        started = time.perf_counter()
        bar = self.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 4
        thought = self._thinking[-300:].replace("\n", " ")
        said = f"*Thinking… {len(self._thinking):,} characters*\n\n{shown('> ' + thought)}\n\n"
        thought = self._thinking
        body = (said if thought else "") + shown(self._tail_text)
        row = Row("reply", "reply", "Claude", body or "…")
        self.delegate.measure(row)
        self.model_.replace_row(position, row)
        if at_bottom:
            self.scrollToBottom()
        # Each flush lays the whole reply out: space them out as it grows, so typing,
        # scrolling and Esc stay responsive however long the reply gets.
        spent_ms = (time.perf_counter() - started) * 1000
        self._timer.setInterval(max(BATCH_MS, int(spent_ms * (FLUSH_SHARE - 1))))

    def tail_text(self) -> str:
        return self._tail_text

    def watch(self, workspace) -> None:
        """Show the conversation on screen of ``workspace``: its stream as it comes, its
        messages and records as they change, the breakpoints its next request would place."""
        self._workspace = workspace
        workspace.events.subscribe(self.on_event)
        workspace.subscribe(self._on_change)

    def _on_change(self, change: ch.Change) -> None:
        chat = self._workspace.current
        engine = self._workspace.engine
        model = engine.resolve_model(chat.model_id)
        if model is not None:
            self.maker.set_token_scale(model.token_scale)  # one figure per thing
        if change.touches(ch.CURRENT):
            # its own draft comes back with it, an edit in progress too (Send replaces then)
            self.error, self.editing = None, chat.draft.editing
            self.set_records(chat.session.totals.records)
            self._take_last_turn(chat, model)
            self.show_conversation(chat.conversation)
            return
        if chat.busy():
            return  # the turn's stream and its end redraw
        if change.touches(ch.SETTINGS):  # where the next request would put its breakpoints
            self._show_next_request(chat, engine)
        elif change.touches(ch.MESSAGES):  # a turn ended, a branch was switched
            self._take_last_turn(chat, model)
        if change.touches(ch.MESSAGES, ch.SETTINGS):
            self.set_records(chat.session.totals.records)
            self.show_conversation(chat.conversation)

    def _take_last_turn(self, chat, model: ModelInfo | None) -> None:
        """The marks of the last turn on the branch shown (what its request read, wrote and paid),
        and where the request Send would send now puts its flags on these rows: while a setting
        change leaves them there, the last turn's marks stay (``_show_next_request``)."""
        record = last_turn_record(chat.session.totals.records, chat.messages)
        self._turn_marks = (
            message_marks(record.prefix, record.read_as_sent, model) if record else {}
        )
        self._placed = flag_places(chat.outlook.request, len(chat.messages))
        self.last_built, self._marks = None, self._turn_marks

    def _show_next_request(self, chat, engine) -> None:
        """After a setting changed (pattern, TTL, pin, ...): where the request Send would send
        puts its breakpoints and what the cache would give it, predicted; the last turn's marks
        again as soon as the flags are back where they were then (Smart, Last user message,
        Smart: the marks of the last turn, not an empty gutter)."""
        request = chat.outlook.request if chat.messages else None
        if self._turn_marks and flag_places(request, len(chat.messages)) == self._placed:
            self.last_built, self._marks = None, self._turn_marks
            return
        self.last_built = request
        if request is None:
            self._marks = {}
            return
        predicted = Usage.from_plan(engine.ledger.predict(request, sweep=False))
        self._marks = message_marks(PrefixMap.of(request), predicted, request.model, True)

    def on_event(self, event: ev.Event) -> None:
        """The reply as it streams; a turn's usage colours the blocks of the request it answered."""
        if isinstance(event, ev.TextDelta):
            self.append_delta(event.text)
        elif isinstance(event, ev.ThinkingDelta):  # shown above the text until the reply is done
            self.append_delta("")
            self._thinking += event.text
        elif isinstance(event, ev.UsageReported) and event.kind == Kind.TURN:
            self.set_cache_view(event.built, event.usage)  # as soon as it is known
            self._turn_marks = self._marks
        elif isinstance(event, ev.Finished | ev.Failed | ev.Cancelled):
            # (a stopped request's marks follow with the messages' change: it is the last turn)
            self.set_records(event.totals.records)

    # -- heights --------------------------------------------------------------------------------
    def _measured(self, key: str) -> None:
        """A row on screen turned out taller or shorter than estimated: take its height."""
        if not self._unmeasured:
            QTimer.singleShot(0, self._apply_measured)
        self._unmeasured.add(key)

    def _apply_measured(self) -> None:
        keys, self._unmeasured = self._unmeasured, set()
        bar = self.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 4
        for position, row in enumerate(self.model_.rows):
            if row.key in keys:
                index = self.model_.index(position)
                self.model_.dataChanged.emit(index, index)
        if at_bottom:
            self.scrollToBottom()

    def _refine(self) -> None:
        """Measure rows off screen, a few per turn of the event loop, from the newest up; the
        view keeps still (a row above the screen that grows moves the scroll position with it)."""
        rows = self.model_.rows
        deadline = time.perf_counter() + REFINE_BUDGET_S
        first = self.indexAt(self.viewport().rect().topLeft()).row()
        shift, changed = 0, []
        while self._refine_at >= 0 and time.perf_counter() < deadline:
            position = self._refine_at
            self._refine_at -= 1
            if position >= len(rows) or self.delegate.is_exact(rows[position]):
                continue
            before = self.delegate.estimate(rows[position])
            after = self.delegate.measure(rows[position])
            if after != before:
                changed.append(position)
                if first >= 0 and position < first:
                    shift += after - before
        bar = self.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 4
        for position in changed:
            index = self.model_.index(position)
            self.model_.dataChanged.emit(index, index)
        if at_bottom:
            self.scrollToBottom()
        elif shift:
            bar.setValue(bar.value() + shift)
        if self._refine_at >= 0:
            self._refine_timer.start()

    def resizeEvent(self, event):  # noqa: N802 (Qt's name)
        self.delegate.set_width(self.viewport().width())
        super().resizeEvent(event)
        self.empty.place()
        self._refine_at = len(self.model_.rows) - 1
        self._refine_timer.start()

    def changeEvent(self, event):  # noqa: N802 (Qt's name)
        super().changeEvent(event)
        if event.type() in (event.Type.PaletteChange, event.Type.FontChange):
            self.delegate.set_font(self.font())
            self.delegate.dark = is_dark(self.palette())
            self.delegate.forget()
            self.scheduleDelayedItemsLayout()

    # -- finding things -------------------------------------------------------------------------
    def position_of_message(self, index: int) -> int | None:
        for position, row in enumerate(self.model_.rows):
            if row.index == index and row.kind == "message":
                return position
        return None

    def scroll_to_message(self, index: int) -> None:
        """Bring a message (a search result) into view and make it the current row."""
        position = self.position_of_message(index)
        if position is None:
            return
        model_index = self.model_.index(position)
        self.setCurrentIndex(model_index)
        self.scrollTo(model_index, QAbstractItemView.ScrollHint.PositionAtTop)

    def row_at(self, point) -> tuple[int, Row] | None:
        index = self.indexAt(point)
        if not index.isValid():
            return None
        return index.row(), self.model_.rows[index.row()]

    def message_at(self, point) -> int | None:
        """The index of the message under a viewport point, or None (system prompt, margins)."""
        found = self.row_at(point)
        return found[1].index if found is not None and found[1].kind == "message" else None

    def hit(self, point) -> tuple[Row, tuple[str, str] | None] | None:
        found = self.row_at(point)
        if found is None:
            return None
        position, row = found
        rect = self.visualRect(self.model_.index(position))
        return row, self.delegate.hit(row, rect, point)

    def image_at(self, point) -> str | None:
        """The sha256 of the attachment under a viewport point, if any."""
        found = self.hit(point)
        return found[1][1] if found and found[1] and found[1][0] == "image" else None

    def documents(self) -> list:
        """Every row's laid-out document, in order (lays out rows not yet seen)."""
        return [self.delegate.document(row) for row in self.model_.rows]

    def plain_text(self) -> str:
        """What the pane shows as text, every row, headers included."""
        return "\n".join(
            f"{row.title}\n{doc.toPlainText()}"
            for row, doc in zip(self.model_.rows, self.documents(), strict=True)
        )

    # -- the mouse ------------------------------------------------------------------------------
    def mouseReleaseEvent(self, event):  # noqa: N802 (Qt's name)
        super().mouseReleaseEvent(event)
        if event.button() != Qt.MouseButton.LeftButton:
            return
        found = self.hit(event.position().toPoint())
        if found is None or found[1] is None:
            return
        row, (what, value) = found
        if what == "copy":
            QGuiApplication.clipboard().setText(value)
            self.said.emit(f"Copied a code block ({len(value.splitlines())} lines).")
        elif what == "link":
            self.follow(value)
        elif what == "text" and row.kind in ("message", "system"):
            self._open_editor(row)

    def mouseDoubleClickEvent(self, event):  # noqa: N802 (Qt's name)
        sha = self.image_at(event.position().toPoint())
        if sha is not None:
            self.image_requested.emit(sha)
            return
        super().mouseDoubleClickEvent(event)

    def mouseMoveEvent(self, event):  # noqa: N802 (Qt's name)
        super().mouseMoveEvent(event)
        found = self.hit(event.position().toPoint())
        what = found[1][0] if found and found[1] else None
        shape = {
            "link": Qt.CursorShape.PointingHandCursor,
            "copy": Qt.CursorShape.PointingHandCursor,
            "text": Qt.CursorShape.IBeamCursor,
        }.get(what, Qt.CursorShape.ArrowCursor)
        self.viewport().setCursor(shape)

    def viewportEvent(self, event):  # noqa: N802 (Qt's name)
        if event.type() == event.Type.ToolTip:
            self.show_tooltip(event)
            return True
        return super().viewportEvent(event)

    def follow(self, url: str) -> None:
        """A link in a row: the pane's own actions, else an address the user confirms first."""
        action = self.maker.parse_action(url)
        if action is not None:
            self.act(*action)
        elif url.startswith(ACTION_SCHEME + ":"):
            self.link_refused.emit(url)  # a look-alike written by the model
        else:
            open_link(QUrl(url), self, self.link_refused.emit, self.confirm_links)

    def keyPressEvent(self, event):  # noqa: N802 (Qt's name)
        if event.matches(QKeySequence.StandardKey.Copy):
            index = self.currentIndex()
            if index.isValid():
                self.copy_row(self.model_.rows[index.row()])
                return
        super().keyPressEvent(event)

    def keyboardSearch(self, search: str) -> None:  # noqa: N802 (Qt's name)
        """Typing over the pane does not jump between rows."""
