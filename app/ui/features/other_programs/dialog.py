"""View → Other programs: the inspector's endpoint run from the window. Programs pointed at it
(``ANTHROPIC_BASE_URL=http://127.0.0.1:PORT``) reach the API, or the simulator the app uses, as
before; each of their requests appears here live with what it read, wrote and paid, the prediction,
the reason for a miss, its session, and its blocks drawn as the cache inspector draws them.

"Keep idle programs' caches warm" (off by default) runs the endpoint with the inspector's
keep-alive (``app.inspect.keepalive``): pings billed to each program's own key, within the cap
in dollars an hour; each ping, each stop and each rewrite after a pause is a row."""

from __future__ import annotations

import json
import shutil
import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from app.facts.catalogue import Catalogue
from app.facts.redact import redact
from app.inspect.keepalive import CAP_USD_PER_HOUR, KeepAlive
from app.inspect.lines import VIEW_LINES, LineStore
from app.inspect.observer import Observer
from app.inspect.proxy import InspectProxy
from app.replay.trace import TraceError, from_requests
from app.simulator.runner import ServerThread
from app.ui.widgets.inspector import PrefixStrip
from app.ui.widgets.plain import heading, plain_label, plain_tip
from app.ui.widgets.replay_dialog import ReplayDialog

COLUMNS = (
    "Request",
    "Model",
    "Kind",
    "Read",
    "Predicted",
    "Written 5m / 1h",
    "Full",
    "Cost",
    "Why",
)


