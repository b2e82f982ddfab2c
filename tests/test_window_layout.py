"""The window on small screens (finding 12 of a new user's run under Xvfb): the inspector leaves
the conversation readable at 1366x768, a 640x420 window gives the conversation the room and cuts
no button, the live entries wrap rather than scroll sideways, and the window's place is kept
while it is still on screen."""

from __future__ import annotations

import time

from PySide6.QtCore import QRect
from PySide6.QtGui import QGuiApplication

from app.caching.ledger import LedgerEntry
from app.ui.geometry import default_size
from app.ui.widgets.sidebar import UsageSidebar
from app.workspace.outlook import NOTHING, Indicator, Outlook
from tests.uikit import make_window


def settle() -> None:
    for _ in range(3):
        QGuiApplication.processEvents()


def test_the_inspector_leaves_the_conversation_readable_on_a_1366x768_laptop(qtbot, loop, sim):
    """Ctrl+I docked the inspector at the bottom at its full 330 px and more (its table's
    minimum): the conversation kept about 3 lines (90 px)."""
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    window.resize(default_size(QRect(0, 0, 1366, 768)))  # what that screen opens: 1280x721
    window.show()
    settle()
    (toggle,) = [a for a in window.menus["view"].actions() if a.text() == "Cache inspector"]
    toggle.trigger()
    settle()
    assert window.inspector_dock.isVisible()
    assert window.inspector_dock.height() <= 0.36 * window.height(), window.inspector_dock.height()
    assert window.view.height() >= 180, window.view.height()  # about 9 lines
    loop.run_until_complete(client.close())


def test_a_640x420_window_gives_the_conversation_the_room_and_cuts_no_button(qtbot, loop, sim):
    """At 640x420 the list and the sidebar kept their widths (the window could not be narrower
    than about 860 px): the conversation got about 170 px and the buttons read "ttach." and
    "older.". Below 960 px the list folds away, and comes back on a wide window."""
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    window.show()
    for width in (900, 640):  # an edge dragged in: the list folds as it passes 960 px
        window.resize(width, 420)
        settle()
    assert window.minimumSizeHint().width() <= 640
    assert window.width() == 640
    assert window.history.dock.isHidden()
    assert window.view.width() >= 360, window.view.width()
    composer = window.composer
    for button in (composer.attach_button, composer.folder_button, composer.send_button):
        assert button.width() >= button.sizeHint().width(), (button.text(), button.width())
    window.resize(1280, 720)
    settle()
    assert not window.history.dock.isHidden()
    # wide again, the sidebar has its room back: at 230 px "Saved" took five lines
    assert window.sidebar.width() >= 280, window.sidebar.width()  # 300 less its scroll bar
    loop.run_until_complete(client.close())


def test_the_live_entries_wrap_in_a_narrow_sidebar_rather_than_scroll_sideways(qtbot):
    """The live entries list scrolled sideways and cut its entries ("4:58 le")."""
    sidebar = UsageSidebar()
    qtbot.addWidget(sidebar)
    sidebar.resize(230, 900)
    sidebar.show()
    entry = LedgerEntry("claude-sonnet-5", "f" * 16, 123_456, "1h", 1_000 + 298, 1_000, hits=12)
    sidebar.show_entries((entry,), [(entry, "another conversation")], lambda: 1_000.0)
    settle()
    listing = sidebar.entries
    assert listing.horizontalScrollBar().maximum() == 0
    width = listing.viewport().width()
    for row in range(listing.count()):
        rect = listing.visualItemRect(listing.item(row))
        assert rect.right() <= width, (listing.item(row).text(), rect, width)
        text = listing.item(row).text()
        assert "4:58 left" in text
        one_line = listing.fontMetrics().horizontalAdvance(text)
        assert one_line > width and rect.height() > listing.fontMetrics().lineSpacing()


def test_the_window_keeps_its_place_while_it_is_still_on_screen(qtbot, loop, sim):
    """After a restart the window came back 25 px lower than it was closed: its geometry was
    kept once the window was hidden, when X11 no longer counts its title bar. It is kept as the
    window closes, and the quit after that does not overwrite it."""
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    window.show()
    window.move(40, 60)
    settle()
    window.close()
    kept = window.prefs.window_geometry
    assert kept
    window.closing()  # the launcher's quit, the window hidden
    assert window.prefs.window_geometry == kept
    loop.run_until_complete(client.close())


def test_a_list_folded_for_a_narrow_window_comes_back_on_the_next_wide_start(qtbot, loop, sim):
    """Closed while the list was folded for its width, the window kept the list as hidden: the
    next start at full width showed no conversation list until Ctrl+L."""
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    window.show()
    for width in (900, 640):
        window.resize(width, 420)
        settle()
    assert window.history.dock.isHidden()
    window.close()
    assert window.history.dock.isHidden()  # the narrow window is left as it was
    again, client2 = make_window(sim.base_url)
    qtbot.addWidget(again)
    again.prefs.window_state = window.prefs.window_state
    again.resize(1280, 720)
    assert again.restore()
    again.show()
    settle()
    assert not again.history.dock.isHidden()
    loop.run_until_complete(client.close())
    loop.run_until_complete(client2.close())


def test_a_long_warm_reason_ends_with_an_ellipsis_and_never_widens_the_window(qtbot, loop, sim):
    """At 1366x768 the indicator read "…; warm-up: nothing is cached ye", cut mid-word at the
    window's edge with nothing to say it went on. It ends with "…" now; the tooltip has it all."""
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    window.resize(1280, 721)
    window.show()
    settle()
    why = "warm-up: nothing is cached yet: the send starts 0.4 s sooner for $0.0012 more " * 3
    state = Indicator("warm", 1_115, time.time() + 3_593, why.strip())
    window.composer.show_outlook(Outlook(None, None, state, (), None))
    settle()
    label = window.composer.warm_label
    assert window.width() == 1280
    assert label.text().startswith("cache: warm, 1,115 tokens, 59:5")
    shown = label.shown()
    assert shown.endswith("…") and len(shown) < len(label.text())
    assert label.fontMetrics().horizontalAdvance(shown) <= label.contentsRect().width()
    assert why.strip() in label.toolTip()
    window.composer.show_outlook(NOTHING)
    loop.run_until_complete(client.close())
