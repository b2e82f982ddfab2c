"""Cachescope's deterministic token estimator, shared by the simulator and the app.

The real tokenizer is not public, so both sides use the same documented estimate:

- text: one token per 4 bytes of UTF-8, rounded up (Anthropic's rule of thumb of ~4 characters
  per token for English; non-Latin scripts cost more bytes and so more tokens);
- an image: width x height / 750, rounded up, after the service's own downscale rule (long edge
  at most 1568 px and at most ~1,600 tokens);
- a tool definition: its canonical JSON as text, plus a fixed tool-use preamble once per request;
- each message: a small fixed overhead for its role marker.
"""

from __future__ import annotations

import json
import math
from typing import Any

BYTES_PER_TOKEN = 4
IMAGE_PIXELS_PER_TOKEN = 750
SERVICE_MAX_LONG_EDGE = 1568
SERVICE_MAX_IMAGE_TOKENS = 1600
MESSAGE_OVERHEAD_TOKENS = 4
TOOL_USE_PREAMBLE_TOKENS = 346
TOOL_DEFINITION_OVERHEAD_TOKENS = 8
TOOL_BLOCK_OVERHEAD_TOKENS = 5


def canonical_json(value: Any) -> str:
    """The one JSON spelling Cachescope uses for hashing and estimating."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def text_tokens(text: str) -> int:
    if not text:
        return 0
    size = len(text) if text.isascii() else len(text.encode("utf-8"))
    return -(-size // BYTES_PER_TOKEN)


def service_image_size(width: int, height: int) -> tuple[int, int]:
    """The size the service resizes an image to before counting it."""
    if width <= 0 or height <= 0:
        return (0, 0)
    scale = min(
        1.0,
        SERVICE_MAX_LONG_EDGE / max(width, height),
        math.sqrt(SERVICE_MAX_IMAGE_TOKENS * IMAGE_PIXELS_PER_TOKEN / (width * height)),
    )
    if scale >= 1.0:
        return (width, height)
    return (max(1, int(width * scale)), max(1, int(height * scale)))


def image_tokens(width: int, height: int) -> int:
    w, h = service_image_size(width, height)
    return -(-(w * h) // IMAGE_PIXELS_PER_TOKEN)


def tool_definition_tokens(tool: dict) -> int:
    body = {k: v for k, v in tool.items() if k != "cache_control"}
    return text_tokens(canonical_json(body)) + TOOL_DEFINITION_OVERHEAD_TOKENS


def model_tokens(base: int, token_scale: float) -> int:
    """A text's estimate in a model's tokenizer (Opus 4.7 and later count about 1.3x): the one
    conversion every token figure the app shows goes through (images are counted by pixels and
    are not converted)."""
    return base if token_scale == 1.0 else math.ceil(base * token_scale)
