"""The desktop bundle: builds it with packaging/build.sh and checks what the script checks.

Slow (over a minute, a 170 MB build): deselected by default; run with `pytest -m slow`."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP_ID = "io.github.cachescope.Cachescope"


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_the_bundle_builds_validates_and_runs_one_turn_frozen():
    for tool in ("desktop-file-validate", "appstreamcli"):
        assert shutil.which(tool), f"{tool} is needed (apt install desktop-file-utils appstream)"
    done = subprocess.run(
        ["bash", str(ROOT / "packaging" / "build.sh")],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    bundle = ROOT / "dist" / "cachescope"
    assert (bundle / "cachescope").is_file()
    assert (bundle / "share" / "applications" / f"{APP_ID}.desktop").is_file()
    for size in (16, 48, 256, 512):
        assert (bundle / "share/icons/hicolor" / f"{size}x{size}/apps/{APP_ID}.png").is_file()
    assert not (bundle / "_internal/PySide6/Qt/translations").exists()
    assert not list(bundle.rglob("libQt6Qml*")) and not list(bundle.rglob("libQt6WebEngine*"))
    assert "smoke test: mode='Offline simulator" in done.stdout and "icon ok" in done.stdout
    size = int(re.search(r"(\d+) MB, built in", done.stdout).group(1))
    assert size < 200, f"the bundle is {size} MB"
