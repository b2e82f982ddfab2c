"""Conversation → What would it have cost: the open conversation replayed under every caching
policy (``app.replay``, off the GUI thread, with progress), drawn as dollars and waiting side by
side per policy with what was actually paid marked, one sentence on what would have paid most,
why Cachescope's own row cost more or waited longer than another (``app.replay.reasons``), and a
button that applies the cheapest policy Cachescope can follow to this conversation from now on:
the whole policy that was priced (``app.replay.following``), or why the cheapest cannot be."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.replay.following import Following, changes_needed, following
from app.replay.reasons import USD_EPSILON, why_ours
from app.replay.report import Report, pauses_of, run_all
from app.ui.widgets.plain import heading, plain_label, plain_tip

DOLLARS, WAITING, PAID = QColor("#3d7edb"), QColor("#e0a526"), QColor("#d9534f")


class ReplayChart(QWidget):
    """Per policy, two bars: dollars (blue) and the median wait for the first token (amber),
    each scaled to its own largest; a red line at what was actually paid."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.report: Report | None = None
        self.setMinimumHeight(200)

    def show_report(self, report: Report) -> None:
        self.report = report
        self.update()

    def paintEvent(self, event):  # noqa: N802 (Qt's name)
        report = self.report
        if report is None or not report.priced:
            return
        rows = report.priced
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        width, height = self.width(), self.height()
        label_w, top, bottom = 250, 8, 8
        band = (height - top - bottom) / len(rows)
        most_usd = max([r.cost_usd for r in rows] + [report.actual_usd or 0]) or 1
        most_s = max((r.p50_ttft_s or 0) for r in rows) or 1
        span = max(40, width - label_w - 90)
        text = self.palette().windowText().color()
        for i, row in enumerate(rows):
            y = top + i * band
            painter.setPen(text)
            painter.drawText(
                QRectF(0, y, label_w - 6, band),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                row.label,
            )
            bar = max(2.0, band / 2 - 2)
            for j, (value, most, colour, words) in enumerate(
                (
                    (row.cost_usd, most_usd, DOLLARS, f"${row.cost_usd:.4f}"),
                    (row.p50_ttft_s or 0, most_s, WAITING, f"{row.p50_ttft_s or 0:.2f} s"),
                )
            ):
                length = span * value / most
                rect = QRectF(label_w, y + j * (bar + 2) + 1, max(1.0, length), bar)
                painter.fillRect(rect, colour)
                painter.drawText(
                    QRectF(label_w + length + 4, rect.y(), 86, bar),
                    Qt.AlignmentFlag.AlignVCenter,
                    words,
                )
        if report.actual_usd is not None:
            x = label_w + span * report.actual_usd / most_usd
            painter.setPen(QPen(PAID, 2, Qt.PenStyle.DashLine))
            painter.drawLine(int(x), top, int(x), height - bottom)
        painter.end()


