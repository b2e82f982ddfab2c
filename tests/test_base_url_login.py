"""A base URL with a login (``https://user:password@host``) is refused wherever it can be given
(issue 40, point 3): with SDK 2.17 the key goes as ``Authorization: Bearer``, and the HTTP
library replaces that header with ``Basic`` from the URL's login, so the key was never sent and
the user read "The API key was refused". Checked against a real local server that records the
headers it receives. The password is never shown or logged."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import anthropic
import pytest
from PySide6.QtWidgets import QDialogButtonBox

from app.engine.connect import BASE_URL_ENV, BaseUrlRefused, base_url_problem, connect
from app.storage.preferences import Preferences, load_preferences
from tests.uikit import make_window

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-ant-api03-recorded-key-0123456789"
PASSWORD = "hunter2-secret"


class Recorder(BaseHTTPRequestHandler):
    """Answers every request as the API answers a key it refuses (401), after noting its
    headers."""

    seen: list[dict] = []

    def do_POST(self):
        type(self).seen.append({k.lower(): v for k, v in self.headers.items()})
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.dumps(
            {"type": "error", "error": {"type": "authentication_error", "message": "bad key"}}
        ).encode()
        self.send_response(401)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, Recorder.seen
    server.shutdown()
    server.server_close()


def urls(server) -> tuple[str, str]:
    port = server.server_port
    return f"http://127.0.0.1:{port}", f"http://gateway-user:{PASSWORD}@127.0.0.1:{port}"


def send_once(base_url: str) -> None:
    asyncio.run(_send_with(anthropic.AsyncAnthropic(api_key=KEY, base_url=base_url, max_retries=0)))


def test_why_the_sdk_with_a_login_in_the_url_never_sends_the_key(recorder):
    """The premise of the refusal (if the SDK or the HTTP library change, this says so): the key
    goes as Bearer without a login, and is replaced by the login's Basic with one."""
    server, seen = recorder
    plain, with_login = urls(server)
    send_once(plain)
    send_once(with_login)
    assert seen[0]["authorization"] == f"Bearer {KEY}"
    assert seen[1]["authorization"].startswith("Basic ")
    assert KEY not in json.dumps(seen[1])


def test_connect_refuses_a_url_with_a_login_before_anything_is_sent(recorder, monkeypatch):
    server, seen = recorder
    plain, with_login = urls(server)
    with pytest.raises(BaseUrlRefused) as refused:
        connect(KEY, "test", with_login, 1.0)
    text = str(refused.value)
    assert "holds a login (user:password@)" in text and "Give the URL without it" in text
    assert PASSWORD not in text and "gateway-user" not in text
    monkeypatch.setenv(BASE_URL_ENV, with_login)  # the SDK's own variable, read when none given
    with pytest.raises(BaseUrlRefused):
        connect(KEY, "environment", None, 1.0)
    assert seen == []  # nothing went out
    monkeypatch.delenv(BASE_URL_ENV)
    client, mode, _ = connect(KEY, "test", plain, 1.0)  # without the login: the key goes
    asyncio.run(_send_with(client))
    assert seen[0]["authorization"] == f"Bearer {KEY}" and "API at" in mode


async def _send_with(client):
    try:
        await client.messages.create(
            model="claude-sonnet-4-6", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
        )
    except anthropic.AuthenticationError:
        pass
    finally:
        await client.close()


def test_the_command_line_refuses_it_without_showing_the_password(recorder, tmp_path):
    """Before: the smoke test ran, the server got Basic, the user read "The API key was
    refused"."""
    server, seen = recorder
    _, with_login = urls(server)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "ANTHROPIC_API_KEY": KEY}
    env.pop(BASE_URL_ENV, None)
    done = subprocess.run(
        [sys.executable, "-m", "app", "--smoke-test", "--data-dir", str(tmp_path)]
        + ["--base-url", with_login],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "holds a login (user:password@)" in done.stderr
    assert PASSWORD not in done.stderr + done.stdout
    assert seen == []
    log = tmp_path / "cachescope.log"
    assert not log.exists() or PASSWORD not in log.read_text()


def test_the_preferences_dialog_refuses_it_with_a_sentence(qtbot, loop, sim):
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    saves = []
    window.preferences_changed = lambda: saves.append(window.prefs)
    dialog = window.dialogs.edit_preferences()
    dialog.base_url.setText(f"https://me:{PASSWORD}@gateway.example/anthropic")
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    said = dialog.base_url_status.text()
    assert "holds a login (user:password@)" in said and PASSWORD not in said
    assert dialog.isVisible() and saves == [] and window.prefs.base_url == ""
    dialog.base_url.setText("https://gateway.example/anthropic")  # without it: saved
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    assert window.prefs.base_url == "https://gateway.example/anthropic"
    assert dialog.base_url_status.text() == ""
    loop.run_until_complete(client.close())


def test_a_saved_base_url_with_a_login_is_not_used_and_the_notice_says_why(tmp_path):
    (tmp_path / "preferences.json").write_text(
        json.dumps({"base_url": f"https://me:{PASSWORD}@gateway.example", "appearance": "dark"})
    )
    prefs, notice = load_preferences(tmp_path)
    assert prefs.base_url == "" and prefs.appearance == "dark"
    assert "base_url: a URL with a login" in notice and PASSWORD not in notice
    assert Preferences.load(tmp_path).base_url == ""


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("https://api.anthropic.com", False),
        ("https://user@host.example", True),
        ("https://user:pw@host.example/v1", True),
        ("https://:pw@host.example", True),
        ("http://127.0.0.1:8765", False),
        ("https://host.example/path@with-at", False),
        ("", False),
    ],
)
def test_which_urls_hold_a_login(url, refused):
    assert (base_url_problem(url) is not None) == refused
