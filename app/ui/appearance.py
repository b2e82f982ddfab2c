"""Light and dark: follow the system (Qt's own palette), or a light or dark palette chosen in
View → Appearance, remembered in the preferences."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

APPEARANCES = ("system", "light", "dark")
DARK = {
    QPalette.ColorRole.Window: "#2b2d30",
    QPalette.ColorRole.WindowText: "#e6e6e6",
    # Lighter than Window: Fusion outlines check boxes in a darker Window colour.
    QPalette.ColorRole.Base: "#35383c",
    QPalette.ColorRole.AlternateBase: "#2b2d30",
    QPalette.ColorRole.Text: "#e6e6e6",
    QPalette.ColorRole.PlaceholderText: "#9a9da3",
    QPalette.ColorRole.Button: "#3c3f41",
    QPalette.ColorRole.ButtonText: "#e6e6e6",
    QPalette.ColorRole.Highlight: "#2f6fdb",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#6ea8fe",
    QPalette.ColorRole.ToolTipBase: "#3c3f41",
    QPalette.ColorRole.ToolTipText: "#e6e6e6",
    QPalette.ColorRole.Mid: "#55585c",
}


def apply_appearance(name: str) -> None:
    """Set the application's palette: "system" leaves it to the platform."""
    app = QApplication.instance()
    if app is None:
        return
    if not hasattr(app, "system_palette"):
        app.system_palette = QPalette(app.palette())  # what the platform gave, to go back to
    if name == "system":
        app.setPalette(app.system_palette)
        return
    app.setStyle(QStyleFactory.create("Fusion"))
    palette = app.style().standardPalette()
    if name == "dark":
        for role, colour in DARK.items():
            palette.setColor(role, QColor(colour))
        for role in (
            QPalette.ColorRole.ButtonText,
            QPalette.ColorRole.Text,
            QPalette.ColorRole.WindowText,
        ):
            palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7a7d82"))
    app.setPalette(palette)


def next_appearance(name: str) -> str:
    return (
        APPEARANCES[(APPEARANCES.index(name) + 1) % len(APPEARANCES)]
        if name in APPEARANCES
        else "system"
    )
