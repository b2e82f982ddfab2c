"""The main window: lays out the toolbar, the conversation pane, the composer, the sidebar, the
cache inspector and the menus, hands each feature its context, and says which conversation the
widgets follow (the workspace's). It decides nothing: the workspace, its chats and the engine
do; the widgets subscribe to what they show; the features (``app.ui.features``) offer the rest."""

from __future__ import annotations

import base64
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QDockWidget, QMainWindow, QScrollArea, QSplitter, QVBoxLayout, QWidget

from app.engine import events as ev
from app.engine.settings_model import SettingsModel
from app.facts.prices import PriceUpdates
from app.storage.preferences import Preferences
from app.ui.appearance import apply_appearance, next_appearance
from app.ui.context import FeatureContext, Widgets
from app.ui.features.attachments.feature import Attachments
from app.ui.features.claude.feature import ClaudeFeatures
from app.ui.features.claude_code.feature import ClaudeCodeView
from app.ui.features.compaction.feature import ContextManagement
from app.ui.features.connection.feature import Connection
from app.ui.features.files.feature import UploadedFiles
from app.ui.features.history.feature import History
from app.ui.features.messages.feature import MessageActions
from app.ui.features.other_programs.feature import OtherPrograms
from app.ui.features.replay.feature import WhatItWouldHaveCost
from app.ui.features.sending.feature import Sending
from app.ui.features.settings.feature import SettingsDialogs
from app.ui.fit import SmallWindowFit
from app.ui.geometry import PREFERRED, default_size
from app.ui.help_page import MARKS_PAGE, HelpPage, docs_folder
from app.ui.menus import MENUS, MenuEntry, add_entries
from app.ui.shortcuts_dialog import ShortcutsDialog, shortcut_rows
from app.ui.switches import PricedSwitch
from app.ui.widgets.composer import Composer
from app.ui.widgets.conversation_view import ConversationView
from app.ui.widgets.inspector import Inspector
from app.ui.widgets.plain import plain_label
from app.ui.widgets.sidebar import UsageSidebar
from app.ui.widgets.toolbar import CachingToolbar
from app.workspace import changes as ch
from app.workspace.workspace import Workspace

APP_ID = "io.github.cachescope.Cachescope"


