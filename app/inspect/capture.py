"""The inspector's own copy of a response, read as it passes and never in the client's way: fed
each chunk after the client has it, decoded incrementally with a cap (gzip, deflate, br or zstd:
``app.inspect.decoding``; a decompression bomb costs at most ``DECODED_LIMIT`` of work and
memory), a stream parsed event by event keeping only what caching needs (``message_start``'s
usage and diagnostics, ``message_delta``'s usage, an ``error``), and anything of the wrong shape
noted rather than trusted."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from app.inspect.decoding import ERRORS, decoder_for

DECODED_LIMIT = 32 * 1024 * 1024  # decoded bytes read of one response; past it: too large
FEED_LIMIT = 1024 * 1024  # decoded bytes produced per chunk fed (the rest waits for the next)
TERMS = ("speed", "inference_geo")  # usage's words on what ran, kept for the price
MAX_ITERATIONS = 16  # usage.iterations kept: a compaction and a message (a few at most)
LINE_LIMIT = 1024 * 1024  # one event's line longer than this is skipped (not a usage event)
WANTED = (b"message_start", b"message_delta", b"error")
USAGE_FIELDS = ("input_tokens", "output_tokens", "cache_read_input_tokens")
USAGE_OPTIONAL = ("cache_creation_input_tokens",)
NESTED = {
    "cache_creation": ("ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens"),
    "output_tokens_details": ("thinking_tokens",),
    "server_tool_use": ("web_search_requests", "web_fetch_requests"),
}
MAX_COUNT = 10**9  # more tokens than any request holds: not a count


def _count(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        return None
    return value


def clean_usage(raw: object, problems: list[str], where: str = "usage") -> dict:
    """The counts of a ``usage`` object that are counts; every other field noted, not used."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(f"{where} was not an object")
        return {}
    out: dict = {}
    for name in (*USAGE_FIELDS, *USAGE_OPTIONAL):
        if raw.get(name) is None:
            continue
        value = _count(raw[name])
        if value is None:
            problems.append(f"{where}.{name} was not a count")
        else:
            out[name] = value
    for name, inner in NESTED.items():
        part = raw.get(name)
        if part is None:
            continue
        if not isinstance(part, dict):
            problems.append(f"{where}.{name} was not an object")
            continue
        kept = {}
        for key in inner:
            if part.get(key) is None:
                continue
            value = _count(part[key])
            if value is None:
                problems.append(f"{where}.{name}.{key} was not a count")
            else:
                kept[key] = value
        out[name] = kept
    for name in TERMS:  # what the request ran on, as the response says ("fast", "us")
        if isinstance(raw.get(name), str):
            out[name] = raw[name][:40]
    iterations = raw.get("iterations")
    if isinstance(iterations, list):  # compaction.md: each iteration's own usage
        out["iterations"] = [
            {
                **clean_usage(_flat(it), problems, f"{where}.iterations"),
                "type": str(it.get("type"))[:40],
            }
            for it in iterations[:MAX_ITERATIONS]
            if isinstance(it, dict)
        ]
    return out


def _flat(iteration: dict) -> dict:
    """An iteration's usage without iterations of its own (none are documented)."""
    return {k: v for k, v in iteration.items() if k != "iterations"}


def _error_of(raw: object) -> str:
    error = raw.get("error") if isinstance(raw, dict) else None
    if not isinstance(error, dict):
        return ""
    kind, message = error.get("type"), error.get("message")
    return ": ".join(str(x)[:300] for x in (kind, message) if isinstance(x, str) and x)


@dataclass
class ReadResult:
    usage: dict = field(default_factory=dict)  # clean counts (``clean_usage``)
    diagnostics: dict | None = None
    error: str = ""  # an error body's or an error event's type and message
    problems: list[str] = field(default_factory=list)  # what could not be read
    streamed: bool = False
    begun: bool = False  # the response said it began (a stream's message_start, a JSON body)


