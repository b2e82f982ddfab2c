"""Message Batches (api/messages/batches*.md, build-with-claude/batch-processing.md): create,
retrieve, list, cancel, delete, and results as JSON lines keyed by ``custom_id``.

A batch is processed once the simulator's clock has moved ``PROCESSING_SECONDS`` past its
creation (``/_sim/clock/advance`` moves it), when it is next looked at: its requests run one
after another through the simulator, so a later one reads what an earlier one wrote ("cache hits
are provided on a best-effort basis"), with ``usage.service_tier: "batch"`` (the 50% price is
the price list's; genai-prices carries the batch variants). A request the API would refuse is an
``errored`` result; a canceled batch's unprocessed requests are ``canceled``. ``custom_id``
follows ``^[a-zA-Z0-9_-]{1,64}$`` and is unique in its batch; ``max_tokens`` must be at least 1
(pre-warming with ``max_tokens: 0`` is for the Messages API, not batches).
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

from aiohttp import web

from app.simulator.errors import ApiError, invalid
from app.simulator.store import key_hash

PROCESSING_SECONDS = 60.0  # a choice: the docs say most batches finish within an hour
EXPIRES_SECONDS = 24 * 3600
MAX_REQUESTS = 100_000
CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Batch:
    id: str
    owner: str
    requests: list[dict]
    created: float  # wall seconds on the simulator's clock
    results: list[dict] = field(default_factory=list)
    ended: float | None = None
    cancel_asked: float | None = None

    def counts(self) -> dict:
        counts = dict.fromkeys(("processing", "succeeded", "errored", "canceled", "expired"), 0)
        if self.ended is None:
            counts["processing"] = len(self.requests)
        for line in self.results:
            counts[line["result"]["type"]] += 1
        return counts

    def view(self, base: str) -> dict:
        status = "ended" if self.ended else "canceling" if self.cancel_asked else "in_progress"
        return {
            "id": self.id,
            "type": "message_batch",
            "processing_status": status,
            "request_counts": self.counts(),
            "ended_at": _stamp(self.ended) if self.ended else None,
            "created_at": _stamp(self.created),
            "expires_at": _stamp(self.created + EXPIRES_SECONDS),
            "archived_at": None,
            "cancel_initiated_at": _stamp(self.cancel_asked) if self.cancel_asked else None,
            "results_url": f"{base}/v1/messages/batches/{self.id}/results" if self.ended else None,
        }


class Batches:
    """The batches of every workspace, processed on the simulator's clock."""

    def __init__(self, sim) -> None:
        self.sim = sim
        self.batches: dict[str, Batch] = {}  # oldest first

    def now(self) -> float:
        return self.sim.files.now()

    def create(self, owner: str, body: object) -> Batch:
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            raise invalid("requests: Input should be a non-empty list")
        if len(requests) > MAX_REQUESTS:
            raise invalid(f"requests: at most {MAX_REQUESTS} requests per batch")
        seen: set[str] = set()
        for i, item in enumerate(requests):
            path = f"requests.{i}"
            if not isinstance(item, dict) or not isinstance(item.get("params"), dict):
                raise invalid(f"{path}.params: Field required")
            custom_id = item.get("custom_id")
            if not isinstance(custom_id, str) or not CUSTOM_ID.match(custom_id):
                raise invalid(
                    f"{path}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
                )
            if custom_id in seen:
                raise invalid(f"{path}.custom_id: custom_id must be unique within a batch")
            seen.add(custom_id)
            max_tokens = item["params"].get("max_tokens")
            if isinstance(max_tokens, int) and max_tokens < 1:
                raise invalid(
                    f"{path}.params.max_tokens: Input should be greater than or equal to 1"
                )
            if item["params"].get("stream"):
                raise invalid(f"{path}.params.stream: streaming is not supported in batches")
        batch = Batch("msgbatch_sim" + secrets.token_hex(12), owner, requests, self.now())
        self.batches[batch.id] = batch
        return batch

    def find(self, owner: str, batch_id: str) -> Batch:
        batch = self.batches.get(batch_id)
        if batch is None or batch.owner != owner:
            raise ApiError(404, "not_found_error", f"batch not found: {batch_id}")
        self._advance(batch)
        return batch

    def of(self, owner: str) -> list[Batch]:
        found = [b for b in reversed(self.batches.values()) if b.owner == owner]  # newest first
        for batch in found:
            self._advance(batch)
        return found

    def cancel(self, batch: Batch) -> None:
        if batch.ended is None:
            batch.cancel_asked = self.now()
            self._advance(batch)

    def _advance(self, batch: Batch) -> None:
        """End a batch whose time has come: run it, or cancel what it had not run."""
        if batch.ended is not None:
            return
        if batch.cancel_asked is not None:
            batch.results = [
                {"custom_id": r["custom_id"], "result": {"type": "canceled"}}
                for r in batch.requests
            ]
            batch.ended = self.now()
            return
        if self.now() < batch.created + PROCESSING_SECONDS:
            return
        batch.results = [self._run(batch.owner, r) for r in batch.requests]
        batch.ended = self.now()

    def _run(self, owner: str, item: dict) -> dict:
        try:
            message = self.sim.run_now(owner, item["params"])
        except ApiError as exc:
            error = {"type": "error", "error": {"type": exc.error_type, "message": exc.message}}
            return {"custom_id": item["custom_id"], "result": {"type": "errored", "error": error}}
        return {"custom_id": item["custom_id"], "result": {"type": "succeeded", "message": message}}


