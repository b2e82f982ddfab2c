"""Menu entries declared as data: each part of the window says what it offers (menu, text,
shortcut, what it does), and the window alone puts them in its menus."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

MENUS = ("file", "conversation", "claude", "view", "settings", "help")


@dataclass(frozen=True)
class MenuEntry:
    menu: str  # "file", "conversation", "view" or "settings"
    text: str
    shortcut: str = ""
    slot: Callable[[], object] | None = None
    action: QAction | None = None  # an action made elsewhere (a dock's toggle), instead of slot
    scope: QWidget | None = None  # the shortcut works only while focus is in this widget
    first: bool = False  # before the menu's own entries (File's New, Import, Export above Quit)


def add_entries(
    menus: dict[str, QMenu],
    entries: list[MenuEntry],
    parent: QWidget,
    anchors: dict[str, QAction] | None = None,
) -> None:
    """Entries marked ``first`` go, in the order they come, above ``anchors[menu]`` (the
    window's own first entry of that menu: File's Quit), with one line between; the others at
    the end."""
    anchors = anchors or {}
    for entry in entries:
        anchor = anchors.get(entry.menu) if entry.first else None
        add_entry(menus[entry.menu], entry, parent, _line_above(menus[entry.menu], anchor))


def _line_above(menu: QMenu, anchor: QAction | None) -> QAction | None:
    """The separator just above ``anchor`` (made the first time): first entries go above it."""
    if anchor is None:
        return None
    actions = menu.actions()
    at = actions.index(anchor)
    if at > 0 and actions[at - 1].isSeparator():
        return actions[at - 1]
    return menu.insertSeparator(anchor)


def add_entry(
    menu: QMenu, entry: MenuEntry, parent: QWidget, before: QAction | None = None
) -> QAction:
    action = entry.action or QAction(entry.text, parent)
    if entry.shortcut:
        action.setShortcut(QKeySequence(entry.shortcut))
    if entry.slot is not None:
        action.triggered.connect(entry.slot)
    if entry.scope is not None:
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        entry.scope.addAction(action)
    if before is not None:
        menu.insertAction(before, action)
    else:
        menu.addAction(action)
    return action
