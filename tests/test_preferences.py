"""Preferences a user (or a bad disk) can leave behind never stop the app or spend money."""

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import fields
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.conversation.conversation import Conversation
from app.engine.engine import Engine, EngineSettings
from app.engine.session import Session
from app.engine.settings import from_preferences
from app.facts.catalogue import default_catalogue
from app.storage.preferences import MAX_PINGS, Preferences, load_preferences
from app.ui.launch import choose_model


def smoke(folder, *extra):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("ANTHROPIC_API_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "app", "--smoke-test", "--data-dir", str(folder), *extra],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_a_retired_default_model_falls_back_with_a_notice(tmp_path):
    (tmp_path / "preferences.json").write_text(json.dumps({"model": "claude-3-haiku-20240307"}))
    done = smoke(tmp_path)
    assert done.returncode == 0, done.stderr[-1500:]
    assert "is retired; using Claude Sonnet 5" in done.stderr


def test_a_deeply_nested_preferences_file_is_set_aside_not_fatal(tmp_path):
    (tmp_path / "preferences.json").write_text("[" * 100_000)
    prefs, notice = load_preferences(tmp_path, date(2026, 12, 6))
    assert prefs == Preferences() and "nested too deeply" in notice
    assert (tmp_path / "preferences.json.broken-2026-12-06").read_text() == "[" * 100_000


def test_a_broken_preferences_file_is_moved_aside_once_with_its_date_and_the_app_says_so(tmp_path):
    """Issue 40, point 6: a 100 MB file with a value the app refuses was copied aside and left
    in place, so every start read and copied it again."""
    path = tmp_path / "preferences.json"
    huge = json.dumps({"model": "x" * 30_000_000, "appearance": "dark", "ttl": "1h"})
    path.write_text(huge)
    prefs, notice = load_preferences(tmp_path, date(2026, 12, 6))
    aside = tmp_path / "preferences.json.broken-2026-12-06"
    assert aside.read_text() == huge  # the user's file, whole, under a name with its date
    assert prefs == Preferences()  # too big to be preferences: not even read
    assert notice == (
        "Your preferences file could not be read (30 MB, far more than preferences take): it "
        f"was moved to {aside.name} in {tmp_path}; Cachescope started on its defaults."
    )
    assert not path.exists()
    assert load_preferences(tmp_path, date(2026, 12, 7)) == (Preferences(), "")  # once
    assert sorted(p.name for p in tmp_path.iterdir()) == [aside.name]


def test_a_value_the_app_refuses_moves_the_file_aside_once_and_keeps_the_others(tmp_path):
    path = tmp_path / "preferences.json"
    text = json.dumps({"model": "x" * 200_000, "appearance": "dark", "ttl": "1h"})
    path.write_text(text)
    prefs, notice = load_preferences(tmp_path, date(2026, 12, 6))
    assert (prefs.appearance, prefs.ttl, prefs.model) == ("dark", "1h", "")
    assert "cannot use (model)" in notice and "preferences.json.broken-2026-12-06" in notice
    assert (tmp_path / "preferences.json.broken-2026-12-06").read_text() == text
    assert load_preferences(tmp_path, date(2026, 12, 6)) == (prefs, "")  # said and done once
    path.write_text("{not json")  # broken again the same day: a second copy, the first kept
    assert "broken-2026-12-06-2" in load_preferences(tmp_path, date(2026, 12, 6))[1]
    assert (tmp_path / "preferences.json.broken-2026-12-06").read_text() == text


def test_a_billion_keepalive_pings_are_clamped_in_the_file_and_in_the_engine(tmp_path):
    (tmp_path / "preferences.json").write_text(json.dumps({"keepalive_pings": 10**9, "ttl": "9y"}))
    prefs = Preferences.load(tmp_path)
    assert prefs.keepalive_pings == MAX_PINGS and prefs.ttl == "adaptive"
    engine = Engine(None, EngineSettings(keepalive_pings=10**9))
    session = Session(Conversation(model="claude-sonnet-4-6"))

    async def schedule():
        task = engine.schedule_keepalive(session)
        task.cancel()

    import asyncio

    asyncio.run(schedule())
    assert session.pings_left == MAX_PINGS


@pytest.mark.parametrize(
    ("asked", "preferred", "expect"),
    [
        ("claude-opus-4-1", "", "retired on 2026-08-05"),
        ("claude-banana", "", "unknown model 'claude-banana'"),
        (None, "claude-banana", "is unknown; using Claude Sonnet 5"),
        (None, "claude-opus-4-8", ""),
    ],
)
def test_choosing_the_first_model(asked, preferred, expect):
    model, notice = choose_model(default_catalogue(), asked, preferred)
    assert (expect in notice) if expect else notice == ""
    assert (model is None) == (asked is not None and bool(expect))


def test_an_always_allow_value_the_app_cannot_use_is_set_aside_and_the_app_starts(tmp_path):
    """Issue 25, point 10: ``"always_allow": {"x": 5}`` raised TypeError at every start."""
    text = json.dumps({"always_allow": {"x": 5}, "appearance": "dark", "warming": False})
    (tmp_path / "preferences.json").write_text(text)
    done = smoke(tmp_path)
    assert done.returncode == 0, done.stderr[-1500:]
    assert "Your preferences file held values Cachescope cannot use (always_allow)" in done.stderr
    (aside,) = tmp_path.glob("preferences.json.broken-*")
    assert aside.read_text() == text  # kept, not lost
    prefs = Preferences.load(tmp_path)
    assert prefs.always_allow == {} and (prefs.appearance, prefs.warming) == ("dark", False)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = [f.name for f in fields(Preferences)]


@settings(max_examples=300, deadline=None)
@given(values=st.dictionaries(st.sampled_from(FIELDS + ["unknown"]), JSON))
def test_any_preferences_file_loads_into_values_every_reader_can_use(values):
    folder = Path(tempfile.mkdtemp(prefix="prefs-"))
    (folder / "preferences.json").write_text(json.dumps(values))
    prefs = Preferences.load(folder)
    defaults = Preferences()
    for f in fields(Preferences):
        assert type(getattr(prefs, f.name)) is type(getattr(defaults, f.name)), f.name
    # What the app does with them at start: engine settings, approvals, the file again.
    settings_ = from_preferences(prefs)
    assert 0 <= settings_.keepalive_pings <= MAX_PINGS
    assert all(isinstance(t, str) for v in prefs.always_allow.values() for t in set(v))
    prefs.save(folder)
    assert Preferences.load(folder) == prefs


def test_without_a_display_the_app_says_so_and_exits_2(tmp_path):
    """Issue 28: with no display Qt aborted the process (rc 134) blaming libxcb-cursor0."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)
    done = subprocess.run(
        [sys.executable, "-m", "app", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 2, done.stderr[-800:]
    assert "no display to open a window on" in done.stderr


def test_a_missing_xcb_cursor_library_is_named_before_qt_aborts():
    from app.ui.launch import display_problem

    x11 = {"DISPLAY": ":0"}
    assert "libxcb-cursor0" in display_problem(x11, "linux", find=lambda name: None)
    assert display_problem(x11, "linux", find=lambda name: "libxcb-cursor.so.0") is None
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux") is None
    assert display_problem({}, "darwin") is None


def test_files_named_on_the_command_line_are_attached(tmp_path):
    """Issue 28: ``cachescope FILE`` did not open the file, so "Open with" could not work."""
    notes = tmp_path / "notes.txt"
    notes.write_text("Meeting notes: the launch moves to March. " * 40)
    done = smoke(tmp_path / "data", str(notes))
    assert done.returncode == 0, done.stderr[-1500:]
    attached = json.loads(done.stdout.strip().splitlines()[-1])["attachments"]
    assert [a["path"] for a in attached] == [str(notes)] and attached[0]["tokens"] > 300
