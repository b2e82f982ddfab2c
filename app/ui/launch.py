"""Start the desktop app (the window is built by the desktop-app issue)."""

from __future__ import annotations

import sys


def run(argv: list[str]) -> int:
    print(
        "cachescope: the desktop window is not built yet. The offline simulator is ready: "
        "run `cachescope-sim` and point any Anthropic client at it.",
        file=sys.stderr,
    )
    return 2
