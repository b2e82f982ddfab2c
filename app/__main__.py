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
    # PySide6 replaces __import__ and reads the source of modules imported after it (shiboken's
    # _mod_uses_pyside, inspect.getsource); on pydantic that lookup goes through the package's
    # module __getattr__, which imports pydantic's internal validators module, and when the
    # lookup came while that very module was being imported (the SDK's import, after the window
    # showed) the app failed with "cannot import name 'import_string' from partially initialized
    # module"
    # (2 full test runs of about 10, in a child app process). pydantic.types imports it whole
    # (about 65 ms): nothing is half made when the lookup comes.
    import pydantic.types  # noqa: F401

    from app.ui.launch import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
