"""A Cachescope window that chats until it is killed: the subject of ``test_kill.py``.

    python -m tests.killed_child DATA_DIR SENT_LOG SEED

It runs the real window with a history on the built-in simulator (replies stream for about a
second each) and sends message after message. Each time a turn's request goes out, the user's
text is appended to SENT_LOG and synced to disk, so whatever moment the parent kills it at, the
log says what the user had sent by then."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")


def main() -> None:
    import qasync
    from PySide6.QtWidgets import QApplication

    from app.engine import events as ev
    from app.simulator.runner import SimulatorThread
    from app.simulator.server import SimulatorConfig
    from tests.uikit import make_window, turn_over, until

    folder, log_path, seed = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    qt = QApplication([])
    loop = qasync.QEventLoop(qt)
    asyncio.set_event_loop(loop)
    log = open(log_path, "a", encoding="utf-8")  # noqa: SIM115 (open for the process's life)

    with SimulatorThread(SimulatorConfig(time_scale=0.3)) as sim:
        window, _client = make_window(sim.base_url, system_tokens=1500, folder=folder)
        window.show()

        def on_event(event) -> None:
            if isinstance(event, ev.RequestBuilt) and event.kind == "turn":
                log.write(window.session.conversation.messages[-1].text + "\n")
                log.flush()
                os.fsync(log.fileno())

        window.engine.subscribe(on_event)

        async def chat() -> None:
            print("ready", flush=True)
            for turn in range(10_000):
                window.composer.edit.setPlainText(f"run {seed} message {turn}: please explain")
                window.sending.send()
                await until(lambda: turn_over(window), timeout=60)

        with loop:
            loop.run_until_complete(chat())


if __name__ == "__main__":
    main()
