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
from app.workspace.workspace import Workspace  # noqa: E402
from tests.helpers import SONNET_46, text_of  # noqa: E402


def make_window(
    base_url, strategy="smart", system_tokens=3000, warming=False, folder=None, engine=None
):
    """A window on the simulator; with ``folder``, a history there (the window's ``history``;
    close its writer with ``close_history``)."""
    client = anthropic.AsyncAnthropic(base_url=base_url, api_key="k", max_retries=0)
    if engine is None:
        engine = Engine(client, EngineSettings(strategy=strategy, warming=warming))
    else:
        engine.client = client
    conv = Conversation(model=SONNET_46, max_tokens=400)
    conv.set_system_text(text_of(system_tokens, "system"))
    return window_on(engine, Session(conv), folder), client


def window_on(
    engine, session, folder=None, mode="Offline simulator: test", writer=None, problem=""
):
    """A window showing ``session`` on ``engine``; a history in ``folder`` when given (on
    ``writer`` when given, else a writer of its own; ``problem``: why the history cannot be
    written, as the launcher says it)."""
    if folder is not None and writer is None and not problem:
        from app.storage.store import Store
        from app.storage.writer import Writer

        writer = Writer(Store.open(folder))
    workspace = Workspace(engine, session, writer)
    workspace.mode = mode
    return MainWindow(workspace, folder=folder, problem=problem)


async def close_history(window) -> None:
    """Drain and close the window's history writer (while the loop runs)."""
    writer = window.workspace.writer
    if writer is not None:
        await writer.flush()
        writer.close()


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
    """The turn ended and the window has shown its outcome (the turn's end was shown)."""
    turn = window.chat.turn
    return turn is not None and turn.done() and window.composer.send_button.isEnabled()


def last_usage(window):
    """The usage of the last turn that did not fail, on the conversation on screen."""
    turns = [r for r in window.session.totals.records if r.kind == "turn" and not r.error]
    return turns[-1].usage if turns else None
