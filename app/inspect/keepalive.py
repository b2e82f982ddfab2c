"""``cachescope-inspect --keep-alive``: other programs' cached prefixes kept warm while they are
idle, as the app keeps its own (``app.engine.keepalive``), and never otherwise.

``KeepAlive`` owns the pings: for each session (a key and a model) it watches the longest entry
its last cached request (one that read or wrote the cache) left live, and shortly before that
entry expires (``EngineSettings.keepalive_margin_s``) sends a ping: that request with
``max_tokens: 0``, cut after its last breakpoint (``app.inspect.ping_body``; prompt-caching.md,
"Pre-warming the cache"), which reads the prefix and so refreshes it for another lifetime
(prompt-caching.md, "The cache is refreshed for no additional cost each time the cached content
is used"; the read itself is billed at the read price). Each ping is decided as the app decides
its own:

- rent or buy (``app.engine.economics.ping_value``): it pays when the chance that the program
  sends within the entry's next lifetime, times the rewrite it spares, exceeds the read. The
  chance is the app's pause model (``app.caching.pauses``), taught the pauses between the
  session's user turns (requests whose last message is the user's own, not only tool results,
  as the app learns its user's: ``user_turn_gaps``), idle counted from the last of them;
- the app's limit: at most ``MAX_PINGS`` pings after each of the program's requests;
- the cap: dollars per hour over all sessions (the last hour's pings and the next one's price,
  predicted by the app's ledger, against it);
- never while a request with the same key is in flight (a program is idle when none of its
  requests is), and a program's request never waits for a ping (it is forwarded as always).

When a session stops being kept warm (any of those says no, the entry expired, a ping failed,
the inspector stops) its key is forgotten at once, with one line saying why (kind
``keep-alive``), except when the program's own request takes over. A 401 or 403, to a ping or
to the program itself, forgets every session of that key. The key (``x-api-key`` or
``Authorization``) is held in memory for the pings only: never in a line, a file, a log or an
exception's message (``HeldKey`` does not print it)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

from app.agents.rewrites import dollars
from app.caching.builder import BuiltRequest
from app.caching.costs import cost_of
from app.caching.ledger import Usage
from app.caching.pauses import PauseModel
from app.engine.economics import expected_s, ping_value
from app.engine.settings import MAX_PINGS, EngineSettings
from app.facts.prices import Terms
from app.inspect.capture import ReadResult
from app.inspect.lines import Line
from app.inspect.observer import MAX_SESSIONS, Observer, Pending
from app.inspect.ping_body import NoPing, cut_body, whole_body

log = logging.getLogger(__name__)

APP = EngineSettings()
CAP_USD_PER_HOUR = APP.warm_cap_usd_per_hour  # the app's own cap on what it spends unasked
MARGIN_S = APP.keepalive_margin_s
POLL_S = 1.0  # the clock is looked at this often while waiting (it may jump: a suspended laptop)
WATCHED = 64  # sessions kept warm at once (the least recently active goes first)
WATCHED_BYTES = 64 * 1024 * 1024  # request bodies held for pings, in all
HELD_HEADERS = frozenset({"x-api-key", "authorization", "anthropic-version", "anthropic-beta"})
KEY_REFUSED = (401, 403)
HOUR_S = 3600.0

Send = Callable[[str, list[tuple[str, str]], bytes, float], Awaitable[tuple[int, ReadResult, bool]]]


class HeldKey:
    """A program's credentials, in memory for its pings only: printing it shows no secret."""

    __slots__ = ("headers",)

    def __init__(self, headers) -> None:
        kept = [(k, v) for k, v in headers.items() if k.lower() in HELD_HEADERS]
        self.headers: list[tuple[str, str]] = [*kept, ("Content-Type", "application/json")]

    def __repr__(self) -> str:
        return "HeldKey(***)"

    __str__ = __repr__


@dataclass
class Habits:
    """What a session's program does between its user turns (its pauses, its last turn)."""

    pauses: PauseModel = field(default_factory=PauseModel)
    last_turn_at: float | None = None
    last_turn: int = 0  # a hash of its body: the same bytes again are a retry, not a turn
    cannot: str = ""  # why its requests cannot be pinged, once said

    def learn(self, started: float, body: bytes) -> None:
        if self.last_turn_at is not None and hash(body) == self.last_turn:
            return  # the same request sent again (a client's retry), not a new turn
        if self.last_turn_at is not None:
            self.pauses.learn(started - self.last_turn_at)
        self.last_turn_at, self.last_turn = started, hash(body)


