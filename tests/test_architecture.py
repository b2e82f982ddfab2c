"""The floors hold: nothing imports upwards, and the core never imports Qt."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    done = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    declared = (ROOT / "pyproject.toml").read_text().count("[[tool.importlinter.contracts]]")
    assert declared >= 6 and f"Contracts: {declared} kept, 0 broken" in done.stdout


def test_core_modules_import_without_qt_loaded():
    code = (
        "import sys, app.facts.prefix, app.facts.rules, app.simulator.server, app.simulator.cli;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'qasync', 'shiboken6')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_window_shows_before_the_sdk_the_replay_the_inspector_or_the_pdf_reader_load(
    tmp_path,
):
    """Issue 37: the window appeared 2.6 to 2.9 s after the command because it imported the
    replay and inspector machinery (1.6 s) before it was shown. Each feature loads what it
    needs the first time it is used; the launcher prints what was loaded when the window
    showed."""
    import os

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", CACHESCOPE_DATA_DIR=str(tmp_path))
    env.pop("ANTHROPIC_API_KEY", None)
    done = subprocess.run(
        [sys.executable, "-m", "app", "--exit-when-shown", "--simulator"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "loaded before shown: none" in done.stdout, done.stdout


def test_the_house_is_livable_as_issue_37_measures_it():
    """A feature sees a context, not the window; no view reaches through a chat into its
    conversation; nothing reads another object's private members; three owners start tasks
    (the engine: requests; the MCP hub: its servers; the workspace: the rest), each ended at
    quit; no file over 500 lines (``tests/perf/house.py`` prints the same)."""
    sys.path.insert(0, str(ROOT / "tests" / "perf"))
    from house import measure

    found = measure(ROOT)
    assert found["window_attributes_reached"] <= 10, found
    assert found["conversation_chains"] == [] and found["private_members"] == []
    assert found["task_owner_modules"] == [
        "app/engine/engine.py",
        "app/engine/mcp_hub.py",
        "app/workspace/workspace.py",
    ]
    assert found["files_over_500_lines"] == []
