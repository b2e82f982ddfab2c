"""Preferences a user (or a bad disk) can leave behind never stop the app or spend money."""

import json
import os
import subprocess
import sys

import pytest

from app.conversation.conversation import Conversation
from app.engine.engine import Engine, EngineSettings
from app.engine.session import Session
from app.facts.catalogue import default_catalogue
from app.storage.preferences import MAX_PINGS, Preferences
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
    assert Preferences.load(tmp_path) == Preferences()
    assert (tmp_path / "preferences.json.broken").exists()


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
