"""The loopback endpoint: every request passes to the upstream (the real API, or the simulator)
and back unchanged, bodies and headers as they are and a stream chunk by chunk as it comes; a
copy of each Messages API exchange goes to the ``Observer`` after the client has it."""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable

import aiohttp
from aiohttp import web

from app.inspect.observer import CAPTURE_LIMIT, Line, Observer

# Headers of one hop, not of the message (RFC 9110 section 7.6.1), and the ones aiohttp sets.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
MAX_BODY_BYTES = 40 * 1024 * 1024  # over the API's own 32 MB: the API says no, not the proxy
UPSTREAM_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=30, sock_read=600)


def _error(message: str, status: int = 502) -> web.Response:
    body = {"type": "error", "error": {"type": "api_error", "message": message}}
    return web.json_response(body, status=status)


class InspectProxy:
    def __init__(
        self, upstream: str, observer: Observer, on_line: Callable[[Line], None] | None = None
    ):
        self.upstream = upstream.rstrip("/")
        self.observer = observer
        self.on_line = on_line
        self.lines: list[Line] = []
        self.session: aiohttp.ClientSession | None = None
        self.active = 0

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_route("*", "/{tail:.*}", self.forward)
        app.on_startup.append(self._open)
        app.on_cleanup.append(self._close)
        return app

    async def _open(self, _app) -> None:
        # Bytes pass as they are: no decompression on the way (the copy is decompressed).
        self.session = aiohttp.ClientSession(
            auto_decompress=False, timeout=UPSTREAM_TIMEOUT, trust_env=False
        )

    async def _close(self, _app) -> None:
        if self.session is not None:
            await self.session.close()

    async def forward(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _error("the request is over the inspector's 40 MB limit", 413)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        watched = request.method == "POST" and request.path == "/v1/messages"
        pending = self.observer.request(body, request.headers) if watched else None
        self.active += 1
        try:
            try:
                upstream = await self.session.request(
                    request.method,
                    self.upstream + request.path_qs,
                    headers=headers,
                    data=body,
                    allow_redirects=False,
                )
            except (TimeoutError, aiohttp.ClientError) as exc:
                return _error(f"the inspector could not reach {self.upstream}: {exc or 'timeout'}")
            async with upstream:
                return await self._relay(request, upstream, pending)
        finally:
            self.active -= 1

    async def _relay(self, request, upstream, pending) -> web.StreamResponse:
        response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
        for key, value in upstream.headers.items():
            if key.lower() not in HOP_BY_HOP:
                response.headers.add(key, value)
        await response.prepare(request)
        copy = bytearray()
        try:
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)  # on to the client first, as it came
                if pending is not None and len(copy) < CAPTURE_LIMIT:
                    copy += chunk
            await response.write_eof()
        except (TimeoutError, ConnectionResetError, aiohttp.ClientError):
            pass  # the client left, or the upstream broke off: what came is what counts
        if pending is not None:
            self._observe(pending, upstream, bytes(copy))
        return response

    def _observe(self, pending, upstream, copy: bytes) -> None:
        if upstream.headers.get("content-encoding", "").lower() == "gzip":
            try:
                copy = zlib.decompress(copy, 16 + zlib.MAX_WBITS)
            except zlib.error:
                copy = b""
        streamed = "text/event-stream" in upstream.headers.get("content-type", "")
        line = self.observer.response(pending, upstream.status, copy, streamed)
        self.lines.append(line)
        if self.on_line is not None:
            self.on_line(line)


def print_line(as_json: bool) -> Callable[[Line], None]:
    def show(line: Line) -> None:
        print(json.dumps(line.as_dict()) if as_json else line.text(), flush=True)

    return show
