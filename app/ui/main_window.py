"""The main window: wires the toolbar, the conversation pane, the composer, the sidebar and the
inspector to the engine. It decides nothing itself: the core and the engine do."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDockWidget,
    QMainWindow,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.caching.costs import Kind
from app.caching.ledger import Usage
from app.engine import events as ev
from app.engine.engine import Engine
from app.engine.feed import SessionFeed
from app.engine.session import Session
from app.engine.settings_model import SettingsModel
from app.engine.warm_status import WarmStatus
from app.storage.preferences import Preferences
from app.ui.appearance import apply_appearance, next_appearance
from app.ui.composer import Composer
from app.ui.conversation_view import ConversationView
from app.ui.geometry import PREFERRED, default_size
from app.ui.inspector import Inspector
from app.ui.menus import MENUS, MenuEntry, add_entries
from app.ui.plain import plain_label, plain_tip
from app.ui.shortcuts_dialog import ShortcutsDialog, shortcut_rows
from app.ui.sidebar import UsageSidebar
from app.ui.toolbar import CachingToolbar
from app.ui.window_claude import ClaudeFeatures
from app.ui.window_messages import MessageCommands
from app.ui.window_settings import SettingsDialogs

APP_ID = "io.github.cachescope.Cachescope"
INSPECTOR_HEIGHT = 330


class MainWindow(MessageCommands, SettingsDialogs, ClaudeFeatures, QMainWindow):
    turn_finished = Signal()

    def __init__(
        self, engine: Engine, session: Session, mode: str, prefs: Preferences | None = None
    ):
        super().__init__()
        self.engine = engine
        self.session = session
        # Pattern, TTL, warming and keep-alive: read and written only through this model.
        self.settings = SettingsModel(engine.settings, prefs or Preferences(), self._save_prefs)
        self.settings.conversation = session.conversation
        self.turn_task: asyncio.Task | None = None
        self.tasks: set[asyncio.Task] = set()
        self.library = None  # the history (app.ui.library), when there is one
        self.ready = asyncio.Event()  # set once the engine has its API client
        self.feed = SessionFeed(engine, session.id)  # the engine's events about this conversation
        self.warm = WarmStatus()
        if engine.client is not None:
            self.ready.set()
        self.setWindowTitle("Cachescope")
        screen = QGuiApplication.primaryScreen()
        self.resize(default_size(screen.availableGeometry()) if screen else PREFERRED)
        self.view = ConversationView()
        self.composer = Composer()
        self.composer.edit.set_enter_sends(self.prefs.enter_sends)
        self.sidebar = UsageSidebar()
        self.inspector = Inspector()
        self.status_label = plain_label("")
        self._build_toolbar()
        self.set_mode(mode)
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(6, 6, 6, 6)
        column.addWidget(self.view, 1)
        column.addWidget(self.composer)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        side = QScrollArea()  # lets the window give the inspector room on small screens
        side.setWidget(self.sidebar)
        side.setWidgetResizable(True)
        side.setFrameShape(QScrollArea.Shape.NoFrame)
        side.setMinimumWidth(300)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        self.setCentralWidget(splitter)
        self.inspector_dock = QDockWidget("Cache inspector", self)
        self.inspector_dock.setObjectName("inspectorDock")
        self.inspector_dock.setWidget(self.inspector)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.inspector_dock)
        self.inspector_dock.hide()
        self.inspector_dock.visibilityChanged.connect(self._inspector_shown)
        self.statusBar().addWidget(self.status_label, 1)
        self.install_tools(None)
        self._build_menus()
        self.composer.send_requested.connect(self.send)
        self.composer.stop_requested.connect(self.stop)
        self.composer.activity.connect(self._draft_activity)
        self.composer.attachments_changed.connect(self._draft_activity)
        self.view.link_refused.connect(
            lambda url: self.notify(f"Not opened (only http and https links): {url}")
        )
        view = self.view
        view.pin_requested.connect(self.pin_message)
        view.edit_requested.connect(self.edit_message)
        view.image_requested.connect(self.show_image)
        view.regenerate_requested.connect(self.regenerate)
        view.retry_requested.connect(self.regenerate)
        view.cancel_edit_requested.connect(self.cancel_edit)
        view.attach_requested.connect(self.composer.pick)
        view.said.connect(self.notify)
        # Each widget hears the events of the conversation on screen; the window only wires.
        for listener in (
            self.view.on_event,
            self.sidebar.on_event,
            self.inspector.on_event,
            self.warm.on_event,
            self._on_event,
        ):
            self.feed.subscribe(listener)
        self.warm.subscribe(self.composer.show_warm)
        self._clock = QTimer(self)
        self._clock.timeout.connect(self._tick)
        self._clock.start(1000)
        self.show_session()

    # -- building -------------------------------------------------------------------------------
    def _build_toolbar(self) -> None:
        bar = CachingToolbar(self.engine.settings, self)
        self.addToolBar(bar)
        self.toolbar = bar
        self.model_box, self.pattern_box, self.ttl_box = bar.model_box, bar.pattern_box, bar.ttl_box
        self.warm_box, self.pings, self.badge = bar.warm_box, bar.pings, bar.badge
        self._fill_models([m.id for m in self.engine.catalogue.models])
        self.model_box.currentIndexChanged.connect(self._model_changed)
        self.pattern_box.currentIndexChanged.connect(
            lambda: self.settings.set_pattern(self.pattern_box.currentData())
        )
        self.ttl_box.currentIndexChanged.connect(
            lambda: self.settings.set_ttl(self.ttl_box.currentData())
        )
        self.warm_box.toggled.connect(self.settings.set_warming)
        self.pings.valueChanged.connect(self.settings.set_pings)
        self.settings.subscribe(self._settings_changed)

    def _build_menus(self) -> None:
        self.menus = {name: self.menuBar().addMenu(f"&{name.title()}") for name in MENUS}
        settings = self.edit_conversation_settings
        own = [
            ("file", "&Quit", "Ctrl+Q", self.close),
            ("conversation", "System prompt and &tools…", "Ctrl+Shift+E", settings),
            ("conversation", "&Stop reply", "Esc", self.stop),
            ("conversation", "&Regenerate reply", "Ctrl+R", self.regenerate),
            ("settings", "&Preferences…", "Ctrl+,", self.edit_preferences),
            ("view", "Switch &appearance (system, light, dark)", "Ctrl+Shift+L", self.switch_look),
            ("help", "&Keyboard shortcuts", "F1", self.show_shortcuts),
        ]
        inspector = self.inspector_dock.toggleViewAction()
        entries = [MenuEntry("view", "Cache inspector", "Ctrl+I", action=inspector)]
        self.add_menu_entries(entries + [MenuEntry(*entry) for entry in own])
        self.add_menu_entries(self.claude_entries())
        self.build_claude_menu()

    def switch_look(self) -> None:
        self.prefs.appearance = next_appearance(self.prefs.appearance)
        apply_appearance(self.prefs.appearance)
        self.preferences_changed()
        self.notify(f"Appearance: {self.prefs.appearance}.")

    def add_menu_entries(self, entries: list[MenuEntry]) -> None:
        add_entries(self.menus, entries, self)

    def show_shortcuts(self) -> ShortcutsDialog:
        (dialog := ShortcutsDialog(shortcut_rows(self.menus), self)).open()
        return dialog

    def install_library(self, library) -> None:
        """The history: its dock on the left, its entries in the menus, its labels in the status
        bar (``library`` is an ``app.ui.library.Library``)."""
        self.library = library
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, library.dock)
        for widget, stretch in library.status_widgets():
            self.statusBar().addPermanentWidget(widget, stretch)
        self.add_menu_entries(library.menu_entries())

    def notify(self, text: str) -> None:
        """A sentence in the status line (it stays until the next one)."""
        self.status_label.setText(text)

    def _inspector_shown(self, visible: bool) -> None:
        if visible and self.inspector_dock.height() < INSPECTOR_HEIGHT:
            self.resizeDocks([self.inspector_dock], [INSPECTOR_HEIGHT], Qt.Orientation.Vertical)

    def _fill_models(self, ids: list[str]) -> None:
        self.toolbar.fill_models(self.engine.catalogue, ids, self.session.conversation.model)

    def connected(self, client, mode: str) -> None:
        """The API client is ready (made off the GUI thread after the window was shown): the
        model list is asked for."""
        self.engine.client = client
        self.set_mode(mode)
        self.ready.set()
        self._spawn(self.load_models())

    def set_mode(self, mode: str) -> None:
        self.toolbar.set_mode(mode)

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_event_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def load_models(self) -> None:
        """Offer every model the API lists that a request may name (deprecated ones marked,
        unknown prices marked); keep the data file's list when the API does not answer."""
        import anthropic

        await self.ready.wait()
        try:
            page = await self.engine.client.models.list(limit=1000)
            listed = [m.model_dump(mode="json") for m in page.data]
        except anthropic.APIError as exc:
            self.model_box.setToolTip(
                plain_tip(f"Models from the bundled data file ({type(exc).__name__})")
            )
            return
        self.engine.adopt_models(listed)
        usable = [m["id"] for m in listed if m.get("lifecycle", "active") != "retired"]
        if usable:
            self._fill_models(usable)
            self.model_box.setToolTip(plain_tip(f"{len(usable)} models from /v1/models"))

    def set_session(self, session: Session) -> None:
        """Show another conversation (from the history, new or imported). The draft in the
        composer stays: it is the user's, and may be meant for the conversation just opened."""
        self.session = session
        self.feed.follow(session.id)
        self.settings.open(session.conversation)
        self.warm.reset()
        self.view.error, self.view.editing = None, None
        if session.last_turn is not None:
            self.view.set_cache_view(session.last_turn, None)
        else:  # from the history: what its last turn read, wrote and paid
            turns = [r for r in session.totals.records if r.kind == Kind.TURN and r.prefix]
            model = self.engine.catalogue.resolve(session.conversation.model)
            self.view.set_cache_record(turns[-1] if turns else None, model)
        self.model_box.blockSignals(True)
        model = self.engine.catalogue.resolve(session.conversation.model)
        if model is not None:
            self.model_box.setCurrentIndex(max(0, self.model_box.findData(model.id)))
        self.model_box.blockSignals(False)
        self.inspector.picker.clear()
        self.show_session()
        self.update_title()

    def update_title(self) -> None:
        title = self.session.conversation.title
        self.setWindowTitle(f"{title} — Cachescope" if title else "Cachescope")

    def _price_draft(self) -> None:
        model = self.engine.catalogue.resolve(self.session.conversation.model)
        if model is not None:
            self.composer.set_model(model)

    def show_session(self) -> None:
        self._price_draft()
        self.view.set_records(self.session.totals.records)
        self.view.show_conversation(self.session.conversation)
        self.sidebar.show_totals(self.session.totals)
        self.sidebar.show_entries(self.engine.ledger)
        self.inspector.show_records(self.session.totals.records)

    # -- toolbar --------------------------------------------------------------------------------
    def _model_changed(self) -> None:
        self.session.conversation.model = self.model_box.currentData()
        self.fit_claude_settings()
        self._price_draft()
        self._refresh_markers()

    @property
    def prefs(self) -> Preferences:
        return self.settings.prefs

    def _save_prefs(self, _prefs: Preferences) -> None:
        self.preferences_changed()

    def _settings_changed(self, what: str) -> None:
        """The settings model changed: the toolbar shows it; a pattern or TTL of this
        conversation is saved with it and moves the markers."""
        self.toolbar.show_settings(self.settings)
        if what in ("pattern", "ttl"):
            self.conversation_changed()
            self._refresh_markers()
        if self.settings.problem:
            self.notify(self.settings.problem)

    def _refresh_markers(self) -> None:
        """Show where the selected pattern would put the breakpoints of the next request."""
        conv = self.session.conversation
        if conv.messages and not self.busy():
            self.view.set_cache_view(self.engine.build(self.session), None)

    # -- sending --------------------------------------------------------------------------------
    def busy(self) -> bool:
        return self.turn_task is not None and not self.turn_task.done()

    def send(self) -> None:
        if self.busy():
            return
        text = self.composer.text()
        items = self.composer.items()
        if not text and not items:
            self.notify("Type a message or attach an image first.")
            return
        if self.composer.pending:
            self.notify("Wait a moment: an attachment is still being prepared.")
            return
        self.apply_edit()
        self.session.conversation.add_user_text(text, *items, created_at=self.engine.clock())
        self.composer.clear()
        self._start()

    def _start(self) -> None:
        """Run a turn on the conversation as it is (its last message is the user's)."""
        self.view.show_conversation(self.session.conversation)
        self.view.begin_reply()
        self.composer.set_streaming(True)
        self.notify("")
        self.turn_task = self._spawn(self._turn(self.session))
        self.turn_task.add_done_callback(self._turn_done)

    async def _turn(self, session: Session) -> None:
        if not self.ready.is_set():
            self.notify("Connecting… the message goes out in a moment.")
            await self.ready.wait()
        if self.library is not None:
            await self.library.before_send()  # the user's message is on disk first
        await self.engine.start_turn(session)

    def stop(self) -> None:
        if self.busy():
            self.turn_task.cancel()

    def _turn_done(self, task: asyncio.Task) -> None:
        """The composer and the pane; the sidebar and inspector had the totals from the events."""
        self.composer.set_streaming(False)
        self._price_draft()
        self.view.end_reply()  # the turn's records came with its Finished/Failed/Cancelled event
        self.view.show_conversation(self.session.conversation)
        self.update_title()
        if task.cancelled():
            self.notify("Stopped. The partial reply is kept.")
        elif task.exception() is not None:
            self.notify(f"The turn could not run: {task.exception()}")
            self.view.show_error(f"The turn could not run: {task.exception()}", "Retry.")
        self.turn_finished.emit()

    def _draft_activity(self) -> None:
        self.engine.draft_activity(self.session, tuple(self.composer.items()))

    # -- message actions (pin, edit, regenerate, images: app.ui.window_messages) ----------
    def conversation_changed(self) -> None:
        """The conversation's settings or messages changed outside a turn: keep the history."""
        if self.library is not None:
            self.library.changed()

    # -- engine events --------------------------------------------------------------------------
    def _on_event(self, event: ev.Event) -> None:
        """The status line's share of the events; the countdowns move at once on new usage."""
        text = ev.status_text(event)
        if text:
            self.notify(text)
        if isinstance(event, ev.Failed) and event.kind == Kind.TURN:
            self.turn_failed(event.failure)
        elif isinstance(event, ev.Finished) and event.kind == Kind.TURN:
            self.toolbar.show_connection(None)
        if isinstance(event, ev.UsageReported):
            self._tick()
        elif isinstance(event, ev.UploadFinished):
            self._draft_activity()  # the warm-up waited for it

    def _tick(self) -> None:
        """Once a second: countdowns and the warm indicator."""
        self.sidebar.show_entries(self.engine.ledger)
        self.warm.tick(self.session, self.engine.ledger, self.engine.clock())

    def last_usage(self) -> Usage | None:
        turns = [r for r in self.session.totals.records if r.kind == Kind.TURN and not r.error]
        return turns[-1].usage if turns else None
