"""Render the SVG icon to the hicolor PNG sizes: python make_icons.py SOURCE.svg OUT_DIR ID."""

import os
import sys
from pathlib import Path

SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def main(source: str, out: str, app_id: str) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication([])  # noqa: F841 (painting needs one)
    renderer = QSvgRenderer(source)
    if not renderer.isValid():
        raise SystemExit(f"{source}: not a valid SVG")
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        renderer.render(painter)
        painter.end()
        folder = Path(out) / f"{size}x{size}" / "apps"
        folder.mkdir(parents=True, exist_ok=True)
        image.save(str(folder / f"{app_id}.png"))
    scalable = Path(out) / "scalable" / "apps"
    scalable.mkdir(parents=True, exist_ok=True)
    (scalable / f"{app_id}.svg").write_bytes(Path(source).read_bytes())


if __name__ == "__main__":
    main(*sys.argv[1:4])
