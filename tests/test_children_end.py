"""Every process the app starts ends with it (issue 40, point 1).

The real app (``python -m app``, offscreen, a data folder in tmp, the built-in simulator) is
started with one of each kind of child: the PDF reader (a PDF named on the command line, read as
the composer attaches it), the thumbnail maker (the last conversation, reopened at start, holds
an image), the multiprocessing resource tracker both bring, and two MCP stdio servers from
``tests/mcp_tiny_server.py`` configured in ``mcp.json``: one that speaks MCP, one that never reads
its stdin (a hung server). The built-in simulator is a thread of the app's own process. Once every
child runs, the app is ended by SIGTERM, SIGINT, SIGHUP, a crash (an unhandled exception in its
main coroutine) or a normal quit (the window closed, what Ctrl+Q does), and the processes that
were its descendants, and those left in its process group, are counted a few seconds after it
exited: 0. Before the fix, SIGTERM left the PDF reader, the resource tracker and the hung server
running (21 minutes later in the issue), and the same for SIGINT, SIGHUP and a crash at start.

A last case kills the app with SIGKILL (nothing of it runs): its children end all the same, by
the kernel's PR_SET_PDEATHSIG (the tool servers, Linux) and the parent watch of the app's own
helper processes. Processes are read from /proc (psutil is not in the locks)."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fpdf import FPDF
from PIL import Image

from app.conversation.conversation import Conversation
from app.conversation.images import lock_image
from app.storage.preferences import Preferences
from app.storage.store import Store

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / "tests" / "mcp_tiny_server.py"
EXPECTED = {"SIGTERM": 143, "SIGINT": 130, "SIGHUP": 129, "crash": 1, "quit": 0, "SIGKILL": -9}
CHILD_KINDS = ("resource tracker", "helper", "helper", "mcp server", "hung mcp server")

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def proc_table() -> dict[int, dict]:
    """Every process now: its parent, group, state, start time and command line."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        table[int(entry)] = {
            "state": fields[0],
            "ppid": int(fields[1]),
            "pgid": int(fields[2]),
            "start": fields[19],
            "cmd": cmdline.replace(b"\0", b" ").decode(errors="replace").strip(),
        }
    return table


def descendants(root: int) -> dict[int, dict]:
    table = proc_table()
    found, frontier = {}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, info in table.items():
            if info["ppid"] == parent and pid not in found:
                found[pid] = info
                frontier.append(pid)
    return found


def kind(info: dict) -> str:
    cmd = info["cmd"]
    if "resource_tracker" in cmd:
        return "resource tracker"
    if "spawn_main" in cmd:
        return "helper"  # the PDF reader or the thumbnail maker
    if str(SERVER) in cmd:
        return "hung mcp server" if "--silent" in cmd else "mcp server"
    return "other"


def still_running(children: dict[int, dict], group: int) -> list[str]:
    """The recorded children that are still the same live processes, and any live process
    left in the app's process group."""
    table = proc_table()
    left = []
    for pid, info in table.items():
        if info["state"] in ("Z", "X"):
            continue
        same = pid in children and children[pid]["start"] == info["start"]
        if same or info["pgid"] == group:
            left.append(f"{pid} {kind(info)}: {info['cmd'][:100]}")
    return left


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


def prepared(tmp_path: Path) -> tuple[Path, Path]:
    """A data folder (mcp.json with two servers, a last conversation holding an image) and a
    PDF to attach."""
    data = tmp_path / "data"
    data.mkdir()
    servers = {
        "tiny": {"command": sys.executable, "args": [str(SERVER)]},
        "hung": {"command": sys.executable, "args": [str(SERVER), "--silent"]},
    }
    (data / "mcp.json").write_text(json.dumps({"mcpServers": servers}))
    conversation = Conversation(model="claude-sonnet-4-6")
    conversation.add_user_text("What is in this picture?", lock_image(png()))
    store = Store.open(data)
    try:
        store.save_conversation(conversation)
        store.save_messages(conversation.id, list(enumerate(conversation.messages)))
    finally:
        store.close()
    Preferences(last_conversation=conversation.id).save(data)
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 7, "A page to read in the PDF reader's process. " * 20)
    pdf.output(str(tmp_path / "page.pdf"))
    return data, tmp_path / "page.pdf"


@pytest.mark.timeout(240)
@pytest.mark.parametrize("ending", ["SIGTERM", "SIGINT", "SIGHUP", "crash", "quit", "SIGKILL"])
def test_every_child_ends_with_the_app(tmp_path, ending):
    data, pdf = prepared(tmp_path)
    go = tmp_path / "go"
    app_args = ["--simulator", "--data-dir", str(data), str(pdf)]
    if ending in ("crash", "quit"):
        command = ["-m", "tests.app_children", ending, str(go), "--", *app_args]
    else:
        command = ["-m", "app", *app_args]
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        PYTHONPATH=str(ROOT),
    )
    env.pop("ANTHROPIC_API_KEY", None)
    err = (tmp_path / "stderr.txt").open("w")
    app = subprocess.Popen(
        [sys.executable, *command],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=err,
        start_new_session=True,  # its own process group, to count what is left in it
    )
    children: dict[int, dict] = {}
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            children = descendants(app.pid)
            kinds = sorted(kind(info) for info in children.values())
            if kinds == sorted(CHILD_KINDS) or app.poll() is not None:
                break
            time.sleep(0.3)
        kinds = sorted(kind(info) for info in children.values())
        assert kinds == sorted(CHILD_KINDS), (kinds, (tmp_path / "stderr.txt").read_text())
        time.sleep(0.5)
        children = descendants(app.pid)
        asked = time.monotonic()
        if ending in ("crash", "quit"):
            go.touch()
        else:
            app.send_signal(getattr(signal, ending))
        code = app.wait(30)
        exited = time.monotonic() - asked
        left = still_running(children, app.pid)
        deadline = time.monotonic() + 5
        while left and time.monotonic() < deadline:
            time.sleep(0.2)
            left = still_running(children, app.pid)
        stderr = (tmp_path / "stderr.txt").read_text()
        assert left == [], f"{ending}: still running after the app exited: {left}\n{stderr}"
        assert code == EXPECTED[ending], stderr[-3000:]
        assert exited < 15, f"the app took {exited:.1f} s to end after {ending}"
        if ending == "crash":  # it did crash where the test meant it to, and said so
            assert "a crash in the main coroutine" in stderr, stderr[-3000:]
        else:
            assert "Traceback" not in stderr, stderr[-3000:]
    finally:
        if app.poll() is None:
            app.kill()
            app.wait(10)
        for pid, info in children.items():  # never leave a stray process behind a failure
            if pid in proc_table() and proc_table()[pid]["start"] == info["start"]:
                os.kill(pid, signal.SIGKILL)
        err.close()