@dataclass(eq=False)
class Watch:
    """One session kept warm: the entry watched, the request a ping is made from, the key."""

    key: str  # the key's hash (the observer's session key)
    model: str
    name: str
    fingerprint: str  # of the watched entry's prefix
    path: str  # the program's path and query
    body: bytes  # its last cached request, as sent (the ping is made from it when due)
    held: HeldKey | None
    pings: int = 0
    task: asyncio.Task | None = field(default=None, repr=False)
    sending: bool = False  # a ping of it is on its way: its task ends after it, not during


class KeepAlive:
    def __init__(
        self,
        observer: Observer,
        cap_usd_per_hour: float = CAP_USD_PER_HOUR,
        max_pings: int = MAX_PINGS,
        margin_s: float = MARGIN_S,
        poll_s: float = POLL_S,
        pauses: Callable[[], PauseModel] = PauseModel,
    ) -> None:
        self.observer = observer
        self.clock = observer.clock  # the ledger's timeline
        self.cap = cap_usd_per_hour
        self.max_pings = max_pings
        self.margin_s = margin_s
        self.poll_s = poll_s
        self.pauses = pauses  # a session's pause model when first seen: the app's prior
        self.watches: OrderedDict[tuple[str, str], Watch] = OrderedDict()
        self.habits: OrderedDict[tuple[str, str], Habits] = OrderedDict()
        self.in_flight: dict[str, int] = {}  # requests of each key on their way
        self.spent: deque[list[float]] = deque()  # [when, dollars] of pings (their estimate
        # while they are on their way, so two sessions' pings due at once share the cap)
        self.notices = 0
        self.send: Send | None = None
        self.emit: Callable[[Line], None] | None = None

    def describe(self) -> str:
        return (
            f"keep-alive on: idle sessions' cached prefixes are kept warm with pings billed to"
            f" their own keys, at most {dollars(self.cap)}/h in all"
        )

    # -- setup and teardown -----------------------------------------------------------------------
    def start(self, send: Send, emit: Callable[[Line], None]) -> None:
        """Ready on the endpoint's loop: ``send`` sends a ping upstream, ``emit`` shows a line."""
        self.send, self.emit = send, emit

    async def stop(self) -> None:
        """Every watch ended and every key forgotten (the endpoint is stopping)."""
        self.send = None
        tasks = [w.task for w in self.watches.values() if w.task is not None]
        for watch in list(self.watches.values()):
            self._forget(watch)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def holding(self) -> list[str]:
        """The sessions whose key is held now (for the views and the tests)."""
        return [w.name for w in self.watches.values() if w.held is not None]

    # -- what the endpoint tells it ---------------------------------------------------------------
    def busy(self, key: str) -> None:
        self.in_flight[key] = self.in_flight.get(key, 0) + 1

    def idle(self, key: str) -> None:
        left = self.in_flight.get(key, 0) - 1
        if left > 0:
            self.in_flight[key] = left
        else:
            self.in_flight.pop(key, None)

    def after(self, pending: Pending, line: Line, headers, path: str, body: bytes) -> None:
        """A program's request has ended: watch what it cached (its key held anew), or, when it
        cached nothing, count a new pause for the session's watch."""
        if self.send is None or pending.kind == "ping" or pending.session is None:
            return
        session = pending.session
        sid = (pending.key, session.model.id)
        if line.status in KEY_REFUSED:
            self._refused(pending.key, f"the program's own request got HTTP {line.status}")
            return
        if pending.user_turn:
            self._habits(sid).learn(pending.started, body)
        cached = line.kind != "failed" and (line.read or line.written_5m or line.written_1h)
        entry = self.observer.longest_live(pending.key, pending.built) if cached else None
        old = self.watches.pop(sid, None)
        if old is not None and old.task is not None and not old.sending:
            old.task.cancel()
        if entry is not None:
            watch = Watch(
                pending.key, session.model.id, session.name, entry.fingerprint, path, body, None
            )
            watch.held = HeldKey(headers)
        elif old is not None:
            watch = replace(old, pings=0, task=None, sending=False)
        else:
            return
        self.watches[sid] = watch
        self._bound()
        watch.task = asyncio.get_running_loop().create_task(self._keep(watch))

    def _habits(self, sid: tuple[str, str]) -> Habits:
        found = self.habits.get(sid)
        if found is None:
            found = self.habits[sid] = Habits(self.pauses())
            while len(self.habits) > MAX_SESSIONS:
                self.habits.popitem(last=False)
        self.habits.move_to_end(sid)
        return found

    def _bound(self) -> None:
        held = sum(len(w.body) for w in self.watches.values())
        while len(self.watches) > WATCHED or (held > WATCHED_BYTES and len(self.watches) > 1):
            oldest = next(iter(self.watches.values()))
            held -= len(oldest.body)
            self._stop(
                oldest,
                f"more sessions than the inspector keeps warm at once ({WATCHED}, or "
                f"{WATCHED_BYTES // (1024 * 1024)} MB of requests)",
            )

    # -- one session ------------------------------------------------------------------------------
    async def _keep(self, watch: Watch) -> None:
        """Ping shortly before the watched entry expires, while each ping is decided worth it."""
        try:
            while self.watches.get((watch.key, watch.model)) is watch:
                entry = self.observer.live(watch.key, watch.model, watch.fingerprint)
                if entry is None:
                    self._forget(watch)  # nothing alive is left to keep
                    return
                left = entry.expires_at - self.margin_s - self.clock()
                if left > 0 or self.in_flight.get(watch.key):
                    await asyncio.sleep(min(self.poll_s, left) if left > 0 else self.poll_s)
                    continue
                if not await self._ping(watch, entry):
                    return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the keep-alive's fault must never become the endpoint's
            # Only the error's type: a message could quote a header (never the key in a log).
            log.warning("keep-alive of %s failed: %s", watch.name, type(exc).__name__)
            self._stop(watch, f"it failed ({type(exc).__name__})")

    async def _ping(self, watch: Watch, entry) -> bool:
        """Decide, and send one ping if it pays: whether the watch goes on."""
        if watch.pings >= self.max_pings:
            return self._stop(
                watch, f"{watch.pings} pings since the program's last request (the app's limit)"
            )
        # Read off the endpoint's loop: a large request is parsed and flattened in a worker, so
        # no program's request waits while a ping is made.
        bodies = await asyncio.to_thread(self._bodies, watch.body)
        if isinstance(bodies, str):
            return self._cannot(watch, bodies)
        made = self._decide(watch, entry, bodies)
        if isinstance(made, str):
            return self._cannot(watch, made)
        body, built, plan, value = made
        if value.why_not is not None:
            return self._stop(watch, value.why_not)
        now = self.clock()
        while self.spent and self.spent[0][0] <= now - HOUR_S:
            self.spent.popleft()
        spent = sum(usd for _, usd in self.spent)
        terms = Terms.of(built.body)  # the ping runs as its program's request did (fast, "us")
        estimate = cost_of(Usage.from_plan(plan, 0), built.model, now, terms).paid_usd
        if spent + estimate > self.cap:
            return self._stop(
                watch,
                f"the next ping (about {dollars(estimate)}) would pass the cap of "
                f"{dollars(self.cap)}/h ({dollars(spent)} spent on pings in the last hour)",
            )
        pending = self.observer.ping(watch.key, built, len(body))
        if pending is None or watch.held is None or self.send is None:
            return self._forget(watch)
        spending = [pending.started, estimate]  # counted against the cap while on its way
        self.spent.append(spending)
        line = await self._send(watch, pending, body, APP.time_limit(expected_s(plan)))
        spending[1] = line.cost_usd or 0.0
        watch.pings += 1
        return self._said(watch, line, value, entry, terms)

    async def _send(self, watch: Watch, pending: Pending, body: bytes, limit: float) -> Line:
        watch.sending = True
        try:
            status, result, complete = await self.send(watch.path, watch.held.headers, body, limit)
        except asyncio.CancelledError:  # the inspector is stopping: the ping is said, unanswered
            stopped = ReadResult(error="the inspector stopped before the ping's answer")
            self._show(self.observer.finish(pending, 0, stopped, False))
            raise
        finally:
            watch.sending = False
        return self.observer.finish(pending, status, result, complete)

    def _said(self, watch: Watch, line: Line, value, entry, terms: Terms) -> bool:
        """The ping's line, with its reason: whether the watch goes on."""
        if line.status in KEY_REFUSED:
            self._show(replace(line, reason=f"keep-alive ping for {watch.name}"))
            self._refused(watch.key, f"a ping got HTTP {line.status}")
            return False
        if line.kind == "failed" or not line.complete:
            stopped = "keep-alive stopped: the ping failed; the key is forgotten"
            note = "; ".join(x for x in (line.note, stopped) if x)
            self._show(replace(line, reason=f"keep-alive ping for {watch.name}", note=note))
            return self._forget(watch)
        rewrite = self.observer.pricer.rewrite_usd(
            line.model, line.time, value.rewrite_tokens, entry.ttl, terms
        )
        window = "5 min" if entry.ttl == "5m" else "hour"
        reason = (
            f"kept {line.read:,} tokens warm: a rewrite would cost {dollars(rewrite)}, this ping"
            f" {dollars(line.cost_usd)} ({value.chance:.0%} chance of a request within the next"
            f" {window})"
        )
        self._show(replace(line, reason=reason))
        return True

    def _bodies(self, sent: bytes) -> list[tuple[bytes, BuiltRequest]] | str:
        """The ping's candidate bodies (the cut one, then the whole one), each as sent and as
        the app's cache model reads it, or why none can be made. Pure: run in a worker."""
        try:
            body = json.loads(sent)
            bodies = (cut_body(body), whole_body(body))
        except NoPing as exc:
            return str(exc)
        except (ValueError, RecursionError, TypeError, AttributeError):
            return "its request could not be read as a ping"
        out = []
        for each in bodies:
            built = self.observer.read(each)
            if isinstance(built, str):
                return built
            out.append((json.dumps(each).encode(), built))
        return out

    def _decide(self, watch: Watch, entry, bodies):
        """(ping body, its request as read, its plan, rent or buy) for the first candidate that
        reads the whole entry, or why none does."""
        habits = self._habits((watch.key, watch.model))
        with self.observer.lock:
            session = self.observer.session_of(watch.key, watch.model)
            if session is None:
                return "its session is no longer kept"
            # Idle since its last user turn; a program that sent none (tool results only) since
            # its last request ended (else the pause model read "just now" at every ping).
            last = habits.last_turn_at if habits.last_turn_at is not None else session.last_ended
            idle = self.clock() - last if last is not None else 0.0
            for body, built in bodies:
                plan = session.ledger.predict(built, sweep=False)
                if plan.read_tokens >= entry.tokens:
                    value = ping_value(session.ledger, habits.pauses, idle, built, entry)
                    return body, built, plan, value
        return f"a ping would not read the cached prefix of {entry.tokens:,} tokens"

    # -- ending -----------------------------------------------------------------------------------
    def _show(self, line: Line) -> None:
        if self.emit is not None:
            self.emit(line)

    def _notice(self, watch: Watch, sentence: str) -> None:
        self.notices += 1
        self._show(
            Line(
                f"k{self.notices}",
                round(self.clock(), 3),  # when it was said, on the requests' timeline
                watch.model,
                "keep-alive",
                0,
                0,
                0,
                0,
                0,
                "",
                "",
                None,
                watch.name,
                status=0,  # no request, so no response: not a 200
                note=sentence,
            )
        )

    def _stop(self, watch: Watch, why: str) -> bool:
        """The session is no longer kept warm: one line, the key forgotten."""
        self._notice(watch, f"stopped keeping {watch.name} warm: {why}")
        return self._forget(watch)

    def _cannot(self, watch: Watch, why: str) -> bool:
        """A session whose requests cannot be pinged: said once per reason."""
        habits = self._habits((watch.key, watch.model))
        if habits.cannot != why:
            habits.cannot = why
            self._notice(watch, f"cannot keep {watch.name} warm: {why}")
        return self._forget(watch)

    def _refused(self, key: str, why: str) -> None:
        """The key stopped working: every session of it forgotten, at once, said once each."""
        for watch in [w for w in self.watches.values() if w.key == key]:
            self._stop(watch, f"{why}; its key is forgotten")

    def _forget(self, watch: Watch) -> bool:
        watch.held = None
        watch.body = b""
        sid = (watch.key, watch.model)
        if self.watches.get(sid) is watch:
            del self.watches[sid]
        if (
            watch.task is not None
            and watch.task is not asyncio.current_task()
            and not watch.sending
        ):
            watch.task.cancel()
        return False
