"""The app's own record of what is cached, to predict the next request before it is sent.

It mirrors the service by applying the same rules (``app.facts.rules``) to what this app wrote
and read, with expiries refreshed on reads. Expired entries are kept as tombstones for a while so a
miss can be explained by its age and TTL.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from urllib.parse import urlsplit

from app.caching.builder import BuiltRequest
from app.facts.rules import (
    SERVER_RESULT_KINDS,
    TTL_SECONDS,
    CachePlan,
    plan_request,
    refreshed_entries,
    server_result_entry,
    stored_entries,
)

TOMBSTONE_S = 6 * 3600.0


@dataclass
class LedgerEntry:
    model: str
    fingerprint: str
    tokens: int
    ttl: str
    expires_at: float
    last_used_at: float
    hits: int = 0
    place: str = ""  # where it lives: the endpoint and the key's identity (never the key)


_ENTRY_FIELDS = frozenset(f.name for f in fields(LedgerEntry))


def _part(value):
    """A getter over a nested usage object or dict (None: every field missing)."""
    if value is None:
        return lambda k: None
    if isinstance(value, dict):
        return value.get
    return lambda k: getattr(value, k, None)


@dataclass(frozen=True)
class Usage:
    """The four input counts and the output count of one response."""

    read: int = 0
    write_5m: int = 0
    write_1h: int = 0
    uncached: int = 0
    output: int = 0
    thinking: int = 0  # of the output, the tokens spent thinking (when the API says)
    web_searches: int = 0  # server tool uses, billed per use (app.facts.server_tools)
    web_fetches: int = 0

    @property
    def write(self) -> int:
        return self.write_5m + self.write_1h

    @property
    def input_total(self) -> int:
        return self.read + self.write + self.uncached

    @classmethod
    def from_api(cls, usage) -> Usage:
        """From the SDK's usage object or the API's usage dict."""
        get = usage.get if isinstance(usage, dict) else lambda k, d=None: getattr(usage, k, d)
        creation = get("cache_creation") or {}
        cget = (
            creation.get
            if isinstance(creation, dict)
            else (lambda k, d=None: getattr(creation, k, d))
        )
        write_total = get("cache_creation_input_tokens") or 0
        one_hour = cget("ephemeral_1h_input_tokens") or 0
        five = cget("ephemeral_5m_input_tokens")
        details, server = _part(get("output_tokens_details")), _part(get("server_tool_use"))
        return cls(
            read=get("cache_read_input_tokens") or 0,
            write_5m=five if five is not None else write_total - one_hour,
            write_1h=one_hour,
            uncached=get("input_tokens") or 0,
            output=get("output_tokens") or 0,
            thinking=details("thinking_tokens") or 0,
            web_searches=server("web_search_requests") or 0,
            web_fetches=server("web_fetch_requests") or 0,
        )

    @classmethod
    def from_plan(cls, plan: CachePlan, output: int = 0) -> Usage:
        return cls(
            plan.read_tokens,
            plan.write_5m_tokens,
            plan.write_1h_tokens,
            plan.uncached_tokens,
            output,
        )


class CacheLedger:
    """Entries by (place, model, prefix fingerprint). Only the current ``place`` (an endpoint
    and workspace: see ``place_of``) is ever read: a switch of key or base URL starts from what
    that endpoint has, and coming back finds its entries again.

    ``limit`` bounds the live entries and, apart, the expired ones kept to explain a miss (None:
    no bound, the app's own ledger; the inspector's hold another program's, at any rate): past
    it the live entry that expires first is dropped, as a service evicts, and the oldest
    expired one."""

    def __init__(
        self, clock: Callable[[], float] = time.time, place: str = "", limit: int | None = None
    ):
        self.clock = clock
        self.place = place
        self.limit = limit
        self.entries: dict[tuple[str, str, str], LedgerEntry] = {}
        self.expired: dict[tuple[str, str, str], LedgerEntry] = {}
        self.pending: dict[str, tuple[str, set[str], float]] = {}

    def _key(self, model: str, fingerprint: str) -> tuple[str, str, str]:
        return (self.place, model, fingerprint)

    # -- queries --------------------------------------------------------------------------------
    def _sweep(self) -> None:
        now = self.clock()
        for key, entry in list(self.entries.items()):
            if entry.expires_at <= now:
                self.expired[key] = self.entries.pop(key)
        for key, entry in list(self.expired.items()):
            if entry.expires_at + TOMBSTONE_S < now:
                del self.expired[key]
        if self.limit is not None:
            self._bound()

    def _bound(self) -> None:
        """At most ``limit`` live entries (those expiring first go) and ``limit`` expired; a
        tenth more is dropped at once, so the sorting is paid once every many requests."""
        for kept in (self.entries, self.expired):
            if len(kept) > self.limit:
                extra = len(kept) - self.limit + self.limit // 10
                for key, _ in sorted(kept.items(), key=lambda e: e[1].expires_at)[:extra]:
                    del kept[key]

    def is_cached(self, model: str, fingerprint: str) -> bool:
        entry = self.entries.get(self._key(model, fingerprint))
        return entry is not None and entry.expires_at > self.clock()

    def find(self, model: str, fingerprint: str) -> LedgerEntry | None:
        """The entry for a prefix, live or expired (callers compare ``expires_at``)."""
        key = self._key(model, fingerprint)
        return self.entries.get(key) or self.expired.get(key)

    def longest_live(self, built: BuiltRequest) -> LedgerEntry | None:
        """The longest prefix of this request that is cached right now."""
        now = self.clock()
        for block in reversed(built.flat.blocks):
            entry = self.entries.get(self._key(built.model.id, block.fingerprint))
            if entry is not None and entry.expires_at > now:
                return entry
        return None

    def predict(self, built: BuiltRequest, sweep: bool = True) -> CachePlan:
        """What ``built`` would read and write now. ``sweep=False`` moves no expired entry
        (a worker thread's build predicts while the GUI thread records)."""
        if sweep:
            self._sweep()
        model = built.model.id
        return plan_request(
            built.flat,
            list(built.breakpoints),
            built.model.min_cacheable_tokens,
            lambda fp: self.is_cached(model, fp),
        )

    def pending_covers(self, built: BuiltRequest) -> bool:
        """Whether a request still waiting for its response would write part of this prefix."""
        fingerprints = {b.fingerprint for b in built.flat.blocks}
        return any(
            m == built.model.id and fps & fingerprints for m, fps, _ in self.pending.values()
        )

    def live(self) -> list[LedgerEntry]:
        """Live entries, longest first (for countdowns); every entry ends at a breakpoint."""
        self._sweep()
        here = [e for e in self.entries.values() if e.place == self.place]
        return sorted(here, key=lambda e: -e.tokens)

    # -- updates --------------------------------------------------------------------------------
    def begin(self, request_id: str, built: BuiltRequest, plan: CachePlan) -> None:
        fps = {fp for fp, _, _ in stored_entries(built.flat, plan)}
        self.pending[request_id] = (built.model.id, fps, self.clock())

    def finish(self, request_id: str) -> None:
        self.pending.pop(request_id, None)

    def record(self, built: BuiltRequest, usage: Usage, started: float | None = None) -> None:
        """The response has begun with this usage: refresh what was read, store what was written.

        As the service does: the read refreshes the entry it hit (and this request's breakpoints
        inside it), each breakpoint past the hit writes one entry, and lifetimes run from
        ``started``, the request's start (default: now)."""
        self._sweep()
        now = self.clock() if started is None else started
        model = built.model.id
        flat = built.flat
        hit_fp = None  # the entry the server read: the longest one of ours within usage.read
        if usage.read:
            for block in flat.blocks:
                if block.cumulative > usage.read:
                    break
                if self._key(model, block.fingerprint) in self.entries:
                    hit_fp = block.fingerprint
        # The same plan, refresh and writes the simulator applies (app.facts.rules).
        plan = plan_request(
            flat,
            list(built.breakpoints),
            built.model.min_cacheable_tokens,
            lambda fp: fp == hit_fp,
        )
        for fp in refreshed_entries(flat, plan):
            entry = self.entries.get(self._key(model, fp))
            if entry is not None:
                entry.expires_at = max(entry.expires_at, now + TTL_SECONDS[entry.ttl])
                entry.last_used_at = now
        if plan.hit_index is not None:
            self.entries[self._key(model, flat.blocks[plan.hit_index].fingerprint)].hits += 1
        for fp, tokens, ttl in stored_entries(flat, plan):
            key = self._key(model, fp)
            entry = self.entries.get(key)
            if entry is None:
                self.expired.pop(key, None)
                self.entries[key] = LedgerEntry(
                    model, fp, tokens, ttl, now + TTL_SECONDS[ttl], now, 0, self.place
                )
                continue
            if TTL_SECONDS[ttl] > TTL_SECONDS[entry.ttl]:
                entry.ttl = ttl
            entry.expires_at = max(entry.expires_at, now + TTL_SECONDS[ttl])
            entry.last_used_at = now

    def record_server_result(
        self, plan: CachePlan, following: BuiltRequest, message_index: int, started: float
    ) -> int:
        """A reply that ran a server tool, in a request that cached: the API wrote its last
        result at an automatic 5m breakpoint (``rules.server_result_entry``). ``following`` is
        the conversation with that reply, as the next request sends it; returns the entry's
        tokens (0: none written)."""
        flat = following.flat
        results = [
            b.index
            for b in flat.blocks
            if b.facts.message_index == message_index and b.facts.kind in SERVER_RESULT_KINDS
        ]
        found = server_result_entry(plan, flat, results[-1] if results else None)
        if found is None:
            return 0
        fp, tokens, ttl = found
        model = following.model.id
        key = self._key(model, fp)
        self.expired.pop(key, None)
        self.entries[key] = LedgerEntry(
            model,
            fp,
            tokens,
            ttl,
            started + TTL_SECONDS[ttl],
            started,
            0,
            self.place,
        )
        return tokens

    # -- persistence ----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        self._sweep()
        return {
            "entries": [asdict(e) for e in self.entries.values()],
            "expired": [asdict(e) for e in self.expired.values()],
        }

    def merge(self, data: dict) -> None:
        """Add what a saved ledger knew (a reopened conversation); the later expiry wins."""
        for name in ("entries", "expired"):
            for raw in data.get(name, []):
                entry = _saved_entry(raw)
                key = (entry.place, entry.model, entry.fingerprint)
                mine = self.entries.get(key) or self.expired.get(key)
                if mine is None or mine.expires_at < entry.expires_at:
                    self.entries.pop(key, None)
                    self.expired.pop(key, None)
                    getattr(self, name)[key] = entry
        self._sweep()

    @classmethod
    def from_dict(cls, data: dict, clock: Callable[[], float] = time.time) -> CacheLedger:
        ledger = cls(clock)
        for name in ("entries", "expired"):
            for raw in data.get(name, []):
                entry = _saved_entry(raw)
                getattr(ledger, name)[(entry.place, entry.model, entry.fingerprint)] = entry
        return ledger  # what expired since it was saved is swept at the first look


def _saved_entry(raw: dict) -> LedgerEntry:
    """An entry as a ledger file holds it; fields this version does not keep (an older file's
    ``written_at``, ``breakpoint``) are ignored."""
    return LedgerEntry(**{k: v for k, v in raw.items() if k in _ENTRY_FIELDS})


def place_of(base_url: str, api_key: str | None) -> str:
    """Where a client's cache lives: its endpoint and a hash of its key (the key's identity;
    the key itself is never stored)."""
    parts = urlsplit(str(base_url))
    host = parts.hostname or ""
    endpoint = f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path}"
    identity = hashlib.sha256((api_key or "").encode("utf-8")).hexdigest()[:16]
    return f"{endpoint.rstrip('/')}#{identity}"  # no password from the URL, no key
