"""What a feature of the window sees: a narrow, typed context, never the window itself (as
Spyder's plugins get what they require). A feature adds its menu entries, listens to the
workspace's changes and the shared widgets' signals, and says things through ``notify``; no
feature names another."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import QDockWidget, QMenu, QWidget

from app.engine.settings_model import SettingsModel
from app.ui.menus import MenuEntry
from app.ui.switches import PricedSwitch
from app.ui.widgets.composer import Composer
from app.ui.widgets.conversation_view import ConversationView
from app.ui.widgets.inspector import Inspector
from app.ui.widgets.sidebar import UsageSidebar
from app.ui.widgets.toolbar import CachingToolbar
from app.workspace.chat import Chat
from app.workspace.workspace import Workspace


@dataclass(frozen=True)
class Widgets:
    """The widgets every feature may connect to (built and laid out by the window)."""

    composer: Composer
    view: ConversationView
    sidebar: UsageSidebar
    toolbar: CachingToolbar
    inspector: Inspector


@dataclass(frozen=True)
class FeatureContext:
    workspace: Workspace  # the chats, the one on screen, their changes, spawn
    settings: SettingsModel  # the preferences and the open conversation's pattern and TTL
    widgets: Widgets
    parent: QWidget  # what dialogs are shown over
    menus: dict[str, QMenu]
    notify: Callable[[str], None]  # a sentence in the status line
    add_menu_entries: Callable[[list[MenuEntry]], None]
    switch: PricedSwitch  # a change of the request settings, priced and asked before it is made
    preferences_changed: Callable[[], None]  # save the preferences (after the settings model)
    add_dock: Callable[[QDockWidget], None]  # a panel on the left (the conversation list)
    add_status_widget: Callable[[QWidget, int], None]  # a widget in the status bar (stretch)
    data_folder: Path | None = None  # where the history and the preferences live

    @property
    def chat(self) -> Chat:
        """The conversation on screen."""
        return self.workspace.current

    @property
    def engine(self):
        return self.workspace.engine

    def spawn(self, coro):
        """A task the workspace owns (ended at quit)."""
        return self.workspace.spawn(coro)
