"""Shared pieces of the window tests: a qasync loop, a window on the simulator, waiting."""

import asyncio
import os

import anthropic

os.environ.setdefault("QT_API", "pyside6")
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QDropEvent  # noqa: E402

from app.conversation.conversation import Conversation  # noqa: E402
from app.engine.engine import Engine, EngineSettings  # noqa: E402
from app.engine.session import Session  # noqa: E402
from app.ui.main_window import MainWindow  # noqa: E402
from tests.helpers import SONNET_46, text_of  # noqa: E402


def make_window(base_url, strategy="smart", system_tokens=3000, warming=False):
    client = anthropic.AsyncAnthropic(base_url=base_url, api_key="k", max_retries=0)
    engine = Engine(client, EngineSettings(strategy=strategy, warming=warming))
    conv = Conversation(model=SONNET_46, max_tokens=400)
    conv.set_system_text(text_of(system_tokens, "system"))
    return MainWindow(engine, Session(conv), "Offline simulator: test"), client


async def until(condition, timeout=20.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def drop_files(widget, paths):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    widget.dropEvent(event)


def turn_over(window) -> bool:
    """The turn ended and the window has shown its outcome (its done-callback ran)."""
    return (
        window.turn_task is not None
        and window.turn_task.done()
        and window.composer.send_button.isEnabled()
    )


def last_usage(window):
    """The usage of the last turn that did not fail, on the conversation on screen."""
    turns = [r for r in window.session.totals.records if r.kind == "turn" and not r.error]
    return turns[-1].usage if turns else None
