"""The simulator's HTTP server (aiohttp): the Messages API plus loopback-only introspection."""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import json
import logging
import secrets
from collections import Counter
from dataclasses import dataclass, field

from aiohttp import web

from app.facts.catalogue import Catalogue, ModelInfo, default_catalogue
from app.facts.prefix import FlatRequest, flatten_request
from app.facts.rules import (
    RuleViolation,
    plan_request,
    refreshed_entries,
    resolve_breakpoints,
    server_result_entry,
    stored_entries,
)
from app.simulator.accounts import RateMeter, response_headers
from app.simulator.batches import Batches, add_batch_routes
from app.simulator.context_edits import COMPACT_BETA, apply_edits
from app.simulator.controls import add_control_routes, add_models_routes
from app.simulator.diagnostics import Diagnostician, fingerprint
from app.simulator.errors import ApiError, error_body, invalid
from app.simulator.faults import FaultPlan, raise_early_fault
from app.simulator.fields_common import check_json_shape
from app.simulator.files import FileStore, add_file_routes
from app.simulator.latency import LatencyModel
from app.simulator.replies import compose
from app.simulator.request_fields import SERVER_RESULT_BLOCKS, speed_used
from app.simulator.responses import (
    CHUNK_CHARS,
    Shape,
    context_of,
    deltas,
    usage_of,
    with_compaction,
)
from app.simulator.sizing import sizers
from app.simulator.store import CacheStore, key_hash
from app.simulator.threads import Threads
from app.simulator.validation import (
    betas_of,
    check_betas,
    fallback_credit_usage,
    validate_request,
)

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 32 * 1024 * 1024
PING_EVERY_CHUNKS = 40
BILLED = ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "output_tokens")
REQUEST_ID = web.RequestKey("request_id", str)


@dataclass
class SimulatorConfig:
    time_scale: float = 1.0
    first_token_floor_s: float = 0.005  # real seconds before any response begins (a choice)
    retry_after_s: int = 1
    stall_limit_s: float = 300.0
    faults: FaultPlan = field(default_factory=FaultPlan)
    catalogue: Catalogue | None = None


def _reply_tokens(request: web.Request) -> int | None:
    """``x-sim-reply-tokens: N``: a text reply of N tokens (for replaying recorded sessions)."""
    value = request.headers.get("x-sim-reply-tokens", "")
    return min(int(value), 1_000_000) if value.isdigit() else None


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


