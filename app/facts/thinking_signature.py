"""The simulator's thinking signatures: opaque to clients, and the full thinking for the service
(thinking.md, "Controlling thinking display": "The server decrypts the `signature` to
reconstruct the original thinking for prompt construction").

A signature the simulator made holds the thinking it stands for, with a MAC, so that an omitted
block sent back with an empty ``thinking`` field is counted and cached as the thinking it was;
any other signature (the real API's, a test's) is read as its block says. The app's predictor
flattens requests with the same function, so both see the same prompt."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json

PREFIX = "EsimT"
_KEY = b"cachescope-simulator-thinking"  # not a secret: it only tells the simulator's own apart
_MAC_BYTES = 12


def sign(thinking: str) -> str:
    """The signature of a thinking block (the same whatever ``display`` shows of it)."""
    payload = json.dumps({"t": thinking}, ensure_ascii=False).encode("utf-8")
    mac = hmac.new(_KEY, payload, hashlib.sha256).digest()[:_MAC_BYTES]
    return PREFIX + base64.urlsafe_b64encode(mac + payload).decode("ascii")


def original(signature: object) -> str | None:
    """The thinking a simulator signature stands for; None for any other signature."""
    if not isinstance(signature, str) or not signature.startswith(PREFIX):
        return None
    try:
        raw = base64.urlsafe_b64decode(signature[len(PREFIX) :].encode("ascii"))
    except (binascii.Error, ValueError):
        return None
    mac, payload = raw[:_MAC_BYTES], raw[_MAC_BYTES:]
    if not hmac.compare_digest(mac, hmac.new(_KEY, payload, hashlib.sha256).digest()[:_MAC_BYTES]):
        return None
    try:
        text = json.loads(payload).get("t")
    except (ValueError, AttributeError):
        return None
    return text if isinstance(text, str) else None


def shown_thinking(block: dict) -> str:
    """The thinking a block puts in the prompt: what its signature holds when the simulator
    made it (text put into an omitted block's empty field is ignored), else its own text."""
    held = original(block.get("signature"))
    return held if held is not None else str(block.get("thinking", ""))
