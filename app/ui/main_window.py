"""The main window: wires the toolbar, the conversation pane, the composer and the sidebar to the
engine. It decides nothing itself: the core and the engine do."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QLabel,
    QMainWindow,
    QSpinBox,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.caching.ledger import Usage
from app.caching.strategies import STRATEGIES, CacheSettings
from app.engine import events as ev
from app.engine.engine import Engine
from app.engine.session import Session
from app.ui.composer import Composer
from app.ui.conversation_view import ConversationView
from app.ui.sidebar import UsageSidebar

APP_ID = "io.github.cachescope.Cachescope"


class MainWindow(QMainWindow):
    turn_finished = Signal()

    def __init__(self, engine: Engine, session: Session, mode: str):
        super().__init__()
        self.engine = engine
        self.session = session
        self.turn_task: asyncio.Task | None = None
        self.setWindowTitle("Cachescope")
        self.resize(1280, 820)
        self.view = ConversationView()
        self.composer = Composer()
        self.sidebar = UsageSidebar()
        self.badge = QLabel(mode)
        self.badge.setObjectName("modeBadge")
        self.badge.setStyleSheet(
            "QLabel#modeBadge { padding: 3px 8px; border-radius: 8px;"
            " background: #f0ad4e; color: black; }"
            if "simulator" in mode.lower()
            else "QLabel#modeBadge { padding: 3px 8px; border-radius: 8px;"
            " background: #5cb85c; color: black; }"
        )
        self.status_label = QLabel("")
        self._build_toolbar()
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(6, 6, 6, 6)
        column.addWidget(self.view, 1)
        column.addWidget(self.composer)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.sidebar)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        self.setCentralWidget(splitter)
        self.statusBar().addWidget(self.status_label, 1)
        self.composer.send_requested.connect(self.send)
        self.composer.stop_requested.connect(self.stop)
        self.composer.activity.connect(self._draft_activity)
        self.composer.attachments_changed.connect(self._draft_activity)
        stop = QAction("Stop reply", self)
        stop.setShortcut(QKeySequence("Esc"))
        stop.triggered.connect(self.stop)
        self.addAction(stop)
        engine.subscribe(self._on_event)
        self._clock = QTimer(self)
        self._clock.timeout.connect(self._tick)
        self._clock.start(1000)
        self.view.show_conversation(session.conversation)
        self.sidebar.show_totals(session.totals)
        self.sidebar.show_entries(engine.ledger)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Caching")
        bar.setMovable(False)
        self.addToolBar(bar)
        self.model_box = QComboBox()
        for model in self.engine.catalogue.models:
            self.model_box.addItem(model.display_name, model.id)
        self.model_box.setCurrentIndex(
            max(
                0,
                self.model_box.findData(
                    self.engine.catalogue.require(self.session.conversation.model).id
                ),
            )
        )
        self.model_box.currentIndexChanged.connect(self._model_changed)
        self.pattern_box = QComboBox()
        for strategy in STRATEGIES.values():
            self.pattern_box.addItem(strategy.label, strategy.name)
            self.pattern_box.setItemData(
                self.pattern_box.count() - 1, strategy.explanation, Qt.ItemDataRole.ToolTipRole
            )
        self.pattern_box.setCurrentIndex(self.pattern_box.findData(self.engine.settings.strategy))
        self.pattern_box.currentIndexChanged.connect(self._pattern_changed)
        self.ttl_box = QComboBox()
        for ttl in ("5m", "1h", "adaptive"):
            self.ttl_box.addItem(ttl, ttl)
        self.ttl_box.setCurrentIndex(self.ttl_box.findData(self.engine.settings.cache.ttl))
        self.ttl_box.currentIndexChanged.connect(self._ttl_changed)
        self.warm_box = QCheckBox("Warm while typing")
        self.warm_box.setChecked(self.engine.settings.warming)
        self.warm_box.toggled.connect(lambda on: setattr(self.engine.settings, "warming", on))
        self.pings = QSpinBox()
        self.pings.setRange(0, 12)
        self.pings.setValue(self.engine.settings.keepalive_pings)
        self.pings.setToolTip("Keep-alive pings after each turn")
        self.pings.valueChanged.connect(
            lambda n: setattr(self.engine.settings, "keepalive_pings", n)
        )
        for label, widget in (
            ("Model", self.model_box),
            ("Pattern", self.pattern_box),
            ("TTL", self.ttl_box),
        ):
            bar.addWidget(QLabel(f" {label} "))
            bar.addWidget(widget)
        bar.addSeparator()
        bar.addWidget(self.warm_box)
        bar.addWidget(QLabel(" Keep-alive "))
        bar.addWidget(self.pings)
        spacer = QWidget()
        spacer.setSizePolicy(
            spacer.sizePolicy().horizontalPolicy().Expanding, spacer.sizePolicy().verticalPolicy()
        )
        bar.addWidget(spacer)
        bar.addWidget(self.badge)

    # -- toolbar --------------------------------------------------------------------------------
    def _model_changed(self) -> None:
        self.session.conversation.model = self.model_box.currentData()

    def _pattern_changed(self) -> None:
        self.engine.settings.strategy = self.pattern_box.currentData()
        self._refresh_markers()

    def _ttl_changed(self) -> None:
        self.engine.settings.cache = CacheSettings(ttl=self.ttl_box.currentData())

    def _refresh_markers(self) -> None:
        """Show where the selected pattern would put the breakpoints of the next request."""
        conv = self.session.conversation
        if conv.messages:
            built = self.engine.builder.build(
                conv, self.engine.settings.strategy, self.engine.settings.cache
            )
            self.view.set_cache_view(built, None)
            self.view.show_conversation(conv)

    # -- sending --------------------------------------------------------------------------------
    def send(self) -> None:
        if self.turn_task is not None and not self.turn_task.done():
            return
        text = self.composer.text()
        images = list(self.composer.attachments)
        if not text and not images:
            self.status_label.setText("Type a message or attach an image first.")
            return
        self.session.conversation.add_user_text(text, *images, created_at=self.engine.clock())
        self.composer.clear()
        self.view.show_conversation(self.session.conversation)
        self.view.begin_reply()
        self.composer.set_streaming(True)
        self.turn_task = self.engine.start_turn(self.session)
        self.turn_task.add_done_callback(self._turn_done)

    def stop(self) -> None:
        if self.turn_task is not None and not self.turn_task.done():
            self.turn_task.cancel()

    def _turn_done(self, task: asyncio.Task) -> None:
        self.composer.set_streaming(False)
        self.view.show_conversation(self.session.conversation)
        self.sidebar.show_totals(self.session.totals)
        self.sidebar.show_entries(self.engine.ledger)
        if task.cancelled():
            self.status_label.setText("Stopped. The partial reply is kept.")
        self.turn_finished.emit()

    def _draft_activity(self) -> None:
        self.engine.draft_activity(self.session, tuple(self.composer.attachments))

    # -- engine events --------------------------------------------------------------------------
    def _on_event(self, event: ev.Event) -> None:
        if getattr(event, "conversation_id", None) != self.session.id:
            return
        if isinstance(event, ev.TextDelta):
            self.view.append_delta(event.text)
        elif isinstance(event, ev.RequestBuilt) and event.kind == "warm":
            self.composer.warm_label.setText("cache: warming…")
        elif isinstance(event, ev.UsageReported):
            if event.kind == "turn":
                self.view.set_cache_view(self.session.last_turn, event.usage)
            self._tick()
        elif isinstance(event, ev.Finished) and event.kind != "turn":
            self.sidebar.show_totals(self.session.totals)
        elif isinstance(event, ev.Failed):
            prefix = "" if event.kind == "turn" else f"{event.kind} (quiet): "
            self.status_label.setText(prefix + event.failure.message)
        elif isinstance(event, ev.WarmSkipped) and event.reason != "already warm":
            self.composer.warm_label.setText(f"cache: not warmed ({event.reason})")
        elif isinstance(event, ev.ToolRan):
            self.status_label.setText(f"Ran {event.name}: {event.result[:80]}")

    def _tick(self) -> None:
        """Once a second: countdowns and the warm indicator."""
        self.sidebar.show_entries(self.engine.ledger)
        if self.session.warm_tasks:
            self.composer.warm_label.setText("cache: warming…")
            return
        built = self.session.last_request  # what was cached last; no build per tick
        best = self.engine.ledger.longest_live(built) if built is not None else None
        if best is not None:
            left = int(best.expires_at - self.engine.clock())
            self.composer.warm_label.setText(
                f"cache: warm, {best.tokens:,} tokens, {left // 60}:{left % 60:02d} left"
            )
        else:
            self.composer.warm_label.setText("cache: idle")

    def last_usage(self) -> Usage | None:
        turns = [r for r in self.session.totals.records if r.kind == "turn"]
        return turns[-1].usage if turns else None
