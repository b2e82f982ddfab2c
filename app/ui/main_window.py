"""The main window: wires the toolbar, the conversation pane, the composer, the sidebar and the
inspector to the engine. It decides nothing itself: the core and the engine do."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QDockWidget, QMainWindow, QScrollArea, QSplitter, QVBoxLayout, QWidget

from app.caching.builder import BuiltRequest
from app.caching.costs import Kind
from app.engine import events as ev
from app.engine.chat import Chat
from app.engine.engine import Engine
from app.engine.feed import SessionFeed
from app.engine.session import Session
from app.engine.settings_model import SettingsModel
from app.engine.warm_status import WarmStatus
from app.facts.prices import PriceUpdates
from app.storage.preferences import Preferences
from app.ui.appearance import apply_appearance, next_appearance
from app.ui.claude_code import register as claude_code_sessions
from app.ui.composer import Composer
from app.ui.conversation_view import ConversationView
from app.ui.features.claude import ClaudeFeatures
from app.ui.features.connection import Connection
from app.ui.features.messages import MessageActions
from app.ui.features.other_programs import OtherPrograms
from app.ui.features.replay import WhatItWouldHaveCost
from app.ui.features.sending import Sending
from app.ui.features.settings import SettingsDialogs
from app.ui.geometry import PREFERRED, default_size
from app.ui.help_page import MARKS_PAGE, HelpPage, docs_folder
from app.ui.inspector import Inspector
from app.ui.menus import MENUS, MenuEntry, add_entries
from app.ui.plain import plain_label
from app.ui.shortcuts_dialog import ShortcutsDialog, shortcut_rows
from app.ui.sidebar import UsageSidebar
from app.ui.toolbar import CachingToolbar

APP_ID = "io.github.cachescope.Cachescope"
INSPECTOR_HEIGHT = 330


class MainWindow(QMainWindow):
    turn_finished = Signal()

    def __init__(
        self, engine: Engine, session: Session, mode: str, prefs: Preferences | None = None
    ):
        super().__init__()
        self.engine = engine
        self.chat = Chat(engine, session)  # the conversation on screen (app.engine.chat)
        # Pattern, TTL, warming and keep-alive: read and written only through this model.
        self.settings = SettingsModel(
            engine.settings, prefs or Preferences(), lambda _: self.preferences_changed()
        )
        self.settings.open(session.conversation)
        self.tasks: set[asyncio.Task] = set()
        self.price_updates = PriceUpdates()  # started when the preferences say so; see launch
        self.library = None  # the history (app.ui.library), when there is one
        self.feed = SessionFeed(engine, session.id)  # the engine's events about this conversation
        self.warm = WarmStatus()
        self.setWindowTitle("Cachescope")
        screen = QGuiApplication.primaryScreen()
        self.resize(default_size(screen.availableGeometry()) if screen else PREFERRED)
        self.view = ConversationView()
        self.composer = Composer()
        self.composer.edit.set_enter_sends(self.prefs.enter_sends)
        self.composer.pricer = lambda text, items: self.chat.price_send(text, items)
        self.composer.last_folder = self.prefs.last_folder
        self.composer.folder_used.connect(self._remember_folder)
        self.sidebar = UsageSidebar()
        self.inspector = Inspector()
        self.status_label = plain_label("")
        self._build_toolbar()
        self.connection = Connection(self, mode)
        self.chat.before_send.append(self.connection.before_send)
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
        side.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # it wraps
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
        self._build_menus()
        # What the window offers beyond sending: each feature attaches itself (its menu entries,
        # the signals it listens to); the window only wires.
        self.sending = Sending(self)
        self.messages = MessageActions(self)
        self.replay = WhatItWouldHaveCost(self)
        self.other_programs = OtherPrograms(self)
        self.claude_code = claude_code_sessions(self)  # File → Open Claude Code sessions…
        self.dialogs = SettingsDialogs(self)
        self.claude = ClaudeFeatures(self)
        self.claude.install_tools(None)
        self.view.link_refused.connect(
            lambda url: self.notify(f"Not opened (only http and https links): {url}")
        )
        self.view.attach_requested.connect(self.composer.pick)
        self.view.said.connect(self.notify)
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
        self._clock.timeout.connect(self.tick)
        self._clock.start(1000)
        self.show_session()

    # -- building -------------------------------------------------------------------------------
    def _build_toolbar(self) -> None:
        bar = CachingToolbar(self.engine.settings, self)
        self.addToolBar(bar)
        self.toolbar = bar
        self.model_box, self.pattern_box, self.ttl_box = bar.model_box, bar.pattern_box, bar.ttl_box
        self.warm_box, self.pings, self.badge = bar.warm_box, bar.pings, bar.badge
        catalogue = self.engine.catalogue
        bar.fill_models(
            catalogue, [m.id for m in catalogue.models], self.session.conversation.model
        )
        self.warm_box.toggled.connect(self.settings.set_warming)
        self.pings.valueChanged.connect(self.settings.set_pings)
        self.settings.subscribe(self._settings_changed)

    def _build_menus(self) -> None:
        self.menus = {name: self.menuBar().addMenu(f"&{name.title()}") for name in MENUS}
        own = [
            ("file", "&Quit", "Ctrl+Q", self.close),
            ("view", "Switch &appearance (system, light, dark)", "Ctrl+Shift+L", self.switch_look),
            ("help", "&Keyboard shortcuts", "F1", self.show_shortcuts),
            ("help", "How to read the cache &marks", "", self.show_marks_help),
            ("help", "&Documentation", "", self.show_documentation),
        ]
        inspector = self.inspector_dock.toggleViewAction()
        entries = [MenuEntry("view", "Cache inspector", "Ctrl+I", action=inspector)]
        self.add_menu_entries(entries + [MenuEntry(*entry) for entry in own])

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

    def show_marks_help(self) -> HelpPage:
        (dialog := HelpPage(MARKS_PAGE, "How to read the cache marks", self)).open()
        return dialog

    def show_documentation(self) -> None:
        """The docs/ folder of a source checkout in the file manager; else where to read."""
        folder = docs_folder()
        if folder is not None and QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            self.notify(f"Documentation: {folder}")
            return
        self.notify(
            "The documentation is the docs/ folder of Cachescope's source (README.md links every"
            " page); Help → How to read the cache marks is built in."
        )

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

    def _remember_folder(self, folder: str) -> None:
        self.prefs.last_folder = folder
        self.preferences_changed()

    def preferences_changed(self) -> None:
        self.price_updates.follow(self.prefs.update_prices)
        if self.library is None:
            return
        try:
            self.prefs.save(self.library.folder)
        except OSError as exc:
            self.notify(f"Preferences not saved: {exc.strerror or exc}.")

    def spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_event_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    @property
    def session(self) -> Session:
        return self.chat.session

    @property
    def turn_task(self) -> asyncio.Task | None:
        return self.chat.turn.task if self.chat.turn is not None else None

    def set_session(self, session: Session) -> Chat:
        """Show a conversation with a controller of its own (see ``show_chat``)."""
        chat = Chat(self.engine, session)
        self.show_chat(chat)
        return chat

    def show_chat(self, chat: Chat) -> None:
        """Show another conversation (from the history, new or imported). The one left keeps
        running in the background under its own settings while it has work (a keep-alive),
        then closes. The draft in the composer stays: it is the user's, and may be meant for
        the conversation just opened."""
        old, self.chat = self.chat, chat
        if old is not chat:
            old.when_idle(Chat.close)
        if self.connection.before_send not in chat.before_send:
            chat.before_send.append(self.connection.before_send)
        session = chat.session
        self.feed.follow(session.id)
        self.settings.open(session.conversation)
        self.warm.reset()
        self.view.error, self.view.editing = None, None
        if session.last_turn is not None:
            self.view.set_cache_view(session.last_turn, None)
        else:  # from the history: what its last turn read, wrote and paid
            turns = [r for r in session.totals.records if r.kind == Kind.TURN and r.prefix]
            model = self.engine.resolve_model(session.conversation.model)
            self.view.set_cache_record(turns[-1] if turns else None, model)
        self.model_box.blockSignals(True)
        model = self.engine.resolve_model(session.conversation.model)
        if model is not None:
            self.model_box.setCurrentIndex(max(0, self.model_box.findData(model.id)))
        self.model_box.blockSignals(False)
        self.inspector.picker.clear()
        self.show_session()
        self.update_title()

    def update_title(self) -> None:
        title = self.session.conversation.title
        self.setWindowTitle(f"{title} — Cachescope" if title else "Cachescope")

    def price_draft(self) -> None:
        model = self.engine.resolve_model(self.session.conversation.model)
        if model is not None:
            self.composer.set_model(model)
            if self.view.maker.set_token_scale(model.token_scale):  # one figure per thing
                self.view.show_conversation(self.session.conversation)

    def show_session(self) -> None:
        self.price_draft()
        self.view.set_records(self.session.totals.records)
        self.view.show_conversation(self.session.conversation)
        self.messages.refresh_branches()
        self.sidebar.show_totals(self.session.totals)
        self.sidebar.show_entries(self.engine.ledger)
        self.inspector.show_records(self.session.totals.records)

    @property
    def prefs(self) -> Preferences:
        return self.settings.prefs

    def _settings_changed(self, what: str) -> None:
        """The settings model changed: the toolbar shows it; a pattern or TTL of this
        conversation is saved with it and moves the markers."""
        self.toolbar.show_settings(self.settings)
        if what in ("pattern", "ttl"):
            self.conversation_changed()
            self.refresh_markers()
        if self.settings.problem:
            self.notify(self.settings.problem)

    def refresh_markers(self) -> BuiltRequest | None:
        """Show where the pattern would put the breakpoints of the next request."""
        if self.chat.conversation.messages and not self.busy():
            built = self.engine.build(self.session)
            self.view.set_cache_view(built, None)
            return built
        return None

    def busy(self) -> bool:
        return self.chat.busy()

    def send(self) -> None:
        self.sending.send()

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
        if isinstance(event, ev.UsageReported):
            self.tick()

    def tick(self) -> None:
        """Once a second: countdowns and the warm indicator."""
        self.sidebar.show_entries(self.engine.ledger)
        self.warm.tick(self.session, self.engine.ledger, self.engine.clock())
