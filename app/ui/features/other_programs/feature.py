"""View → Other programs: the inspector's endpoint, run from the window in front of where this
app's requests go (the API, or the built-in simulator), for other programs to be pointed at. The
inspector is loaded the first time it is asked for."""

from __future__ import annotations

from PySide6.QtCore import QObject

from app.ui.context import FeatureContext
from app.ui.menus import MenuEntry


class OtherPrograms(QObject):
    def __init__(self, ctx: FeatureContext):
        super().__init__(ctx.parent)
        self.ctx = ctx
        self.dialog = None
        ctx.add_menu_entries([MenuEntry("view", "Other &programs (inspector)…", "", self.open)])

    def open(self):
        from app.inspect.cli import API
        from app.ui.features.other_programs.dialog import OtherProgramsDialog

        client = self.ctx.engine.client
        upstream = str(client.base_url).rstrip("/") if client is not None else API
        if self.dialog is None:
            folder = self.ctx.data_folder
            keep = folder / "captured" if folder is not None else None
            self.dialog = OtherProgramsDialog(
                upstream, self.ctx.engine.catalogue, self.ctx.parent, keep, self.ctx.spawn
            )
        self.dialog.open()
        return self.dialog
