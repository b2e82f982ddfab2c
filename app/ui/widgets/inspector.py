"""The cache inspector: pick a request and see its prefix as a strip of blocks sized by tokens,
with breakpoints, what was read, written or paid in full, the prediction against the usage, and
the explanation of a miss."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from app.caching.costs import Kind, RequestRecord, Stop, UsageTotals
from app.caching.ledger import Usage
from app.caching.prefix_map import PrefixMap, PrefixRow
from app.engine import events as ev
from app.ui.widgets.money import saving_of, usd
from app.ui.widgets.plain import plain_label, plain_tip
from app.ui.widgets.turn_marks import last_turn_record
from app.workspace import changes as ch

STATE_COLOURS = {
    "read": QColor("#3fa34d"),
    "written": QColor("#e8b100"),
    "uncached": QColor("#d9534f"),
    "planned": QColor("#8c9bab"),
}
STATE_WORDS = {
    "read": "read from cache",
    "written": "written to cache",
    "uncached": "paid in full",
    "planned": "not sent yet",
}
MIN_BLOCK_PX = 3.0


class PrefixStrip(QWidget):
    """Blocks left to right in caching order, each as wide as its share of the tokens."""

    block_picked = Signal(str)  # the block's path, e.g. "messages.3.content.0"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumHeight(64)
        self.setMouseTracking(True)
        self.prefix: PrefixMap | None = None
        self.states: list[str] = []
        self._rects: list[QRectF] = []

    def show_prefix(self, prefix: PrefixMap | None, usage: Usage | None) -> None:
        self.prefix = prefix
        if prefix is None:
            self.states = []
        elif usage is None:
            self.states = ["planned"] * len(prefix.rows)
        else:
            self.states = prefix.states(usage)
        self._layout_blocks()
        self.update()

    def resizeEvent(self, event):  # noqa: N802
        super().resizeEvent(event)
        self._layout_blocks()

    def _layout_blocks(self) -> None:
        self._rects = []
        if not self.prefix or not self.prefix.rows:
            return
        width = max(1.0, self.width() - 2.0)
        total = max(1, self.prefix.total_tokens)
        # Every block gets a visible minimum; the rest of the width is shared by tokens.
        spare = max(0.0, width - MIN_BLOCK_PX * len(self.prefix.rows))
        x = 1.0
        for row in self.prefix.rows:
            w = MIN_BLOCK_PX + spare * row.tokens / total
            self._rects.append(QRectF(x, 18.0, w, self.height() - 24.0))
            x += w

    def paintEvent(self, event):  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if not self.prefix or not self._rects:
            painter.setPen(self.palette().color(self.foregroundRole()))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No request yet")
            return
        edge = QPen(self.palette().color(self.backgroundRole()))
        edge.setWidthF(1.0)
        for rect, state in zip(self._rects, self.states, strict=True):
            painter.setPen(edge if rect.width() > 4 else Qt.PenStyle.NoPen)
            painter.setBrush(STATE_COLOURS[state])
            painter.drawRect(rect)
        marker = QPen(self.palette().color(self.foregroundRole()))
        marker.setWidthF(2.0)
        for rect, row in zip(self._rects, self.prefix.rows, strict=True):
            if row.breakpoint_ttl:
                painter.setPen(marker)
                painter.drawLine(rect.right(), 4.0, rect.right(), rect.bottom())
                painter.drawText(
                    QRectF(rect.right() - 60, 0, 58, 16),
                    Qt.AlignmentFlag.AlignRight,
                    f"⚑ {row.breakpoint_ttl}",
                )

    def row_at(self, x: float) -> tuple[PrefixRow, str] | None:
        for rect, row, state in zip(
            self._rects, self.prefix.rows if self.prefix else (), self.states, strict=False
        ):
            if rect.left() <= x <= rect.right():
                return row, state
        return None

    def mouseMoveEvent(self, event):  # noqa: N802
        hit = self.row_at(event.position().x())
        if hit is None:
            QToolTip.hideText()
            return
        row, state = hit
        tip = (
            f"{row.label}\n{row.tokens:,} tokens (prefix {row.cumulative:,})\n"
            f"{STATE_WORDS[state]}"
            + (f"\nbreakpoint, {row.breakpoint_ttl}" if row.breakpoint_ttl else "")
        )
        QToolTip.showText(event.globalPosition().toPoint(), plain_tip(tip), self)

    def mousePressEvent(self, event):  # noqa: N802
        hit = self.row_at(event.position().x())
        if hit is not None:
            self.block_picked.emit(hit[0].path)


class Inspector(QWidget):
    """A request picker over the strip, the prediction table and the one-sentence explanation."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.records: list[RequestRecord] = []
        self.picker = QComboBox()
        self.picker.setToolTip("The request to inspect")
        self.picker.currentIndexChanged.connect(self._show_current)
        self.strip = PrefixStrip()
        legend = QHBoxLayout()
        for state in ("read", "written", "uncached"):
            swatch = plain_label("  ")
            swatch.setStyleSheet(f"background: {STATE_COLOURS[state].name()};")
            legend.addWidget(swatch)
            legend.addWidget(plain_label(STATE_WORDS[state]))
        legend.addWidget(plain_label("⚑ breakpoint"))
        legend.addStretch(1)
        self.table = QTableWidget(5, 3)
        self.table.setHorizontalHeaderLabels(["predicted", "actual", "difference"])
        self.table.setVerticalHeaderLabels(
            ["read", "written 5m", "written 1h", "paid in full", "total input"]
        )
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setMaximumHeight(190)
        self.summary = plain_label("")
        self.summary.setWordWrap(True)
        self.explanation = plain_label("")
        self.explanation.setObjectName("missExplanation")
        font = self.explanation.font()
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.explanation.setFont(font)
        self.explanation.setWordWrap(True)
        self.explanation.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setMinimumWidth(420)
        self.table.setMaximumWidth(480)
        self.table.setMinimumHeight(170)
        top = QHBoxLayout()
        top.addWidget(self.picker, 1)
        top.addWidget(self.summary, 2)
        bottom = QHBoxLayout()
        bottom.addWidget(self.table)
        bottom.addWidget(self.explanation, 1, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.strip)
        layout.addLayout(legend)
        layout.addLayout(bottom, 1)

    def watch(self, workspace) -> None:
        """The requests of the conversation on screen of ``workspace``, as they are made."""
        self._workspace = workspace
        workspace.events.subscribe(self.on_event)
        workspace.subscribe(self._on_change)
        self.show_records(workspace.current.session.totals.records)

    def _on_change(self, change) -> None:
        chat = self._workspace.current
        if change.touches(ch.CURRENT):
            self.picker.clear()
            self.show_records(chat.session.totals.records)
        if change.touches(ch.CURRENT, ch.MESSAGES) and not chat.busy():
            self.select_shown_turn(chat.messages)  # a turn ended, a branch switched

    def on_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.Finished | ev.Failed | ev.Cancelled):
            self.show_records(event.totals.records)

    def show_records(self, records: list[RequestRecord]) -> None:
        """Refill the picker; keep following the newest request unless the user picked another."""
        following = self.picker.currentIndex() in (-1, self.picker.count() - 1)
        current = self.picker.currentIndex()
        self.records = list(records)
        self.picker.blockSignals(True)
        self.picker.clear()
        turn = 0
        for record in self.records:
            if record.kind == Kind.TURN:
                turn += 1
                what = f"Turn {turn}"
            else:
                what = {Kind.WARM: "Warm-up", Kind.KEEPALIVE: "Keep-alive ping"}.get(
                    record.kind, record.kind
                )
            when = datetime.fromtimestamp(record.at).strftime("%H:%M:%S")
            outcome = "failed" if record.error else f"read {record.read_as_sent.read:,}"
            if record.stopped:  # the user stopped it: what it cost, as far as known
                outcome = "stopped, cost not known" if record.error else f"stopped, {outcome}"
            self.picker.addItem(f"{what} · {when} · {outcome}")
        self.picker.blockSignals(False)
        if self.records:
            self.picker.setCurrentIndex(len(self.records) - 1 if following else current)
        self._show_current()

    def select_shown_turn(self, messages) -> None:
        """Pick the last turn on the branch shown (``messages``): the one the sidebar's Last
        turn and the pane's marks speak of, not a turn of another branch."""
        record = last_turn_record(self.records, messages)
        if record is not None:
            self.picker.setCurrentIndex(next(i for i, r in enumerate(self.records) if r is record))

    def saving(self, record: RequestRecord):
        """What ``record`` saved, as the sidebar says it (``money.saving_of``)."""
        return saving_of(UsageTotals(self.records), record)

    def current(self) -> RequestRecord | None:
        i = self.picker.currentIndex()
        return self.records[i] if 0 <= i < len(self.records) else None

    def _show_current(self) -> None:
        record = self.current()
        if record is None:
            self.strip.show_prefix(None, None)
            self.summary.setText("Send a message to see what its request cached.")
            self.explanation.setText("")
            self.table.clearContents()
            return
        self.strip.show_prefix(record.prefix, None if record.error else record.read_as_sent)
        blocks = len(record.prefix.rows) if record.prefix else 0
        marks = sum(1 for r in record.prefix.rows if r.breakpoint_ttl) if record.prefix else 0
        cost = record.cost
        paid = f"paid {usd(cost.paid_usd, cost.known)}, saved {self.saving(record).text}"
        if record.stopped == Stop.UNKNOWN:  # the prices are known; what was billed is not
            paid = "paid: not known (stopped before the reply began)"
        self.summary.setText(
            f"{record.model} · pattern {record.strategy or '–'} · {blocks} blocks, "
            f"{marks} breakpoint(s) · {paid}"
        )
        actual, predicted = record.read_as_sent, record.predicted
        rows = [
            ("read", lambda u: u.read),
            ("write_5m", lambda u: u.write_5m),
            ("write_1h", lambda u: u.write_1h),
            ("uncached", lambda u: u.uncached),
            ("total", lambda u: u.input_total),
        ]
        for i, (_, get) in enumerate(rows):
            want = get(predicted) if predicted else None
            got = get(actual)
            cells = [
                "–" if want is None else f"{want:,}",
                "–" if record.error else f"{got:,}",
                "–" if want is None or record.error else f"{got - want:+,}",
            ]
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, j, item)
        if record.error:
            said = record.error if record.stopped else f"Failed: {record.error}"
            self.explanation.setText(said[:1].upper() + said[1:])
        elif record.explanation:
            self.explanation.setText(
                "\n".join(t for t in (record.explanation, record.server_reason) if t)
            )
        else:
            self.explanation.setText(
                f"{STATE_WORDS['read'].capitalize()}: {actual.read:,} tokens; "
                f"written: {actual.write:,}; paid in full: {actual.uncached:,}."
            )

    def explanation_text(self) -> str:
        return self.explanation.text()
