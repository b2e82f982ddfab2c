"""Hostile cases against ``cachescope-inspect`` (issue 36, points 1-9), run in CI and bounded in
time: each test has its own timeout and the module runs in well under a minute. An upstream
scripted byte by byte (``tests/fake_upstream.py``) plays the API at its worst; clients speak raw
HTTP where a library would tidy the bytes."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import httpx2 as httpx
import pytest

from app.inspect import observer as observer_module
from app.inspect.cli import main as inspect_main
from app.inspect.cli import print_line
from app.inspect.lines import LineStore
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
    raw_request,
    sse,
    stream_start,
)

pytestmark = pytest.mark.timeout(60)
ROOT = Path(__file__).resolve().parents[1]


# -- faithful pass-through (36.1-3) ------------------------------------------------------------
def test_repeated_headers_the_query_and_the_body_arrive_as_sent_with_nothing_added():
    """36.1-3: ``anthropic-beta: one`` + ``anthropic-beta: two`` arrived as ``two``; ``%2F``
    arrived as ``/``; Accept, Accept-Encoding and User-Agent were added that curl never sent."""
    with FakeUpstream(answer_json) as up, Inspector(up.base_url) as inspector:
        target = b"/v1/messages?beta=true&path=a%2Fb%20c&x=%41"
        sent = [
            b"x-api-key: " + KEY.encode(),
            b"anthropic-beta: one",
            b"anthropic-version: 2023-06-01",
            b"anthropic-beta: two",
            b"content-type: application/json",
        ]
        port = int(inspector.base_url.rsplit(":", 1)[1])
        request = b"POST " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        request += b"".join(h + b"\r\n" for h in sent)
        request += b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY
        reply = raw_request(port, request)
        assert reply.startswith(b"HTTP/1.1 200")
        (top, body), *_ = up.requests
        lines = top.split(b"\r\n")
        assert lines[0] == b"POST " + target + b" HTTP/1.1"
        names = [line.split(b":", 1)[0].lower() for line in lines[1:] if line]
        passed = [
            line
            for line in lines[1:]
            if line.split(b":", 1)[0].lower()
            in {b"x-api-key", b"anthropic-beta", b"anthropic-version", b"content-type"}
        ]
        assert passed == sent  # as sent, repeated ones and their order included
        assert sorted(names) == sorted(
            [b"host", b"content-length", *(h.split(b":")[0] for h in sent)]
        )
        assert body == BODY
        assert inspector.lines(1)[0].uncached == 12


def test_a_client_that_asked_for_no_compression_gets_none_and_gzip_passes_as_bytes():
    """36.3: the upstream compresses only when asked; a client that did not ask gets plain
    bytes, one that did gets the gzip bytes as they came, and the copy is still read."""
    payload = message()

    async def answer(top, body, writer):
        if b"accept-encoding: gzip" in top.lower():
            packed = gzip.compress(payload)
            writer.write(
                head(
                    "200 OK",
                    "Content-Type: application/json",
                    "Content-Encoding: gzip",
                    f"Content-Length: {len(packed)}",
                )
            )
            writer.write(packed)
        else:
            await answer_json(top, body, writer)
        await writer.drain()

    with FakeUpstream(answer) as up, Inspector(up.base_url) as inspector:
        port = int(inspector.base_url.rsplit(":", 1)[1])
        plain = b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: k\r\n"
        plain += b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY
        reply = raw_request(port, plain)
        assert b"content-encoding" not in reply.lower() and reply.endswith(payload)
        asked = plain.replace(b"x-api-key: k\r\n", b"x-api-key: k\r\nAccept-Encoding: gzip\r\n")
        reply = raw_request(port, asked)
        assert b"content-encoding: gzip" in reply.lower()
        assert gzip.decompress(reply.partition(b"\r\n\r\n")[2]) == payload
        first, second = inspector.lines(2)
        assert first.uncached == second.uncached == 12 and not second.note


def test_the_request_reaches_the_upstream_before_the_inspector_reads_it(monkeypatch):
    """Forwarding apart from observing: the observer read (and hashed) each request before
    aiohttp had written it upstream, on the request's way. Here the observer waits for the
    upstream to have the body: had it run first, the body could never have left."""
    arrived = threading.Event()
    seen = []
    real = observer_module.Observer.request

    def reads_later(self, body, headers):
        seen.append(arrived.wait(timeout=2))
        return real(self, body, headers)

    async def answer(top, body, writer):
        arrived.set()
        await answer_json(top, body, writer)

    monkeypatch.setattr(observer_module.Observer, "request", reads_later)
    with FakeUpstream(answer) as up, Inspector(up.base_url) as inspector:
        reply = httpx.post(
            inspector.base_url + "/v1/messages", content=BODY, headers={"x-api-key": KEY}
        )
        assert reply.status_code == 200 and inspector.lines(1)
    assert seen == [True]


# -- failures reach the client as they are (36.4) ----------------------------------------------
def _failure_of(url: str) -> tuple[str, bytes]:
    got = b""
    try:
        with httpx.stream(
            "POST", url + "/v1/messages", content=BODY, headers={"x-api-key": KEY}, timeout=10
        ) as response:
            for part in response.iter_raw():
                got += part
    except httpx.HTTPError as exc:
        return type(exc).__name__, got
    return "complete", got


@pytest.mark.parametrize("kind", ["short body", "cut stream"])
def test_a_response_that_breaks_off_breaks_off_at_the_client_too(kind):
    """36.4: a body shorter than its Content-Length, or a stream the API cuts off, ended cleanly
    at the client and was recorded as a normal 200."""

    async def answer(top, body, writer):
        if kind == "short body":
            writer.write(head("200 OK", "Content-Type: application/json", "Content-Length: 900"))
            writer.write(message()[:120])
        else:
            writer.write(
                head("200 OK", "Content-Type: text/event-stream", "Transfer-Encoding: chunked")
            )
            writer.write(chunk(stream_start({**USAGE, "cache_read_input_tokens": 40})))
            delta = {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "Once"},
            }
            writer.write(chunk(sse("content_block_delta", delta)))
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.transport.abort()

    with FakeUpstream(answer) as up, Inspector(up.base_url) as inspector:
        direct = _failure_of(up.base_url)
        through = _failure_of(inspector.base_url)
        assert direct[0] == through[0] == "RemoteProtocolError"
        assert through[1] == direct[1]  # the same bytes, then the same failure
        line = inspector.lines(1)[0]
        assert line.complete is False and "broke off" in line.note
        if kind == "cut stream":
            assert line.kind == "stream" and line.read == 40


# -- a gzip bomb (36.5) ------------------------------------------------------------------------
def gzip_bomb(megabytes: int) -> bytes:
    """``megabytes`` MB of zeros as one gzip member of about 1 KB a megabyte (each megabyte a
    fully flushed deflate block, so the blocks are identical and cost nothing to repeat)."""
    zeros = bytes(1 << 20)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    again = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    end = packer.flush()
    crc = 0
    for _ in range(megabytes):
        crc = zlib.crc32(zeros, crc)
    trailer = struct.pack("<II", crc, (megabytes << 20) & 0xFFFFFFFF)
    return (
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
        + block
        + again * (megabytes - 1)
        + end
        + trailer
    )


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_a_gzip_bomb_passes_as_bytes_and_is_read_with_a_cap_while_others_go_on():
    """36.5: 3 MB of gzip took the inspector to 6 GB and stalled other clients for 22 s."""
    bomb = gzip_bomb(2048)  # 2 GB of zeros in about 2 MB
    assert len(bomb) < 3 * 1024 * 1024

    async def answer(top, body, writer):
        if b"bomb" not in top:
            await answer_json(top, body, writer)
            return
        writer.write(
            head(
                "200 OK",
                "Content-Type: application/json",
                "Content-Encoding: gzip",
                f"Content-Length: {len(bomb)}",
            )
        )
        for at in range(0, len(bomb), 65536):
            writer.write(bomb[at : at + 65536])
            await writer.drain()
            await asyncio.sleep(0.002)

    with FakeUpstream(answer) as up, Inspector(up.base_url) as inspector:
        Path("/proc/self/clear_refs").write_text("5")  # the peak from here on
        before = peak_rss_mb()
        got, waits = [], []

        def bomb_client():
            with httpx.stream(
                "POST",
                inspector.base_url + "/v1/messages?bomb",
                content=BODY,
                headers={"x-api-key": KEY},
                timeout=30,
            ) as response:
                got.append(b"".join(response.iter_raw()))

        thread = threading.Thread(target=bomb_client)
        thread.start()
        with httpx.Client(timeout=30) as client:
            while thread.is_alive():
                started = time.perf_counter()
                client.post(
                    inspector.base_url + "/v1/messages",
                    content=BODY,
                    headers={"x-api-key": "other"},
                ).raise_for_status()
                waits.append(time.perf_counter() - started)
        thread.join()
        grown = peak_rss_mb() - before
        assert got == [bomb]  # every byte, as it came
        lines = inspector.lines(len(waits) + 1)
        bombed = [x for x in lines if "too large to read" in x.note]
        assert len(bombed) == 1, [x.note for x in lines]
        assert waits and max(waits) < 1.0, max(waits)
        assert grown < 200, f"the inspector grew by {grown:.0f} MB"


# -- a thousand streams at once (36.6) ---------------------------------------------------------
def test_a_thousand_concurrent_streams_pass_whole_and_no_request_waits_on_them():
    """36.6: at most 100 streams passed at once (aiohttp's connection pool); with 300 ten-second
    streams 100 were cut and an unrelated request got a 502 after 17 s. Here 1,000 six-second
    streams are all open when an unrelated request is sent: it is answered long before them."""
    count = 1000

    async def answer(top, body, writer):
        if b"/fast" in top:
            await answer_json(top, body, writer)
            return
        writer.write(
            head("200 OK", "Content-Type: text/event-stream", "Transfer-Encoding: chunked")
        )
        writer.write(chunk(stream_start()))
        await asyncio.sleep(len(up.requests) % 50 / 100)  # the streams' events out of step
        for word in range(12):
            await asyncio.sleep(0.5)
            delta = {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": f"word {word} "},
            }
            writer.write(chunk(sse("content_block_delta", delta)))
            await writer.drain()
        writer.write(chunk(sse("message_stop", {"type": "message_stop"})) + b"0\r\n\r\n")
        await writer.drain()

    async def everyone(base: str) -> tuple[list, list[float], int]:
        limits = httpx.Limits(max_connections=count + 10, max_keepalive_connections=0)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:

            async def one(i):
                response = await client.post(
                    base + "/v1/messages", content=BODY, headers={"x-api-key": f"key-{i % 9}"}
                )
                return response.status_code, response.text.count("event: message_stop")

            streams = [asyncio.create_task(one(i)) for i in range(count)]
            await asyncio.sleep(3.0)  # every stream set up and under way
            waits = []
            for _ in range(5):
                started = time.perf_counter()
                fast = await client.post(base + "/fast/v1/messages", content=BODY)
                waits.append(time.perf_counter() - started)
                assert fast.status_code == 200
            open_then = sum(not s.done() for s in streams)
            return await asyncio.gather(*streams), waits, open_then

    with FakeUpstream(answer) as up, Inspector(up.base_url) as inspector:
        results, waits, open_then = asyncio.run(everyone(inspector.base_url))
        assert results == [(200, 1)] * count
        assert open_then == count and statistics.median(waits) < 0.5, (open_then, waits)
        assert len(inspector.lines(count)) == count


# -- bounded memory (36.7) ---------------------------------------------------------------------
def test_the_views_keep_a_bounded_window_and_the_file_keeps_every_line(tmp_path, monkeypatch):
    """36.7: memory grew about 5 KB a request for good: every line, block map and captured
    request was kept. The views keep the last ones; the captured file keeps them all."""
    monkeypatch.setattr(observer_module, "MAPS_KEPT", 20)
    monkeypatch.setattr(observer_module, "ENTRIES_KEPT", 30)
    kept = tmp_path / "captured.jsonl"
    with (
        FakeUpstream(answer_json) as up,
        Inspector(up.base_url, lines=LineStore(window=50, path=kept)) as inspector,
        httpx.Client(timeout=10) as client,
    ):
        for i in range(150):
            body = json.loads(BODY)
            text = f"You are assistant number {i}. " * 200
            body["system"] = [
                {"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}
            ]
            client.post(
                inspector.base_url + "/v1/messages", json=body, headers={"x-api-key": f"k{i % 3}"}
            ).raise_for_status()
        inspector.lines(50)
        store, observer = inspector.proxy.lines, inspector.proxy.observer
        deadline = time.monotonic() + 5
        while store.total < 150 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert len(store) == 50 and store.total == 150
    assert len(observer.maps) == 20
    assert len(kept.read_text().splitlines()) == 150
    assert sum(len(s.turns) for s in observer.sessions.values()) == 150
    assert all(not hasattr(t, "blocks") for s in observer.sessions.values() for t in s.turns)
    # Every request wrote a new entry (a new system prompt): each ledger keeps at most 30.
    assert all(0 < len(s.ledger.entries) <= 30 for s in observer.sessions.values())


# -- what cannot be read (36.8) ----------------------------------------------------------------
def test_a_body_nested_100000_deep_is_forwarded_and_recorded_as_unreadable():
    """36.8: it got a 500 from the inspector and never reached the API."""
    deep = b'{"model": "claude-sonnet-4-6", "messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"

    async def answer(top, body, writer):
        payload = b'{"type":"error","error":{"type":"invalid_request_error","message":"too deep"}}'
        writer.write(
            head(
                "400 Bad Request",
                "Content-Type: application/json",
                f"Content-Length: {len(payload)}",
            )
        )
        writer.write(payload)
        await writer.drain()

    with FakeUpstream(answer) as up, Inspector(up.base_url) as inspector:
        reply = httpx.post(
            inspector.base_url + "/v1/messages",
            content=deep,
            headers={"x-api-key": KEY, "content-type": "application/json"},
        )
        assert reply.status_code == 400 and reply.json()["error"]["message"] == "too deep"
        assert up.requests[0][1] == deep
        line = inspector.lines(1)[0]
        assert line.kind == "failed" and line.status == 400
        assert "nested too deeply" in line.note and "too deep" in line.error


def test_wrong_typed_usage_and_events_are_recorded_as_far_as_they_can_be_read(caplog):
    """36.8: wrong-typed ``usage`` or stream events printed a traceback and lost the record."""

    async def answer(top, body, writer):
        if b"stream" not in top:
            payload = message(
                {
                    "input_tokens": "many",
                    "cache_read_input_tokens": 3000,
                    "output_tokens": True,
                    "cache_creation": [],
                }
            )
            writer.write(
                head("200 OK", "Content-Type: application/json", f"Content-Length: {len(payload)}")
            )
            writer.write(payload)
        else:
            writer.write(
                head("200 OK", "Content-Type: text/event-stream", "Transfer-Encoding: chunked")
            )
            for data in (
                b"event: message_start\ndata: []\n\n",
                sse("message_start", {"type": "message_start", "message": "x"}),
                stream_start({"input_tokens": 12, "cache_read_input_tokens": -5}),
                sse("message_delta", {"type": "message_delta", "usage": [1]}),
                b"data: {not json\n\n",
                sse("message_stop", {"type": "message_stop"}),
            ):
                writer.write(chunk(data))
            writer.write(b"0\r\n\r\n")
        await writer.drain()

    with FakeUpstream(answer) as up, Inspector(up.base_url) as inspector:
        for path in ("/v1/messages", "/v1/messages?stream"):
            reply = httpx.post(inspector.base_url + path, content=BODY, headers={"x-api-key": KEY})
            assert reply.status_code == 200
        plain, streamed = inspector.lines(2)
    assert (plain.kind, plain.read, plain.uncached) == ("turn", 3000, 0)
    assert "usage.input_tokens was not a count" in plain.note
    assert streamed.kind == "stream" and streamed.uncached == 12 and streamed.read == 0
    assert "was not a count" in streamed.note
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


def test_ports_and_an_upstream_that_is_the_inspector_itself_are_refused_in_one_line(capsys):
    """36.8: ``--port 70000`` / ``-1`` gave a traceback-ish message and exit 1."""
    for argv in (
        ["--port", "70000"],
        ["--port", "-1"],
        ["--port", "8799", "--upstream", "http://127.0.0.1:8799"],
        ["--port", "8799", "--upstream", "http://localhost:8799/"],
        ["--upstream", "ftp://example.com"],
    ):
        started = time.perf_counter()
        assert inspect_main(argv) == 2, argv
        said = capsys.readouterr().err
        assert time.perf_counter() - started < 1.0
        assert said.startswith("cachescope-inspect: ") and said.count("\n") == 1, said
        assert "Traceback" not in said and "usage:" not in said


# -- secrets and forged lines (36.9) -----------------------------------------------------------
def test_a_password_in_the_upstream_is_never_shown():
    """36.9: ``--upstream http://user:PASSWORD@...`` printed the password at start and in every
    502 body. Such an upstream is now refused at start (tests/test_inspect_transport.py, D): one
    line on stderr, exit code 2, the password nowhere."""
    command = [
        sys.executable,
        "-m",
        "app.inspect.cli",
        "--port",
        "0",
        "--upstream",
        "http://user:S3CRET-PW@127.0.0.1:9",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=30)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("cachescope-inspect: --upstream http://***@127.0.0.1:9 ")
    assert done.stderr.count("\n") == 1 and "S3CRET" not in done.stderr


def test_text_mode_escapes_what_a_program_or_the_upstream_sends(capsys):
    """36.9: text mode let the upstream forge lines and send terminal escapes."""
    forged = "x\n\x1b[2J\x1b[31mr99 claude-opus-4-8 turn: read 999,999 \u202e"

    async def answer(top, body, writer):
        if b"diagnosed" in top:
            payload = message(diagnostics={"cache_miss_reason": {"type": forged}})
            writer.write(
                head("200 OK", "Content-Type: application/json", f"Content-Length: {len(payload)}")
            )
        else:
            payload = json.dumps(
                {"type": "error", "error": {"type": "invalid_request_error", "message": forged}}
            ).encode()
            writer.write(
                head(
                    "400 Bad Request",
                    "Content-Type: application/json",
                    f"Content-Length: {len(payload)}",
                )
            )
        writer.write(payload)
        await writer.drain()

    odd_model = json.dumps({"model": forged, "messages": []}).encode()
    with FakeUpstream(answer) as up, Inspector(up.base_url, on_line=print_line(False)) as inspector:
        for path, body in (("/v1/messages?diagnosed", BODY), ("/v1/messages", odd_model)):
            httpx.post(inspector.base_url + path, content=body, headers={"x-api-key": KEY})
        inspector.lines(2)
        time.sleep(0.1)
    out = capsys.readouterr().out
    assert out.count("\n") == 2, out
    assert "\x1b" not in out and "\u202e" not in out and "\\x1b[2J" in out


def test_a_client_that_expects_100_continue_is_answered_and_its_body_goes_on():
    """curl sends ``Expect: 100-continue`` before a body over 1 MB: the endpoint answers it and
    holds the body, so the upstream is not asked again (one that never says 100 left the request
    waiting for ever)."""
    big = json.dumps(
        {
            "model": "claude-sonnet-4-6",
            "max_tokens": 5,
            "messages": [{"role": "user", "content": "hi " * 400_000}],
        }
    ).encode()
    with FakeUpstream(answer_json) as up, Inspector(up.base_url) as inspector:
        port = int(inspector.base_url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(
                b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: k\r\n"
                b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(big)
            )
            assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue")
            sock.sendall(big)
            reply = b""
            while b"hello" not in reply:
                got = sock.recv(65536)
                assert got, reply
                reply += got
        assert b"HTTP/1.1 200 OK" in reply
        top, body = up.requests[0]
        assert body == big and b"expect" not in top.lower()
