"""The simulator's cache: prefix entries per API key and model, on a clock tests can advance."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

from app.facts.rules import TTL_SECONDS


class SimClock:
    """Monotonic time plus an offset that ``advance`` moves forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self.offset += seconds
        return self.now()


def key_hash(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()[:12]


@dataclass
class Entry:
    model: str
    key_hash: str
    fingerprint: str
    tokens: int
    ttl: str
    expires_at: float
    hits: int = 0


@dataclass
class CacheStore:
    """Entries written at breakpoints, by (workspace key, model, prefix fingerprint).

    Lifetimes run from the start of the request that wrote or last read an entry
    (prompt-caching.md: "measured from the start of the request")."""

    clock: SimClock = field(default_factory=SimClock)
    entries: dict[tuple[str, str, str], Entry] = field(default_factory=dict)

    def _live(self, key: tuple[str, str, str]) -> Entry | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        if entry.expires_at <= self.clock.now():
            del self.entries[key]
            return None
        return entry

    def is_cached(self, key_hash: str, model: str, fingerprint: str) -> bool:
        return self._live((key_hash, model, fingerprint)) is not None

    def read(self, key_hash: str, model: str, fingerprints: list[str], started: float) -> None:
        """Refresh the entries a request read (reads cost nothing extra); the last is the hit."""
        for fp in fingerprints:
            entry = self._live((key_hash, model, fp))
            if entry is not None:
                entry.expires_at = max(entry.expires_at, started + TTL_SECONDS[entry.ttl])
        if fingerprints:
            last = self._live((key_hash, model, fingerprints[-1]))
            if last is not None:
                last.hits += 1

    def write(
        self, key_hash: str, model: str, items: list[tuple[str, int, str]], started: float
    ) -> None:
        for fp, tokens, ttl in items:
            key = (key_hash, model, fp)
            entry = self._live(key)
            if entry is None:
                self.entries[key] = Entry(
                    model, key_hash, fp, tokens, ttl, started + TTL_SECONDS[ttl]
                )
                continue
            if TTL_SECONDS[ttl] > TTL_SECONDS[entry.ttl]:
                entry.ttl = ttl
            entry.expires_at = max(entry.expires_at, started + TTL_SECONDS[ttl])

    def snapshot(self) -> list[dict]:
        now = self.clock.now()
        out = []
        for key in list(self.entries):
            entry = self._live(key)
            if entry is None:
                continue
            out.append(
                {
                    "model": entry.model,
                    "key_hash": entry.key_hash,
                    "prefix_hash": entry.fingerprint,
                    "tokens": entry.tokens,
                    "ttl": entry.ttl,
                    "seconds_left": round(entry.expires_at - now, 3),
                    "hits": entry.hits,
                }
            )
        out.sort(key=lambda e: (e["key_hash"], e["model"], e["tokens"]))
        return out

    def reset(self) -> None:
        self.entries.clear()
        self.clock.offset = 0.0
