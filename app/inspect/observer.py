"""What the inspector makes of each Messages API request another program sends, with the app's
own model of the cache: one ``CacheLedger`` per API-key hash and model predicts what a request
reads (``CacheLedger.predict``, the function the window uses), and ``explain`` says why a request
read less than it could (the window's sentence and rule). Qt-free and network-free: the proxy
hands it bytes.

Sessions group requests by API key (its hash only: the key is never kept) and model: a client's
run. (Grouping by the tools-and-system prefix too would make a changed system prompt a new
session, and its miss could not be explained against the request before.) The request before,
for the explainer, is the key's last answered request whatever its model, so a model switch is
named as one.

A keep-alive ping (``app.inspect.keepalive``) is read and recorded here like any request, so the
ledger knows it refreshed the entry and the session's totals count it; it is never the request
before for the explainer (the program did not send it). A program's request that wrote again a
prefix that expired during a pause gets the rewrite line of ``app.agents.rewrites`` (what the
rewrite cost, what keeping it alive would have cost)."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field, replace

from app.agents.calls import Pricer
from app.agents.rewrites import rewrite_line
from app.caching.builder import BuiltRequest
from app.caching.costs import added, request_cost
from app.caching.explainer import Explanation, diagnosis_shown, explain
from app.caching.ledger import CacheLedger, LedgerEntry, Usage
from app.caching.prefix_map import PrefixMap
from app.engine.context_management import compaction_usage
from app.facts.catalogue import Catalogue, ModelInfo
from app.facts.context_management import after_compaction, apply_clearing
from app.facts.prefix import flatten_request
from app.facts.prices import Terms
from app.facts.rules import CachePlan, resolve_breakpoints
from app.inspect.capture import ReadResult
from app.inspect.lines import Line

log = logging.getLogger(__name__)

MAX_SESSIONS = 512  # sessions kept (least recently used go first, with their ledgers)
TURNS_KEPT = 1_000  # per session, for "what would it have cost" (the replay's most sends)
PREVIOUS_BYTES = 64 * 1024 * 1024  # request bodies kept to name the first differing byte
MODEL_CHARS = 80  # an unknown model's name, as shown
MAPS_KEPT = 200  # block maps kept for the window's strip (the last requests')
ENTRIES_KEPT = 1_000  # live cache entries a session's ledger keeps (and as many expired)


def key_hash(headers) -> str:
    """A hash of the key the client sent (x-api-key or a bearer token), never the key: the same
    key is one session whichever header carries it (SDK 2.17 sends it as a bearer token)."""
    secret = headers.get("x-api-key") or ""
    if not secret:
        said = (headers.get("authorization") or "").strip()
        scheme, _, token = said.partition(" ")
        secret = token.strip() if scheme.lower() == "bearer" else said
    return (
        hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()[:12] if secret else "no-key"
    )


def diagnosis_words(diagnostics: dict | None) -> str:
    """The API's ``cache_miss_reason`` type in words ("" when it gave none)."""
    reason = (diagnostics or {}).get("cache_miss_reason")
    kind = reason.get("type") if isinstance(reason, dict) else None
    return kind.replace("_", " ")[:80] if isinstance(kind, str) else ""


def _locked(method):
    """One at a time: the endpoint's thread records while the window's thread reads."""

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        with self.lock:
            return method(self, *args, **kwargs)

    return run


@dataclass(frozen=True)
class CapturedTurn:
    """A turn as the replay needs it: when, the tools' and system's tokens, the whole prompt's,
    and the reply's (not the request itself: a session of 10,000 turns stays small)."""

    started: float
    tools_tokens: int
    system_tokens: int
    total_tokens: int
    output: int


@dataclass
class InspectedSession:
    name: str
    key: str
    model: ModelInfo
    ledger: CacheLedger
    requests: int = 0
    read: int = 0
    input_total: int = 0
    paid_usd: float = 0.0
    pings: int = 0  # keep-alive pings sent for it (counted in requests and paid_usd too)
    pings_usd: float = 0.0
    last_ended: float | None = None  # when the program's last answered request ended
    turns: deque[CapturedTurn] = field(default_factory=lambda: deque(maxlen=TURNS_KEPT))


