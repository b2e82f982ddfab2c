"""File → Open Claude Code sessions (issue 38, parts 1 and 5): the view lists projects and
sessions newest first, shows each request with what it read, wrote and paid and why it missed,
the figures per day, per subagent and per MCP server, the rewrite lines, updates live while a
session is written, and replays a session calibrated against what it billed."""

import json
import os

import pytest
from PySide6.QtCore import Qt

from tests.claude_code_sessions import (
    SessionFile,
    demo_session,
    growing_session,
    project_folder,
    session_id,
)
from tests.uikit import make_window, until


@pytest.fixture
def claude_home(tmp_path, monkeypatch):
    """Claude Code's folder, moved by CLAUDE_CONFIG_DIR; HOME moved too, so that no real
    ~/.claude is ever read by a test."""
    config = tmp_path / "claude-config"
    (config / "projects").mkdir(parents=True)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return config


def open_view(window):
    (action,) = [
        a for a in window.menus["file"].actions() if a.text() == "Open &Claude Code sessions…"
    ]
    action.trigger()
    return window.claude_code.dialog


def cells(model, column):
    return [model.data(model.index(r, column)) for r in range(model.rowCount())]


def test_the_view_shows_a_sessions_requests_misses_and_trends(qtbot, loop, sim, claude_home):
    path = demo_session(claude_home)
    older = growing_session(2, SessionFile(session_id(91)))
    older_path = older.save(project_folder(claude_home) / f"{older.session_id}.jsonl")
    os.utime(older_path, (1.7e9, 1.7e9))
    other = growing_session(1, SessionFile(session_id(92)))
    other_path = other.save(project_folder(claude_home, "/home/dev/blog") / "b.jsonl")
    os.utime(other_path, (1.6e9, 1.6e9))
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    dialog = open_view(window)
    assert dialog.project_box.itemText(0) == "/home/dev/shop"  # the newest project first
    assert dialog.project_box.itemText(1) == "/home/dev/blog"
    assert dialog.session_list.count() == 2
    assert dialog.session_list.item(0).text().startswith("Checkout refactor: move to the new")
    assert "+ 1 subagent" in dialog.session_list.item(0).text()
    dialog.session_list.setCurrentRow(0)
    # read on the dialog's worker thread: the window goes on at once
    assert dialog.summary.text().startswith("Reading ") and dialog.requests.rowCount() == 0
    loop.run_until_complete(until(lambda: dialog.requests.rowCount() > 0))
    assert dialog.model.reading.path == path

    requests = dialog.requests
    assert requests.rowCount() == 23
    why = cells(requests, 11)
    assert why[11].startswith("a pause of 9 min past the 5m TTL ($")
    assert why[15].startswith("the prefix shrank after a compaction ($")
    assert why[18].startswith("another model (claude-sonnet-4-6 → claude-opus-4-6) ($")
    assert why[20].startswith("a pause of 24 h 10 min past the 5m TTL ($")
    assert requests.red == {11, 15, 18, 20}
    assert requests.data(requests.index(11, 0), Qt.ItemDataRole.ForegroundRole) is not None
    assert set(cells(requests, 2)) == {"session", "a83f1c2"}
    assert cells(requests, 10)[11] == "9 min"
    assert dialog.days.rowCount() == 2
    costs = [float(c.lstrip("$")) for c in cells(dialog.misses, 0)]
    assert costs == sorted(costs, reverse=True) and len(costs) == 4
    assert cells(dialog.agents, 0) == ["the session itself", "a83f1c2"]
    assert cells(dialog.agents, 3)[1] == "2.1"  # the subagent read 48,100 for 22,500 written
    assert cells(dialog.servers, 0) == ["github", "linear"]
    lines = [dialog.rewrites.item(i).text() for i in range(dialog.rewrites.count())]
    assert lines[0].startswith("request 12: rewrote 40,270 tokens after 9 min idle: $0.15;")
    assert "23 requests (1 subagent)" in dialog.summary.text()
    loop.run_until_complete(client.close())


def test_a_session_being_written_updates_live(qtbot, loop, sim, claude_home):
    session = growing_session(3, SessionFile(session_id(93)))
    path = session.save(project_folder(claude_home) / f"{session.session_id}.jsonl")
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    dialog = open_view(window)
    dialog.session_list.setCurrentRow(0)
    loop.run_until_complete(until(lambda: dialog.requests.rowCount() == 3))
    assert dialog.timer.isActive()
    growing_session(2, session, system=22_000, warm=True)
    with open(path, "a") as fh:  # Claude Code appends two more requests
        fh.write("".join(json.dumps(line) + "\n" for line in session.lines[-6:]))
    loop.run_until_complete(until(lambda: dialog.requests.rowCount() == 5, timeout=10))
    assert "Updated live" in dialog.live.text()
    assert "5 requests" in dialog.summary.text()
    loop.run_until_complete(client.close())


def test_what_would_it_have_cost_for_a_claude_code_session_begins_with_the_calibration(
    qtbot, loop, sim, claude_home
):
    session = growing_session(6, SessionFile(session_id(94)), model="claude-sonnet-4-6")
    session.save(project_folder(claude_home) / f"{session.session_id}.jsonl")
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    dialog = open_view(window)
    dialog.session_list.setCurrentRow(0)
    loop.run_until_complete(until(lambda: dialog.requests.rowCount() == 6))
    replay = dialog.replay()
    loop.run_until_complete(until(lambda: replay.task.done(), timeout=120))
    assert replay.sentence.text().startswith(
        "The replay (Claude Code's layout) reproduces the cache reads of 6 of 6 requests within"
        " 2 %; policies are compared over the whole session."
    )
    assert replay.table.rowCount() == 9 and not replay.apply_button.isVisible()
    loop.run_until_complete(client.close())


def test_no_claude_code_folder_is_said_plainly(qtbot, loop, sim, tmp_path, monkeypatch):
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "nothing"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    dialog = open_view(window)
    assert dialog.where.text().startswith("No Claude Code folder found")
    assert dialog.project_box.count() == 0 and dialog.session_list.count() == 0
    loop.run_until_complete(client.close())
