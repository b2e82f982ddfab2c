"""Run an aiohttp server (the simulator, the inspector) on its own event loop in a background
thread, for the app and the tests."""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web

from app.simulator.server import Simulator, SimulatorConfig


class ServerThread:
    """An aiohttp application (``make_app()``) served on ``host:port`` from its own thread."""

    name = "cachescope-server"

    def __init__(self, make_app, host: str = "127.0.0.1", port: int = 0):
        self.make_app = make_app
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self):
        self._thread.start()
        if not self._ready.wait(timeout=15):
            raise RuntimeError(f"{self.name} did not start within 15 s")
        if self._error is not None:
            raise RuntimeError(f"{self.name} could not start: {self._error}") from self._error
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        loop.run_forever()
        loop.run_until_complete(self._runner.cleanup())
        loop.close()

    async def _serve(self) -> None:
        self._runner = web.AppRunner(self.make_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def call(self, fn, *args):
        """Run ``fn(*args)`` on the server's loop and wait for it (for tests and the app)."""
        assert self._loop is not None
        result: list = []
        done = threading.Event()

        def invoke() -> None:
            try:
                result.append(fn(*args))
            finally:
                done.set()

        self._loop.call_soon_threadsafe(invoke)
        done.wait(10)
        return result[0] if result else None

    def stop(self) -> None:
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class SimulatorThread(ServerThread):
    """``with SimulatorThread(SimulatorConfig(time_scale=0)) as sim: sim.base_url``."""

    name = "cachescope-sim"

    def __init__(
        self, config: SimulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0
    ):
        self.simulator = Simulator(config)
        super().__init__(self.simulator.make_app, host, port)
