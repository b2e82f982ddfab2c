"""The live usage sidebar: the last turn, the conversation's totals, a per-turn chart, live
cache entries with a countdown, and the warm-ups and pings with their cost."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QLabel,
    QListWidget,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from app.caching.costs import Kind, RequestRecord, Stop, UsageTotals, server_tools_usd
from app.caching.ledger import LedgerEntry
from app.ui.widgets.money import saving_of, usd
from app.ui.widgets.plain import plain_label, plain_tip, plural
from app.workspace import changes as ch

COLORS = {
    "read": QColor("#3fa66b"),
    "written": QColor("#e0b030"),
    "uncached": QColor("#d9534f"),
    "output": QColor("#5b8def"),
}


class TurnChart(QWidget):
    """Stacked bars per turn (read / written / uncached / output); hover shows the numbers."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.records: list[RequestRecord] = []
        self.setMinimumHeight(110)
        self.setMouseTracking(True)
        self.setToolTip("Tokens per turn: green read, amber written, red paid in full, blue output")

    def set_records(self, records: list[RequestRecord]) -> None:
        self.records = [r for r in records if r.kind == Kind.TURN and not r.error][-40:]
        self.update()

    def _bars(self):
        if not self.records:
            return []
        peak = max(r.billed.input_total + r.billed.output for r in self.records) or 1
        width = max(4.0, min(24.0, (self.width() - 8) / len(self.records)))
        out = []
        for i, record in enumerate(self.records):
            x, bottom = 4 + i * width, self.height() - 4
            parts = []
            for name, value in (
                ("read", record.billed.read),
                ("written", record.billed.write),
                ("uncached", record.billed.uncached),
                ("output", record.billed.output),
            ):
                h = (self.height() - 8) * value / peak
                parts.append((name, QRectF(x, bottom - h, width - 2, h)))
                bottom -= h
            out.append((record, QRectF(x, 4, width - 2, self.height() - 8), parts))
        return out

    def paintEvent(self, event):  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().base())
        for _, _, parts in self._bars():
            for name, rect in parts:
                painter.fillRect(rect, COLORS[name])
        painter.end()

    def mouseMoveEvent(self, event):  # noqa: N802
        for number, (record, column, _) in enumerate(self._bars(), 1):
            if column.contains(event.position()):
                u = record.billed
                QToolTip.showText(
                    event.globalPosition().toPoint(),
                    plain_tip(
                        f"Turn {number}: read {u.read:,}, written {u.write:,}, "
                        f"uncached {u.uncached:,}, output {u.output:,}, "
                        f"${record.cost.paid_usd:.4f}"
                    ),
                    self,
                )
                return
        QToolTip.hideText()


