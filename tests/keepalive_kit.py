"""What the keep-alive tests and its benchmark share: the inspector with ``--keep-alive`` in
front of the simulator, on the simulator's clock, with a ``Tap`` between them that records every
request reaching the simulator and the simulator's own answer (so a ping's line is checked
against what the simulator billed, and "nothing was sent" against what it received), and that
can hold, refuse or drop requests on cue."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from app.facts.catalogue import default_catalogue
from app.inspect.keepalive import CAP_USD_PER_HOUR, KeepAlive
from app.inspect.lines import Line, LineStore
from app.inspect.observer import Observer
from app.inspect.proxy import InspectProxy
from app.simulator.runner import ServerThread
from tests.helpers import raw_post

KEY = "sk-ant-keepalive-secret-0123456789abcdef"
SYSTEM = "You answer questions about a long contract. " * 300  # 3,300 tokens or so
SLOW = "[slow]"  # a request holding this is held by the tap for ``Tap.slow_s``
REFUSED = "[refused]"  # a request holding this is answered with ``Tap.refuse``
PASSED = ("x-api-key", "authorization", "anthropic-version", "anthropic-beta", "content-type")


def system(text: str = SYSTEM) -> list[dict]:
    return [{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}]


def lowered(headers) -> dict:
    return {k.lower(): v for k, v in headers.items()}


@dataclass
class Seen:
    """One request as the simulator received it, and its answer."""

    body: dict
    headers: dict
    status: int
    answer: object
    arrived: float = 0.0  # time.monotonic() at the tap
    answered: float = 0.0  # when the tap sent its answer on

    @property
    def key(self) -> str:
        return self.headers.get("x-api-key") or self.headers.get("authorization") or ""

    @property
    def is_ping(self) -> bool:
        return self.body.get("max_tokens") == 0

    @property
    def usage(self) -> dict:
        return self.answer.get("usage", {}) if isinstance(self.answer, dict) else {}


class Tap:
    """An upstream in front of the simulator that records what reaches it. ``ping_s`` holds
    each ping (``max_tokens: 0``) before the simulator gets it; ``slow_s`` holds the answer to
    each request holding ``SLOW`` after the simulator gave it (a long reply); ``refuse``
    answers pings (and requests holding ``REFUSED``) with that status; ``drop`` closes the
    connection on pings."""

    def __init__(self, sim_url: str) -> None:
        self.sim_url = sim_url
        self.seen: list[Seen] = []
        self.ping_s = 0.0
        self.slow_s = 0.0
        self.refuse = 0
        self.drop = False
        self.arrived = 0  # requests that reached the tap (some may still be held)

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    @property
    def pings(self) -> list[Seen]:
        return [s for s in self.seen if s.is_ping]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.arrived += 1
        arrived = time.monotonic()
        raw = await request.read()
        body = json.loads(raw) if raw else {}
        ping = isinstance(body, dict) and body.get("max_tokens") == 0
        if ping and self.drop:
            request.transport.close()
            return web.Response(status=500)
        if self.refuse and (ping or REFUSED.encode() in raw):
            error = {"type": "authentication_error", "message": "invalid x-api-key"}
            self.seen.append(Seen(body, lowered(request.headers), self.refuse, None, arrived))
            return web.json_response({"type": "error", "error": error}, status=self.refuse)
        if ping:
            await asyncio.sleep(self.ping_s)
        headers = {k: v for k, v in request.headers.items() if k.lower() in PASSED}
        async with aiohttp.ClientSession() as session:
            async with session.request(
                request.method, self.sim_url + request.raw_path, headers=headers, data=raw
            ) as answer:
                data = await answer.read()
                kind = answer.headers.get("content-type", "application/json")
                status = answer.status
        parsed = json.loads(data) if kind.startswith("application/json") and data else None
        seen = Seen(body, lowered(request.headers), status, parsed, arrived)
        self.seen.append(seen)
        if SLOW.encode() in raw:
            await asyncio.sleep(self.slow_s)
        seen.answered = time.monotonic()
        return web.Response(status=status, body=data, headers={"Content-Type": kind})


class Kept:
    """The inspector (``keepalive`` or none) in front of ``upstream``, on ``clock``."""

    def __init__(
        self,
        upstream: str,
        clock,
        keep_alive: bool = True,
        cap: float = CAP_USD_PER_HOUR,
        path=None,
        **options,
    ) -> None:
        self.observer = Observer(default_catalogue(), clock=clock)
        self.keepalive = (
            KeepAlive(self.observer, cap, poll_s=0.02, **options) if keep_alive else None
        )
        self.proxy = InspectProxy(
            upstream, self.observer, lines=LineStore(path=path), keepalive=self.keepalive
        )
        self.server = ServerThread(self.proxy.make_app)

    def __enter__(self) -> Kept:
        self.server.start()
        self.base_url = self.server.base_url
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop()

    @property
    def lines(self) -> list[Line]:
        return self.proxy.lines.recent()

    def wait_lines(self, count: int, timeout: float = 10.0) -> list[Line]:
        """The lines once there are ``count`` (a line is recorded just after its response)."""
        deadline = time.monotonic() + timeout
        while self.proxy.lines.total < count and time.monotonic() < deadline:
            time.sleep(0.005)
        lines = self.lines
        assert len(lines) >= count, [line.text() for line in lines]
        return lines

    def quiet(self, seconds: float = 0.4) -> list[Line]:
        """The lines after ``seconds`` of real time (many of the keep-alive's looks at its
        clock) in which nothing was expected to happen."""
        time.sleep(seconds)
        return self.lines


def advance(sim_url: str, seconds: float) -> None:
    status, _, _ = raw_post(sim_url, "/_sim/clock/advance", {"seconds": seconds})
    assert status == 200


@contextlib.contextmanager
def tapped(sim_url: str):
    tap = Tap(sim_url)
    with ServerThread(tap.make_app) as server:
        tap.url = server.base_url
        yield tap
