"""The transport under ``cachescope-inspect`` (the hostile tester's findings A to E): responses
in every coding a client may ask for are read (br, zstd: Claude Code asks for both), a client
that gives up closes the upstream's request as it would without the inspector, a compressed
request body goes upstream as sent, an upstream with a login is refused, and a body over the
inspector's limit is answered as the API answers one (api/errors.md, ``request_too_large``).
Real HTTP through the inspector, against small upstreams made here."""

from __future__ import annotations

import asyncio
import gzip
import json
import sys
import time
import zlib

import anthropic
import brotli
import httpx2 as httpx
import pytest
from aiohttp import web

from app.inspect.cli import main as inspect_main
from tests.fake_upstream import (
    BODY,
    KEY,
    USAGE,
    FakeUpstream,
    Inspector,
    answer_json,
    chunk,
    head,
    message,
    sse,
    stream_start,
)

if sys.version_info >= (3, 14):
    from compression.zstd import ZstdCompressor
else:
    from backports.zstd import ZstdCompressor

pytestmark = pytest.mark.timeout(60)
HEADERS = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
USAGE_READ = {**USAGE, "cache_read_input_tokens": 5000}


def compress(coding: str, data: bytes) -> bytes:
    if coding == "br":
        return brotli.compress(data, quality=1)
    if coding == "zstd":
        return ZstdCompressor().compress(data, ZstdCompressor.FLUSH_FRAME)
    if coding == "deflate":
        return zlib.compress(data)
    return gzip.compress(data)


class Flushing:
    """A stream compressed as a server sends it: each event flushed on its own."""

    def __init__(self, coding: str):
        self.coding = coding
        if coding == "br":
            self.packer = brotli.Compressor(quality=1)
        else:
            self.packer = ZstdCompressor()

    def part(self, data: bytes) -> bytes:
        if self.coding == "br":
            return self.packer.process(data) + self.packer.flush()
        return self.packer.compress(data, ZstdCompressor.FLUSH_BLOCK)

    def end(self) -> bytes:
        if self.coding == "br":
            return self.packer.finish()
        return self.packer.flush(ZstdCompressor.FLUSH_FRAME)


def encoded_upstream(coding: str, payload: bytes = b""):
    """Answers in ``coding`` when the client asked for it (as an API would), plain otherwise."""
    payload = payload or message(USAGE_READ)

    async def answer(top, body, writer):
        if coding.encode() not in top.lower().split(b"accept-encoding:", 1)[-1].split(b"\r\n")[0]:
            await answer_json(top, body, writer)
            return
        if b'"stream": true' in body:
            writer.write(
                head(
                    "200 OK",
                    "Content-Type: text/event-stream",
                    f"Content-Encoding: {coding}",
                    "Transfer-Encoding: chunked",
                )
            )
            packer = Flushing(coding)
            events = [
                stream_start(USAGE_READ),
                sse("content_block_delta", {"type": "content_block_delta", "index": 0}),
                sse("message_delta", {"type": "message_delta", "usage": {"output_tokens": 77}}),
                sse("message_stop", {"type": "message_stop"}),
            ]
            for event in events:
                writer.write(chunk(packer.part(event)))
                await writer.drain()
                await asyncio.sleep(0.01)
            writer.write(chunk(packer.end()) + b"0\r\n\r\n")
        else:
            packed = compress(coding, payload)
            writer.write(
                head(
                    "200 OK",
                    "Content-Type: application/json",
                    f"Content-Encoding: {coding}",
                    f"Content-Length: {len(packed)}",
                )
            )
            writer.write(packed)
        await writer.drain()

    return answer


def streamed_body() -> bytes:
    return json.dumps({**json.loads(BODY), "stream": True}).encode()


