"""How long the simulated service takes: the published figures of ``app.facts.timing``,
multiplied by the time scale (0 = instant)."""

from __future__ import annotations

from dataclasses import dataclass

from app.facts.timing import (
    BASE_S,
    OUTPUT_TOKENS_PER_S,
    PROCESSED_S_PER_TOKEN,
    READ_S_PER_TOKEN,
)


@dataclass(frozen=True)
class LatencyModel:
    scale: float = 1.0
    base_s: float = BASE_S
    processed_s_per_token: float = PROCESSED_S_PER_TOKEN
    read_s_per_token: float = READ_S_PER_TOKEN
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
