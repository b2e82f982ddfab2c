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
    warm_wait_s: float = 30.0  # the longest a send waits for a warm-up of its prefix
    # A send waits for a warm-up of its prefix only while it is on time: until this many times
    # its expected duration (app.facts.timing) plus the grace, then sends without it.
    warm_wait_factor: float = 1.5
    warm_grace_s: float = 2.0
    # Every request gives up once the API is silent this long: the floor plus this many times
    # its expected time to the first token (a stalled stream, warm-up or ping fails, visibly).
    timeout_floor_s: float = 30.0
    timeout_factor: float = 3.0
    warm_cap_usd_per_hour: float = 2.0
    keepalive_pings: int = 0
    keepalive_margin_s: float = 20.0
    max_tool_rounds: int = 8
    count_tokens: bool = False  # ask the API's count_tokens (with a real key): see token_counts
