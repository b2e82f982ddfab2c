"""The engine: owns the asyncio tasks that talk to the API and reports to its listeners.

A turn streams (``async with client.messages.stream``) and runs the tool loop, asking the API
for its own cache diagnosis against the previous turn (cache-diagnostics.md); a warm-up is a
``max_tokens: 0`` request (prompt-caching.md, "Pre-warming the cache") for the prefix the next
send will use, sent while the user types, with its breakpoint on the last block the send shares;
a keep-alive ping re-reads the prefix shortly before it expires. Warm-ups and pings never raise:
their failures are reported quietly.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from app.caching.builder import BuiltRequest, RequestBuilder
from app.caching.calibration import TokenCalibration
from app.caching.costs import Kind, RequestRecord, request_cost
from app.caching.explainer import as_branch, diagnosis_shown, explain
from app.caching.ledger import CacheLedger, Usage, place_of
from app.caching.pauses import PauseModel
from app.caching.prefix_map import PrefixMap
from app.caching.strategies import STRATEGIES, CacheSettings, user_turn_gaps
from app.conversation.blocks import Message, ToolUseBlock
from app.conversation.conversation import Conversation, new_id
from app.engine import context_management as compacting
from app.engine import events as ev
from app.engine.economics import choose_ttl, expected_s
from app.engine.failures import classify
from app.engine.keepalive import keep_alive
from app.engine.responses import blocks_of, keep_partial, stopped_results
from app.engine.session import Session, WarmRecord
from app.engine.settings import EngineSettings, pings_of
from app.engine.token_counts import count_prefixes
from app.engine.toolbox import ToolBox
from app.engine.tools import BUILT_IN, LocalTool
from app.engine.turn_stream import TurnStream
from app.engine.uploads import Uploads
from app.engine.warming import Drafts
from app.facts.catalogue import Catalogue, default_catalogue
from app.facts.rules import CachePlan

if TYPE_CHECKING:  # imported by whoever makes the client; slow to import
    import anthropic

log = logging.getLogger(__name__)
TTL_CHOICES = ("5m", "1h", "adaptive")
DIAGNOSIS_BETA = "cache-diagnosis-2026-04-07"  # the August 2026 docs' header; field in the SDK


class Engine(ev.Listeners):
    def __init__(
        self,
        client: anthropic.AsyncAnthropic | None,
        settings: EngineSettings | None = None,
        catalogue: Catalogue | None = None,
        ledger: CacheLedger | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        tools: dict[str, LocalTool] | None = None,
        pauses: PauseModel | None = None,
    ):
        self.settings = settings or EngineSettings()
        self.catalogue = catalogue or default_catalogue()
        self.calibration = TokenCalibration()
        self.builder = RequestBuilder(self.catalogue, self.calibration)
        self.clock = clock
        self.ledger = ledger or CacheLedger(clock)
        self.client = client
        self.sleep = sleep
        self.tools = BUILT_IN if tools is None else tools
        self.toolbox = ToolBox(local=self.tools)
        self.pauses = pauses or PauseModel()
        super().__init__()
        self.uploads = Uploads(
            self.emit, self.settings.upload_min_bytes, self.settings.upload_limit, self.own
        )
        self.tasks: set[asyncio.Task] = set()
        self._ids = itertools.count(1)
        self.drafts = Drafts(self)  # what a draft would send, and warming it

    # -- plumbing -------------------------------------------------------------------------------
    @property
    def client(self) -> anthropic.AsyncAnthropic | None:
        return self._client

    @client.setter
    def client(self, client: anthropic.AsyncAnthropic | None) -> None:
        """A new client may talk to another endpoint or workspace: the ledger follows it."""
        self._client = client
        if client is not None:
            self.ledger.place = place_of(client.base_url, client.api_key)

    def model_of(self, conversation: Conversation):
        """The catalogue's entry for the conversation's model (KeyError when unknown)."""
        return self.catalogue.require(conversation.model)

    def resolve_model(self, model_id: str):  # None when the catalogue knows no such model
        return self.catalogue.resolve(model_id)

    # -- the Files API uploads of this endpoint -------------------------------------------------
    @property
    def place(self) -> str:
        """Where requests go (endpoint and key identity, never the key), as caches know it."""
        return self.ledger.place

    def uploads_here(self) -> list:
        """The documents uploaded to this place, newest first."""
        return self.uploads.of_place(self.place)

    async def delete_upload(self, file_id: str):
        """Delete the file from the workspace and forget it (see ``Uploads.delete``)."""
        return await self.uploads.delete(self.client, self.place, file_id)

    def use_tools(self, hub, approve=None, always=None, remember=None) -> None:
        """MCP tools from ``hub``: ``approve`` asks before a call, ``always`` holds what needs
        no asking, ``remember`` saves a new "always" (each kept when not given)."""
        box = self.toolbox
        box.hub = hub
        if approve is not None:
            box.approve = approve
        if always is not None:
            box.always = always
        if remember is not None:
            box.remember = remember

    async def list_models(self) -> tuple[list[str], str]:
        """(the ids of the models the API lists that a request may name, newest first; "" or
        the kind of failure that kept the list away: ``Failure.kind``, e.g. "network"). What
        it lists is adopted into the catalogue. At start it is also the check that the endpoint
        answers at all."""
        import anthropic

        try:
            page = await self.client.models.list(limit=1000)
        except anthropic.APIError as exc:
            return [], classify(exc).kind
        listed = [m.model_dump(mode="json") for m in page.data]
        self.adopt_models(listed)
        return [m["id"] for m in listed if m.get("lifecycle", "active") != "retired"], ""

    def adopt_catalogue(self, catalogue: Catalogue) -> None:  # e.g. one priced by the library
        self.catalogue = self.builder.catalogue = catalogue

    def adopt_models(self, listed: list[dict]) -> None:
        """Take the models an API lists into the catalogue (see ``Catalogue.adopt``)."""
        self.adopt_catalogue(self.catalogue.adopt(listed))

    def own(self, coro, name: str) -> asyncio.Task:
        """Run ``coro`` as a task the engine owns: ``shutdown`` ends it."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def shutdown(self) -> None:
        """Cancel every task the engine owns and wait for them to end."""
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _learn(self, built: BuiltRequest, usage: Usage) -> None:
        """A response's total input is the service's count of the whole request."""
        # A turn that searched or fetched also counts the results it read as input: not a count
        # of the request's own prefix (web-search-tool.md, pricing), so nothing is learnt from it.
        server_use = usage.web_searches or usage.web_fetches
        if usage.input_total and built.flat.blocks and not server_use:
            last = built.flat.blocks[-1].fingerprint
            self.calibration.learn(built.model.id, last, usage.input_total)

    def count_tokens_with_api(self, on: bool) -> None:  # with a real API: its free endpoint
        self.settings.count_tokens = on

    def count_tokens_of(self, built: BuiltRequest) -> asyncio.Task | None:
        """Have the API count this request's breakpoints and end (when the setting is on)."""
        if not self.settings.count_tokens or self.client is None or built.beta_api:
            return None  # (its prefixes as counted would not be as cleared or compacted)
        return self.own(count_prefixes(self.client, built, self.calibration), "count tokens")

    def _record(
        self, session: Session, kind: str, built: BuiltRequest, usage: Usage, **extra
    ) -> RequestRecord:
        # the request as sent was counted by its compaction iteration, when it compacted
        self._learn(built, extra.get("compaction") or usage)
        cost = extra.pop("cost", None) or request_cost(
            usage, built.model, self.clock(), extra.get("compaction")
        )
        record = RequestRecord(
            kind,
            usage,
            cost,
            self.clock(),
            built.model.id,
            built.strategy,
            prefix=PrefixMap.of(built),
            id=new_id("r"),
            **extra,
        )
        session.totals.add(record)
        return record

    def caching_of(self, conversation: Conversation) -> tuple[str, CacheSettings]:
        """The pattern and TTL a conversation's requests use: its own, else the engine's
        defaults (a conversation keeps its own whether it is on screen or not)."""
        strategy = conversation.pattern
        if strategy not in STRATEGIES:
            strategy = self.settings.strategy
        ttl = conversation.ttl if conversation.ttl in TTL_CHOICES else self.settings.cache.ttl
        return strategy, CacheSettings(ttl)

    def edits_of(self, conv: Conversation) -> tuple[dict, ...]:
        """The context-management edits the conversation's requests carry (its clearing)."""
        least = self.settings.clear_at_least_tokens
        return compacting.clearing_edits(conv, self.resolve_model(conv.model), least)

    def build(
        self,
        session: Session,
        conversation: Conversation | None = None,
        away_s: float = 0.0,
        **extra,
    ) -> BuiltRequest:
        """The next request of ``conversation`` (the session's by default) under its pattern; an
        "adaptive" TTL is chosen per request by ``ttl_for`` (``away_s``: a keep-alive ping's,
        sent while the user has been away that long)."""
        conv = session.conversation if conversation is None else conversation
        extra.setdefault("edits", self.edits_of(conv))
        strategy, cache = self.caching_of(conv)
        if cache.ttl != "adaptive":
            return self.builder.build(conv, strategy, cache, **extra)
        built = self.builder.build(conv, strategy, CacheSettings("5m"), **extra)
        if self.ttl_for(built, conv, away_s) == "5m":
            return built
        return self.builder.build(conv, strategy, CacheSettings("1h"), **extra)

    def ttl_still_chosen(self, built: BuiltRequest, conversation: Conversation) -> bool:
        """Whether an adaptive TTL would choose, with what is cached now, the lifetime ``built``
        (a request of ``conversation``) writes with (the choice looks only at how much it reads
        and writes, the same whichever lifetime it was built with): when it would not, the
        request must be built again."""
        chosen = self.ttl_for(built, conversation)
        return all(b.ttl == chosen for b in built.breakpoints)

    def ttl_for(
        self,
        built: BuiltRequest,
        conversation: Conversation,
        away_s: float = 0.0,
        plan: CachePlan | None = None,
    ) -> str:
        """The adaptive TTL for ``built`` (a request of ``conversation``) with what is cached
        now, or with ``plan`` (``economics.choose_ttl``), knowing whether keep-alive pings may
        follow and how long the user has been away (``away_s``, for a keep-alive ping)."""
        if plan is None:
            plan = self.ledger.predict(built, sweep=False)
        pings = pings_of(self.settings, conversation) > 0
        return choose_ttl(built, plan, self.pauses, pings, away_s)

    # -- turns ----------------------------------------------------------------------------------
    def begin_turn(self, session: Session) -> None:
        """A turn begins: its keep-alive ends, and the pause before it teaches the TTL choice."""
        if session.keepalive_task is not None:
            session.keepalive_task.cancel()
        gaps = user_turn_gaps(session.conversation)
        if gaps:
            self.pauses.learn(gaps[-1])

    def start_turn(self, session: Session) -> asyncio.Task:
        """Send the conversation as it is (its last message is the user's) in an owned task."""
        self.begin_turn(session)
        return self.own(self.run_turn(session), f"turn {session.id}")

    async def run_turn(self, session: Session) -> Message | None:
        """Stream replies until one ends the turn: a tool call is answered (after approval, see
        ``ToolBox``) and a paused server-tool turn (``pause_turn``) is sent on, each at most
        ``max_tool_rounds`` times."""
        rounds = 0
        while True:
            message, stop_reason = await self._stream_once(session)
            if message is None:
                return None
            calls = [b for b in message.blocks if isinstance(b, ToolUseBlock)]
            if stop_reason == "pause_turn" and rounds < self.settings.max_tool_rounds:
                rounds += 1
                continue
            if stop_reason != "tool_use" or not calls:
                break
            allowed = rounds < self.settings.max_tool_rounds
            report = lambda call, outcome: self.emit(  # noqa: E731
                ev.ToolRan(session.id, call.name, outcome.text, outcome.is_error, outcome.problem)
            )
            try:
                results = await self.toolbox.answer(calls, allowed, report)
            except asyncio.CancelledError:  # between requests: nothing is out, every one recorded
                session.conversation.add("user", *stopped_results(calls), created_at=self.clock())
                self.emit(ev.Cancelled(session.id, None, session.totals.snapshot()))
                raise
            session.conversation.add("user", *results, created_at=self.clock())
            if not allowed:
                break
            rounds += 1
        self.schedule_keepalive(session)
        return message

    async def _stream_once(
        self, session: Session, retry: bool = True
    ) -> tuple[Message | None, str | None]:
        conv = session.conversation
        wait_s = self.settings.upload_wait_s
        await self.uploads.refer(self.client, self.ledger.place, conv, self.clock, wait_s)
        edits = self.edits_of(conv)
        if session.compact_next:
            edits += (compacting.compaction_edit(bool(conv.tools or conv.server_tools)),)
        built = self.build(session, edits=edits)
        self.count_tokens_of(built)
        await self.drafts.wait_for_warm(session, built)
        plan = self.ledger.predict(built)
        self.emit(ev.RequestBuilt(session.id, Kind.TURN, built, Usage.from_plan(plan)))
        request_id = f"turn-{next(self._ids)}"
        writing_elsewhere = self.ledger.pending_covers(built)
        self.ledger.begin(request_id, built, plan)
        asked = conv.messages[-1].id  # what a reply that never begins is shown under
        # The first token is timed from the user's Enter when the turn began there (uploads and
        # a warm-up's wait included: what the user waited), else from this request.
        started = session.entered_at if session.entered_at is not None else time.perf_counter()
        session.entered_at = None
        sent_at = self.clock()
        explanation = None

        def on_start(reply: TurnStream) -> None:
            nonlocal explanation
            if not built.compacting:  # a compaction is known at its end
                explanation = explain(
                    built, reply.begun, plan, session.last_turn, self.ledger, writing_elsewhere
                )
                if session.forked_at is not None:
                    explanation = as_branch(explanation, session.forked_at)
                self.ledger.record(built, reply.begun, sent_at)
            self.ledger.finish(request_id)

        reply = session.stream = TurnStream(self.emit, session.id, started, Usage.from_plan(plan))
        api = self.client.beta.messages if built.beta_api else self.client.messages
        try:
            async with api.stream(
                **built.body,
                diagnostics={"previous_message_id": session.last_message_id},
                extra_headers={"anthropic-beta": ",".join((DIAGNOSIS_BETA, *built.betas))},
                timeout=self.settings.time_limit(expected_s(plan)),
            ) as stream:
                await reply.read(stream, on_start)
                final = await stream.get_final_message()
        except asyncio.CancelledError:
            self._stopped(session, built, reply, asked, sent_at)
            raise
        except Exception as exc:
            failure = classify(exc)
            log.warning("turn failed: %s (%s)", failure.kind, failure.message)
            self._record(session, Kind.TURN, built, Usage(), error=failure.message, after_id=asked)
            place = self.ledger.place
            gone = not reply.texts and self.uploads.after_failure(place, conv, failure.message)
            if gone and retry:  # a file of ours was deleted or expired: upload it again, once
                return await self._stream_once(session, retry=False)
            partial = keep_partial(conv, reply.texts, self.clock())
            self.emit(ev.Failed(session.id, Kind.TURN, failure, partial, session.totals.snapshot()))
            return None, None
        finally:
            reply.close()
            session.stream = None
            self.ledger.finish(request_id)
        usage = Usage.from_api(final.usage)
        following = built  # what the next turn's explanation compares with
        if built.compacting:
            session.compact_next = False
            found = compacting.explain_compaction(
                built, final, plan, session.last_turn, self.ledger, writing_elsewhere
            )
            following, explanation = compacting.settle(
                self.ledger, self.builder, built, final, usage, found, sent_at
            )
        applied = compacting.applied_edits(final)
        explanation, rewritten, rewritten_usd = compacting.clearing_effect(
            built, session.last_turn, usage, applied, explanation
        )
        message = conv.add("assistant", *blocks_of(final.content), created_at=self.clock())
        if usage.web_searches or usage.web_fetches:  # its results: the API's automatic write
            written = self.ledger.record_server_result(
                plan, self.build(session), len(conv.messages) - 1, sent_at
            )
            if written and explanation is not None:
                explanation = replace(
                    explanation,
                    sentence=f"{explanation.sentence} The server tool's results were written at "
                    "the API's automatic 5-minute breakpoint, for the next turn to read.",
                )
        record = self._record(
            session,
            Kind.TURN,
            built,
            usage,
            ttft_s=reply.ttft,
            predicted=Usage.from_plan(plan, usage.output),
            explanation=explanation.sentence if explanation else "",
            cause=explanation.cause if explanation else "",
            server_reason=diagnosis_shown(explanation, reply.diagnosis),
            reply_id=message.id,
            compaction=compacting.compaction_usage(final.usage),
            edits=applied,
            rewritten=rewritten,
            rewritten_usd=rewritten_usd,
            after_id=asked,
        )
        session.last_message_id = final.id
        session.forked_at = None
        for warm in session.warms:
            if warm.followed_by_hit is None:
                warm.followed_by_hit = usage.read >= warm.prefix_tokens
        session.last_turn = following
        # what the request as sent read and wrote: a compaction's iteration read all of it
        reported = record.compaction or usage
        self.emit(ev.UsageReported(session.id, Kind.TURN, reported, explanation, built))
        self.emit(ev.Finished(session.id, Kind.TURN, message, record, session.totals.snapshot()))
        return message, final.stop_reason

    def _stopped(
        self, session: Session, built: BuiltRequest, reply: TurnStream, asked: str, sent_at: float
    ) -> None:
        """A turn request stopped by the user (or the app's end): recorded with what it is billed
        as far as known (``TurnStream.stopped``), what arrived kept, marked interrupted."""
        fields = reply.stopped()
        if built.compacting and not fields.get("error"):  # its compaction read the request sent
            self.ledger.record(built, reply.compacted or fields["usage"], sent_at)
        partial = keep_partial(session.conversation, reply.texts, self.clock())
        reply_id = partial.id if partial is not None else ""
        record = self._record(
            session, Kind.TURN, built, reply_id=reply_id, after_id=asked, **fields
        )
        self.emit(ev.Cancelled(session.id, partial, session.totals.snapshot(), record))

    async def send_quiet(
        self,
        session: Session,
        kind: str,
        built: BuiltRequest,
        warm: WarmRecord | None = None,
        why: str = "",
    ) -> RequestRecord | None:
        """A warm-up or keep-alive ping, sent for the reason ``why``: recorded and reported,
        never raised."""
        plan = self.ledger.predict(built)
        predicted = Usage.from_plan(plan)
        self.emit(ev.RequestBuilt(session.id, kind, built, predicted, why))
        request_id = f"{kind}-{next(self._ids)}"
        self.ledger.begin(request_id, built, plan)
        sent_at = self.clock()
        api = self.client.beta.messages if built.beta_api else self.client.messages
        try:
            response = await api.create(
                **built.body,
                timeout=self.settings.time_limit(expected_s(plan)),
                extra_headers={"anthropic-beta": ",".join(built.betas)} if built.betas else None,
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failure = classify(exc)
            log.info("%s failed quietly: %s", kind, failure.message)
            self._record(session, kind, built, Usage(), error=failure.message, explanation=why)
            self.emit(ev.Failed(session.id, kind, failure, None, session.totals.snapshot()))
            return None
        finally:
            self.ledger.finish(request_id)
            if warm is not None:  # answered: no longer in flight for whoever hears the end
                session.warm_tasks.pop(warm.prefix_fingerprint, None)
        usage = Usage.from_api(response.usage)
        self.ledger.record(built, usage, sent_at)
        record = self._record(
            session, kind, built, usage, predicted=Usage.from_plan(plan, 0), explanation=why
        )
        if warm is not None:
            warm.record = record
        self.emit(ev.UsageReported(session.id, kind, usage, None, built))
        self.emit(ev.Finished(session.id, kind, None, record, session.totals.snapshot()))
        return record

    # -- keep-alive -----------------------------------------------------------------------------
    def schedule_keepalive(self, session: Session) -> asyncio.Task | None:
        if session.keepalive_task is not None:
            session.keepalive_task.cancel()
        session.pings_left = pings_of(self.settings, session.conversation)
        if session.pings_left <= 0:
            return None
        session.keepalive_task = self.own(keep_alive(self, session), f"keep-alive {session.id}")
        return session.keepalive_task
