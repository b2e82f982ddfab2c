"""What the inspector makes of each Messages API request another program sends: the prefix as
the service caches it, a prediction from what that client's earlier requests wrote, the usage
the response reported, the reason for a miss, and the cost. Qt-free and network-free: the proxy
hands it bytes.

Sessions group requests by API key (its hash only: the key is never kept) and model: a client's
run. (Grouping by the tools-and-system prefix too, as the issue suggests, would make a changed
system prompt a new session, and its miss could not be explained against the request before.)"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field

from app.caching.costs import cost_of
from app.caching.ledger import Usage
from app.caching.prefix_map import PrefixMap
from app.facts.catalogue import Catalogue, ModelInfo
from app.facts.prefix import FlatRequest, flatten_request
from app.facts.rules import (
    TTL_SECONDS,
    RuleViolation,
    plan_request,
    resolve_breakpoints,
    stored_entries,
)

CAPTURE_LIMIT = 20 * 1024 * 1024  # a response body kept for its usage beyond this is not read


def key_hash(headers) -> str:
    """A hash of the key the client sent (x-api-key or a bearer token), never the key."""
    secret = headers.get("x-api-key") or headers.get("authorization") or ""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:12] if secret else "no-key"


@dataclass(frozen=True)
class Line:
    """One request, as ``cachescope-inspect`` prints it (``--json``: these keys)."""

    id: str
    time: float
    model: str
    kind: str  # "turn", "warm-up" (max_tokens 0) or "stream"
    read: int
    written_5m: int
    written_1h: int
    uncached: int
    predicted_read: int
    miss_reason: str
    server_miss_reason: str
    cost_usd: float | None
    session: str
    status: int = 200

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def text(self) -> str:
        cost = "prices unknown" if self.cost_usd is None else f"${self.cost_usd:.4f}"
        said = f" · {self.miss_reason}" if self.miss_reason else ""
        server = f" · API: {self.server_miss_reason}" if self.server_miss_reason else ""
        return (
            f"{self.id} {self.model} {self.kind}: read {self.read:,} (predicted "
            f"{self.predicted_read:,}) · wrote {self.written_5m:,}/{self.written_1h:,} · full "
            f"{self.uncached:,} · {cost} · session {self.session}{said}{server}"
        )


@dataclass
class _Session:
    name: str
    # prefix fingerprint -> (expires at, tokens): what this client's requests have cached
    entries: dict[str, tuple[float, int]] = field(default_factory=dict)
    last: FlatRequest | None = None
    last_model: str = ""
    last_effort: object = None
    requests: int = 0
    # (start, flattened request, reply tokens) of each turn: for "what would it have cost"
    captured: list[tuple[float, FlatRequest, int]] = field(default_factory=list)
    read: int = 0
    input_total: int = 0
    paid_usd: float = 0.0


@dataclass
class Pending:
    """A request on its way: what was predicted before the response."""

    id: str
    started: float
    model: ModelInfo
    flat: FlatRequest
    points: list
    predicted_read: int
    session: _Session
    kind: str
    miss_reason: str
    effort: object = None


class Observer:
    def __init__(self, catalogue: Catalogue, clock=time.time) -> None:
        self.catalogue = catalogue
        self.clock = clock
        self.sessions: dict[tuple[str, str], _Session] = {}
        self.count = 0
        self.maps: dict[str, tuple[PrefixMap, Usage]] = {}  # by line id: the block map to draw

    def captured(self) -> dict[str, tuple[str, list]]:
        """Per session name: its model and its turns as (start, flat, reply tokens)."""
        return {s.name: (model, list(s.captured)) for (_, model), s in self.sessions.items()}

    def summaries(self) -> list[str]:
        """One line per session: requests, hit rate (input read from cache), what it paid."""
        out, now = [], self.clock()
        for (key, model), s in self.sessions.items():
            rate = s.read / s.input_total if s.input_total else 0.0
            live = sorted(
                ((until - now, tokens) for until, tokens in s.entries.values() if until > now),
                key=lambda e: -e[1],
            )
            entries = ", ".join(
                f"{tokens:,} tokens {int(left // 60)}:{int(left % 60):02d} left"
                for left, tokens in live[:3]
            )
            out.append(
                f"{s.name} (key {key}, {model}): {s.requests} requests, {rate:.0%} of input read"
                f" from cache, ${s.paid_usd:.4f}; live: {entries or 'nothing cached'}"
            )
        return out

    # -- before the response --------------------------------------------------------------------
    def request(self, body_bytes: bytes, headers) -> Pending | None:
        """Predict a ``POST /v1/messages`` (None: not a body the inspector can read)."""
        try:
            body = json.loads(body_bytes)
            model = self.catalogue.resolve(str(body.get("model", "")))
            if model is None or not isinstance(body.get("messages"), list):
                return None
            flat = flatten_request(body, model=model)
            points = resolve_breakpoints(flat, body.get("cache_control"))
        except (ValueError, TypeError, AttributeError, KeyError, RuleViolation):
            return None
        key = (key_hash(headers), model.id)
        session = self.sessions.get(key)
        if session is None:
            session = _Session(f"s{len(self.sessions) + 1}")
            self.sessions[key] = session
        now = self.clock()
        live = {fp for fp, (until, _) in session.entries.items() if until > now}
        plan = plan_request(flat, points, model.min_cacheable_tokens, live.__contains__)
        self.count += 1
        kind = "warm-up" if body.get("max_tokens") == 0 else "turn"
        why = self._why(session, flat, model, body)
        effort = (body.get("output_config") or {}).get("effort")
        return Pending(
            f"r{self.count}", now, model, flat, points, plan.read_tokens, session, kind, why, effort
        )

    def _why(self, session: _Session, flat: FlatRequest, model: ModelInfo, body: dict) -> str:
        """What changed since this client's previous request, named when seen."""
        last = session.last
        effort = (body.get("output_config") or {}).get("effort")
        if last is None:
            return ""
        if session.last_model and session.last_model != model.id:
            return "the model changed"
        if effort != session.last_effort:
            return "the effort changed"
        for old, new in zip(last.blocks, flat.blocks, strict=False):
            if old.fingerprint != new.fingerprint:
                level = new.facts.level
                if level == "tools":
                    return f"the tools changed at {new.path} (reordered or edited)"
                if level == "system":
                    return f"the system prompt changed at {new.path} (a timestamp or an edit?)"
                if old.facts.kind in ("thinking", "redacted_thinking"):
                    return f"earlier thinking was dropped at {new.path}"
                return f"an earlier message changed at {new.path}"
        return ""

    # -- after the response ---------------------------------------------------------------------
    def response(self, pending: Pending, status: int, body: bytes, streamed: bool) -> Line:
        """The usage the response reported, the entries it wrote, and the line to print."""
        usage_dict, diagnostics = _usage_of(body, streamed)
        usage = Usage.from_api(usage_dict) if usage_dict else Usage()
        session, model, flat = pending.session, pending.model, pending.flat
        hit = None
        for block in flat.blocks:
            if block.cumulative <= usage.read and usage.read:
                hit = block.fingerprint
        plan = plan_request(flat, pending.points, model.min_cacheable_tokens, lambda fp: fp == hit)
        for fp, tokens, ttl in stored_entries(flat, plan) if status == 200 else ():
            until = max(session.entries.get(fp, (0.0, 0))[0], pending.started + TTL_SECONDS[ttl])
            session.entries[fp] = (until, tokens)
        if hit is not None and hit in session.entries:  # a read refreshes the entry it hit
            until, tokens = session.entries[hit]
            session.entries[hit] = (max(until, pending.started + TTL_SECONDS["5m"]), tokens)
        cost = cost_of(usage, model, pending.started) if status == 200 else None
        miss = ""
        if status == 200 and usage.read < pending.predicted_read:
            miss = f"read {usage.read:,} of {pending.predicted_read:,} predicted (evicted?)"
        elif status == 200 and pending.miss_reason and usage.read < flat.total_tokens:
            miss = pending.miss_reason
        session.last, session.last_model = flat, model.id
        session.last_effort = pending.effort
        session.requests += 1
        if status == 200 and pending.kind == "turn":
            session.captured.append((pending.started, flat, usage.output))
        session.read += usage.read
        session.input_total += usage.input_total
        if cost is not None and cost.known:
            session.paid_usd += cost.paid_usd
        reason = ((diagnostics or {}).get("cache_miss_reason") or {}).get("type", "")
        self.maps[pending.id] = (PrefixMap.of_flat(flat, pending.points), usage)
        return Line(
            pending.id,
            round(pending.started, 3),
            model.id,
            "stream" if streamed and pending.kind == "turn" else pending.kind,
            usage.read,
            usage.write_5m,
            usage.write_1h,
            usage.uncached,
            pending.predicted_read,
            miss,
            reason.replace("_", " "),
            round(cost.paid_usd, 6) if cost is not None and cost.known else None,
            session.name,
            status,
        )


def _usage_of(body: bytes, streamed: bool) -> tuple[dict | None, dict | None]:
    """The usage (and diagnostics) a response reported: the JSON body's, or a stream's
    ``message_start`` usage updated by its ``message_delta`` usage."""
    if not streamed:
        try:
            data = json.loads(body)
        except ValueError:
            return None, None
        if not isinstance(data, dict):
            return None, None
        return data.get("usage"), data.get("diagnostics")
    usage: dict = {}
    diagnostics = None
    for line in body.decode("utf-8", "replace").splitlines():
        if not line.startswith("data:"):
            continue
        try:
            event = json.loads(line[5:])
        except ValueError:
            continue
        if event.get("type") == "message_start":
            message = event.get("message") or {}
            usage.update(message.get("usage") or {})
            diagnostics = message.get("diagnostics") or diagnostics
        elif event.get("type") == "message_delta":
            usage.update({k: v for k, v in (event.get("usage") or {}).items() if v is not None})
    return usage or None, diagnostics
