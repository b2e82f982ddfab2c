"""What the window looked like when it was closed: its size and place, its docks, and the
conversation that was open; kept in the preferences and given back at the next start."""

from __future__ import annotations

import base64

from PySide6.QtCore import QByteArray


def remember_window(window, prefs) -> None:
    """Put the window's geometry, dock layout and open conversation in ``prefs``."""
    prefs.window_geometry = base64.b64encode(bytes(window.saveGeometry().data())).decode()
    prefs.window_state = base64.b64encode(bytes(window.saveState().data())).decode()
    conversation = window.session.conversation
    prefs.last_conversation = conversation.id if conversation.messages else ""


def restore_window(window, prefs) -> bool:
    """Size, place and docks as they were (False when nothing was kept or it is unreadable)."""
    restored = False
    for saved, restore in (
        (prefs.window_geometry, window.restoreGeometry),
        (prefs.window_state, window.restoreState),
    ):
        if saved:
            try:
                restored = bool(restore(QByteArray(base64.b64decode(saved)))) or restored
            except ValueError:  # a hand-edited file: the defaults stay
                continue
    return restored
