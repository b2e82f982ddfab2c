"""Benchmark: the same human-timed sessions as ``sessions.py``, replayed through the real window.

    python tests/perf/app_sessions.py [--traces DIR] [--json]

Each trace (``tests/perf/traces/*.json``) is replayed twice in simulated time on the same virtual
loop and simulator as ``sessions.py``: once as ``sessions.py`` does (the ``cachescope`` policy:
the engine driven through its controller, ``Chat``, with keys simulated) and once through the
window (``window``): a ``MainWindow`` offscreen whose composer gets the trace's attachments, Qt
key events while the user types (one every ``KEY_EVERY_S``), the question and Enter (``send``);
"edit the last message" goes through the pane's edit command, a moment before the keys (as
``sessions.py`` replays it). The window decides its warm-ups as it does for a user (once per
typing pause, at once on an attachment). Qt's own events are processed every ``PUMP_S`` of
simulated time. TTFT is from Enter to the first token, in simulated seconds.

``--json`` prints the same shape as ``sessions.py --json`` (policies ``cachescope`` and
``window``), plus ``window_vs_engine``: per trace, the window's cost and median TTFT over the
engine-only replay's. The target (issue 26): within 3% on both.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")

from app.replay.policies import POLICIES, Cachescope  # noqa: E402
from app.replay.trace import TraceError, load  # noqa: E402
from tests.perf.sessions import TRACES, run  # noqa: E402

KEY_EVERY_S = 0.25  # simulated seconds between key events while the user types
PUMP_S = 0.1  # simulated seconds between two passes of Qt's event processing


class WindowActor(Cachescope):
    """The window as a user drives it (see the module's docstring), on the engine and session
    the engine-only replay makes (``Cachescope``: the same settings, the same events heard);
    the window's own controller replaces the one the engine-only replay drives."""

    def __init__(self, client, conversation, loop):
        super().__init__(client, conversation, loop)
        from PySide6.QtWidgets import QApplication

        from tests.uikit import window_on

        self.chat.close()  # the window makes its own controller for the session
        self.app = QApplication.instance() or QApplication([])
        self.window = window_on(self.engine, self.session, None, "replay")
        self.window.resize(1366, 768)
        self.chat = self.window.chat
        self.pump = loop.create_task(self._pump())

    async def _pump(self) -> None:
        while True:
            self.app.processEvents()
            await asyncio.sleep(PUMP_S)

    async def attach(self, item) -> None:
        composer = self.window.composer
        composer.set_draft(composer.text(), [*composer.items(), item])  # one change, announced
        await asyncio.sleep(0)

    async def typing(self, seconds: float, text: str = "") -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest

        edit = self.window.composer.edit
        end = self.loop.time() + seconds
        while self.loop.time() < end:
            QTest.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.NoModifier)
            await asyncio.sleep(min(KEY_EVERY_S, end - self.loop.time()))

    async def prepare(self, base, keep_attachments: bool) -> None:
        """Going back: the pane's edit command on the message after ``base``."""
        if list(base) == self.conv.messages:
            return
        self._show(base)
        if len(self.conv.messages) > len(base):
            self.window.messages.edit_message(len(base))
            if not keep_attachments:
                self.window.composer.set_draft(self.window.composer.text(), [])
        await asyncio.sleep(0)

    async def send(self, text: str) -> float | None:
        self.window.composer.edit.setPlainText(text)
        before = len(self.firsts)
        self.window.sending.send()
        turn = self.window.chat.turn
        if turn is None:
            self.failures.append(f"the window did not send: {self.window.status_label.text()}")
            return None
        self.sent_at.append(self.loop.time())
        await asyncio.wait([turn.task])
        return self.firsts[before] if len(self.firsts) > before else None

    async def close(self) -> None:
        self.pump.cancel()
        self.window.chat.close()
        await self.engine.shutdown()
        self.window.close()
        self.window.deleteLater()


def compare(out: dict) -> dict:
    rows = {}
    for name, entry in out["traces"].items():
        engine, window = entry["policies"]["cachescope"], entry["policies"]["window"]
        rows[name] = {
            "cost_ratio": round(window["cost_usd"] / engine["cost_usd"], 4),
            "p50_ttft_ratio": round(
                statistics.median(window["ttft_s"]) / statistics.median(engine["ttft_s"]), 4
            ),
        }
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=Path, default=TRACES)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    POLICIES["window"] = WindowActor
    try:
        traces = load(args.traces)
    except TraceError as exc:
        raise SystemExit(str(exc)) from None
    out = run(traces, ["cachescope", "window"])
    out["window_vs_engine"] = compare(out)
    if args.json:
        print(json.dumps(out))
        return
    print(f"{'trace':26} {'engine':>22} {'window':>22} {'cost':>7} {'p50':>7}")
    for name, entry in out["traces"].items():
        cells = []
        for policy in ("cachescope", "window"):
            p = entry["policies"][policy]
            cells.append(f"${p['cost_usd']:.3f} {statistics.median(p['ttft_s']):.2f} s")
        ratio = out["window_vs_engine"][name]
        print(
            f"{name:26} {cells[0]:>22} {cells[1]:>22} "
            f"{ratio['cost_ratio']:>6.3f}x {ratio['p50_ttft_ratio']:>6.3f}x"
        )
    for policy in ("cachescope", "window"):
        print(f"{policy:12} {out['summary'][policy]}")


if __name__ == "__main__":
    main()