@dataclass
class Pending:
    """A request on its way: what was read of it and predicted before its response."""

    id: str
    started: float
    kind: str  # "turn", "warm-up" (max_tokens 0), "ping" (the inspector's keep-alive)
    model_name: str
    session: InspectedSession | None = None  # None: the request could not be read
    built: BuiltRequest | None = None
    plan: CachePlan | None = None
    key: str = ""
    size: int = 0
    note: str = ""
    writing_elsewhere: bool = False
    explanation: Explanation | None = None
    recorded: bool = False
    user_turn: bool = False  # its last message is the user's own (not only tool results)


class Observer:
    def __init__(self, catalogue: Catalogue, clock=time.time) -> None:
        self.catalogue = catalogue
        self.clock = clock
        self.sessions: OrderedDict[tuple[str, str], InspectedSession] = OrderedDict()
        self.previous: OrderedDict[str, tuple[BuiltRequest, int]] = OrderedDict()  # by key
        self.previous_bytes = 0
        self.count = 0
        self.named = 0
        # by line id, for the last requests: their blocks and usage, drawn on demand
        self.maps: OrderedDict[str, tuple[BuiltRequest, Usage]] = OrderedDict()
        self.lock = threading.RLock()  # see _locked
        self.pricer = Pricer(catalogue)

    # -- what the views ask ---------------------------------------------------------------------
    @_locked
    def block_map(self, line_id: str) -> tuple[PrefixMap, Usage] | None:
        """The blocks of one of the last ``MAPS_KEPT`` requests, as the cache inspector draws
        them, with the usage its response reported (None: not kept, or not readable)."""
        found = self.maps.get(line_id)
        if found is None:
            return None
        built, usage = found
        return PrefixMap.of_flat(built.flat, built.breakpoints), usage

    @_locked
    def captured(self) -> dict[str, tuple[str, list[CapturedTurn]]]:
        """Per session name: its model and its answered turns."""
        return {s.name: (s.model.id, list(s.turns)) for s in list(self.sessions.values())}

    @_locked
    def summaries(self) -> list[str]:
        """One line per session: requests, hit rate (input read from cache), what it paid, and
        its live entries with the time they have left (as of now: call it again to count down)."""
        out, now = [], self.clock()
        for s in list(self.sessions.values()):
            rate = s.read / s.input_total if s.input_total else 0.0
            live = [e for e in s.ledger.live() if e.expires_at > now][:3]
            entries = ", ".join(
                f"{e.tokens:,} tokens {_left(e.expires_at - now)} left ({e.ttl})" for e in live
            )
            requests = f"{s.requests} request{'s' if s.requests != 1 else ''}"
            if s.pings:
                requests += f" ({s.pings} keep-alive ping{'s' if s.pings != 1 else ''}"
                requests += f", ${s.pings_usd:.4f})"
            out.append(
                f"{s.name} (key {s.key}, {s.model.id}): {requests}, {rate:.0%} of "
                f"input read from cache, ${s.paid_usd:.4f}; live: {entries or 'nothing cached'}"
            )
        return out

    # -- before the response --------------------------------------------------------------------
    @_locked
    def request(self, body_bytes: bytes, headers) -> Pending:
        """Read and predict a ``POST /v1/messages``. Whatever it holds, a ``Pending`` comes
        back: one the inspector cannot read says why in its ``note``."""
        self.count += 1
        pending = Pending(f"r{self.count}", self.clock(), "turn", "?", size=len(body_bytes))
        pending.key = key_hash(headers)
        try:
            body = json.loads(body_bytes)
        except RecursionError:
            pending.note = "request unreadable: nested too deeply"
            return pending
        except ValueError:
            pending.note = "request unreadable: not JSON"
            return pending
        if not isinstance(body, dict):
            pending.note = "request unreadable: not a JSON object"
            return pending
        name = body.get("model")
        pending.model_name = str(name)[:MODEL_CHARS] if name is not None else "?"
        pending.kind = "warm-up" if body.get("max_tokens") == 0 else "turn"
        pending.user_turn = pending.kind == "turn" and user_turn(body)
        read = self.read(body)
        if isinstance(read, str):
            pending.note = read
            return pending
        pending.model_name = read.model.id
        self._begin(pending, self._session(pending.key, read.model), read)
        return pending

    def read(self, body: dict) -> BuiltRequest | str:
        """A request body as the app's cache model sees it, or why it cannot be read."""
        name = body.get("model")
        model = self.catalogue.resolve(name) if isinstance(name, str) else None
        if model is None:
            return "a model Cachescope does not know: no prediction"
        if not isinstance(body.get("messages"), list):
            return "request unreadable: no messages list"
        try:
            flat = flatten_request(as_read(body, model), model=model)
            points = resolve_breakpoints(flat, body.get("cache_control"))
        except RecursionError:
            return "request unreadable: nested too deeply"
        except Exception as exc:  # another program's request, of any shape: never the proxy's fall
            log.debug("request not read: %r", exc)
            return "request unreadable: not a Messages API request Cachescope can read"
        return BuiltRequest.as_sent(body, flat, tuple(points), model)

    @staticmethod
    def _begin(pending: Pending, session: InspectedSession, built: BuiltRequest) -> None:
        pending.session, pending.built = session, built
        pending.plan = session.ledger.predict(built)
        pending.writing_elsewhere = session.ledger.pending_covers(built)
        session.ledger.begin(pending.id, built, pending.plan)

    # -- keep-alive pings -------------------------------------------------------------------------
    @_locked
    def session_of(self, key: str, model_id: str) -> InspectedSession | None:
        """The session of this key hash and model, if it is still kept."""
        return self.sessions.get((key, model_id))

    @_locked
    def longest_live(self, key: str, built: BuiltRequest) -> LedgerEntry | None:
        """The longest entry on ``built``'s path that is live now, in its session's ledger."""
        session = self.sessions.get((key, built.model.id))
        return session.ledger.longest_live(built) if session is not None else None

    @_locked
    def live(self, key: str, model_id: str, fingerprint: str) -> LedgerEntry | None:
        """The session's entry for this prefix while it is live (None: expired, or unknown)."""
        session = self.sessions.get((key, model_id))
        entry = session.ledger.find(model_id, fingerprint) if session is not None else None
        return entry if entry is not None and entry.expires_at > self.clock() else None

    @_locked
    def ping(self, key: str, built: BuiltRequest, size: int) -> Pending | None:
        """A keep-alive ping about to be sent for the session of ``key`` and ``built``'s model
        (None: that session is no longer kept); recorded like any request when it ends."""
        session = self.sessions.get((key, built.model.id))
        if session is None:
            return None
        self.count += 1
        pending = Pending(f"r{self.count}", self.clock(), "ping", built.model.id, size=size)
        pending.key = key
        self._begin(pending, session, built)
        return pending

    @_locked
    def unreadable(self, body_bytes: bytes, headers, why: str) -> Pending:
        """A request the inspector failed to read (its own fault): forwarded all the same."""
        self.count += 1
        pending = Pending(f"r{self.count}", self.clock(), "turn", "?", size=len(body_bytes))
        pending.key, pending.note = key_hash(headers), f"request unreadable: {why[:200]}"
        return pending

    def _session(self, key: str, model: ModelInfo) -> InspectedSession:
        found = self.sessions.get((key, model.id))
        if found is None:
            self.named += 1
            found = InspectedSession(
                f"s{self.named}", key, model, CacheLedger(self.clock, place=key, limit=ENTRIES_KEPT)
            )
            self.sessions[(key, model.id)] = found
            while len(self.sessions) > MAX_SESSIONS:
                self.sessions.popitem(last=False)
        self.sessions.move_to_end((key, model.id))
        return found

    # -- while it streams -----------------------------------------------------------------------
    @_locked
    def begun(self, pending: Pending, result: ReadResult) -> None:
        """The response has begun with this usage: explain it against the ledger as it was, then
        record it (an entry is readable once the response that writes it has begun)."""
        if pending.recorded or pending.session is None or pending.built is None:
            return
        pending.recorded = True
        ledger = pending.session.ledger
        usage = _as_sent(result.usage)
        previous = self.previous.get(pending.key)
        pending.explanation = explain(
            pending.built,
            usage,
            pending.plan,
            previous[0] if previous is not None else None,
            ledger,
            pending.writing_elsewhere,
        )
        ledger.record(pending.built, usage, pending.started)
        ledger.finish(pending.id)
        if pending.kind != "ping":  # the program's requests only: the next one is told from it
            self._remember(pending)

    def _remember(self, pending: Pending) -> None:
        """The key's request before the next, kept whole (for the differing byte) while the
        bodies kept stay under ``PREVIOUS_BYTES``; older ones keep only their blocks."""
        old = self.previous.pop(pending.key, None)
        if old is not None:
            self.previous_bytes -= old[1]
        built, size = pending.built, pending.size
        self.previous[pending.key] = (built, size)
        self.previous_bytes += size
        while len(self.previous) > MAX_SESSIONS:
            self.previous_bytes -= self.previous.popitem(last=False)[1][1]
        while self.previous_bytes > PREVIOUS_BYTES:
            for key, (kept, kept_size) in self.previous.items():
                if kept_size:
                    slim = {"tool_choice": kept.body.get("tool_choice")}
                    self.previous[key] = (_with_body(kept, slim), 0)
                    self.previous_bytes -= kept_size
                    break
            else:
                break

    # -- after the response ---------------------------------------------------------------------
    @_locked
    def finish(self, pending: Pending, status: int, result: ReadResult, complete: bool) -> Line:
        """The line for a request whose response has ended (or broken off, ``complete`` False)."""
        session = pending.session
        if session is not None and status == 200 and result.begun:
            self.begun(pending, result)
        if session is not None:
            session.ledger.finish(pending.id)
        notes = [pending.note] if pending.note else []
        notes += result.problems[:3]
        if not complete and status:
            notes.append("incomplete: the response broke off before its end")
        if result.error and status == 200 and result.begun:
            notes.append(f"the stream ended with an error: {result.error}")
        # A 200 is the API's answer (billed): a failure only if it said an error; one whose body
        # could not be read is a success whose figures are unknown, and the note says why.
        failed = status != 200 or (not result.begun and bool(result.error))
        if not failed and not result.begun and not notes:
            notes.append("its usage could not be read")
        reply = Usage.from_api(result.usage) if result.begun else Usage()
        compaction = compaction_usage(result.usage) if result.begun else None
        usage = compaction or reply  # what the request as sent read and wrote
        model = session.model if session is not None else None
        terms = Terms.of(result.usage)
        cost = None
        if model is not None and result.begun:
            cost = request_cost(reply, model, pending.started, compaction, terms)
        if compaction is not None:
            notes.append(
                f"compacted: billed its compaction and its reply, which read the"
                f" {reply.input_total:,}-token summary"
            )
        if terms.words and cost is not None:
            notes.append(f"priced at {terms.words} rates")
        why = pending.explanation
        rewrite = ""
        if session is not None:
            session.requests += 1
            paid = cost.paid_usd if cost is not None and cost.known and result.begun else 0.0
            session.paid_usd += paid
            if result.begun:
                billed = added(reply, compaction)
                session.read += billed.read
                session.input_total += billed.input_total
                if pending.kind == "turn" and status == 200:
                    session.turns.append(_captured(pending, usage))
            if pending.kind == "ping":
                session.pings += 1
                session.pings_usd += paid
            else:
                rewrite = self._rewrite(pending, usage, session.last_ended, terms)
                session.last_ended = self.clock()
        miss = why.sentence if why is not None and why.is_miss else ""
        server = diagnosis_shown(why, diagnosis_words(result.diagnostics))
        if pending.built is not None:
            self.maps[pending.id] = (pending.built, usage)
            while len(self.maps) > MAPS_KEPT:
                self.maps.popitem(last=False)
        kind = "failed" if failed else pending.kind
        if kind == "turn" and result.streamed:
            kind = "stream"
        return Line(
            pending.id,
            round(pending.started, 3),
            pending.model_name,
            kind,
            usage.read,
            usage.write_5m,
            usage.write_1h,
            usage.uncached,
            pending.plan.read_tokens if pending.plan is not None else 0,
            miss,
            server,
            round(cost.paid_usd, 6) if cost is not None and cost.known else None,
            session.name if session is not None else "-",
            status,
            complete,
            "; ".join(notes),
            result.error if failed else "",
            rewrite=rewrite,
            figures_known=failed or result.begun,
        )

    def _rewrite(
        self, pending: Pending, usage: Usage, last_ended: float | None, terms: Terms
    ) -> str:
        """The rewrite line of a program's request that wrote again a prefix that expired while
        the program was idle ("" for any other): ``app.agents.rewrites.rewrite_line``, priced
        at the request's date (genai-prices), the idle time since its previous request ended."""
        why = pending.explanation
        if why is None or why.cause != "expired" or why.ttl is None or why.age_s is None:
            return ""
        lost = why.possible_tokens - why.read_tokens
        if lost <= 0:
            return ""
        idle = pending.started - last_ended if last_ended is not None else why.age_s
        written_ttl = "1h" if usage.write_1h > usage.write_5m else "5m"
        found = rewrite_line(
            self.pricer,
            pending.built.model.id,
            pending.started,
            min(lost, usage.write) or lost,
            why.possible_tokens,
            max(0.0, idle),
            why.age_s,
            why.ttl,
            written_ttl if usage.write else why.ttl,
            terms=terms,
        )
        return found.text()


