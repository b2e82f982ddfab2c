"""Keystroke benchmark: what one typed character costs the GUI thread, in the real window.

    python tests/perf/keystroke.py [--messages 1000] [--json]

A window on the built-in simulator shows a conversation of ``--messages`` messages (a 3,000-token
system prompt; warming on; the adaptive TTL, which builds the request twice per decision). 200
characters are typed into the composer with Qt's key events; each key's handling (the composer,
its signals, the controller) is timed as the GUI thread spends it.

- per_key_ms_median / per_key_ms_p95 / per_key_ms_max: the GUI thread's time per keystroke.
- decision_call_ms / decision_gui_ms / decision_gui_stall_ms / decision_done_ms: one warm-up
  decision on a new draft (``Chat.decide_now``), made once per typing pause
  (``app.workspace.chat.DEBOUNCE_S``): the call's own time, the decision's time on the GUI thread
  (whether a warm-up may go, the decision against the ledger, the outlook's look, the warm-up's
  landing look), the longest stall of the GUI thread's event loop while the decision runs
  (its two builds run in a worker thread; the prediction, the decision and the outlook on the GUI
  thread), and its time to the end (worker included); idle_gui_stall_ms: the same loop's longest
  stall over 60 ms with nothing decided (what the measure itself shows on this machine).
- decisions: decisions made while typing the 200 characters, 0.15 s apart (a pause of
  ``DEBOUNCE_S`` or more makes one).
Target (issue 26): at most 2 ms per keystroke at 1,000 messages.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")

KEYS = 200
GAP_S = 0.15  # between keystrokes: a brisk typist


def conversation(messages: int):
    from app.conversation.blocks import TextBlock
    from app.conversation.conversation import Conversation
    from tests.helpers import SONNET_46, text_of

    conv = Conversation(model=SONNET_46, max_tokens=400, pattern="smart", ttl="adaptive")
    conv.set_system_text(text_of(3000, "system"))
    for i in range(messages // 2):
        conv.add_user_text(f"question {i}: " + "why does the cache pay? " * 8)
        conv.add("assistant", TextBlock(f"answer {i}: " + "because the prefix repeats. " * 12))
    return conv


async def scenario(window, engine) -> dict:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    edit = window.composer.edit
    edit.setFocus()
    await asyncio.sleep(0.5)
    timings = []
    for i in range(KEYS):
        char = "abcdefghij klmnopqrstuvwxyz"[i % 27]
        key = Qt.Key.Key_Space if char == " " else getattr(Qt.Key, f"Key_{char.upper()}")
        started = time.perf_counter()
        QTest.keyClick(edit, key, Qt.KeyboardModifier.NoModifier)
        timings.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(GAP_S)
    await asyncio.sleep(1.0)
    decisions = window.chat.decisions
    for task in list(window.session.warm_tasks.values()):
        await task
    spent, stalls, whole, quiet = [], [], [], []
    on_gui: list[float] = []  # the decision's own share of the GUI thread

    def timed(method):
        def run(*args, **kwargs):
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                on_gui.append((time.perf_counter() - started) * 1000)

        return run

    drafts = engine.drafts
    drafts.blocker, drafts.warm = timed(drafts.blocker), timed(drafts.warm)
    window.chat.keeper.changed = timed(window.chat.keeper.changed)
    per_decision: list[float] = []
    for i in range(5):
        window.composer.edit.insertPlainText(str(i))  # a new draft each time: a real decision
        window.chat.draft = window.chat.draft.__class__(window.composer.text())
        gaps: list[float] = []
        running = [True]

        async def ticker(gaps: list[float], running: list[bool]):
            while running[0]:
                t = time.perf_counter()
                await asyncio.sleep(0.001)
                gaps.append((time.perf_counter() - t - 0.001) * 1000)

        tick = asyncio.get_running_loop().create_task(ticker(gaps, running))
        await asyncio.sleep(0.06)  # the loop's own stalls, with nothing decided
        quiet.append(max(gaps, default=0.0))
        gaps.clear()
        on_gui.clear()
        started = time.perf_counter()
        decision = window.chat.decide_now()  # the warm-up's and the send's requests, the look
        spent.append((time.perf_counter() - started) * 1000)
        await decision
        whole.append((time.perf_counter() - started) * 1000)
        per_decision.append(sum(on_gui))
        running[0] = False
        await tick
        stalls.append(max(gaps, default=0.0))
        for task in list(window.session.warm_tasks.values()):
            await task
    timings.sort()
    return {
        "messages": len(window.session.conversation.messages),
        "keys": KEYS,
        "per_key_ms_median": round(statistics.median(timings), 3),
        "per_key_ms_p95": round(timings[int(len(timings) * 0.95) - 1], 3),
        "per_key_ms_max": round(timings[-1], 3),
        "decision_call_ms": round(statistics.median(spent), 2),
        "decision_gui_ms": round(statistics.median(per_decision), 2),
        "decision_gui_stall_ms": round(statistics.median(stalls), 2),
        "idle_gui_stall_ms": round(statistics.median(quiet), 2),
        "decision_done_ms": round(statistics.median(whole), 2),
        "decisions": decisions,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import anthropic
    import qasync
    from PySide6.QtWidgets import QApplication

    from app.engine.engine import Engine, EngineSettings
    from app.engine.session import Session
    from app.simulator.runner import SimulatorThread
    from app.simulator.server import SimulatorConfig
    from tests.uikit import window_on

    app = QApplication.instance() or QApplication([])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop, SimulatorThread(SimulatorConfig(time_scale=0)) as sim:
        client = anthropic.AsyncAnthropic(base_url=sim.base_url, api_key="k", max_retries=0)
        engine = Engine(client, EngineSettings(warming=True))
        window = window_on(engine, Session(conversation(args.messages)), None, "benchmark")
        window.resize(1366, 768)
        window.show()
        result = loop.run_until_complete(scenario(window, engine))
        loop.run_until_complete(client.close())
        window.close()
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:>20}: {value}")
    print(f"{'target':>20}: at most 2 ms per keystroke")


if __name__ == "__main__":
    main()
