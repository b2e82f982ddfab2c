"""What gives way when the window is small, so the conversation keeps the room.

Below ``NARROW`` pixels wide the conversation list folds away (View → Conversations, Ctrl+L,
brings it back; it comes back by itself once the window is wide again, unless the user closed it
meanwhile) and the sidebar narrows from ``SIDE_WIDTH`` to ``SIDE_NARROW``: the list, the
conversation and the sidebar cannot all keep readable widths in 640 pixels. A list folded for
the width is saved as shown (``as_chosen``), and a window restored narrow folds it before it is
shown. The cache inspector, docked at the bottom, takes at most ``INSPECTOR_SHARE`` of the
window's height (``INSPECTOR_HEIGHT`` on a tall screen) and scrolls inside what it gets, so a
1366x768 laptop keeps the conversation readable with Ctrl+I."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

NARROW = 960  # px: below, the conversation list folds away and the sidebar narrows
SIDE_WIDTH = 300  # px: the sidebar's figures each on a line, where the window has room
SIDE_NARROW = 230  # px: below ``NARROW``, its figures and labels wrapped
INSPECTOR_HEIGHT = 330  # px: the inspector's height where the window has room
INSPECTOR_SHARE = 0.35  # of the window's height, at most


class SmallWindowFit(QObject):
    """Owns the panels' sizes against the window's: the list folded and the sidebar narrowed on
    a narrow window, the inspector's height when it opens."""

    def __init__(self, window: QMainWindow, inspector: QDockWidget) -> None:
        super().__init__(window)
        self.host = window
        self.inspector = inspector
        self.folded: QDockWidget | None = None  # the list, while this hides it
        self.docks: list[QDockWidget] = []
        self.side: QWidget | None = None  # the sidebar's panel
        inspector.visibilityChanged.connect(self._inspector_shown)
        window.installEventFilter(self)

    def fold_when_narrow(self, dock: QDockWidget) -> None:
        """``dock`` (the conversation list) folds away below ``NARROW``."""
        self.docks.append(dock)
        dock.toggleViewAction().triggered.connect(lambda _=False: self._chosen(dock))

    def narrow_when_narrow(self, side: QWidget) -> None:
        """``side`` (the sidebar) keeps ``SIDE_WIDTH`` on a wide window, ``SIDE_NARROW`` below."""
        self.side = side
        side.setMinimumWidth(SIDE_WIDTH)

    def _chosen(self, dock: QDockWidget) -> None:
        if self.folded is dock:  # the user shows or hides it: theirs again
            self.folded = None

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if watched is self.host and event.type() == QEvent.Type.Resize:
            self.fit(self.host.width())
        return False

    def fit(self, width: int) -> None:
        if self.side is not None:
            self.side.setMinimumWidth(SIDE_NARROW if width < NARROW else SIDE_WIDTH)
        if width < NARROW:
            for dock in self.docks:
                if not dock.isHidden() and self.folded is None:
                    self.folded = dock
                    dock.hide()
        elif self.folded is not None:
            self.folded.show()
            self.folded = None

    @contextmanager
    def as_chosen(self) -> Iterator[None]:
        """The docks as the user left them, while the window's state is saved: a list folded
        for the window's width is shown (else it would start hidden on a wide window)."""
        dock = self.folded
        if dock is not None:
            dock.setVisible(True)
        try:
            yield
        finally:
            if dock is not None:
                dock.setVisible(False)

    def inspector_height(self) -> int:
        return min(INSPECTOR_HEIGHT, int(self.host.height() * INSPECTOR_SHARE))

    def _inspector_shown(self, visible: bool) -> None:
        if visible:
            height = self.inspector_height()
            self.host.resizeDocks([self.inspector], [height], Qt.Orientation.Vertical)