class MainWindow(QMainWindow):
    def __init__(
        self,
        workspace: Workspace,
        prefs: Preferences | None = None,
        folder: Path | None = None,
        problem: str = "",
    ):
        """``folder``: where the history and the preferences live (None: nothing is saved);
        ``problem``: why the history cannot be used, when it cannot."""
        super().__init__()
        self.workspace = workspace
        self.folder = folder
        engine = workspace.engine
        # Preferences, and the open conversation's pattern and TTL: read and written only here.
        self.settings = SettingsModel(
            engine.settings, prefs or Preferences(), lambda _: self.preferences_changed()
        )
        self.price_updates = PriceUpdates()  # started when the preferences say so; see launch
        self.setWindowTitle("Cachescope")
        screen = QGuiApplication.primaryScreen()
        self.resize(default_size(screen.availableGeometry()) if screen else PREFERRED)
        self.view = ConversationView()
        self.composer = Composer(workspace.spawn)
        self.composer.edit.set_enter_sends(self.prefs.enter_sends)
        self.composer.last_folder = self.prefs.last_folder
        self.composer.folder_used.connect(self._remember_folder)
        self.sidebar = UsageSidebar()
        self.inspector = Inspector()
        self.status_label = plain_label("")
        self.toolbar = CachingToolbar(engine.settings, self)
        self.addToolBar(self.toolbar)
        self._lay_out()
        self.menus = {name: self.menuBar().addMenu(f"&{name.title()}") for name in MENUS}
        self.switch = PricedSwitch(workspace, self.settings, self, lambda t: self.notify(t))
        self.ctx = FeatureContext(
            workspace=workspace,
            settings=self.settings,
            widgets=Widgets(self.composer, self.view, self.sidebar, self.toolbar, self.inspector),
            parent=self,
            menus=self.menus,
            notify=lambda text: self.notify(text),  # looked up each time (tests listen)
            add_menu_entries=self.add_menu_entries,
            switch=self.switch,
            preferences_changed=self.preferences_changed,
            add_dock=self._add_dock,
            add_status_widget=lambda widget, stretch: self.statusBar().addPermanentWidget(
                widget, stretch
            ),
            data_folder=folder,
        )
        self._add_own_menu_entries()
        # What the window offers beyond showing: each feature attaches itself to the context.
        self.connection = Connection(self.ctx)
        self.sending = Sending(self.ctx)
        self.messages = MessageActions(self.ctx)
        self.replay = WhatItWouldHaveCost(self.ctx)
        self.other_programs = OtherPrograms(self.ctx)
        self.dialogs = SettingsDialogs(self.ctx)
        self.claude = ClaudeFeatures(self.ctx)
        self.history = History(self.ctx, problem)
        self.attachments = Attachments(self.ctx)  # File → Attach files…, Attach a folder…
        self.files = UploadedFiles(self.ctx)
        self.claude_code = ClaudeCodeView(self.ctx)  # File → Open Claude Code sessions…
        self.context_management = ContextManagement(self.ctx)  # compaction, context editing
        self.view.link_refused.connect(
            lambda url: self.notify(f"Not opened (only http and https links): {url}")
        )
        self.view.attach_requested.connect(self.composer.pick)
        self.view.said.connect(self.notify)
        # Each widget follows the conversation on screen itself; the window only introduces them.
        for widget in (self.view, self.composer, self.inspector):
            widget.watch(workspace)
        self.sidebar.watch(workspace, engine.clock)
        workspace.events.subscribe(self._on_event)
        workspace.subscribe(self._on_change)
        self.settings.subscribe(self._settings_changed)
        self.toolbar.warm_box.toggled.connect(self.settings.set_warming)
        self.toolbar.pings.valueChanged.connect(self.settings.set_pings)
        self.toolbar.fill_models(
            engine.catalogue, [m.id for m in engine.catalogue.models], workspace.current.model_id
        )
        self.settings.open(workspace.current.conversation)
        workspace.show(workspace.current)

    # -- layout ---------------------------------------------------------------------------------
    def _lay_out(self) -> None:
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
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        self.setCentralWidget(splitter)
        self.inspector_dock = QDockWidget("Cache inspector", self)
        self.inspector_dock.setObjectName("inspectorDock")
        held = QScrollArea()  # shorter than its table on a small screen: it scrolls
        held.setWidget(self.inspector)
        held.setWidgetResizable(True)
        held.setFrameShape(QScrollArea.Shape.NoFrame)
        self.inspector_dock.setWidget(held)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.inspector_dock)
        self.inspector_dock.hide()
        self.fit = SmallWindowFit(self, self.inspector_dock)
        self.fit.narrow_when_narrow(side)
        self.statusBar().addWidget(self.status_label, 1)

    def _add_own_menu_entries(self) -> None:
        own = [
            ("file", "&Quit", "Ctrl+Q", self.close),
            ("view", "Switch &appearance (system, light, dark)", "Ctrl+Shift+L", self.switch_look),
            ("help", "&Keyboard shortcuts", "F1", self.show_shortcuts),
            ("help", "How to read the cache &marks", "", self.show_marks_help),
            ("help", "&Documentation", "", self.show_documentation),
        ]
        inspector = self.inspector_dock.toggleViewAction()
        entries = [MenuEntry("view", "Cache inspector", "Ctrl+I", action=inspector)]
        self._anchors: dict = {}
        self.add_menu_entries(entries + [MenuEntry(*entry) for entry in own])
        # The features' "first" entries go above the window's own (File's New above Quit).
        self._anchors = {k: m.actions()[0] for k, m in self.menus.items() if m.actions()}

    def _add_dock(self, dock: QDockWidget) -> None:
        """A panel on the left (the conversation list): it folds away on a narrow window."""
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.fit.fold_when_narrow(dock)

    def add_menu_entries(self, entries: list[MenuEntry]) -> None:
        add_entries(self.menus, entries, self, self._anchors)

    # -- the window's own entries ---------------------------------------------------------------
    def switch_look(self) -> None:
        self.prefs.appearance = next_appearance(self.prefs.appearance)
        apply_appearance(self.prefs.appearance)
        self.preferences_changed()
        self.notify(f"Appearance: {self.prefs.appearance}.")

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

    def notify(self, text: str) -> None:
        """A sentence in the status line (it stays until the next one)."""
        self.status_label.setText(text)

    # -- preferences ----------------------------------------------------------------------------
    @property
    def prefs(self) -> Preferences:
        return self.settings.prefs

    def _remember_folder(self, folder: str) -> None:
        self.prefs.last_folder = folder
        self.preferences_changed()

    def preferences_changed(self) -> None:
        self.price_updates.follow(self.prefs.update_prices)
        if self.folder is None:
            return
        try:
            self.prefs.save(self.folder)
        except OSError as exc:
            self.notify(f"Preferences not saved: {exc.strerror or exc}.")

    def _settings_changed(self, what: str) -> None:
        """The settings model changed: the toolbar shows what is in force."""
        model = self.workspace.engine.resolve_model(self.workspace.current.model_id)
        self.toolbar.show_settings(self.settings, model.id if model is not None else None)
        if self.settings.problem:
            self.notify(self.settings.problem)

    # -- what the conversation on screen says ---------------------------------------------------
    def _on_event(self, event: ev.Event) -> None:
        """The status line's share of the events."""
        text = ev.status_text(event)
        if text:
            self.notify(text)

    def _on_change(self, change: ch.Change) -> None:
        if change.touches(ch.CURRENT):
            self.settings.open(self.workspace.current.conversation)
        if change.touches(ch.TITLE, ch.CURRENT):
            title = self.workspace.current.title
            self.setWindowTitle(f"{title} — Cachescope" if title else "Cachescope")

    # -- the launcher's -------------------------------------------------------------------------
    def attach(self, paths: list[Path]) -> None:
        """Files named on the command line ("Open with Cachescope"): a new draft's attachments."""
        self.composer.add_files([str(p) for p in paths])

    async def resume(self) -> None:
        """Once connected: the conversation list, where the user left off, and the price updates
        the preferences ask for (never waited for)."""
        await self.history.refresh()
        last = self.prefs.last_conversation
        if last and not self.workspace.current.messages:
            await self.history.open(last)
        self.price_updates.follow(self.prefs.update_prices)

    def restore(self) -> bool:
        """Size, place and docks as they were (False when nothing was kept or it is unreadable)."""
        restored = False
        for saved, restore in (
            (self.prefs.window_geometry, self.restoreGeometry),
            (self.prefs.window_state, self.restoreState),
        ):
            if saved:
                try:
                    restored = bool(restore(QByteArray(base64.b64decode(saved)))) or restored
                except ValueError:  # a hand-edited file: the defaults stay
                    continue
        self.fit.fit(self.width())  # a narrow window comes back with its list folded, not wider
        return restored

    def remember(self) -> None:
        """Keep the window's geometry, dock layout and open conversation in the preferences."""
        prefs = self.prefs
        prefs.window_geometry = base64.b64encode(bytes(self.saveGeometry().data())).decode()
        with self.fit.as_chosen():
            state = self.saveState()
        prefs.window_state = base64.b64encode(bytes(state.data())).decode()
        current = self.workspace.current
        prefs.last_conversation = current.id if current.messages else ""

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Kept while the window is still on screen: once hidden, X11 forgets its frame and the
        window would come back a title bar lower than it was."""
        self.remember()
        super().closeEvent(event)

    def closing(self) -> None:
        """The window closed: what it looked like and the preferences are saved; the price
        updates stop."""
        if self.isVisible():  # else closeEvent kept it, while the window had its frame
            self.remember()
        self.preferences_changed()
        self.price_updates.stop()

    # -- for the tests: what is on screen ---------------------------------------------------------
    @property
    def chat(self):
        return self.workspace.current

    @property
    def session(self):
        return self.workspace.current.session

    @property
    def engine(self):
        return self.workspace.engine