class ResponseReader:
    """Fed a response's bytes chunk by chunk as they pass (``feed``), read when it ends
    (``close``). ``on_begun(result)`` is called once a stream's ``message_start`` has been read,
    so its usage counts before the stream ends (an entry is readable once its response began)."""

    def __init__(
        self,
        encoding: str,
        streamed: bool,
        on_begun: Callable[[ReadResult], None] | None = None,
    ) -> None:
        self.streamed = streamed
        self.on_begun = on_begun
        self.result = ReadResult(streamed=streamed)
        self.decoded = 0
        self.body = bytearray()  # a JSON body, up to the limit
        self.partial = bytearray()  # a stream's unfinished line
        self.event = b""  # the current event's name (from its ``event:`` line)
        self.skipping = False  # inside a line too long to keep
        self.done = False
        decoder = decoder_for(encoding, FEED_LIMIT)  # gzip, deflate, br, zstd (decoding.py)
        self.decoder = decoder if not isinstance(decoder, str) else None
        if isinstance(decoder, str):
            self.result.problems.append(f"the response is {decoder}")
            self.done = True

    # -- bytes in -----------------------------------------------------------------------------
    def feed(self, chunk: bytes) -> None:
        if self.done:
            return
        if self.decoder is None:
            self._decoded(chunk)
            return
        try:
            out = self.decoder.step(chunk)
        except ERRORS as exc:
            self.stop(f"the response's {self.decoder.coding} compression is damaged ({exc})")
            return
        self._decoded(out)

    def _decoded(self, data: bytes) -> None:
        if not data:
            return
        self.decoded += len(data)
        if self.decoded > DECODED_LIMIT:
            self.stop(f"too large to read (over {DECODED_LIMIT // (1024 * 1024)} MB decoded)")
            return
        if self.streamed:
            self._lines(data)
        else:
            self.body += data

    def stop(self, problem: str) -> None:
        self.result.problems.append(problem)
        self.done = True
        self.decoder = None
        self.body = bytearray()
        self.partial = bytearray()

    # -- a stream -----------------------------------------------------------------------------
    def _lines(self, data: bytes) -> None:
        start = 0
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                rest = data[start:]
                if not self.skipping:
                    if len(self.partial) + len(rest) > LINE_LIMIT:
                        self.partial = bytearray()
                        self.skipping = True
                    else:
                        self.partial += rest
                return
            if self.skipping:
                self.skipping = False
            else:
                line = bytes(self.partial) + data[start:end] if self.partial else data[start:end]
                self.partial = bytearray()
                self._line(line.rstrip(b"\r"))
            start = end + 1

    def _line(self, line: bytes) -> None:
        if not line:
            self.event = b""
            return
        if line.startswith(b"event:"):
            self.event = line[6:].strip()
            return
        if not line.startswith(b"data:"):
            return
        if self.event and self.event not in WANTED:
            return  # a delta, a ping: the client's, not needed here
        if not self.event and not any(w in line for w in WANTED):
            return
        try:
            event = json.loads(line[5:])
        except (ValueError, RecursionError):
            self.result.problems.append("an event was not JSON")
            return
        self._event(event)

    def _event(self, event: object) -> None:
        if not isinstance(event, dict):
            self.result.problems.append("an event was not an object")
            return
        kind = event.get("type")
        result = self.result
        if kind == "message_start":
            message = event.get("message")
            if not isinstance(message, dict):
                result.problems.append("message_start held no message object")
                return
            result.usage.update(clean_usage(message.get("usage"), result.problems))
            diagnostics = message.get("diagnostics")
            if isinstance(diagnostics, dict):
                result.diagnostics = diagnostics
            if not result.begun:
                result.begun = True
                if self.on_begun is not None:
                    self.on_begun(result)
        elif kind == "message_delta":
            delta = clean_usage(event.get("usage"), result.problems, "message_delta.usage")
            for name, value in delta.items():
                if isinstance(value, dict):
                    result.usage.setdefault(name, {}).update(value)
                else:
                    result.usage[name] = value
        elif kind == "error":
            result.error = _error_of(event) or "an error event"

    # -- the end ------------------------------------------------------------------------------
    def close(self) -> ReadResult:
        """What was read: called once the response has ended (or broken off)."""
        while self.decoder is not None and self.decoder.more() and not self.done:
            before = self.decoded
            self.feed(b"")
            if self.decoded == before:
                break  # held input that gives nothing more
        if not self.done and self.streamed and self.partial and not self.skipping:
            self._line(bytes(self.partial).rstrip(b"\r"))
        if not self.done and not self.streamed:
            self._json(bytes(self.body))
        self.done = True
        self.body = bytearray()
        return self.result

    def _json(self, body: bytes) -> None:
        result = self.result
        if not body:
            return
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            result.problems.append("the response was not JSON")
            return
        if not isinstance(data, dict):
            result.problems.append("the response was not a JSON object")
            return
        if data.get("type") == "error":
            result.error = _error_of(data)
            return
        result.begun = True
        result.usage = clean_usage(data.get("usage"), result.problems)
        diagnostics = data.get("diagnostics")
        if isinstance(diagnostics, dict):
            result.diagnostics = diagnostics
