"""Document benchmark: attaching a 300-file code base and a 500-page PDF through the composer.

    python tests/perf/documents.py [--json]

For each: seconds from the drop to the chip (the attachment locked, its tokens known, which is
also when the draft's token total and cost appear), and the longest GUI-thread stall meanwhile
(a 5 ms heartbeat on the event loop; the reading runs off the GUI thread). The files are made
here: a code base of 300 Python files in 30 packages with a .gitignore, and a 500-page PDF of
text (fpdf2). The folder is attached whole (the chooser, a wait for the user, is skipped).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")


def make_code_base(root: Path, files: int = 300) -> Path:
    for i in range(files):
        package = root / "src" / f"package_{i % 30:02d}"
        package.mkdir(parents=True, exist_ok=True)
        body = "".join(
            f"def function_{i}_{j}(value: int) -> int:\n"
            f'    """Return the value scaled by {j}."""\n'
            f"    return value * {j} + {i}\n\n"
            for j in range(25)
        )
        (package / f"module_{i:03d}.py").write_text(body)
    (root / ".gitignore").write_text("*.pyc\nbuild/\n")
    (root / "build").mkdir()
    (root / "build" / "ignored.py").write_text("x = 1\n")
    return root


def make_pdf(path: Path, pages: int = 500) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=10)
    text = "The parties agree that the services are delivered as described in the annex. " * 14
    for page in range(pages):
        pdf.add_page()
        pdf.multi_cell(0, 5, f"Page {page + 1}. {text}")
    pdf.output(str(path))
    return path


async def attach(path: Path) -> dict:
    from app.ui.widgets.composer import Composer

    composer = Composer(asyncio.ensure_future)
    composer.confirm_folders = False
    composer.show()
    gaps: list[float] = []
    running = True

    async def heartbeat():
        while running:
            t = time.perf_counter()
            await asyncio.sleep(0.005)
            gaps.append((time.perf_counter() - t - 0.005) * 1000)

    beat = asyncio.get_running_loop().create_task(heartbeat())
    started = time.perf_counter()
    composer.add_files([str(path)])
    await asyncio.gather(*composer.pending)
    chip_s = time.perf_counter() - started
    running = False
    await beat
    if composer.notice.text() or not composer.attachments:
        raise SystemExit(f"not attached: {composer.notice.text()}")
    item = composer.attachments[0]
    return {
        "to_chip_s": round(chip_s, 2),
        "tokens": item.tokens,
        "blocks": len(composer.items()),
        "max_stall_ms": round(max(gaps, default=0.0), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    import qasync
    from PySide6.QtWidgets import QApplication

    qt = QApplication.instance() or QApplication([])
    loop = qasync.QEventLoop(qt)
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory() as folder:
        code = make_code_base(Path(folder) / "codebase")
        started = time.perf_counter()
        pdf = make_pdf(Path(folder) / "report.pdf")
        made_s = time.perf_counter() - started
        with loop:
            result = {
                "code_base_300_files": loop.run_until_complete(attach(code)),
                "pdf_500_pages": loop.run_until_complete(attach(pdf)),
            }
        result["pdf_500_pages"]["pdf_mb"] = round(pdf.stat().st_size / 2**20, 1)
        result["pdf_made_in_s"] = round(made_s, 1)
    if args.json:
        print(json.dumps(result))
        return
    for name, value in result.items():
        print(f"{name:>20}: {value}")


if __name__ == "__main__":
    main()
