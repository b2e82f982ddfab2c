"""``cachescope``: the desktop app's entry point."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    import multiprocessing

    # A frozen bundle starts its PDF reader process (app/conversation/pdf_process.py) through
    # this same executable: let it become that process instead of a second window.
    multiprocessing.freeze_support()
    from app.engine.child_guard import GUARD_FLAG
    from app.engine.child_guard import run as guard

    args = sys.argv[1:] if argv is None else argv
    if args[:1] == [GUARD_FLAG]:  # a frozen bundle starting a tool server under its guard
        guard(args[1:])
    from app.ui.launch import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
