"""How long the API takes to read a prompt: Anthropic's published figures, for the simulator's
latency and for the engine's time limits.

Anthropic's speculative-caching cookbook measured, on about 151,600 tokens of context, 20.87 s to
the first token with a cold cache and 1.94 s once warm, and roughly 50 output tokens per second.
A line through those two points: a fixed 0.4 s, plus 135 us for each token the service must
process (uncached or being written), plus 10.2 us for each token read from cache.
"""

from __future__ import annotations

COOKBOOK_TOKENS = 151_600
COOKBOOK_COLD_TTFT_S = 20.87
COOKBOOK_WARM_TTFT_S = 1.94
BASE_S = 0.4
OUTPUT_TOKENS_PER_S = 50.0
PROCESSED_S_PER_TOKEN = (COOKBOOK_COLD_TTFT_S - BASE_S) / COOKBOOK_TOKENS
READ_S_PER_TOKEN = (COOKBOOK_WARM_TTFT_S - BASE_S) / COOKBOOK_TOKENS


def expected_ttft_s(processed_tokens: int, read_tokens: int) -> float:
    """Seconds to the first token (or to a ``max_tokens: 0`` answer) at the published speed."""
    return BASE_S + processed_tokens * PROCESSED_S_PER_TOKEN + read_tokens * READ_S_PER_TOKEN
