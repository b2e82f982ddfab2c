"""How long the simulated service takes, calibrated to Anthropic's published figures.

Anthropic's speculative-caching cookbook measured, on about 151,600 tokens of context, 20.87 s to
the first token with a cold cache and 1.94 s once warm, and roughly 50 output tokens per second.
A linear model through those two points: a fixed 0.4 s, plus 135 us for each token the service
must process (uncached or being written), plus 10.2 us for each token read from cache.
Every figure is multiplied by the time scale (0 = instant).
"""

from __future__ import annotations

from dataclasses import dataclass

COOKBOOK_TOKENS = 151_600
COOKBOOK_COLD_TTFT_S = 20.87
COOKBOOK_WARM_TTFT_S = 1.94
BASE_S = 0.4
OUTPUT_TOKENS_PER_S = 50.0


@dataclass(frozen=True)
class LatencyModel:
    scale: float = 1.0
    base_s: float = BASE_S
    processed_s_per_token: float = (COOKBOOK_COLD_TTFT_S - BASE_S) / COOKBOOK_TOKENS
    read_s_per_token: float = (COOKBOOK_WARM_TTFT_S - BASE_S) / COOKBOOK_TOKENS
    output_s_per_token: float = 1.0 / OUTPUT_TOKENS_PER_S

    def time_to_first_token(self, processed_tokens: int, read_tokens: int) -> float:
        raw = (
            self.base_s
            + processed_tokens * self.processed_s_per_token
            + read_tokens * self.read_s_per_token
        )
        return raw * self.scale

    def output_time(self, tokens: int) -> float:
        return tokens * self.output_s_per_token * self.scale