def user_turn(body: dict) -> bool:
    """Whether the request's last message is the user's own turn, not only tool results (the
    app learns a user's pauses from these: ``app.caching.strategies.user_turn_gaps``)."""
    messages = body.get("messages")
    last = messages[-1] if isinstance(messages, list) and messages else None
    if not isinstance(last, dict) or last.get("role") != "user":
        return False
    content = last.get("content")
    if not isinstance(content, list):
        return True
    return not all(isinstance(b, dict) and b.get("type") == "tool_result" for b in content)


def as_read(body: dict, model: ModelInfo) -> dict:
    """The request as the model reads it, the cache included: from its last compaction block
    on, with what its clearing edits clear (compaction.md, context-editing.md; the rules the
    simulator and the app's own requests follow, ``app.facts.context_management``). A new
    compaction this request may trigger is known only from its response."""
    count = lambda b: flatten_request(b, model=model).total_tokens  # noqa: E731
    return apply_clearing(after_compaction(body), count, model.keeps_thinking)[0]


def _with_body(built: BuiltRequest, body: dict) -> BuiltRequest:
    return replace(built, head=body, messages=None)


def _captured(pending: Pending, usage: Usage) -> CapturedTurn:
    blocks = pending.built.flat.blocks
    tools = sum(b.tokens for b in blocks if b.facts.level == "tools")
    system = sum(b.tokens for b in blocks if b.facts.level == "system")
    return CapturedTurn(
        pending.started, tools, system, pending.built.flat.total_tokens, usage.output
    )


def _left(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _as_sent(usage: dict) -> Usage:
    """What a request as sent read and wrote: its compaction iteration's usage when it compacted
    (that iteration read the request; the reply read the summary: compaction.md), else its own."""
    return compaction_usage(usage) or Usage.from_api(usage)
