"""Benchmark: how long the app takes to end, with every kind of child running, and what is left.

    python tests/perf/quit_time.py [RUNS]

Starts the real app as tests/test_children_end.py does (a PDF reader, a thumbnail maker, the
resource tracker, an MCP server and one that never reads its stdin) and ends it by SIGTERM,
SIGINT, SIGHUP, a crash, a normal quit and SIGKILL, RUNS times each (default 1). Prints, per
ending, the seconds from the signal (or the quit) to the app's exit, its exit status and the
processes left 5 s later (an app that did not end in 30 s is killed: status "none").
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.test_children_end import (  # noqa: E402
    CHILD_KINDS,
    descendants,
    kind,
    prepared,
    still_running,
)

ENDINGS = ("SIGTERM", "SIGINT", "SIGHUP", "crash", "quit", "SIGKILL")


def one(ending: str) -> tuple[float, int, int]:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        data, pdf = prepared(tmp)
        go = tmp / "go"
        args = ["--simulator", "--data-dir", str(data), str(pdf)]
        command = ["-m", "app", *args]
        if ending in ("crash", "quit"):
            command = ["-m", "tests.app_children", ending, str(go), "--", *args]
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
        env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
        env.pop("ANTHROPIC_API_KEY", None)
        app = subprocess.Popen(
            [sys.executable, *command],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        children = {}
        while time.monotonic() < deadline:
            children = descendants(app.pid)
            if sorted(kind(i) for i in children.values()) == sorted(CHILD_KINDS):
                break
            time.sleep(0.3)
        time.sleep(0.5)
        children = descendants(app.pid)
        asked = time.monotonic()
        if ending in ("crash", "quit"):
            go.touch()
        else:
            app.send_signal(getattr(signal, ending))
        try:
            code = app.wait(30)
        except subprocess.TimeoutExpired:  # it did not end: say so, and end it
            code = "none"
            app.kill()
            app.wait(10)
        took = time.monotonic() - asked
        time.sleep(5)
        left = still_running(children, app.pid)
        for line in left:  # nothing of this script's stays behind
            os.kill(int(line.split()[0]), signal.SIGKILL)
        return took, code, len(left)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    print(f"{'ending':8} {'exit s (median)':>16} {'status':>7} {'left':>5}")
    for ending in ENDINGS:
        results = [one(ending) for _ in range(runs)]
        took = statistics.median(r[0] for r in results)
        codes = sorted({r[1] for r in results})
        left = max(r[2] for r in results)
        print(f"{ending:8} {took:16.2f} {','.join(map(str, codes)):>7} {left:5d}")


if __name__ == "__main__":
    main()