class Simulator:
    """One simulated service: its cache, clock, latency model and counters."""

    def __init__(self, config: SimulatorConfig | None = None):
        self.config = config or SimulatorConfig()
        self.catalogue = self.config.catalogue or default_catalogue()
        self.store = CacheStore()
        self.files = FileStore(self.store.clock)
        self.batches = Batches(self)
        self.meter = RateMeter(self.files.now)
        self.threads = Threads()
        self.diagnostics = Diagnostician()
        self.latency = LatencyModel(scale=self.config.time_scale)
        self.stats: Counter[str] = Counter()
        self.bill: dict[str, Counter[str]] = {}  # per model, the usage of every response begun
        self.active_streams = 0
        self._ids = itertools.count(1)
        self._session = secrets.token_hex(4)

    # -- plumbing -------------------------------------------------------------------------------
    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_sim{self._session}{next(self._ids):08x}"

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._errors], client_max_size=MAX_REQUEST_BYTES)
        app.router.add_post("/v1/messages", self.messages)
        app.router.add_post("/v1/messages/count_tokens", self.count_tokens)
        add_models_routes(app, self)
        add_file_routes(app, self)
        add_batch_routes(app, self)
        add_control_routes(app, self)
        return app

    @web.middleware
    async def _errors(self, request: web.Request, handler):
        request_id = self._new_id("req")
        request[REQUEST_ID] = request_id
        try:
            response = await handler(request)
        except ApiError as exc:
            response = self._error(
                exc.status, exc.error_type, exc.message, request_id, exc.headers, exc.details
            )
        except web.HTTPRequestEntityTooLarge:
            response = self._error(
                413,
                "request_too_large",
                "Request exceeds the maximum allowed number of bytes (32 MB).",
                request_id,
            )
        except web.HTTPException as exc:
            kind = "not_found_error" if exc.status == 404 else "invalid_request_error"
            response = self._error(exc.status, kind, exc.reason or "Not found", request_id)
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception:
            log.exception("simulator handler failed")
            response = self._error(500, "api_error", "Internal server error", request_id)
        self.stats[f"status_{response.status}"] += 1
        if not response.prepared:
            response.headers["request-id"] = request_id
            response.headers.update(self._account_headers(request, response.status))
        return response

    def _account_headers(self, request: web.Request, status: int) -> dict[str, str]:
        key = request.headers.get("x-api-key") or request.headers.get("authorization", "")[7:]
        return response_headers(self.meter, request.path, key, status)

    def _error(self, status, kind, message, request_id, headers=None, details=None):
        return web.json_response(
            error_body(kind, message, request_id, details), status=status, headers=headers or {}
        )

    # -- request checks -------------------------------------------------------------------------
    def api_key(self, request: web.Request) -> str:
        key = request.headers.get("x-api-key")
        auth = request.headers.get("authorization", "")
        if not key and auth.lower().startswith("bearer "):
            key = auth[7:].strip()
        if not key:
            raise ApiError(401, "authentication_error", "x-api-key header is required")
        if not request.headers.get("anthropic-version"):
            raise invalid("anthropic-version: header is required")
        check_betas(request.headers.get("anthropic-beta"))
        return key

    async def json_body(self, request: web.Request) -> object:
        if request.content_length is not None and request.content_length > MAX_REQUEST_BYTES:
            raise ApiError(
                413,
                "request_too_large",
                "Request exceeds the maximum allowed number of bytes (32 MB).",
            )
        if "application/json" not in request.headers.get("content-type", ""):
            raise invalid("Content-Type must be application/json")
        raw = await request.read()
        try:
            body = json.loads(raw)
            check_json_shape(body)
            return body
        except ApiError:
            raise
        except (ValueError, UnicodeDecodeError) as exc:
            raise invalid(f"There was an error parsing the body of your request: {exc}") from None
        except RecursionError:  # a body nested deeper than any request can be
            raise invalid(
                "There was an error parsing the body of your request: nested too deeply"
            ) from None

    def check_sim_caller(self, request: web.Request) -> None:
        if not is_loopback(request.remote):
            raise ApiError(403, "permission_error", "simulator controls answer loopback only")

    # -- the Messages API -----------------------------------------------------------------------
    def _flatten(self, body: dict, model: ModelInfo, owner: str, counting: bool = False):
        """The request as ``model`` renders it, with ``file`` sources read from the store."""
        image_size, document_size = sizers(self.files, owner)
        return flatten_request(body, image_size, model, document_size, counting)

    def _server_entry(self, body, model, owner, plan, reply):
        """The automatic 5m entry at the reply's last server tool result, if it writes one."""
        last = max(
            (i for i, b in enumerate(reply.content) if b["type"] in SERVER_RESULT_BLOCKS),
            default=None,
        )
        if last is None or not plan.breakpoints:
            return None
        said = {"role": "assistant", "content": list(reply.content[: last + 1])}
        continued = self._flatten({**body, "messages": [*body["messages"], said]}, model, owner)
        return server_result_entry(plan, continued, len(continued.blocks) - 1)

    def _file_lookup(self, owner: str):
        return lambda file_id: self.files.usable(owner, file_id)

    async def count_tokens(self, request: web.Request) -> web.Response:
        owner = key_hash(self.api_key(request))
        body = await self.json_body(request)
        betas = betas_of(request.headers.get("anthropic-beta"))
        model = validate_request(body, self.catalogue, True, self._file_lookup(owner), betas)
        edited = apply_edits(body, self._counter(model, owner, True), True, model.keeps_thinking)
        flat = self._flatten(edited.body, model, owner, counting=True)
        self._points(flat, body)
        answer: dict = {"input_tokens": flat.total_tokens}
        if body.get("context_management") is not None:  # context-editing.md, "Token counting"
            original = self._flatten(body, model, owner, counting=True).total_tokens
            answer["context_management"] = {"original_input_tokens": original}
        return web.json_response(answer)

    def _counter(self, model: ModelInfo, owner: str, counting: bool = False):
        return lambda b: self._flatten(b, model, owner, counting).total_tokens

    async def messages(self, request: web.Request) -> web.StreamResponse:
        started = self.store.clock.now()  # lifetimes run from the request's start
        self.stats["requests"] += 1
        key = self.api_key(request)
        owner = key_hash(key)
        body = await self.json_body(request)
        keep_thread = False
        if isinstance(body, dict):
            self.stats.update(f"field:{k}" for k in body)  # which request fields clients send
            body, keep_thread = self.threads.expand(owner, body)
        betas = betas_of(request.headers.get("anthropic-beta"))
        model, edited, flat, points = self.prepare(owner, body, betas)
        fault = self.config.faults.pick(
            request.headers.get("x-sim-fault"),
            request.headers.get("x-sim-fault-attempts"),
            request.headers.get("x-stainless-retry-count"),
        )
        raise_early_fault(fault, self.config.retry_after_s)
        shape = self.shape(
            owner, body, betas, (model, edited, flat, points), _reply_tokens(request)
        )
        if keep_thread:
            self.threads.keep(owner, shape.message_id, body, list(shape.reply.content))
        plan, reply = shape.plan, shape.reply
        ttft = self.latency.time_to_first_token(
            plan.write_tokens + plan.uncached_tokens, plan.read_tokens
        )
        if body.get("stream"):
            return await self._stream(request, shape, model, flat, owner, ttft, fault, started)
        if fault in ("disconnect", "stall"):
            await self._first_token(ttft)
            await self._hang_up(request, stall=fault == "stall")
            raise ConnectionResetError("simulated fault")
        if fault == "stream_error":
            raise ApiError(500, "api_error", "Internal server error")
        await self._first_token(ttft)
        self._apply(flat, shape, model, owner, started)
        await self._sleep(self.latency.output_time(reply.output_tokens))
        return web.json_response(self._message(shape, with_content=True))

    def prepare(self, owner: str, body: object, betas: frozenset[str]):
        """A request checked and as the model sees it: (model, edits, flat, breakpoints)."""
        model = validate_request(body, self.catalogue, files=self._file_lookup(owner), betas=betas)
        edited = apply_edits(body, self._counter(model, owner), keeps_thinking=model.keeps_thinking)
        flat = self._flatten(edited.body, model, owner)
        if flat.total_tokens > model.context_window:  # context-windows.md, "overflow behavior"
            raise invalid(
                f"prompt is too long: {flat.total_tokens} tokens > {model.context_window} maximum"
            )
        points = self._points(flat, body)
        if edited.before is not None:  # what the compaction iteration read (compaction.md)
            before = self._flatten(edited.before, model, owner)
            edited.read = (before, self._points(before, body))
        return model, edited, flat, points

    def _points(self, flat: FlatRequest, body: dict):
        try:
            return resolve_breakpoints(flat, body.get("cache_control"))
        except RuleViolation as exc:
            raise invalid(exc.message) from None

    def shape(self, owner, body, betas, prepared, reply_tokens=None, tier="standard") -> Shape:
        """What the response says, planned against the cache as it is now."""
        model, edited, flat, points = prepared
        least, store = model.min_cacheable_tokens, self.store
        cached = lambda fp: store.is_cached(owner, model.id, fp)  # noqa: E731
        plan = plan_request(flat, points, least, cached)
        compaction = None  # its iteration reads the prompt before it, as the cache holds it
        if edited.read is not None:
            compaction = (edited.read[0], plan_request(*edited.read, least, cached))
        reply = with_compaction(compose(edited.body, plan, flat, model, reply_tokens), edited)
        message_id = self._new_id("msg")
        print_ = fingerprint(owner, model.id, body, flat, ",".join(sorted(betas)))
        diagnosis = None
        if "diagnostics" in body:
            previous = (body.get("diagnostics") or {}).get("previous_message_id")
            diagnosis = self.diagnostics.compare(previous, print_)
        self.diagnostics.remember(message_id, print_)
        return Shape(
            body,
            plan,
            reply,
            message_id,
            diagnosis,
            speed_used(body, model),
            fallback_credit_usage(body),
            self._server_entry(edited.body, model, owner, plan, reply),
            edited if "context_management" in body or COMPACT_BETA in betas else None,
            COMPACT_BETA in betas,
            tier,
            compaction,
        )

    def run_now(self, owner: str, body: object, tier: str = "batch") -> dict:
        """Answer a request at once, without waiting or streaming (a Message Batch's): its
        message, its cache reads and writes applied."""
        started = self.store.clock.now()
        prepared = self.prepare(owner, body, frozenset())
        shape = self.shape(owner, body, frozenset(), prepared, tier=tier)
        self._apply(prepared[2], shape, prepared[0], owner, started)
        return self._message(shape, with_content=True)

    async def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            await asyncio.sleep(seconds)

    async def _first_token(self, ttft: float) -> None:
        """Wait until the response begins; only then are its entries readable (prompt-caching.md:
        "a cache entry only becomes available after the first response begins"). At time scale 0
        the wait is still ``first_token_floor_s`` of real time, so requests sent together plan
        before any of them writes, as concurrent requests do on the real service."""
        await asyncio.sleep(max(ttft, self.config.first_token_floor_s))

    def _apply(
        self, flat: FlatRequest, shape: Shape, model: ModelInfo, owner: str, started: float
    ) -> None:
        """The response has begun: the read refreshes its entries and the writes become usable,
        each living from the request's start; the request is billed."""
        plan = shape.plan
        ran = [] if shape.edits is not None and shape.edits.paused else [(flat, plan)]
        for read, planned in [*([shape.compaction] if shape.compaction else []), *ran]:
            self.store.read(owner, model.id, refreshed_entries(read, planned), started)
            self.store.write(owner, model.id, stored_entries(read, planned), started)
        if shape.server_entry is not None:
            self.store.write(owner, model.id, [shape.server_entry], started)
        usage = usage_of(shape, shape.reply.output_tokens)
        compacting = [i for i in usage.get("iterations", ()) if i["type"] == "compaction"]
        read = sum(i[k] for i, k in itertools.product(compacting, BILLED[:3]))
        self.meter.record(owner, plan.total_input_tokens + read, shape.reply.output_tokens)
        billed = self.bill.setdefault(model.id, Counter())
        for part, name in itertools.product([usage, *compacting], BILLED):
            billed[name] += part.get(name) or 0
        billed["ephemeral_1h_input_tokens"] += usage["cache_creation"]["ephemeral_1h_input_tokens"]

    def _message(self, shape: Shape, with_content: bool) -> dict:
        reply, body = shape.reply, shape.body
        message = {
            "id": shape.message_id,
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": list(reply.content) if with_content else [],
            "stop_reason": reply.stop_reason if with_content else None,
            "stop_sequence": reply.stop_sequence if with_content else None,
            "stop_details": None,
            "container": None,
            "usage": usage_of(shape, reply.output_tokens if with_content else 1),
        }
        if "diagnostics" in body:
            message["diagnostics"] = shape.diagnosis
        if shape.edits is not None and "context_management" in body:
            message["context_management"] = {"applied_edits": shape.edits.applied}
        return message

    async def _hang_up(self, request: web.Request, stall: bool) -> None:
        transport = request.transport
        if stall:
            waited = 0.0
            while transport is not None and not transport.is_closing():
                if waited >= self.config.stall_limit_s:
                    break
                await asyncio.sleep(0.05)
                waited += 0.05
        if transport is not None:
            transport.abort()

    async def _stream(self, request, shape, model, flat, owner, ttft, fault, started):
        reply = shape.reply
        response = web.StreamResponse(
            headers={
                "content-type": "text/event-stream",
                "cache-control": "no-cache",
                "request-id": request[REQUEST_ID],
                **self._account_headers(request, 200),
            }
        )
        self.active_streams += 1
        try:
            await response.prepare(request)
            await self._first_token(ttft)
            self._apply(flat, shape, model, owner, started)

            async def send(event: str, data: dict) -> None:
                await response.write(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())

            await send(
                "message_start",
                {"type": "message_start", "message": self._message(shape, False)},
            )
            await send("ping", {"type": "ping"})
            chunks_sent = 0
            for index, block in enumerate(reply.content):
                start = dict(block)
                if block["type"] == "text":
                    start["text"] = ""
                    start.pop("citations", None)
                elif block["type"] == "thinking":
                    start.update(thinking="", signature="")
                elif block["type"] in ("tool_use", "server_tool_use"):
                    start["input"] = {}
                elif block["type"] == "compaction":
                    start["content"] = None
                await send(
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": start},
                )
                for delta in deltas(block):
                    await send(
                        "content_block_delta",
                        {"type": "content_block_delta", "index": index, "delta": delta},
                    )
                    chunks_sent += 1
                    if fault and chunks_sent == 2:
                        await self._stream_fault(request, send, fault)
                        return response
                    if chunks_sent % PING_EVERY_CHUNKS == 0:
                        await send("ping", {"type": "ping"})
                    await self._sleep(self.latency.output_time(max(1, CHUNK_CHARS // 4)))
                await send("content_block_stop", {"type": "content_block_stop", "index": index})
            if fault:
                await self._stream_fault(request, send, fault)
                return response
            usage = usage_of(shape, reply.output_tokens)
            await send(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {
                        "stop_reason": reply.stop_reason,
                        "stop_sequence": reply.stop_sequence,
                        "stop_details": None,
                    },
                    "usage": usage,
                    **context_of(shape),
                },
            )
            await send("message_stop", {"type": "message_stop"})
            await response.write_eof()
        except (ConnectionResetError, ConnectionError, asyncio.CancelledError):
            self.stats["client_disconnects"] += 1
        finally:
            self.active_streams -= 1
        return response

    async def _stream_fault(self, request, send, fault: str) -> None:
        self.stats[f"fault_{fault}"] += 1
        if fault == "stream_error":
            await send(
                "error",
                {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            )
            if request.transport is not None:
                request.transport.close()
            return
        await self._hang_up(request, stall=fault == "stall")
