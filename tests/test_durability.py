"""Nothing is lost: a process killed mid-reply, and no trace of the API key anywhere on disk."""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from app.storage.export import export_json, export_markdown
from app.storage.store import DB_NAME, Store

CHILD = textwrap.dedent(
    """
    import asyncio, sys
    import anthropic
    from app.conversation.conversation import Conversation
    from app.engine.engine import Engine, EngineSettings
    from app.history.recorder import Recorder
    from app.engine.session import Session
    from app.simulator.runner import SimulatorThread
    from app.simulator.server import SimulatorConfig
    from app.storage.store import Store
    from app.storage.writer import Writer

    async def main(folder):
        with SimulatorThread(SimulatorConfig(time_scale=4.0)) as sim:  # 12.5 tokens/s
            client = anthropic.AsyncAnthropic(base_url=sim.base_url, api_key="k")
            engine = Engine(client, EngineSettings(warming=False))
            conv = Conversation(model="claude-haiku-4-5", max_tokens=2000)
            session = Session(conv)
            recorder = Recorder(Writer(Store.open(folder)), engine, session)
            conv.add_user_text("Tell me a very long story about a lighthouse keeper.")
            await recorder.commit()
            print("committed", flush=True)
            await engine.run_turn(session)
            print("finished", flush=True)

    asyncio.run(main(sys.argv[1]))
    """
)


def partial_reply(path: Path) -> str:
    if not path.exists():
        return ""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = conn.execute(
            "SELECT text FROM messages WHERE role='assistant' AND interrupted=1"
        ).fetchone()
    except sqlite3.OperationalError:
        return ""
    finally:
        conn.close()
    return row[0] if row else ""


def test_a_reply_killed_mid_stream_is_there_when_reopened(tmp_path):
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        deadline = time.monotonic() + 60
        while len(partial_reply(tmp_path / DB_NAME)) < 40:
            assert child.poll() is None, child.stderr.read()[-2000:]
            assert time.monotonic() < deadline, "no checkpoint of the reply within 60 s"
            time.sleep(0.1)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    assert "finished" not in child.stdout.read()
    store = Store.open(tmp_path)
    (row,) = store.conversations()
    conv, _, _ = store.load(row.id)
    user, reply = conv.messages
    assert user.text.startswith("Tell me a very long story") and row.title == user.text
    assert reply.role == "assistant" and reply.interrupted and len(reply.text) >= 40


def test_no_trace_of_the_key_in_the_data_folder_exports_or_logs(tmp_path, sim):
    key = "sk-ant-api03-TEST-KEY-must-never-be-written-0123456789"
    env = {**os.environ, "ANTHROPIC_API_KEY": key, "QT_QPA_PLATFORM": "offscreen"}
    env["CACHESCOPE_DATA_DIR"] = str(tmp_path / "data")
    done = subprocess.run(
        [sys.executable, "-m", "app", "--smoke-test", "--base-url", sim.base_url, "-v"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    store = Store.open(tmp_path / "data")
    (row,) = store.conversations()
    conv, records, _ = store.load(row.id)
    assert len(conv.messages) == 2 and len(records) == 1
    export_json(conv, tmp_path / "export.json", records)
    export_markdown(conv, tmp_path / "export.md")
    store.close()
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "cachescope.log" for p in files)
    assert any(p.name.startswith(DB_NAME) for p in files)
    for path in files:
        assert key.encode() not in path.read_bytes(), path
    assert key not in done.stdout + done.stderr


def test_a_password_in_the_base_url_reaches_no_log_no_stderr_and_no_badge(sim, tmp_path):
    """--base-url http://user:password@host: the SDK's request log, the badge and the log file
    hold no password."""
    import os
    import subprocess
    import sys

    from app.facts.redact import redact

    assert redact("GET http://alice:hunter2@h/v1 key sk-ant-api03-abcdefghijkl") == (
        "GET http://***@h/v1 key sk-ant-***"
    )
    url = sim.base_url.replace("http://", "http://alice:hunter2-secret@")
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "ANTHROPIC_API_KEY": "sk-ant-test-0123456789",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "--smoke-test",
            "-v",
            "--base-url",
            url,
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    # The SDK would turn URL credentials into Basic auth in place of the key, so such a URL is
    # refused before anything starts (tests/test_base_url_login.py); what matters here is where
    # the password went.
    assert done.returncode == 2 and "The base URL 'http://***@127.0.0.1" in done.stderr
    everything = (
        done.stdout
        + done.stderr
        + "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*.log*"))
    )
    assert "hunter2-secret" not in everything and "0123456789" not in everything
