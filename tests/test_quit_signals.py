"""How a signal ends the app (app/engine/quit_signals.py), without Qt: the first SIGTERM asks
for the quit and sets the exit status 143; a second one, or a quit slower than its limit, ends
the process at once (here: the recorded call that would). ``close()`` puts back the handlers."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import pytest

from app.engine.quit_signals import QuitOnSignals

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def run_until(loop, condition, timeout=5.0):
    async def wait():
        deadline = loop.time() + timeout
        while not condition() and loop.time() < deadline:
            await asyncio.sleep(0.02)

    loop.run_until_complete(wait())


def test_sigterm_asks_for_the_quit_and_a_second_one_ends_at_once():
    loop = asyncio.new_event_loop()
    asked, forced = [], []
    before = signal.getsignal(signal.SIGTERM)
    quitting = QuitOnSignals(loop, asked.append, force_after_s=60, force=forced.append).install()
    try:
        os.kill(os.getpid(), signal.SIGTERM)  # would end pytest without the handler
        run_until(loop, lambda: asked)
        assert asked == [signal.SIGTERM] and forced == []
        assert quitting.exit_code == 143
        os.kill(os.getpid(), signal.SIGTERM)
        run_until(loop, lambda: forced)
        assert forced == [143]
    finally:
        quitting.close()
        loop.close()
    assert signal.getsignal(signal.SIGTERM) == before


def test_a_quit_slower_than_its_limit_is_ended():
    loop = asyncio.new_event_loop()
    forced = []
    quitting = QuitOnSignals(loop, lambda _n: None, force_after_s=0.2, force=forced.append)
    quitting.install()
    try:
        os.kill(os.getpid(), signal.SIGHUP)
        run_until(loop, lambda: forced)
        assert forced == [129]
    finally:
        quitting.close()
        loop.close()