# -- A: br and zstd responses ----------------------------------------------------------------
@pytest.mark.parametrize("coding", ["br", "zstd"])
@pytest.mark.parametrize("streamed", [False, True], ids=["json", "stream"])
def test_a_br_or_zstd_response_is_read_and_passes_as_its_bytes(coding, streamed):
    """A: a 200 in zstd was printed `failed: HTTP 200 · the response is encoded as zstd: not
    read` while the client had its usage. Now the client gets the same bytes as directly and the
    line has the usage it got (a stream flushed event by event, as a server sends it)."""
    body = streamed_body() if streamed else BODY
    asked = {**HEADERS, "Accept-Encoding": f"{coding}"}
    with FakeUpstream(encoded_upstream(coding)) as up, Inspector(up.base_url) as inspector:
        direct = httpx.post(up.base_url + "/v1/messages", content=body, headers=asked)
        through = httpx.post(inspector.base_url + "/v1/messages", content=body, headers=asked)
        assert through.headers["content-encoding"] == coding
        assert through.content == direct.content  # decoded by the client, the same
        line = inspector.lines(1)[0]
    assert line.kind == ("stream" if streamed else "turn"), line.text()
    assert (line.read, line.uncached, line.status, line.note) == (5000, 12, 200, "")
    assert line.figures_known and line.cost_usd is not None


def test_the_sdk_asking_for_br_and_zstd_sees_what_the_line_says():
    """The official SDK (its HTTP library asks for br and zstd once they are installed) through
    the inspector: the usage it reads is the line's."""
    with FakeUpstream(encoded_upstream("br")) as up, Inspector(up.base_url) as inspector:
        client = anthropic.Anthropic(api_key=KEY, base_url=inspector.base_url, max_retries=0)
        reply = client.messages.with_raw_response.create(
            model="claude-sonnet-4-6",
            max_tokens=20,
            messages=[{"role": "user", "content": "hi"}],
        )
        assert reply.headers["content-encoding"] == "br"
        usage = reply.parse().usage
        line = inspector.lines(1)[0]
    assert (line.read, line.uncached) == (usage.cache_read_input_tokens, usage.input_tokens)
    assert line.kind == "turn" and line.figures_known


@pytest.mark.parametrize("coding", ["br", "zstd"])
def test_a_br_or_zstd_bomb_passes_whole_and_is_read_with_a_cap(coding):
    """A: the same caps as gzip: at most 32 MB decoded of one response. 96 MB of zeros (a few
    kilobytes packed) reach the client whole; the line says too large to read, not failed."""
    bomb = b'{"usage": ' + b" " * (96 * 1024 * 1024) + b"}"
    packed = compress(coding, bomb)
    assert len(packed) < 2 * 1024 * 1024

    async def answer(top, body, writer):
        writer.write(
            head(
                "200 OK",
                "Content-Type: application/json",
                f"Content-Encoding: {coding}",
                f"Content-Length: {len(packed)}",
            )
        )
        writer.write(packed)
        await writer.drain()

    with FakeUpstream(answer) as up, Inspector(up.base_url) as inspector:
        got = httpx.post(
            inspector.base_url + "/v1/messages",
            content=BODY,
            headers={**HEADERS, "Accept-Encoding": coding},
        )
        assert got.status_code == 200 and len(got.content) == len(bomb)
        line = inspector.lines(1)[0]
    assert line.kind == "turn" and not line.figures_known, line.text()
    assert "too large to read (over 32 MB decoded)" in line.note
    assert "figures unknown" in line.text() and "failed" not in line.text()


@pytest.mark.parametrize(
    "coding, packed, said",
    [
        ("compress", b"\x1f\x9d\x90whatever", "encoded as compress: not read"),
        ("zstd", b"\x28\xb5\x2f\xfd garbage garbage", "zstd compression is damaged"),
        ("br", b"\xff\xff\xff not brotli at all", "br compression is damaged"),
        ("gzip, br", b"two codings", "encoded as gzip, br: not read"),
    ],
)
def test_a_200_whose_body_cannot_be_read_is_a_success_with_unknown_figures(coding, packed, said):
    """A: a 200 is the API's answer (billed): never `failed`. Its line says the figures are
    unknown and why, and the window shows no numbers for it."""

    async def answer(top, body, writer):
        writer.write(
            head(
                "200 OK",
                "Content-Type: application/json",
                f"Content-Encoding: {coding}",
                f"Content-Length: {len(packed)}",
            )
        )
        writer.write(packed)
        await writer.drain()

    with FakeUpstream(answer) as up, Inspector(up.base_url) as inspector:
        url = inspector.base_url + "/v1/messages"
        with httpx.stream("POST", url, content=BODY, headers=HEADERS) as got:
            assert got.status_code == 200 and got.headers["content-encoding"] == coding
            assert b"".join(got.iter_raw()) == packed
        line = inspector.lines(1)[0]
    assert line.kind == "turn" and line.status == 200 and not line.figures_known
    assert said in line.note and line.error == ""
    text = line.text()
    assert text.startswith("r1 claude-sonnet-4-6 turn: HTTP 200, figures unknown"), text
    assert " read 0 " not in text and " failed:" not in text


