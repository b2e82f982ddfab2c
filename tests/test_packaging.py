"""The installed package carries its data: a plain ``pip install .`` must find models.json."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_contains_the_model_data_and_both_commands(tmp_path):
    # Built from a clean copy: a build/ folder left in the checkout would hide a missing package.
    source = tmp_path / "source"
    junk = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("app", "resources"):
        shutil.copytree(ROOT / name, source / name, ignore=junk)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = tmp_path.glob("cachescope-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(
            archive.read(n).decode() for n in names if n.endswith("entry_points.txt")
        )
    assert "app/resources/models.json" in names
    assert "app/simulator/server.py" in names and "app/ui/main_window.py" in names
    # Every module of the source tree is in the wheel (a package left out of pyproject.toml's
    # list works in an editable install and breaks `pip install .`).
    sources = {p.relative_to(ROOT).as_posix() for p in (ROOT / "app").rglob("*.py")}
    assert sources - names == set()
    assert "cachescope = app.__main__:main" in entry_points
    assert "cachescope-sim = app.simulator.cli:main" in entry_points
    assert "cachescope-replay = app.replay.cli:main" in entry_points
    assert "app/resources/help/reading-the-marks.md" in names