class UsageSidebar(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("usageSidebar")
        self.fields: dict[str, QLabel] = {}
        last = QGroupBox("Last turn")
        last_form = QFormLayout(last)
        for key, label in (
            ("read", "Read from cache"),
            ("written", "Written 5m / 1h"),
            ("uncached", "Paid in full"),
            ("output", "Output"),
            ("ttft", "First token"),
            ("cost", "Cost"),
            ("saved", "Saved"),
        ):
            self.fields[key] = plain_label("–")
            self.fields[key].setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            last_form.addRow(plain_label(label), self.fields[key])
        why = plain_label("–")
        why.setObjectName("missReason")
        why.setWordWrap(True)
        why.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        why.setMinimumHeight(why.fontMetrics().lineSpacing() * 5)
        self.fields["why"] = why
        last_form.addRow(plain_label("Why"))
        last_form.addRow(why)
        self.fields["saved"].setWordWrap(True)  # a loss explains itself at length
        totals = QGroupBox("This conversation")
        totals_form = QFormLayout(totals)
        for key, label in (("paid", "Paid"), ("total_saved", "Saved"), ("hit", "Hit rate")):
            self.fields[key] = plain_label("–")
            self.fields[key].setWordWrap(True)  # a narrow sidebar wraps, never cuts
            totals_form.addRow(plain_label(label), self.fields[key])
        self.chart = TurnChart()
        self.entries = QListWidget()
        self.entries.setObjectName("liveEntries")
        self.requests = QListWidget()
        self.requests.setObjectName("warmsAndPings")
        self.requests.setWordWrap(True)  # each says why it was sent
        self.entries.setWordWrap(True)  # a narrow sidebar wraps an entry, never scrolls sideways
        # On a small screen the sidebar scrolls rather than squeezing a list to one line.
        for listing in (self.entries, self.requests):
            listing.setMinimumHeight(6 * listing.fontMetrics().lineSpacing())
            listing.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.addWidget(last)
        layout.addWidget(totals)
        layout.addWidget(plain_label("Tokens per turn"))
        layout.addWidget(self.chart)
        layout.addWidget(plain_label("Live cache entries"))
        layout.addWidget(self.entries, 1)
        layout.addWidget(plain_label("Warm-ups and keep-alive pings"))
        layout.addWidget(self.requests, 1)
        self._entries: tuple = ((), [])
        self._clock: Callable[[], float] = time.time
        self._countdown = QTimer(self, interval=1000)
        self._countdown.timeout.connect(self._render_entries)

    def watch(self, workspace, clock: Callable[[], float]) -> None:
        """Show the conversation on screen of ``workspace`` (``app.workspace.workspace``) from
        now on: its totals when its records or messages change, its live entries when the
        cache does; the countdowns tick on ``clock``."""
        self._workspace, self._clock = workspace, clock
        workspace.subscribe(self._on_change)
        self._on_change(None)

    def _on_change(self, change: ch.Change | None) -> None:
        chat = self._workspace.current
        if change is None or change.touches(ch.RECORDS, ch.MESSAGES, ch.CURRENT):
            self.show_totals(chat.session.totals, {m.id for m in chat.messages})
        if change is None or change.touches(ch.ENTRIES, ch.OUTLOOK, ch.CURRENT):
            own, others = self._workspace.live_entries()
            self.show_entries(own, others, self._clock)

    def show_totals(self, totals: UsageTotals, shown: set[str] | None = None) -> None:
        """The conversation's totals; "Last turn" is the last one on the branch ``shown`` (the
        ids of the messages on screen; None: any)."""
        turns = [
            r
            for r in totals.records
            if r.kind == Kind.TURN
            and not r.error
            and (
                shown is None
                or not (r.reply_id or r.after_id)
                or (r.reply_id or r.after_id) in shown
            )
        ]
        if turns:
            r = turns[-1]
            u = r.billed  # every iteration: a compaction's is billed too
            self.fields["read"].setText(plural(u.read, "token"))
            self.fields["written"].setText(f"{u.write_5m:,} / {u.write_1h:,}")
            self.fields["uncached"].setText(plural(u.uncached, "token"))
            thought = f" ({u.thinking:,} thinking)" if u.thinking else ""
            self.fields["output"].setText(plural(u.output, "token") + thought)
            self.fields["ttft"].setText(f"{r.ttft_s:.2f} s" if r.ttft_s is not None else "–")
            uses = [(u.web_searches, "web search"), (u.web_fetches, "web fetch")]
            said = ", ".join(f"{n} {what}{'es' if n > 1 else ''}" for n, what in uses if n)
            extra = f" (with {said}: {usd(server_tools_usd(u))})" if said else ""
            self.fields["cost"].setText(usd(r.cost.paid_usd, r.cost.known) + extra)
            self.fields["saved"].setText(saving_of(totals, r).text)
            why = "\n".join(t for t in (r.explanation, r.server_reason) if t)
            self.fields["why"].setText(why or "–")
        else:  # a new, emptied or other conversation: nothing of the last one's turn stays
            for key in ("read", "written", "uncached", "output", "ttft", "cost", "saved", "why"):
                self.fields[key].setText("–")
        unknown = sum(1 for r in totals.records if r.stopped == Stop.UNKNOWN)
        more = f" + {plural(unknown, 'stopped request')} of unknown cost" if unknown else ""
        self.fields["paid"].setText(usd(totals.paid_usd) + more)
        self.fields["total_saved"].setText(f"{usd(totals.saved_usd)} (net of warm-ups)")
        self.fields["hit"].setText(f"{totals.hit_rate:.0%}")
        self.chart.set_records(totals.records)
        self.requests.clear()
        for record in totals.records:
            if record.kind != Kind.TURN and record.error:
                self.requests.addItem(f"{record.kind}: failed, {record.error[:80]}")
            elif record.kind != Kind.TURN:
                why = f": {record.explanation}" if record.explanation else ""
                self.requests.addItem(
                    f"{record.kind}: read {record.usage.read:,}, wrote "
                    f"{record.usage.write:,}, {usd(record.cost.paid_usd)}{why}"
                )

    def show_entries(
        self,
        own: tuple[LedgerEntry, ...],
        others: list[tuple[LedgerEntry, str]],
        clock: Callable[[], float],
    ) -> None:
        """The live entries: the open conversation's own first (those its next send would read
        or refresh), then the others, each labelled with whose it is. The countdowns tick here,
        once a second, on ``clock``; the list itself changes when the chat says it did."""
        self._entries, self._clock = (own, others), clock
        self._render_entries()
        self._countdown.start()

    def _render_entries(self) -> None:
        own, others = self._entries
        now = self._clock()
        shown = [(e, "this conversation") for e in own] + list(others)
        self.entries.clear()
        for entry, whose in [(e, w) for e, w in shown if e.expires_at > now][:8]:
            left = int(entry.expires_at - now)
            self.entries.addItem(
                f"{whose}: {entry.tokens:,} tokens, {entry.ttl}, {left // 60}:{left % 60:02d} "
                f"left, {entry.hits} hit(s)"
            )
        if not self.entries.count():
            self.entries.addItem("nothing cached")