def test_a_200_stream_that_begins_with_an_error_event_is_still_a_failure():
    """The API may answer 200 and then an `error` event (streaming.md, error events): that is a
    failure with its error, not a success with unknown figures."""
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}

    async def answer(top, body, writer):
        writer.write(head("200 OK", "Content-Type: text/event-stream", "Content-Length: 200"))
        writer.write(sse("error", overloaded).ljust(200))
        await writer.drain()

    with FakeUpstream(answer) as up, Inspector(up.base_url) as inspector:
        httpx.post(inspector.base_url + "/v1/messages", content=streamed_body(), headers=HEADERS)
        line = inspector.lines(1)[0]
    assert line.kind == "failed" and line.error == "overloaded_error: Overloaded"


# -- B: a client that gives up ---------------------------------------------------------------
class SlowUpstream:
    """An aiohttp upstream that takes ``seconds`` to answer and notes when the client's
    connection closed under it (as /tmp/rv/slow_up.py did)."""

    def __init__(self, seconds: float, payload: bytes):
        self.seconds, self.payload = seconds, payload
        self.closed_after: list[float] = []
        self.answered: list[float] = []

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/messages", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        began = time.monotonic()
        while time.monotonic() - began < self.seconds:
            await asyncio.sleep(0.02)
            transport = request.transport
            if transport is None or transport.is_closing():
                self.closed_after.append(time.monotonic() - began)
                break
        else:
            self.answered.append(time.monotonic() - began)
        return web.Response(body=self.payload, content_type="application/json")


def _give_up(base: str, timeout: float) -> str:
    try:
        httpx.post(base + "/v1/messages", content=BODY, headers=HEADERS, timeout=timeout)
    except httpx.TimeoutException as exc:
        return type(exc).__name__
    return "answered"


def test_a_client_that_gives_up_closes_the_upstream_request_as_it_would_directly():
    """B: a client that gave up after 1 s left the upstream request running to its end (billed)
    through the inspector, while directly the upstream saw the close after 1 s."""
    from app.simulator.runner import ServerThread

    slow = SlowUpstream(4.0, message(USAGE_READ))
    with ServerThread(slow.make_app) as up:
        assert _give_up(up.base_url, 0.5) == "ReadTimeout"
        deadline = time.monotonic() + 5
        while not slow.closed_after and time.monotonic() < deadline:
            time.sleep(0.02)
        assert slow.closed_after and slow.closed_after[0] < 1.5  # directly: seen at once
        with Inspector(up.base_url) as inspector:
            assert _give_up(inspector.base_url, 0.5) == "ReadTimeout"
            line = inspector.lines(1)[0]
            deadline = time.monotonic() + 5
            while len(slow.closed_after) < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
    assert len(slow.closed_after) == 2 and not slow.answered, slow.answered
    assert slow.closed_after[1] < 1.5  # through the inspector too, not after the 4 s answer
    assert line.kind == "failed" and line.status == 0 and not line.complete
    assert "the client closed its connection after 0.5 s, before the response began" in line.note


def test_a_response_read_whole_before_the_client_left_is_recorded_with_its_usage():
    """B: whatever the upstream answered and billed is recorded with its usage when it was read
    whole. Here the upstream answers at once with a body the client never reads to its end
    (the client closes after the head): the inspector had all of it, so the line has its usage."""
    payload = message(USAGE_READ, padding="x" * 4_000_000)

    async def answer(top, body, writer):
        writer.write(
            head("200 OK", "Content-Type: application/json", f"Content-Length: {len(payload)}")
        )
        writer.write(payload)
        await writer.drain()

    with FakeUpstream(answer) as up, Inspector(up.base_url) as inspector:
        with httpx.stream(
            "POST", inspector.base_url + "/v1/messages", content=BODY, headers=HEADERS
        ) as response:
            assert response.status_code == 200
            next(response.iter_raw(1024))  # then gone
        line = inspector.lines(1)[0]
    assert line.kind == "turn" and (line.read, line.uncached) == (5000, 12), line.text()
    assert line.figures_known


