"""A history in a folder the app cannot write to (issue 40, point 5): 40 conversations were listed
as none, and the list did not say why. Now they are listed and open as they were, read from the
file as it is, and the red line says that nothing new is saved and what to do; when there is no
history to read at all, the list itself says why it is empty.

The folder is made read-only for real: as root (who may write anywhere) the reader drops to the
``nobody`` user after its imports; otherwise the folder and file lose their write bits."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from app.conversation.blocks import TextBlock
from app.conversation.conversation import Conversation
from app.engine.session import Session
from app.history.sessions import read_only_problem
from app.storage.store import DB_NAME, StorageError, Store
from app.storage.writer import Writer
from tests.helpers import SONNET_46
from tests.uikit import until, window_on

ROOT = Path(__file__).resolve().parents[1]
CONVERSATIONS = 40

READER = textwrap.dedent(
    """
    import asyncio, json, os, sys, tempfile
    from pathlib import Path
    sys.path.insert(0, sys.argv[2])
    from app.history.sessions import open_history
    from app.storage.store import StorageError, Store
    from app.conversation.conversation import Conversation

    async def read(folder):
        writer, problem = open_history(folder)
        if writer is None:
            return {"problem": problem, "listed": None, "write": None}
        listing = await writer.run(Store.listing)
        conv = Conversation(model="claude-sonnet-4-6")
        conv.add_user_text("a new message")
        try:
            await writer.run(Store.save_conversation, conv.header())
            write = "saved"
        except StorageError as exc:
            write = exc.kind
        await writer.flush()
        writer.close()
        return {"problem": problem, "listed": len(listing.rows), "write": write}

    warm = Path(tempfile.mkdtemp())  # every lazy import done while files can still be read
    asyncio.run(read(warm))
    if os.getuid() == 0:
        os.setgroups([])
        os.setgid(int(sys.argv[3]))
        os.setuid(int(sys.argv[3]))
    print(json.dumps(asyncio.run(read(Path(sys.argv[1])))))
    """
)


def fill(folder: Path, count: int = CONVERSATIONS) -> None:
    store = Store.open(folder)
    try:
        for n in range(count):
            conv = Conversation(model=SONNET_46)
            conv.add_user_text(f"question {n}")
            conv.add("assistant", TextBlock(f"answer {n}"))
            store.save_conversation(conv)
            store.save_messages(conv.id, list(enumerate(conv.messages)))
    finally:
        store.close()


@pytest.fixture
def read_only_folder():
    """A folder with a history of 40 conversations that the reader cannot write to."""
    folder = Path(tempfile.mkdtemp(prefix="ro-history-"))
    fill(folder)
    for path in folder.iterdir():
        path.chmod(0o444)
    folder.chmod(0o555)  # readable by anyone (the nobody user too), writable by no one else
    yield folder
    folder.chmod(0o755)
    shutil.rmtree(folder)


def read_as_reader(folder: Path) -> dict:
    nobody = 65534
    try:
        import pwd

        nobody = pwd.getpwnam("nobody").pw_uid
    except (ImportError, KeyError):
        pass
    done = subprocess.run(
        [sys.executable, "-c", READER, str(folder), str(ROOT), str(nobody)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_a_read_only_history_lists_its_conversations_and_says_nothing_new_is_saved(
    read_only_folder,
):
    assert not os.access(read_only_folder, os.W_OK) or os.getuid() == 0
    assert stat.S_IMODE(read_only_folder.stat().st_mode) == 0o555
    seen = read_as_reader(read_only_folder)
    assert seen["listed"] == CONVERSATIONS, seen
    assert seen["write"] == "read_only"
    problem = seen["problem"]
    assert f"The history folder {read_only_folder} cannot be written (" in problem
    assert "its 40 conversations are listed and open as they were, but nothing new" in problem
    assert "Make the folder writable" in problem


def test_the_window_lists_a_read_only_history_with_the_reason_in_red(qtbot, loop, sim, tmp_path):
    fill(tmp_path)
    store = Store.open(tmp_path, read_only=True)  # SQLite refuses every write, root or not
    cause = StorageError("read_only", "attempt to write a readonly database")
    problem = read_only_problem(tmp_path, cause, store.conversation_count())
    writer = Writer(store)
    window = on_history(sim, tmp_path, writer, problem)
    qtbot.addWidget(window)
    library, client = window.history, window.engine.client

    async def scenario():
        await library.refresh()
        await until(lambda: library.panel.list.count() == CONVERSATIONS)
        await writer.flush()
        await client.close()

    loop.run_until_complete(scenario())
    writer.close()
    assert library.problem_label.isVisibleTo(window)
    assert "40 conversations are listed" in library.problem_label.text()


def test_with_no_history_to_read_the_list_says_why_it_is_empty(qtbot, loop, sim, tmp_path):
    why = f"Cachescope cannot write to {tmp_path} (unable to open database file)."
    window = on_history(sim, tmp_path, None, why)
    qtbot.addWidget(window)
    library, client = window.history, window.engine.client
    loop.run_until_complete(library.refresh())
    loop.run_until_complete(client.close())
    assert library.panel.list.count() == 1
    assert library.panel.list.item(0).text() == f"No conversations can be listed. {why}"
    assert not (tmp_path / DB_NAME).exists()


def on_history(sim, folder, writer, problem):
    """A window on ``writer`` (None: no history), with the launcher's ``problem``."""
    import anthropic

    from app.engine.engine import Engine, EngineSettings

    client = anthropic.AsyncAnthropic(base_url=sim.base_url, api_key="k", max_retries=0)
    engine = Engine(client, EngineSettings())
    session = Session(Conversation(model="claude-sonnet-4-6"))
    return window_on(engine, session, folder, writer=writer, problem=problem)