def add_batch_routes(app: web.Application, sim) -> None:
    root = "/v1/messages/batches"
    app.router.add_post(root, partial(create, sim))
    app.router.add_get(root, partial(list_batches, sim))
    app.router.add_get(root + "/{batch_id}", partial(retrieve, sim))
    app.router.add_delete(root + "/{batch_id}", partial(delete, sim))
    app.router.add_post(root + "/{batch_id}/cancel", partial(cancel, sim))
    app.router.add_get(root + "/{batch_id}/results", partial(results, sim))


def _base(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def _owner(sim, request: web.Request) -> str:
    return key_hash(sim.api_key(request))


async def create(sim, request: web.Request) -> web.Response:
    owner = _owner(sim, request)
    batch = sim.batches.create(owner, await sim.json_body(request))
    return web.json_response(batch.view(_base(request)))


async def retrieve(sim, request: web.Request) -> web.Response:
    batch = sim.batches.find(_owner(sim, request), request.match_info["batch_id"])
    return web.json_response(batch.view(_base(request)))


async def cancel(sim, request: web.Request) -> web.Response:
    batch = sim.batches.find(_owner(sim, request), request.match_info["batch_id"])
    sim.batches.cancel(batch)
    return web.json_response(batch.view(_base(request)))


async def delete(sim, request: web.Request) -> web.Response:
    batch = sim.batches.find(_owner(sim, request), request.match_info["batch_id"])
    if batch.ended is None:
        raise invalid("A batch can be deleted only once it has ended; cancel it first")
    del sim.batches.batches[batch.id]
    return web.json_response({"id": batch.id, "type": "message_batch_deleted"})


async def results(sim, request: web.Request) -> web.Response:
    batch = sim.batches.find(_owner(sim, request), request.match_info["batch_id"])
    if batch.ended is None:
        raise invalid(f"Batch {batch.id} has not ended: its results are not available yet")
    lines = "".join(json.dumps(line) + "\n" for line in batch.results)
    return web.Response(text=lines, content_type="application/x-jsonl")


async def list_batches(sim, request: web.Request) -> web.Response:
    found = sim.batches.of(_owner(sim, request))
    ids = [b.id for b in found]
    try:
        limit = int(request.query.get("limit", "20"))
    except ValueError:
        raise invalid("limit: Input should be a valid integer") from None
    if not 1 <= limit <= 1000:
        raise invalid("limit: Input should be between 1 and 1000")
    start = ids.index(request.query["after_id"]) + 1 if request.query.get("after_id") in ids else 0
    page = found[start : start + limit]
    return web.json_response(
        {
            "data": [b.view(_base(request)) for b in page],
            "has_more": start + limit < len(found),
            "first_id": page[0].id if page else None,
            "last_id": page[-1].id if page else None,
        }
    )
