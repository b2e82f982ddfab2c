"""Counting prefixes with the API's free ``count_tokens`` endpoint, so the numbers the app shows
are the service's and not the estimator's (with a real key; the simulator counts with the
estimator itself). Each prefix is counted once: the calibration remembers it by fingerprint.

What is counted: the prefix through each breakpoint of a request and through its last block,
the points every prediction is made of (what is read, what is written, what is paid in full);
between them the estimator's increments are kept.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from app.caching.builder import BuiltRequest
from app.caching.calibration import TokenCalibration

log = logging.getLogger(__name__)
COUNTED_FIELDS = ("model", "system", "tools", "tool_choice", "thinking", "output_config")
MAX_CALLS = 5  # per request built: its breakpoints and its end
PLACEHOLDER = {"role": "user", "content": "."}
COUNT_TIMEOUT_S = 30.0  # counting is a nicety: a silent API must not hold a task for 600 s


def prefix_body(
    body: dict, path: str, position: Callable[[int], int] = lambda n: n
) -> tuple[dict, bool]:
    """A count_tokens body for the prefix ending at the block ``path``, and whether a
    placeholder message stands in for the conversation (a prefix of tools or system only).
    ``position`` finds the body's message for a path's number (``BuiltRequest.position_of``:
    paths number the conversation's messages, and a compacted request sends fewer)."""
    head = {k: body[k] for k in COUNTED_FIELDS if k in body}
    parts = path.split(".")
    if parts[0] == "tools":
        head.pop("system", None)
        head["tools"] = body["tools"][: int(parts[1]) + 1]
        return {**head, "messages": [PLACEHOLDER]}, True
    if parts[0] == "system":
        system = body["system"]
        if isinstance(system, list) and len(parts) > 1:
            head["system"] = system[: int(parts[1]) + 1]
        return {**head, "messages": [PLACEHOLDER]}, True
    index = position(int(parts[1]))
    messages = [dict(m) for m in body["messages"][: index + 1]]
    if len(parts) > 3 and isinstance(messages[-1]["content"], list):
        messages[-1]["content"] = messages[-1]["content"][: int(parts[3]) + 1]
    return {**head, "messages": messages}, False


async def count_prefixes(client, built: BuiltRequest, calibration: TokenCalibration) -> int:
    """Count what is not known yet; returns how many prefixes were counted. Never raises."""
    model = built.model.id
    blocks = built.flat.blocks
    points = sorted({p.index for p in built.breakpoints} | ({len(blocks) - 1} if blocks else set()))
    todo = [blocks[i] for i in points if not calibration.known(model, blocks[i].fingerprint)]
    counted = 0
    placeholder_tokens = None
    for block in todo[:MAX_CALLS]:
        body, placeholder = prefix_body(built.body, block.path, built.position_of)
        try:
            tokens = (
                await client.messages.count_tokens(**body, timeout=COUNT_TIMEOUT_S)
            ).input_tokens
            if placeholder:
                if placeholder_tokens is None:
                    alone = {"model": body["model"], "messages": [PLACEHOLDER]}
                    placeholder_tokens = (
                        await client.messages.count_tokens(**alone, timeout=COUNT_TIMEOUT_S)
                    ).input_tokens
                tokens -= placeholder_tokens
        except Exception as exc:  # counting is a nicety: the estimate stands
            log.info("count_tokens failed: %s", exc)
            return counted
        calibration.learn(model, block.fingerprint, tokens)
        counted += 1
    return counted
