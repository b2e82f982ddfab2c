"""``cachescope``: the desktop app's entry point."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    import multiprocessing

    # A frozen bundle starts its PDF reader process (app/conversation/pdf_process.py) through
    # this same executable: let it become that process instead of a second window.
    multiprocessing.freeze_support()
    from app.ui.launch import run

    return run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
