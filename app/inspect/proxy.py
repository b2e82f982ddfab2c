"""The loopback endpoint: it moves bytes and never changes them for its own needs (forwarding
apart from observing, as mitmproxy's layers do). Every request goes to the upstream (the real
API, or the simulator) with its method, raw path and query, headers (repeated ones as sent, in
order; hop-by-hop ones aside; nothing added but ``Host`` and the body's length) and body; the
response comes back with its status, headers (its ``Content-Length`` kept) and body as they
arrive, chunk by chunk. A response that breaks off reaches the client broken off, as it would
without the inspector; a client that leaves closes the upstream's connection as it would have
(its request is cancelled: ``HANDLER_ARGS``). The ``Observer`` reads a bounded copy after each
chunk has gone on. A request body goes as sent, compressed or not (``Content-Encoding`` kept);
the observer reads its own decoded copy (``app.inspect.decoding``).

No limit on connections: a thousand streams pass at once and no request waits on another.

With a ``KeepAlive`` (``--keep-alive``) the endpoint tells it when each program's request starts
and ends, and sends its pings (``send_own``) on the same connections; nothing the program sends
waits on it. Without one, the endpoint sends nothing of its own."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web
from yarl import URL

from app.facts.redact import redact
from app.inspect.capture import FEED_LIMIT, ReadResult, ResponseReader
from app.inspect.decoding import decode_whole
from app.inspect.lines import Line, LineStore
from app.inspect.observer import Observer, Pending, key_hash

if TYPE_CHECKING:
    from app.inspect.keepalive import KeepAlive

log = logging.getLogger(__name__)

# Headers of one hop, not of the message (RFC 9110 section 7.6.1); Host and Content-Length are
# the new hop's (aiohttp sets them from the upstream URL and the body).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        # Answered here: the endpoint said 100 Continue and holds the whole body, so the upstream
        # is not asked to (an upstream that never says it would leave the request waiting).
        "expect",
    }
)
# What aiohttp's client would add on its own, and must not: the client's request goes as sent.
NOT_ADDED = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
MAX_BODY_BYTES = 40 * 1024 * 1024  # over the API's own 32 MB: the API says no, not the proxy
# The body is read as it came, compressed or not (it goes upstream as sent, with its
# Content-Encoding; the observer's copy is decoded apart), and a client that leaves cancels its
# request, so the upstream sees the connection close as it would without the inspector.
HANDLER_ARGS = {"auto_decompress": False, "handler_cancellation": True}
REST_TIMEOUT = 30  # seconds to read the rest of a JSON response whose client left
LIMIT_SAID = f"{MAX_BODY_BYTES // (1024 * 1024)} MB limit"
UPSTREAM_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=30, sock_read=600)
BROKEN = (TimeoutError, aiohttp.ClientError, OSError)  # a connection that broke, either side


def _error(message: str, status: int = 502, kind: str = "api_error") -> web.Response:
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return web.json_response(body, status=status)


def _left(began: float, when: str) -> str:
    return f"the client closed its connection after {time.monotonic() - began:.1f} s, {when}"


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def passed_on(raw_headers, keep: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """The end-to-end headers as they came (``raw_headers``: names in their own case, repeated
    ones included, in order), less the hop-by-hop ones and those a ``Connection`` header names
    (RFC 9110 section 7.6.1)."""
    pairs = [(_text(name), _text(value)) for name, value in raw_headers]
    named = {
        part.strip().lower()
        for name, value in pairs
        if name.lower() == "connection"
        for part in value.split(",")
    }
    skip = (HOP_BY_HOP | named) - keep
    return [(name, value) for name, value in pairs if name.lower() not in skip]


class InspectProxy:
    def __init__(
        self,
        upstream: str,
        observer: Observer,
        on_line: Callable[[Line], None] | None = None,
        lines: LineStore | None = None,
        keepalive: KeepAlive | None = None,
    ):
        self.upstream = upstream.rstrip("/")
        self.shown_upstream = redact(self.upstream)  # a password in the URL is never shown
        self.observer = observer
        self.on_line = on_line
        self.lines = lines if lines is not None else LineStore()
        self.session: aiohttp.ClientSession | None = None
        self.keepalive = keepalive

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES, handler_args=HANDLER_ARGS)
        app.router.add_route("*", "/{tail:.*}", self.forward)
        app.on_startup.append(self._open)
        app.on_cleanup.append(self._close)
        return app

    async def _open(self, _app) -> None:
        # Bytes pass as they are: no decompression on the way (the copy is decompressed), no
        # cap on connections (aiohttp's default of 100 made the 101st stream wait).
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
        sent = aiohttp.TraceConfig()
        sent.on_request_chunk_sent.append(self._sent)
        self.session = aiohttp.ClientSession(
            connector=connector,
            trace_configs=[sent],
            auto_decompress=False,
            timeout=UPSTREAM_TIMEOUT,
            trust_env=False,
            skip_auto_headers=NOT_ADDED,
        )
        self.lines.open()
        if self.keepalive is not None:
            self.keepalive.start(self.send_own, self._emit)

    async def _close(self, _app) -> None:
        if self.keepalive is not None:
            await self.keepalive.stop()  # its keys forgotten, its pings ended
        if self.session is not None:
            await self.session.close()
        self.lines.close()

    async def forward(self, request: web.Request) -> web.StreamResponse:
        watched = request.method == "POST" and request.path == "/v1/messages"
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._too_large(request, watched)
        key = key_hash(request.headers) if watched and self.keepalive is not None else None
        if key is not None:
            self.keepalive.busy(key)  # no ping of this key while it is on its way
        try:
            return await self._forward(request, body, watched)
        finally:
            if key is not None:
                self.keepalive.idle(key)

    def _too_large(self, request: web.Request, watched: bool) -> web.Response:
        """A body over ``MAX_BODY_BYTES``: answered as the API answers one over its own limit
        (api/errors.md: 413 ``request_too_large``), and a line says the inspector answered it."""
        said = f"Request exceeds the maximum allowed number of bytes (the inspector's {LIMIT_SAID})"
        if watched:
            why = f"over the inspector's {LIMIT_SAID}: answered by the inspector, not sent on"
            try:
                pending = self.observer.unreadable(b"", request.headers, why)
                failure = ReadResult(error=f"request_too_large: {said}")
                self._record(pending, 413, failure, True, request, b"")
            except Exception as exc:  # the observer's fault must never become the client's
                log.warning("the inspector could not record a refused request: %r", exc)
        return _error(said, 413, "request_too_large")

    async def _forward(self, request: web.Request, body: bytes, watched: bool):
        pending: list[Pending] = []
        began = time.monotonic()
        try:
            upstream = await self.session.request(
                request.method,
                URL(self.upstream + request.raw_path, encoded=True),
                headers=passed_on(request.raw_headers),
                data=body if body or request.method in ("POST", "PUT", "PATCH") else None,
                allow_redirects=False,
                trace_request_ctx=(pending, body, request) if watched else None,
            )
        except BROKEN as exc:
            said = redact(str(exc) or type(exc).__name__)
            if watched:
                failure = ReadResult(error=f"could not reach {self.shown_upstream}: {said}")
                found = self._pending(pending, body, request)
                self._record(found, 0, failure, False, request, body)
            return _error(f"the inspector could not reach {self.shown_upstream}: {said}")
        except asyncio.CancelledError:
            # The client left before the response began: the request upstream was closed with
            # its connection, as the client's own would have been.
            if watched:
                left = ReadResult(problems=[_left(began, "before the response began")])
                self._record(self._pending(pending, body, request), 0, left, False, request, body)
            raise
        async with upstream:
            found = self._pending(pending, body, request) if watched else None
            return await self._relay(request, upstream, found, body, began)

    async def _sent(self, _session, context, _params) -> None:
        """The body is being handed to the upstream's socket (aiohttp's ``on_request_chunk_sent``,
        awaited just before the write): the observer reads the request once that write is done,
        while the upstream works on it, never before it has gone on."""
        found = context.trace_request_ctx
        if found is not None:
            asyncio.get_running_loop().call_soon(self._read_request, *found)

    def _read_request(self, pending: list[Pending], body: bytes, request) -> None:
        if pending:
            return
        try:
            encoding = request.headers.get("content-encoding", "")
            copy = decode_whole(body, encoding, MAX_BODY_BYTES, FEED_LIMIT)
            if isinstance(copy, str):  # forwarded as sent all the same
                pending.append(self.observer.unreadable(body, request.headers, f"body {copy}"))
            else:
                pending.append(self.observer.request(copy, request.headers))
        except Exception as exc:  # the observer's fault must never become the client's
            log.warning("the inspector could not read a request: %r", exc)
            log.debug("the inspector could not read a request", exc_info=True)
            pending.append(self.observer.unreadable(body, request.headers, repr(exc)))

    def _pending(self, pending: list[Pending], body: bytes, request) -> Pending:
        self._read_request(pending, body, request)  # if the loop has not come round yet
        return pending[0]

    async def _relay(
        self, request, upstream, pending: Pending | None, body: bytes, began: float
    ) -> web.StreamResponse:
        response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
        # Its Content-Length stays: a body shorter than it stays short at the client.
        for key, value in passed_on(upstream.raw_headers, keep=frozenset({"content-length"})):
            response.headers.add(key, value)
        reader = None
        if pending is not None:
            streamed = "text/event-stream" in upstream.headers.get("content-type", "")
            begun = (lambda result: self._begun(pending, result)) if streamed else None
            encoding = upstream.headers.get("content-encoding", "")
            reader = ResponseReader(encoding, streamed, begun)
        complete = True
        try:
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)  # on to the client first, as it came
                if reader is not None:
                    self._feed(reader, chunk)
            await response.write_eof()
        except BROKEN as exc:
            # The upstream broke off (a short body, a cut stream, a stall past the read
            # timeout) or the client left: the client's response ends broken off too.
            log.debug("a response broke off: %r", exc)
            complete = await self._client_left(request, upstream, reader, began)
            if request.transport is not None:
                request.transport.close()
        except asyncio.CancelledError:
            # The client left (its connection closed): the upstream's is closed as we leave.
            if pending is not None:
                complete = await self._client_left(request, upstream, reader, began)
                self._record(pending, upstream.status, reader.close(), complete, request, body)
            raise
        if pending is not None:
            self._record(pending, upstream.status, reader.close(), complete, request, body)
        return response

    async def _client_left(
        self, request, upstream, reader: ResponseReader | None, began: float
    ) -> bool:
        """After a break: whether the upstream's response came whole all the same. A stream is
        read only as far as it has arrived (the upstream is still writing it: its connection
        closes now, as the client's would have); a JSON body is the upstream's finished answer,
        billed whole, so the rest of it is read (``REST_TIMEOUT`` at most) for its usage."""
        if request.transport is not None and not request.transport.is_closing():
            return False  # the upstream broke off, not the client
        if reader is not None:
            reader.result.problems.append(_left(began, "before it had the whole response"))
        if reader is None or reader.streamed:
            try:
                while rest := upstream.content.read_nowait():
                    if reader is not None:
                        self._feed(reader, rest)
            except (*BROKEN, RuntimeError):
                return False
            return upstream.content.at_eof()
        # The client's leaving also cancels this handler (handler_cancellation), maybe while it
        # is in here: the rest is read all the same, in a task of its own (REST_TIMEOUT bounds
        # it), or the request would go without a line (seen under load in a full test run).
        reading = asyncio.ensure_future(self._read_rest(upstream, reader))
        while True:
            try:
                return await asyncio.shield(reading)
            except asyncio.CancelledError:
                if reading.done():
                    return reading.result()

    async def _read_rest(self, upstream, reader: ResponseReader) -> bool:
        """The rest of a JSON response whose client left, for its usage: whether it came whole
        (what has arrived comes first: no read_nowait, which refuses while a read waits)."""
        try:
            async with asyncio.timeout(REST_TIMEOUT):
                async for rest in upstream.content.iter_any():
                    self._feed(reader, rest)
            return True
        except (*BROKEN, RuntimeError) as exc:
            if reader is not None:  # the line says why its figures are unknown
                said = f"the rest of the response could not be read ({type(exc).__name__})"
                reader.result.problems.append(said)
            return False

    @staticmethod
    def _feed(reader: ResponseReader, chunk: bytes) -> None:
        try:
            reader.feed(chunk)
        except Exception as exc:  # the observer's fault must never become the client's
            log.warning("the inspector could not read a response: %r", exc)
            reader.stop(f"the response could not be read ({type(exc).__name__})")

    def _begun(self, pending: Pending, result: ReadResult) -> None:
        try:
            self.observer.begun(pending, result)
        except Exception as exc:  # the observer's fault must never become the client's
            log.warning("the inspector could not record %s: %r", pending.id, exc)
            log.debug("the inspector could not record a response", exc_info=True)

    def _record(
        self, pending: Pending, status: int, result: ReadResult, complete: bool, request, body
    ) -> None:
        try:
            line = self.observer.finish(pending, status, result, complete)
        except Exception as exc:  # the observer's fault must never become the client's
            log.warning("the inspector could not record %s: %r", pending.id, exc)
            log.debug("the inspector could not record a response", exc_info=True)
            return
        self._emit(line)
        if self.keepalive is not None:
            try:
                self.keepalive.after(pending, line, request.headers, request.raw_path, body)
            except Exception as exc:  # the keep-alive's fault must never become the client's
                # Only the error's type: a message could quote a header, the key among them.
                log.warning(
                    "the keep-alive could not follow %s: %s", pending.id, type(exc).__name__
                )

    def _emit(self, line: Line) -> None:
        self.lines.add(line)
        if self.on_line is not None:
            self.on_line(line)

    # -- the inspector's own requests (keep-alive pings) -------------------------------------------
    async def send_own(
        self, path: str, headers: list[tuple[str, str]], body: bytes, timeout_s: float
    ) -> tuple[int, ReadResult, bool]:
        """A request of the inspector's own, sent upstream on the endpoint's connections and
        read whole (never streamed): its status, what was read of it, whether it came whole.
        Never raises for a broken connection (status 0)."""
        if self.session is None:
            return 0, ReadResult(error="the inspector has stopped"), False
        try:
            async with self.session.post(
                URL(self.upstream + path, encoded=True),
                headers=headers,
                data=body,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=timeout_s),
            ) as response:
                reader = ResponseReader(response.headers.get("content-encoding", ""), False)
                complete = True
                try:
                    async for chunk in response.content.iter_any():
                        self._feed(reader, chunk)
                except BROKEN:
                    complete = False
                return response.status, reader.close(), complete
        except BROKEN as exc:
            said = redact(str(exc) or type(exc).__name__)
            return 0, ReadResult(error=f"could not reach {self.shown_upstream}: {said}"), False