class OtherProgramsDialog(QDialog):
    def __init__(
        self,
        upstream: str,
        catalogue: Catalogue,
        parent=None,
        keep_in=None,
        spawn=None,
        clock=time.time,
    ):
        """``keep_in``: a folder where each run's lines are kept when it stops (the history's
        ``captured/``; None: only saved on request); ``spawn`` runs a replay as a task its owner
        ends at quit; ``clock``: the inspector's (the ledger's and the keep-alive's) time."""
        super().__init__(parent)
        self.clock = clock
        self.spawn = spawn
        self.keep_in = keep_in
        self.setWindowTitle("Other programs: their requests through the inspector")
        self.resize(1000, 620)
        self.upstream, self.catalogue = upstream, catalogue
        self.server: ServerThread | None = None
        self.proxy: InspectProxy | None = None
        self.shown = 0  # lines added to the table so far (it keeps the last VIEW_LINES)
        self.row_ids: list[str] = []  # the line id of each row
        self.port = QSpinBox()
        self.port.setRange(0, 65535)
        self.port.setValue(8788)
        self.port.setToolTip("0 picks a free port")
        self.keep_warm = QCheckBox("&Keep idle programs' caches warm")
        self.keep_warm.setToolTip(
            "Pings each idle session's cached prefix shortly before it expires, when the rewrite"
            " it spares is worth more than the ping (the app's rule); billed to that program's"
            " own key, which is held in memory for the pings only"
        )
        self.cap = QDoubleSpinBox()
        self.cap.setRange(0.0, 1000.0)
        self.cap.setDecimals(2)
        self.cap.setPrefix("at most $")
        self.cap.setSuffix(" an hour")
        self.cap.setValue(CAP_USD_PER_HOUR)
        self.cap.setToolTip("What the pings may cost an hour, over all sessions")
        self.start_button = QPushButton("&Start")
        self.start_button.clicked.connect(self.toggle)
        self.status = plain_label(f"Stopped. Requests will go to {redact(upstream)}.")
        self.status.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.itemSelectionChanged.connect(self._show_selected)
        self.strip = PrefixStrip()
        self.pick = plain_label("")  # "select a request" while none is
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
        row.addWidget(self.keep_warm)
        row.addWidget(self.cap)
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
        layout.addWidget(self.pick)
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
        path = None
        if self.keep_in is not None:  # every line, as it comes: the table keeps the last ones
            path = self.keep_in / time.strftime("%Y-%m-%d-%H%M%S.jsonl")
        observer = Observer(self.catalogue, clock=self.clock)
        keepalive = KeepAlive(observer, self.cap.value()) if self.keep_warm.isChecked() else None
        self.proxy = InspectProxy(
            self.upstream, observer, lines=LineStore(VIEW_LINES, path), keepalive=keepalive
        )
        self.shown, self.row_ids = 0, []
        self.table.setRowCount(0)
        try:
            self.server = ServerThread(self.proxy.make_app, port=self.port.value()).start()
        except RuntimeError as exc:
            self.server = None
            self.status.setText(f"Could not start: {exc}")
            return
        url = self.server.base_url
        said = f"; {keepalive.describe()}" if keepalive is not None else ""
        self.status.setText(
            f"Listening: point programs at ANTHROPIC_BASE_URL={url} (→ {redact(self.upstream)})"
            + said
        )
        self.start_button.setText("&Stop")
        self.keep_warm.setEnabled(False)
        self.cap.setEnabled(False)
        self.timer.start()

    def stop(self) -> None:
        if self.server is None:
            return
        self.timer.stop()
        self.server.stop()
        self.server = None
        self.refresh()
        kept = self._keep()
        self.status.setText(f"Stopped{kept}. Requests will go to {redact(self.upstream)}.")
        self.start_button.setText("&Start")
        self.keep_warm.setEnabled(True)
        self.cap.setEnabled(True)

    def refresh(self) -> None:
        """New lines into the table (the last ``VIEW_LINES`` of them), and the sessions with
        their live entries' time left, counting down on every tick."""
        if self.proxy is None:
            return
        self.sessions.setText("\n".join(self.proxy.observer.summaries()))
        store = self.proxy.lines
        fresh = store.total - self.shown
        if fresh:
            for line in store.recent()[-min(fresh, VIEW_LINES) :]:
                self._add_row(line)
            self.shown = store.total
            extra = self.table.rowCount() - VIEW_LINES
            if extra > 0:
                for _ in range(extra):
                    self.table.removeRow(0)
                del self.row_ids[:extra]
            self.table.resizeColumnsToContents()
        chosen = self.table.selectionModel().selectedRows()
        self.pick.setText(
            "" if chosen or not self.row_ids else "Select a request to see its blocks."
        )

    def _add_row(self, line) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.row_ids.append(line.id)
        cost = "unknown" if line.cost_usd is None else f"${line.cost_usd:.4f}"
        said = (line.reason, line.miss_reason, line.server_miss_reason, line.rewrite, line.note)
        why = "; ".join(x for x in said if x)
        if line.kind == "failed":
            why = "; ".join(x for x in (line.error, line.reason, line.note) if x)
        numbers = (
            f"{line.read:,}",
            f"{line.predicted_read:,}",
            f"{line.written_5m:,} / {line.written_1h:,}",
            f"{line.uncached:,}",
            cost,
        )
        kind = line.kind
        if line.kind == "failed":  # a failure, with its status: no turn's numbers
            kind, numbers = f"failed ({line.status or 'no response'})", ("–",) * 5
        elif line.kind == "keep-alive":  # no request: why a session is no longer kept warm
            numbers = ("–",) * 5
        elif not line.figures_known:  # a 200 whose usage could not be read (the note says why)
            numbers = ("–", numbers[1], "–", "–", "unknown")
        cells = (line.id, line.model, kind, *numbers, why)
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setToolTip(plain_tip(text))
            self.table.setItem(row, column, item)

    def _selected_id(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.row_ids):
            return None
        return self.row_ids[rows[0].row()]

    def _show_selected(self) -> None:
        chosen = self._selected_id()
        if chosen is None or self.proxy is None:
            return
        self.pick.setText("")
        found = self.proxy.observer.block_map(chosen)
        if found is not None:
            self.strip.show_prefix(*found)
        else:
            self.pick.setText("The blocks of this request are not kept (only the last 200).")

    def replay_selected(self) -> ReplayDialog | None:
        """What the selected request's session would have cost under every policy, replayed
        off the GUI thread (the app's own replay, ``app.replay``)."""
        lines = self.proxy.lines.recent() if self.proxy is not None else []
        if not lines:
            self.status.setText("Nothing captured yet.")
            return None
        chosen = self._selected_id()
        line = next((x for x in lines if x.id == chosen), lines[-1])
        found = self.proxy.observer.captured().get(line.session)
        if found is None:
            self.status.setText("Nothing to replay: that request's session was not read.")
            return None
        model, turns = found
        requests = [
            (t.started, t.tools_tokens, t.system_tokens, t.total_tokens, t.output) for t in turns
        ]
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
        """Where this run's lines were kept, as they came (no key in them)."""
        store = self.proxy.lines if self.proxy is not None else None
        if store is None or store.path is None or not store.total:
            return ""
        if store.problem:
            return f" ({store.problem})"
        return f"; {store.total} lines kept in {store.path}"

    def save(self) -> None:
        """The lines as JSON, one per request (no key: only its hash is ever seen here): every
        line of the run when they were kept as they came, else the table's."""
        store = self.proxy.lines if self.proxy is not None else None
        if store is None or not store.total:
            self.status.setText("Nothing to save yet.")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save the lines", "inspected.jsonl")
        if not path:
            return
        try:
            if store.path is not None and store.path.exists() and not store.problem:
                shutil.copyfile(store.path, path)
                count = store.total
            else:
                lines = store.recent()
                with open(path, "w", encoding="utf-8") as fh:
                    fh.writelines(json.dumps(line.as_dict()) + "\n" for line in lines)
                count = len(lines)
        except OSError as exc:
            self.status.setText(f"Not saved: {exc.strerror or exc} ({path}).")
            return
        self.status.setText(f"Saved {count} lines to {path}.")
