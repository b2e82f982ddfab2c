"""What the tests share: texts of a known token count, raw HTTP calls, and ``Harness``: an
engine on a simulator with one clock for both and a recorder of its events (Qt-free; the
window's kit is ``tests/uikit.py``)."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request

import anthropic

from app.conversation.conversation import Conversation
from app.engine.engine import Engine, EngineSettings
from app.facts.tokens import BYTES_PER_TOKEN, MESSAGE_OVERHEAD_TOKENS

SONNET_46 = "claude-sonnet-4-6"  # minimum 1024, the base tokenizer
OPUS_47 = "claude-opus-4-7"  # minimum 2048, the newer tokenizer (about 1.3x the tokens)
HAIKU_45 = "claude-haiku-4-5-20251001"  # minimum 4096


def text_of(tokens: int, tag: str = "") -> str:
    """A text the estimator counts as exactly ``tokens`` tokens (ASCII, 4 bytes a token)."""
    body = (tag + " " if tag else "") + "lorem ipsum dolor sit amet " * (tokens // 5 + 2)
    return body[: tokens * BYTES_PER_TOKEN]


def block(tokens: int, tag: str = "", ttl: str | None = None, cache: bool = False) -> dict:
    out: dict = {"type": "text", "text": text_of(tokens, tag)}
    if cache or ttl:
        out["cache_control"] = {"type": "ephemeral", **({"ttl": ttl} if ttl else {})}
    return out


def blocks_message(
    n: int,
    tokens_each: int,
    marks: dict[int, str | None] | None = None,
    changed: set[int] | None = None,
) -> dict:
    """One user message of ``n`` text blocks numbered 1..n; ``marks`` puts breakpoints."""
    marks = marks or {}
    changed = changed or set()
    content = []
    for k in range(1, n + 1):
        tag = f"block {k}" + (" changed" if k in changed else "")
        content.append(block(tokens_each, tag, ttl=marks.get(k), cache=k in marks))
    return {"role": "user", "content": content}


def prefix_tokens(n_blocks: int, tokens_each: int) -> int:
    """Tokens through block n of ``blocks_message`` (the message overhead sits on block 1)."""
    return n_blocks * tokens_each + MESSAGE_OVERHEAD_TOKENS


def raw_post(
    base_url: str, path: str, body: bytes | dict, headers: dict | None = None, method: str = "POST"
) -> tuple[int, dict, dict]:
    """Send a request without the SDK; returns (status, headers, parsed JSON body)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    all_headers = {
        "content-type": "application/json",
        "x-api-key": "test-key",
        "anthropic-version": "2023-06-01",
    }
    all_headers.update(headers or {})
    all_headers = {k: v for k, v in all_headers.items() if v is not None}
    req = urllib.request.Request(
        base_url + path, data=data if method == "POST" else None, headers=all_headers, method=method
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read() or b"{}")


def api_message(excinfo) -> str:
    """The API's own error message from an SDK exception (or a pytest ExceptionInfo)."""
    exc = getattr(excinfo, "value", excinfo)
    return exc.body["error"]["message"]


class FakeClock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


class Harness:
    """An engine on a simulator, with one clock for both and a recorder of events."""

    def __init__(self, base_url, settings=None, **client_kw):
        self.base_url = base_url
        self.clock = FakeClock()
        client_kw.setdefault("max_retries", 0)
        self.client = anthropic.AsyncAnthropic(base_url=base_url, api_key="k", **client_kw)
        self.engine = Engine(
            self.client, settings or EngineSettings(), clock=self.clock, sleep=self.sleep
        )
        self.events = []
        self.engine.subscribe(self.events.append)

    async def sleep(self, seconds):
        self.clock.offset += seconds
        await asyncio.to_thread(
            raw_post, self.base_url, "/_sim/clock/advance", {"seconds": seconds}
        )

    def of(self, kind):
        return [e for e in self.events if isinstance(e, kind)]


def conversation(model=SONNET_46, tokens=3000, tools=()):
    conv = Conversation(model=model, max_tokens=400)
    conv.set_system_text(text_of(tokens, "system"))
    conv.tools = tuple(tools)
    return conv


def run(coro):
    return asyncio.run(coro)
