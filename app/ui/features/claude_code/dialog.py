"""File → Open Claude Code sessions: Claude Code's projects and sessions (newest first), and for
the session chosen, each request's read, written 5m / 1h, paid in full, output, cost at its date,
the pause before it and why it missed; the hit rate, reads per write and spend per day; the
misses ranked by cost with a line for every prefix rewritten after a pause; per subagent and per
MCP server. A session still being written updates live (its files' sizes are polled every two
seconds and only their new lines read). Everything comes from ``app.agents.browser``'s Qt-free
model, read and summed on one worker thread of the dialog's own (a 200 MB session takes seconds;
the window never waits for it); nothing is written to Claude Code's folder and nothing is sent
anywhere.

Text from the logs (titles, model names, agent ids) is shown plain: table cells and
``plain_label``s never interpret markup."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from PySide6.QtCore import QAbstractTableModel, Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.agents.browser import ClaudeCodeSessions, Snapshot
from app.ui.widgets.plain import heading, plain_label, plain_tip

POLL_MS = 2000
MISSED = QColor("#c0392b")
REQUEST_COLUMNS = (
    "#",
    "Time",
    "Who",
    "Model",
    "Read",
    "Written 5m",
    "Written 1h",
    "Full",
    "Output",
    "Cost",
    "Pause before",
    "Why it missed",
)


class Rows(QAbstractTableModel):
    """A read-only table of plain rows (tuples of text or numbers); numbers right-aligned and
    written with thousands separators; rows flagged ``red`` drawn in the miss colour."""

    def __init__(self, headers: tuple[str, ...], parent=None):
        super().__init__(parent)
        self.headers = headers
        self.rows: list[tuple] = []
        self.red: set[int] = set()

    def show(self, rows: list[tuple], red: set[int] = frozenset()) -> None:
        self.beginResetModel()
        self.rows, self.red = rows, set(red)
        self.endResetModel()

    def rowCount(self, parent=None):  # noqa: N802 (Qt's name)
        return 0 if parent is not None and parent.isValid() else len(self.rows)

    def columnCount(self, parent=None):  # noqa: N802
        return 0 if parent is not None and parent.isValid() else len(self.headers)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.headers[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        value = self.rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{value:,}" if isinstance(value, int) else str(value)
        if role == Qt.ItemDataRole.ToolTipRole and isinstance(value, str) and len(value) > 30:
            return plain_tip(value)
        if role == Qt.ItemDataRole.TextAlignmentRole and isinstance(value, int):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and index.row() in self.red:
            return MISSED
        return None


def _table(model: Rows) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 6)
    view.setWordWrap(False)  # a long reason is in its tooltip
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    view.setAlternatingRowColors(True)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    view.horizontalHeader().setResizeContentsPrecision(200)  # sized by the first 200 rows
    view.horizontalHeader().setStretchLastSection(True)
    return view


class ClaudeCodeDialog(QDialog):
    def __init__(self, model: ClaudeCodeSessions, parent, spawn):
        """``spawn`` runs a coroutine as a task its owner ends at quit (the workspace's)."""
        super().__init__(parent)
        self.model = model
        self.spawn = spawn
        self.setWindowTitle("Claude Code sessions (read only)")
        self.resize(1180, 720)
        self.where = plain_label(model.where())
        self.where.setWordWrap(True)
        refresh = QPushButton("&Refresh")
        refresh.clicked.connect(self.fill_projects)
        self.project_box = QComboBox()
        self.project_box.currentIndexChanged.connect(self.fill_sessions)
        self.session_list = QListWidget()
        self.session_list.currentRowChanged.connect(self.open_session)
        self.summary = plain_label("Choose a session.")
        self.summary.setWordWrap(True)
        self.live = plain_label("")
        self.requests = Rows(REQUEST_COLUMNS, self)
        self.days = Rows(("Day", "Requests", "Hit rate", "Spent", "Misses cost"), self)
        self.misses = Rows(("Cost", "Request", "Who", "Why", "Tokens"), self)
        self.agents = Rows(
            ("Thread", "Requests", "Hit rate", "Reads per write", "Spent", "Misses cost"), self
        )
        self.servers = Rows(
            ("MCP server", "Tool uses", "Requests with its results", "Their cost", "Misses cost"),
            self,
        )
        self.rewrites = QListWidget()
        self.notes = plain_label("")
        self.notes.setWordWrap(True)
        self.tabs = QTabWidget()
        self.tabs.addTab(_table(self.requests), "Requests")
        self.tabs.addTab(_table(self.days), "Per day")
        self.tabs.addTab(self._misses_tab(), "Misses")
        self.tabs.addTab(self._attribution_tab(), "Subagents and MCP servers")
        self.replay_button = QPushButton("What would it have &cost…")
        self.replay_button.setToolTip(
            "This session replayed the way Claude Code sent it, then under every caching policy,"
            " where that replay reproduces what was billed"
        )
        self.replay_button.clicked.connect(self.replay)
        self.replay_button.setEnabled(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.replay_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)

        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(heading("Project"))
        column.addWidget(self.project_box)
        column.addWidget(heading("Sessions, newest first"))
        column.addWidget(self.session_list, 1)
        right = QWidget()
        detail = QVBoxLayout(right)
        detail.setContentsMargins(0, 0, 0, 0)
        detail.addWidget(self.summary)
        detail.addWidget(self.live)
        detail.addWidget(self.tabs, 1)
        detail.addWidget(self.notes)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 3)
        split.setSizes([260, 920])
        top = QHBoxLayout()
        top.addWidget(self.where, 1)
        top.addWidget(refresh)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        layout.addWidget(buttons)
        self.timer = QTimer(self, interval=POLL_MS)
        self.timer.timeout.connect(self.poll)
        # The model is read on this one thread only, one job at a time, for the dialog's life.
        self.worker = ThreadPoolExecutor(1, thread_name_prefix="claude-code")
        worker = self.worker
        self.destroyed.connect(lambda *_: worker.shutdown(wait=False, cancel_futures=True))
        self.task: asyncio.Task | None = None
        self.finished.connect(lambda _: self.stop())
        self.fill_projects()

    def stop(self) -> None:
        """Closed: no more polls, and what a job under way reads is not shown."""
        self.timer.stop()
        if self.task is not None:
            self.task.cancel()

    def _off_thread(self, job, then) -> None:
        """Run ``job`` on the worker, then ``then(result)`` here; one job at a time."""

        async def run():
            result = await asyncio.get_running_loop().run_in_executor(self.worker, job)
            then(result)

        self.task = self.spawn(run())

    def _misses_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addWidget(_table(self.misses), 2)
        layout.addWidget(heading("Prefixes written again after a pause, against a keep-alive"))
        layout.addWidget(self.rewrites, 1)
        return tab

    def _attribution_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addWidget(heading("The session itself and each subagent"))
        layout.addWidget(_table(self.agents), 1)
        layout.addWidget(heading("MCP servers (mcp__SERVER__TOOL): the requests carrying results"))
        layout.addWidget(_table(self.servers), 1)
        return tab

    # -- listing ---------------------------------------------------------------------------------
    def fill_projects(self) -> None:
        self.found = self.model.projects()
        self.project_box.blockSignals(True)
        self.project_box.clear()
        for project in self.found:
            self.project_box.addItem(project.name)
            self.project_box.setItemData(
                self.project_box.count() - 1,
                plain_tip(str(project.folder)),
                Qt.ItemDataRole.ToolTipRole,
            )
        self.project_box.blockSignals(False)
        self.fill_sessions(0)

    def fill_sessions(self, index: int) -> None:
        self.session_list.blockSignals(True)
        self.session_list.clear()
        self.listed = self.model.sessions(self.found[index]) if 0 <= index < len(self.found) else []
        for found in self.listed:
            title = self.model.title(found)
            when = self.model.when(found.modified)
            count = len(found.subagents)
            extra = f" + {count} subagent{'s' if count > 1 else ''}" if count else ""
            item = QListWidgetItem(f"{title}\n{when} · {found.size / 1e6:.1f} MB{extra}")
            item.setToolTip(plain_tip(str(found.path)))
            self.session_list.addItem(item)
        self.session_list.blockSignals(False)
        if not self.listed:
            self.summary.setText("No session in this project." if self.found else self.empty())

    def empty(self) -> str:
        """What the dialog says when it finds no session at all, naming where it looked."""
        if not self.model.configs:
            return self.model.where()
        return (
            f"No Claude Code sessions in {' or '.join(self.model.folders())}: they appear here"
            " once Claude Code has run in a project (Refresh looks again)."
        )

    # -- the open session ------------------------------------------------------------------------
    def open_session(self, row: int) -> None:
        if not 0 <= row < len(self.listed):
            return
        path = self.listed[row].path
        self.timer.stop()
        if self.task is not None:
            self.task.cancel()
        self.summary.setText(f"Reading {self.listed[row].size / 1e6:.1f} MB…")
        self.live.setText("")

        def read() -> Snapshot:
            self.model.open(path)
            return self.model.snapshot()

        def shown(snapshot: Snapshot) -> None:
            self.show_snapshot(snapshot)
            self.timer.start()

        self._off_thread(read, shown)

    def poll(self) -> None:
        """Read what the open session gained (on the worker); redraw if anything did."""
        if self.task is not None and not self.task.done():
            return

        def read() -> Snapshot | None:
            return self.model.snapshot() if self.model.poll() else None

        def shown(snapshot: Snapshot | None) -> None:
            if snapshot is not None:
                self.show_snapshot(snapshot)
                self.live.setText("Updated live: the session is still being written.")

        self._off_thread(read, shown)

    def show_snapshot(self, snap: Snapshot) -> None:
        self.summary.setText(snap.summary)
        self.requests.show(snap.requests, snap.missed)
        self.days.show(snap.days)
        self.misses.show(snap.misses)
        self.agents.show(snap.agents)
        self.servers.show(snap.servers)
        self.rewrites.clear()
        self.rewrites.addItems(
            snap.rewrites or ["None: no prefix was written again after a pause."]
        )
        self.notes.setText("\n".join(snap.notes))
        self.replay_button.setEnabled(bool(snap.requests))

    # -- what would it have cost -----------------------------------------------------------------
    def replay(self):
        """The open session replayed: calibrated against what Claude Code was billed, then
        under every policy where that holds (``app.replay.calibration``), off the GUI thread."""
        from app.replay.billed import CLAUDE_CODE
        from app.replay.calibration import replay_runs
        from app.ui.widgets.replay_dialog import ReplayDialog

        run = self.model.run
        if run is None:
            return None
        dialog = ReplayDialog(run.name, self)
        dialog.apply_button.hide()  # Claude Code's settings are not this app's to change
        dialog.open()

        def job(progress):
            return replay_runs([run], None, CLAUDE_CODE, progress=progress)

        dialog.task = self.spawn(dialog.replay_calibrated(job))
        return dialog
