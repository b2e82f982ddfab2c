"""View → Other programs: the inspector's endpoint run from the window. Programs pointed at it
(``ANTHROPIC_BASE_URL=http://127.0.0.1:PORT``) reach the API, or the simulator the app uses, as
before; each of their requests appears here live with what it read, wrote and paid, the prediction,
the reason for a miss, its session, and its blocks drawn as the cache inspector draws them."""

from __future__ import annotations

import json
import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from app.facts.catalogue import Catalogue
from app.inspect.observer import Observer
from app.inspect.proxy import InspectProxy
from app.replay.trace import TraceError, from_requests
from app.simulator.runner import ServerThread
from app.ui.widgets.inspector import PrefixStrip
from app.ui.widgets.plain import heading, plain_label, plain_tip
from app.ui.widgets.replay_dialog import ReplayDialog

COLUMNS = ("Request", "Model", "Kind", "Read", "Predicted", "Written", "Full", "Cost", "Why")


class OtherProgramsDialog(QDialog):
    def __init__(self, upstream: str, catalogue: Catalogue, parent=None, keep_in=None, spawn=None):
        """``keep_in``: a folder where each run's lines are kept when it stops (the history's
        ``captured/``; None: only saved on request); ``spawn`` runs a replay as a task its owner
        ends at quit."""
        super().__init__(parent)
        self.spawn = spawn
        self.keep_in = keep_in
        self.setWindowTitle("Other programs: their requests through the inspector")
        self.resize(1000, 620)
        self.upstream, self.catalogue = upstream, catalogue
        self.server: ServerThread | None = None
        self.proxy: InspectProxy | None = None
        self.port = QSpinBox()
        self.port.setRange(0, 65535)
        self.port.setValue(8788)
        self.port.setToolTip("0 picks a free port")
        self.start_button = QPushButton("&Start")
        self.start_button.clicked.connect(self.toggle)
        self.status = plain_label(f"Stopped. Requests will go to {upstream}.")
        self.status.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.itemSelectionChanged.connect(self._show_selected)
        self.strip = PrefixStrip()
        self.sessions = plain_label("")
        self.sessions.setWordWrap(True)
        self.save_button = QPushButton("Save the lines…")
        self.save_button.clicked.connect(self.save)
        self.replay_button = QPushButton("What would it have &cost…")
        self.replay_button.setToolTip(
            "The selected request's session replayed under every caching policy (an"
            " approximation: the same token counts and pauses, generated content)"
        )
        self.replay_button.clicked.connect(self.replay_selected)
        self.replay: ReplayDialog | None = None
        row = QHBoxLayout()
        row.addWidget(plain_label("Port"))
        row.addWidget(self.port)
        row.addWidget(self.start_button)
        row.addWidget(self.status, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.replay_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.table, 2)
        layout.addWidget(heading("The selected request's blocks"))
        layout.addWidget(self.strip)
        layout.addWidget(heading("Sessions (a key and a model)"))
        layout.addWidget(self.sessions)
        layout.addWidget(buttons)
        self.timer = QTimer(self, interval=500)
        self.timer.timeout.connect(self.refresh)
        self.finished.connect(lambda _: self.stop())

    def toggle(self) -> None:
        self.stop() if self.server is not None else self.start()

    def start(self) -> None:
        self.proxy = InspectProxy(self.upstream, Observer(self.catalogue))
        try:
            self.server = ServerThread(self.proxy.make_app, port=self.port.value()).start()
        except RuntimeError as exc:
            self.server = None
            self.status.setText(f"Could not start: {exc}")
            return
        url = self.server.base_url
        self.status.setText(
            f"Listening: point programs at ANTHROPIC_BASE_URL={url} (→ {self.upstream})"
        )
        self.start_button.setText("&Stop")
        self.timer.start()

    def stop(self) -> None:
        if self.server is None:
            return
        self.timer.stop()
        self.server.stop()
        self.server = None
        self.refresh()
        kept = self._keep()
        self.status.setText(f"Stopped{kept}. Requests will go to {self.upstream}.")
        self.start_button.setText("&Start")

    def refresh(self) -> None:
        if self.proxy is None:
            return
        lines = list(self.proxy.lines)
        if len(lines) == self.table.rowCount():
            return
        for line in lines[self.table.rowCount() :]:
            row = self.table.rowCount()
            self.table.insertRow(row)
            cost = "unknown" if line.cost_usd is None else f"${line.cost_usd:.4f}"
            why = "; ".join(x for x in (line.miss_reason, line.server_miss_reason) if x)
            cells = (
                line.id,
                line.model,
                line.kind,
                f"{line.read:,}",
                f"{line.predicted_read:,}",
                f"{line.written_5m + line.written_1h:,}",
                f"{line.uncached:,}",
                cost,
                why,
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(plain_tip(text))
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self.sessions.setText("\n".join(self.proxy.observer.summaries()))

    def _show_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or self.proxy is None:
            return
        found = self.proxy.observer.maps.get(self.proxy.lines[rows[0].row()].id)
        if found is not None:
            self.strip.show_prefix(*found)

    def replay_selected(self) -> ReplayDialog | None:
        """What the selected request's session would have cost under every policy, replayed
        off the GUI thread (the app's own replay, ``app.replay``)."""
        if self.proxy is None or not self.proxy.lines:
            self.status.setText("Nothing captured yet.")
            return None
        rows = self.table.selectionModel().selectedRows()
        line = self.proxy.lines[rows[0].row() if rows else -1]
        model, requests = self.proxy.observer.captured()[line.session]
        try:
            trace = from_requests(f"{line.session} ({model})", model, requests)
        except TraceError as exc:
            self.status.setText(f"Nothing to replay: {exc}")
            return None
        dialog = ReplayDialog(f"session {line.session}", self)
        dialog.apply_button.hide()  # another program's settings are not this app's to change
        dialog.open()
        self.replay = dialog
        note = ("content generated to the captured token counts and pauses",)
        dialog.task = self.spawn(dialog.replay(trace, None, note))
        return dialog

    def _keep(self) -> str:
        """This run's lines into the history's folder of captured sessions (no key in them)."""
        if self.keep_in is None or self.proxy is None or not self.proxy.lines:
            return ""
        path = self.keep_in / time.strftime("%Y-%m-%d-%H%M%S.jsonl")
        try:
            self.keep_in.mkdir(parents=True, exist_ok=True)
            self._write(path)
        except OSError as exc:
            return f" (the lines could not be kept: {exc.strerror or exc})"
        return f"; {len(self.proxy.lines)} lines kept in {path}"

    def _write(self, path) -> None:
        with open(path, "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(line.as_dict()) + "\n" for line in self.proxy.lines)

    def save(self) -> None:
        """The lines as JSON, one per request (no key: only its hash is ever seen here)."""
        if self.proxy is None or not self.proxy.lines:
            self.status.setText("Nothing to save yet.")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save the lines", "inspected.jsonl")
        if path:
            try:
                self._write(path)
            except OSError as exc:
                self.status.setText(f"Not saved: {exc.strerror or exc} ({path}).")
                return
            self.status.setText(f"Saved {len(self.proxy.lines)} lines to {path}.")
