"""Help pages shipped with the app (``resources/help``): shown in a reader, and where to find the
rest of the documentation."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout

from app.facts.catalogue import resources_dir

MARKS_PAGE = "reading-the-marks.md"


def help_text(name: str) -> str:
    return (resources_dir() / "help" / name).read_text(encoding="utf-8")


def docs_folder() -> Path | None:
    """The ``docs/`` folder of a source checkout (an installed app has none)."""
    folder = Path(__file__).resolve().parents[2] / "docs"
    return folder if folder.is_dir() else None


class HelpPage(QDialog):
    """One help page, rendered from its markdown (the app's own text, not a model's)."""

    def __init__(self, name: str, title: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(720, 640)
        self.browser = QTextBrowser()
        self.browser.setOpenLinks(False)
        self.browser.setMarkdown(help_text(name))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser, 1)
        layout.addWidget(buttons)
