"""Quitting: closing the window (Ctrl+Q or the title bar) ends the app with status 0, no
traceback, and the history on disk."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CLOSER = textwrap.dedent(
    """
    import sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication([sys.argv[0]])

    def close():
        for widget in app.topLevelWidgets():
            if widget.isVisible() and widget.windowTitle().startswith("Cachescope"):
                widget.close()  # what Ctrl+Q's action does

    timer = QTimer()
    timer.timeout.connect(close)
    timer.start(1500)
    from app.ui.launch import run

    sys.exit(run(["--simulator", "--data-dir", sys.argv[1]]))
    """
)


def test_closing_the_window_exits_zero_without_a_traceback(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    env.pop("ANTHROPIC_API_KEY", None)
    done = subprocess.run(
        [sys.executable, "-c", CLOSER, str(tmp_path / "home")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "home" / "cachescope.db").exists()
