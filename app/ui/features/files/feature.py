"""File → Uploaded files: the documents this app uploaded to the Files API where requests go,
with their sizes and dates, and a way to delete them there (``Workspace.files``)."""

from __future__ import annotations

from PySide6.QtCore import QObject

from app.ui.context import FeatureContext
from app.ui.features.files.dialog import UploadsDialog
from app.ui.menus import MenuEntry
from app.workspace.files import DeleteFailed


class UploadedFiles(QObject):
    def __init__(self, ctx: FeatureContext):
        super().__init__(ctx.parent)
        self.ctx = ctx
        ctx.add_menu_entries([MenuEntry("file", "&Uploaded files…", "", self.open, first=True)])

    def open(self) -> UploadsDialog:
        files = self.ctx.workspace.files
        dialog = UploadsDialog(files.here(), files.where(), self.ctx.parent)
        dialog.delete_requested.connect(lambda fid: self.ctx.spawn(self.delete(fid, dialog)))
        dialog.open()
        return dialog

    async def delete(self, file_id: str, dialog: UploadsDialog | None = None) -> bool:
        """Delete the file from the workspace, then forget it here (the history too)."""
        files = self.ctx.workspace.files
        try:
            upload = await files.delete(file_id)
        except DeleteFailed as exc:
            self.ctx.notify(f"Not deleted: {exc}")
            if dialog is not None:
                dialog.show_uploads(files.here())
            return False
        self.ctx.notify(f"Deleted {upload.name if upload else file_id} from the workspace.")
        if dialog is not None:
            dialog.show_uploads(files.here())
        return True
