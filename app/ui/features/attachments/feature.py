"""File → Attach files… (Ctrl+O) and File → Attach a folder… (Ctrl+Shift+A): the composer's
Attach and Folder buttons as menu entries, so their keys live in a menu (one owner for each
shortcut) and Help → Keyboard shortcuts, read from the menus, lists them."""

from __future__ import annotations

from PySide6.QtCore import QObject

from app.ui.context import FeatureContext
from app.ui.menus import MenuEntry


class Attachments(QObject):
    def __init__(self, ctx: FeatureContext) -> None:
        super().__init__(ctx.parent)
        composer = ctx.widgets.composer
        ctx.add_menu_entries(
            [
                MenuEntry("file", "&Attach files…", "Ctrl+O", lambda: composer.pick(), first=True),
                MenuEntry(
                    "file", "Attach a f&older…", "Ctrl+Shift+A", composer.pick_folder, first=True
                ),
            ]
        )
