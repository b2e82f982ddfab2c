"""An asyncio loop whose clock is simulated: when nothing is ready to run, time jumps to the next
timer instead of waiting for it. The simulator's server and the clients under test share the loop
and talk over loopback sockets, so a two-hour session replays in about the time its requests take
to process, and every delay (typing, pauses, the simulator's latency model, SDK timeouts) is exact.

Real waiting happens only while a worker thread the loop started is busy (an address lookup, say):
time does not move then, so a thread can never make a timer fire early.
"""

from __future__ import annotations

import asyncio
import selectors

from aiohttp import web

from app.simulator.server import Simulator, SimulatorConfig
from app.simulator.store import SimClock

THREAD_POLL_S = 0.005
IDLE_LIMIT_S = 10.0  # real seconds with nothing scheduled and no I/O: a bug, not a session


class _Selector(selectors.DefaultSelector):
    loop: VirtualLoop

    def select(self, timeout=None):
        ready = super().select(0)
        if ready or timeout == 0:
            return ready
        if self.loop.threads_busy:
            wait = THREAD_POLL_S if timeout is None else min(timeout, THREAD_POLL_S)
            return super().select(wait)
        if timeout is None:
            ready = super().select(IDLE_LIMIT_S)
            if not ready:
                raise RuntimeError("the replay is stuck: nothing scheduled and no I/O")
            return ready
        self.loop.now += timeout
        return []


class VirtualLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        selector = _Selector()
        super().__init__(selector)
        selector.loop = self
        self.now = 0.0
        self.threads_busy = 0

    def time(self) -> float:
        return self.now

    def run_in_executor(self, executor, func, *args):
        self.threads_busy += 1
        future = super().run_in_executor(executor, func, *args)

        def done(_):
            self.threads_busy -= 1

        future.add_done_callback(done)
        return future


class LoopClock(SimClock):
    """The simulator's cache clock, read from the virtual loop."""

    def __init__(self, loop: VirtualLoop) -> None:
        super().__init__()
        self.loop = loop

    def now(self) -> float:
        return self.loop.time() + self.offset


class InLoopSimulator:
    """The simulator's HTTP server on the running (virtual) loop, at its calibrated latency."""

    def __init__(self) -> None:
        self.simulator = Simulator(SimulatorConfig(time_scale=1.0))
        self.simulator.store.clock = LoopClock(asyncio.get_running_loop())
        self.runner: web.AppRunner | None = None
        self.base_url = ""

    async def __aenter__(self) -> InLoopSimulator:
        self.runner = web.AppRunner(self.simulator.make_app(), access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc) -> None:
        await self.runner.cleanup()


def run(coro):
    """Run ``coro`` on a fresh virtual loop and return its result."""
    loop = VirtualLoop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
