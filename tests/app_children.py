"""The real app, left running until the test says how it should end: the subject of
``tests/test_children_end.py``.

    python -m tests.app_children quit|crash GO_FILE -- APP_ARGS...

It runs ``app.__main__.main(APP_ARGS)`` unchanged, except that the main coroutine, once the
window has resumed (the list, the last conversation), waits for GO_FILE to exist and then either
closes the window (what Ctrl+Q does: ``quit``) or raises (an unhandled exception in the main
coroutine: ``crash``).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path


def main() -> int:
    mode, go = sys.argv[1], Path(sys.argv[2])
    app_args = sys.argv[sys.argv.index("--") + 1 :]
    from app.ui.main_window import MainWindow

    resume = MainWindow.resume

    async def resume_then_wait(self, *args, **kwargs):
        resumed = await resume(self, *args, **kwargs)
        while not go.exists():
            await asyncio.sleep(0.1)
        if mode == "crash":
            raise RuntimeError("a crash in the main coroutine (tests/app_children.py)")
        self.close()
        return resumed

    MainWindow.resume = resume_then_wait
    from app.__main__ import main as app_main

    return app_main(app_args)


if __name__ == "__main__":
    sys.exit(main())