# -- C: compressed request bodies -------------------------------------------------------------
@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
def test_a_compressed_request_body_goes_upstream_as_sent_and_is_read(coding):
    """C: a gzip body (curl -H 'Content-Encoding: gzip' --data-binary @b.json.gz) went upstream
    inflated but still labelled gzip (500 from the API); zstd and br got the inspector's own 400.
    Now the bytes and the header go as sent, and the inspector reads its own decoded copy."""
    packed = compress(coding, BODY)
    with FakeUpstream(answer_json) as up, Inspector(up.base_url) as inspector:
        got = httpx.post(
            inspector.base_url + "/v1/messages",
            content=packed,
            headers={**HEADERS, "Content-Encoding": coding, "Content-Type": "application/json"},
        )
        assert got.status_code == 200
        (top, body), *_ = up.requests
        line = inspector.lines(1)[0]
    assert body == packed and f"content-encoding: {coding}".encode() in top.lower()
    assert line.kind == "turn" and line.model == "claude-sonnet-4-6" and line.session == "s1"
    assert line.note == "" and line.uncached == 12


@pytest.mark.parametrize(
    "coding, packed, said",
    [
        ("compress", b"\x1f\x9dcompressed", "request unreadable: body encoded as compress"),
        ("gzip", b"\x1f\x8b damaged", "request unreadable: body its gzip compression is damaged"),
    ],
)
def test_a_request_body_the_inspector_cannot_decode_still_goes_on_as_sent(coding, packed, said):
    """C: what the inspector cannot decode is the upstream's to judge: sent as it came, and the
    line says the request could not be read."""
    with FakeUpstream(answer_json) as up, Inspector(up.base_url) as inspector:
        got = httpx.post(
            inspector.base_url + "/v1/messages",
            content=packed,
            headers={**HEADERS, "Content-Encoding": coding},
        )
        assert got.status_code == 200
        (top, body), *_ = up.requests
        line = inspector.lines(1)[0]
    assert body == packed
    assert line.note.startswith(said), line.note


def test_a_request_body_that_inflates_past_the_limit_is_not_read():
    """C: the inspector's own read of a compressed body is capped (40 MB decoded)."""
    packed = gzip.compress(b" " * (48 * 1024 * 1024), compresslevel=1)
    with FakeUpstream(answer_json) as up, Inspector(up.base_url) as inspector:
        got = httpx.post(
            inspector.base_url + "/v1/messages",
            content=packed,
            headers={**HEADERS, "Content-Encoding": "gzip"},
        )
        assert got.status_code == 200 and up.requests[0][1] == packed
        line = inspector.lines(1)[0]
    assert "too large to read (over 40 MB decoded)" in line.note


# -- D: an upstream with a login ---------------------------------------------------------------
def test_an_upstream_with_a_login_is_refused_in_one_line_without_its_password(capsys):
    """D: `--upstream http://user:pw@host` made aiohttp answer 500 to clients that send
    `Authorization: Bearer` and added a Basic header for the others. Refused at start, as the
    app refuses such a base URL."""
    for url in ("http://user:S3CRET-PW@127.0.0.1:9", "https://S3CRET-PW@api.example.com"):
        assert inspect_main(["--port", "0", "--upstream", url]) == 2
        said = capsys.readouterr().err
        assert said.startswith("cachescope-inspect: --upstream ") and said.count("\n") == 1
        assert "S3CRET" not in said and "holds a login" in said


# -- E: a body over the inspector's limit ------------------------------------------------------
def test_a_body_over_the_limit_is_answered_as_the_api_answers_and_gets_a_line():
    """E: over 40 MB the inspector answered 413 with `api_error` and printed no line. The API
    says `request_too_large` (api/errors.md, "Request size limits")."""
    big = b'{"model": "claude-sonnet-4-6", "messages": [' + b" " * (41 * 1024 * 1024) + b"]}"
    with FakeUpstream(answer_json) as up, Inspector(up.base_url) as inspector:
        got = httpx.post(inspector.base_url + "/v1/messages", content=big, headers=HEADERS)
        line = inspector.lines(1)[0]
        assert not up.requests
    assert got.status_code == 413
    error = got.json()
    assert error["type"] == "error" and error["error"]["type"] == "request_too_large"
    assert line.kind == "failed" and line.status == 413
    assert line.error.startswith("request_too_large: Request exceeds the maximum allowed")
    assert "not sent on" in line.note
