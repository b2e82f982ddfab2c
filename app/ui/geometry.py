"""The window's first size: 1280x820 where the screen has room, else what fits the screen's
available area (a 1366x768 laptop keeps its Send row on screen)."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize

PREFERRED = QSize(1280, 820)


def default_size(available: QRect) -> QSize:
    return QSize(
        min(PREFERRED.width(), int(available.width() * 0.96)),
        min(PREFERRED.height(), int(available.height() * 0.94)),
    )
