"""What the engine may do and spend: the pattern, warming, keep-alive and token counting."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.caching.strategies import CacheSettings

MAX_PINGS = 12  # keep-alive pings after a turn, whatever a preference file says: each is billed


@dataclass
class EngineSettings:
    strategy: str = "smart"
    cache: CacheSettings = field(default_factory=lambda: CacheSettings(ttl="adaptive"))
    warming: bool = True
    warm_margin_s: float = 30.0  # re-warm when the entry has less than this left
    warm_wait_s: float = 30.0  # how long a send waits for a warm-up of its prefix
    warm_cap_usd_per_hour: float = 2.0
    keepalive_pings: int = 0
    keepalive_margin_s: float = 20.0
    max_tool_rounds: int = 8
    count_tokens: bool = False  # ask the API's count_tokens (with a real key): see token_counts
