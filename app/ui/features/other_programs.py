"""View → Other programs: the inspector's endpoint, run from the window in front of where this
app's requests go (the API, or the built-in simulator), for other programs to be pointed at."""

from __future__ import annotations

from PySide6.QtCore import QObject

from app.inspect.cli import API
from app.ui.menus import MenuEntry
from app.ui.other_programs import OtherProgramsDialog


class OtherPrograms(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.dialog: OtherProgramsDialog | None = None
        window.add_menu_entries([MenuEntry("view", "Other &programs (inspector)…", "", self.open)])

    def open(self) -> OtherProgramsDialog:
        client = self.window.engine.client
        upstream = str(client.base_url).rstrip("/") if client is not None else API
        if self.dialog is None:
            library = self.window.library
            keep = library.folder / "captured" if library is not None else None
            self.dialog = OtherProgramsDialog(
                upstream, self.window.engine.catalogue, self.window, keep_in=keep
            )
        self.dialog.open()
        return self.dialog
