"""An upstream that plays the Messages API at its worst, scripted byte by byte, and the inspector
in front of it: for the hostile cases (``tests/test_inspect_hostile.py``) and the benchmark."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time

from app.facts.catalogue import default_catalogue
from app.inspect.observer import Observer
from app.inspect.proxy import InspectProxy
from app.simulator.runner import ServerThread
from tests.helpers import SONNET_46

KEY = "sk-ant-hostile-0123456789abcdef"
BODY = json.dumps(
    {"model": SONNET_46, "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}
).encode()
USAGE = {
    "input_tokens": 12,
    "output_tokens": 5,
    "cache_read_input_tokens": 0,
    "cache_creation_input_tokens": 0,
}


def message(usage=USAGE, **extra) -> bytes:
    return json.dumps(
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": SONNET_46,
            "content": [{"type": "text", "text": "hello"}],
            "stop_reason": "end_turn",
            "usage": usage,
            **extra,
        }
    ).encode()


def head(status: str = "200 OK", *headers: str) -> bytes:
    """A response's head; every connection closes after its answer, and says so."""
    lines = "".join(h + "\r\n" for h in (*headers, "Connection: close"))
    return ("HTTP/1.1 " + status + "\r\n" + lines + "\r\n").encode()


def sse(kind: str, data: object) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode()


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def stream_start(usage=USAGE) -> bytes:
    start = {"type": "message_start", "message": {"id": "msg_1", "usage": usage, "content": []}}
    return sse("message_start", start)


class FakeUpstream:
    """A raw HTTP/1.1 server on its own thread: ``answer(head, body, writer)`` writes whatever
    bytes the test wants; every request is kept exactly as it arrived."""

    def __init__(self, answer):
        self.answer = answer
        self.requests: list[tuple[bytes, bytes]] = []
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=2048)
        )
        self.port = self.server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()

    async def _handle(self, reader, writer) -> None:
        try:
            top = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in top.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length)
            self.requests.append((top, body))
            await self.answer(top, body, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        self.ready.wait(10)
        return self

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


class Inspector:
    def __init__(self, upstream: str, **kw):
        self.proxy = InspectProxy(upstream, Observer(default_catalogue()), **kw)
        self.server = ServerThread(self.proxy.make_app)

    def __enter__(self):
        self.server.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop()

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def lines(self, count: int, timeout: float = 10.0) -> list:
        deadline = time.monotonic() + timeout
        while len(self.proxy.lines) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.proxy.lines.recent()


def raw_request(port: int, data: bytes) -> bytes:
    """Send these exact bytes, read until the server closes or the response is whole."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        out = b""
        while True:
            try:
                got = sock.recv(65536)
            except TimeoutError:
                break
            if not got:
                break
            out += got
            top, _, rest = out.partition(b"\r\n\r\n")
            for line in top.split(b"\r\n"):
                named = line.lower().startswith(b"content-length:")
                if named and len(rest) >= int(line.split(b":", 1)[1]):
                    return out
    return out


async def answer_json(top, body, writer) -> None:
    payload = message()
    writer.write(
        head("200 OK", "Content-Type: application/json", f"Content-Length: {len(payload)}")
    )
    writer.write(payload)
    await writer.drain()