class ReplayDialog(QDialog):
    def __init__(self, title: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"What would it have cost: {title}")
        self.resize(900, 640)
        self.progress = plain_label("Replaying…")
        self.sentence = plain_label("")
        self.sentence.setWordWrap(True)
        self.chart = ReplayChart()
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(
            ["Policy", "Dollars", "Median wait", "Worst wait", "Warm-ups and pings"]
        )
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.advice = plain_label("")  # what to follow, and why Cachescope's row cost more
        self.advice.setWordWrap(True)
        self.notes = plain_label("")
        self.notes.setWordWrap(True)
        self.apply_button = QPushButton("Use it for this conversation")
        self.apply_button.setEnabled(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.apply_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.progress)
        layout.addWidget(self.sentence)
        layout.addWidget(
            heading(
                "Dollars (blue) and the median wait for the first token (amber) per policy;"
                " the dashed red line is what you paid"
            )
        )
        layout.addWidget(self.chart, 2)
        layout.addWidget(self.table, 2)
        layout.addWidget(self.advice)
        layout.addWidget(self.notes)
        layout.addWidget(buttons)
        self.best: str | None = None  # the cheapest policy Cachescope can follow here
        self.follow: Following | None = None  # what "Use ..." applies (None: nothing to apply)
        self.yours: dict = {}  # the conversation's settings in force (pattern, ttl, warming, pings)
        self.task = None  # the replay, running off the GUI thread

    async def replay(self, trace, paid: float | None = None, notes: tuple = ()) -> None:
        """Replay ``trace`` under every policy off the GUI thread, with progress, then show it;
        ``paid`` is what the history says was paid, ``notes`` what had to be assumed."""
        loop = asyncio.get_running_loop()

        def progress(done: int, total: int, what: str) -> None:  # on the replay's thread
            loop.call_soon_threadsafe(self.show_progress, done, total, what)

        try:
            report = await asyncio.to_thread(run_all, trace, None, progress)
        except (RuntimeError, ValueError) as exc:
            self.progress.setText(f"The replay failed: {exc}")
            return
        report.actual_usd = paid
        report.notes = [*notes, *report.notes]
        pauses = pauses_of(trace)
        self.show_report(report, report.sentence(pauses), pauses)

    async def replay_calibrated(self, job) -> None:
        """Run ``job(progress)`` off the GUI thread: a calibrated replay
        (``app.replay.calibration.CalibratedReplay``) of what was billed. Its sentence begins
        with how well the replay reproduces the bill; the policies are drawn only where that
        holds."""
        loop = asyncio.get_running_loop()

        def progress(done: int, total: int, what: str) -> None:  # on the replay's thread
            loop.call_soon_threadsafe(self.show_progress, done, total, what)

        try:
            result = await asyncio.to_thread(job, progress)
        except (RuntimeError, ValueError) as exc:
            self.progress.setText(f"The replay failed: {exc}")
            return
        pauses = [p for s in result.segments if s.trace is not None for p in pauses_of(s.trace)]
        if result.report is None:
            self.progress.setText("Replayed the way it was sent; nothing compared.")
            self.sentence.setText(result.sentence(pauses))
            self.notes.setText("\n".join(f"Assumed: {n}" for n in result.notes))
            return
        self.show_report(result.report, result.sentence(pauses), pauses)

    def show_progress(self, done: int, total: int, what: str) -> None:
        self.progress.setText(
            f"Replaying {done + 1 if done < total else total} of {total}: {what}…"
        )

    def show_report(self, report: Report, sentence: str, pauses: list[float] = ()) -> None:
        self.progress.setText(
            f"Replayed {len(report.rows)} policies in simulated time"
            + (f"; you paid ${report.actual_usd:.4f}." if report.actual_usd is not None else ".")
        )
        self.sentence.setText(sentence)
        self.chart.show_report(report)
        self.table.setRowCount(len(report.rows))
        for i, row in enumerate(report.rows):
            cells = [
                row.label,
                "—" if row.cost_usd is None else f"${row.cost_usd:.4f}",
                "—" if row.p50_ttft_s is None else f"{row.p50_ttft_s:.2f} s",
                "—" if row.worst_ttft_s is None else f"{row.worst_ttft_s:.2f} s",
                f"{row.extra_requests}",
            ]
            for j, cell in enumerate(cells):
                item = QTableWidgetItem(cell)
                if row.note:
                    item.setToolTip(plain_tip(row.note))
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
        self.notes.setText("\n".join(f"Assumed: {n}" for n in report.notes))
        self.advice.setText("\n".join([*self._choose(report), *why_ours(report, list(pauses))]))

    def _choose(self, report: Report) -> list[str]:
        """The cheapest policy Cachescope can follow becomes the button's; says so when the
        cheapest of all cannot be followed, and why."""
        rows = report.comparable
        follows = {r.policy: following(r.policy, self.yours) for r in rows}
        said = []
        usable = [r for r in rows if follows[r.policy].followable]
        best = min(usable, key=lambda r: r.cost_usd) if usable else None
        ours = next((r for r in usable if r.policy == "cachescope"), None)
        if ours is not None and best.cost_usd > ours.cost_usd - USD_EPSILON:
            best = ours  # no cheaper by a cent's hundredth: nothing to switch to
        cheapest = min(rows, key=lambda r: r.cost_usd) if rows else None
        beats = best is None or cheapest.cost_usd < best.cost_usd - USD_EPSILON
        if cheapest is not None and not follows[cheapest.policy].followable and beats:
            said.append(
                f"{cheapest.label} would have cost least (${cheapest.cost_usd:.4f}), but"
                f" Cachescope cannot follow it: {follows[cheapest.policy].cannot}."
            )
        self.best = best.policy if best is not None else None
        follow = follows[best.policy] if best is not None else None
        self.follow = follow if follow is not None and changes_needed(follow, self.yours) else None
        self.apply_button.setEnabled(self.follow is not None)
        if best is None:
            self.apply_button.setText("Use it for this conversation")
            return said
        if self.follow is None:
            self.apply_button.setText("Nothing to change")
            said.append(
                f"The cheapest policy Cachescope can follow here is {best.label}"
                f" (${best.cost_usd:.4f}): this conversation's settings already."
            )
            return said
        self.apply_button.setText(f"Use “{best.label}” for this conversation")
        words = follow.words()
        self.apply_button.setToolTip(plain_tip(f"Sets, for this conversation only: {words}."))
        said.append(
            f"The cheapest policy Cachescope can follow here: {best.label} (${best.cost_usd:.4f})."
            f" Using it sets, for this conversation only: {words}."
        )
        return said
