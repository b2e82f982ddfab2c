"""The content codings a Messages API client or the API may use (RFC 9110 section 8.4.1): gzip
and deflate (zlib), br (Brotli) and zstd (Zstandard), decoded incrementally with a bound on what
each step produces, so the inspector's copy of a body never costs more than it chose to spend
(a decompression bomb is cut off, not inflated). The bytes that pass between a program and the
API are never decoded: only the inspector's own copy is.

Brotli is read with the ``brotli`` package (1.2 and later: its output limit), Zstandard with the
standard library's ``compression.zstd`` (Python 3.14) or its backport ``backports.zstd``: the
libraries aiohttp and the SDK's HTTP library decode these codings with."""

from __future__ import annotations

import sys
import zlib

import brotli

if sys.version_info >= (3, 14):
    from compression.zstd import ZstdDecompressor, ZstdError
else:
    from backports.zstd import ZstdDecompressor, ZstdError

NAMES = {"gzip": "gzip", "x-gzip": "gzip", "deflate": "deflate", "br": "br", "zstd": "zstd"}
IDENTITY = ("", "identity")
ERRORS = (zlib.error, brotli.error, ZstdError, EOFError)  # damaged data, in any coding


class _Zlib:
    """gzip or zlib (deflate), told apart by the header."""

    def __init__(self) -> None:
        self.obj = zlib.decompressobj(32 + zlib.MAX_WBITS)

    def step(self, data: bytes, limit: int) -> bytes:
        return self.obj.decompress(self.obj.unconsumed_tail + data, limit)

    def more(self) -> bool:
        return bool(self.obj.unconsumed_tail)


class _Brotli:
    """A Brotli decoder that has stopped at its output limit takes no input until it has given
    out what it holds (``can_accept_more_data``; fed meanwhile it breaks for good): the input
    waits here."""

    def __init__(self) -> None:
        self.obj = brotli.Decompressor()
        self.held = b""

    def step(self, data: bytes, limit: int) -> bytes:
        if not self.obj.can_accept_more_data():
            self.held += data
            return self.obj.process(b"", output_buffer_limit=limit)
        data, self.held = self.held + data, b""
        if not data or self.obj.is_finished():
            return b""
        return self.obj.process(data, output_buffer_limit=limit)

    def more(self) -> bool:
        return not self.obj.can_accept_more_data() or bool(self.held)


class _Zstd:
    """Zstandard, frame after frame (a body may hold several, as aiohttp reads them)."""

    def __init__(self) -> None:
        self.obj = ZstdDecompressor()

    def step(self, data: bytes, limit: int) -> bytes:
        if self.obj.eof:
            data = self.obj.unused_data + data
            if not data:
                return b""
            self.obj = ZstdDecompressor()
        return self.obj.decompress(data, limit)

    def more(self) -> bool:
        if self.obj.eof:
            return bool(self.obj.unused_data)
        return not self.obj.needs_input


_MAKERS = {"gzip": _Zlib, "deflate": _Zlib, "br": _Brotli, "zstd": _Zstd}


class Decoder:
    """One body's decoding: ``step(chunk)`` gives at most about ``per_step`` decoded bytes (the
    rest is held for the next step), ``more()`` says whether held input still has bytes to give.
    Raises one of ``ERRORS`` for damaged data."""

    def __init__(self, coding: str, per_step: int) -> None:
        self.coding = coding
        self.per_step = per_step
        self._impl = _MAKERS[coding]()

    def step(self, chunk: bytes) -> bytes:
        return self._impl.step(chunk, self.per_step)

    def more(self) -> bool:
        return self._impl.more()


def decoder_for(encoding: str, per_step: int) -> Decoder | None | str:
    """A ``Decoder`` for a ``Content-Encoding`` header's value, None for none (``identity``), or
    why it cannot be read (a coding it does not know, or several applied one over another)."""
    said = encoding.strip().lower()
    if said in IDENTITY:
        return None
    coding = NAMES.get(said)
    if coding is None:
        return f"encoded as {said[:40]}: not read"
    return Decoder(coding, per_step)


def decode_whole(data: bytes, encoding: str, limit: int, per_step: int) -> bytes | str:
    """A whole body decoded, or why not (a coding it cannot read, damaged data, or more than
    ``limit`` bytes once decoded: the work stops there)."""
    decoder = decoder_for(encoding, per_step)
    if decoder is None:
        return data
    if isinstance(decoder, str):
        return decoder
    out = bytearray()
    try:
        piece = decoder.step(data)
        while True:
            out += piece
            if len(out) > limit:
                return f"too large to read (over {limit // (1024 * 1024)} MB decoded)"
            if not piece or not decoder.more():
                break
            piece = decoder.step(b"")
    except ERRORS as exc:
        return f"its {decoder.coding} compression is damaged ({str(exc)[:80]})"
    return bytes(out)
