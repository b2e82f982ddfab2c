"""The simulator's model listing and its loopback-only controls (cache, stats, reset, clock)."""

from __future__ import annotations

from functools import partial

from aiohttp import web

from app.facts.catalogue import ModelInfo
from app.simulator.errors import ApiError, invalid


def add_models_routes(app: web.Application, sim) -> None:
    app.router.add_get("/v1/models", partial(list_models, sim))
    app.router.add_get("/v1/models/{model_id}", partial(get_model, sim))


def add_control_routes(app: web.Application, sim) -> None:
    app.router.add_get("/_sim/cache", partial(sim_cache, sim))
    app.router.add_get("/_sim/stats", partial(sim_stats, sim))
    app.router.add_post("/_sim/reset", partial(sim_reset, sim))
    app.router.add_post("/_sim/clock/advance", partial(sim_advance, sim))


def _yes(flag: bool) -> dict:
    return {"supported": bool(flag)}


def capabilities(model: ModelInfo) -> dict:
    """The model's ``capabilities`` object: every key present, as the SDK's ModelCapabilities."""
    thinking = model.thinking.accepts if model.thinking else ()
    levels = model.effort.levels if model.effort else ()
    return {
        "batch": _yes(True),
        "citations": _yes(True),
        "code_execution": _yes(True),
        "context_management": {
            "supported": True,
            "clear_thinking_20251015": _yes(bool(thinking)),
            "clear_tool_uses_20250919": _yes(True),
            "compact_20260112": _yes(model.token_scale > 1.0),
        },
        "effort": {
            "supported": bool(levels),
            **{level: _yes(level in levels) for level in ("low", "medium", "high", "xhigh", "max")},
        },
        "image_input": _yes(True),
        "pdf_input": _yes(True),
        "server_tools": {"supported": True, "web_search": _yes(True), "code_execution": _yes(True)},
        "structured_outputs": _yes(True),
        "thinking": {
            "supported": any(t != "disabled" for t in thinking),
            "types": {
                t: _yes(t in thinking) for t in ("adaptive", "between_tools", "disabled", "enabled")
            },
        },
    }


def _model_object(model: ModelInfo) -> dict:
    """The fields of the SDK's ``ModelInfo``."""
    return {
        "type": "model",
        "id": model.id,
        "display_name": model.display_name,
        "created_at": model.created_at,
        "lifecycle": model.lifecycle,
        "deprecated_at": model.deprecated_at,
        "retires_at": None if model.lifecycle == "active" else model.retires_at,
        "line": model.line,
        "max_input_tokens": model.context_window,
        "max_tokens": model.max_output_tokens,
        "capabilities": capabilities(model),
    }


async def list_models(sim, request: web.Request) -> web.Response:
    sim.api_key(request)
    models = sorted(sim.catalogue.models, key=lambda m: m.created_at, reverse=True)
    ids = [m.id for m in models]
    try:
        limit = int(request.query.get("limit", "20"))
    except ValueError:
        raise invalid("limit: Input should be a valid integer") from None
    if not 1 <= limit <= 1000:
        raise invalid("limit: Input should be between 1 and 1000")
    start, end = 0, len(models)
    if "after_id" in request.query:
        if request.query["after_id"] not in ids:
            raise invalid(f"after_id: unknown model {request.query['after_id']}")
        start = ids.index(request.query["after_id"]) + 1
    if "before_id" in request.query:
        if request.query["before_id"] not in ids:
            raise invalid(f"before_id: unknown model {request.query['before_id']}")
        end = ids.index(request.query["before_id"])
        start = max(start, end - limit)
    page = models[start:end][:limit]
    return web.json_response(
        {
            "data": [_model_object(m) for m in page],
            "has_more": start + len(page) < end,
            "first_id": page[0].id if page else None,
            "last_id": page[-1].id if page else None,
        }
    )


async def get_model(sim, request: web.Request) -> web.Response:
    sim.api_key(request)
    model = sim.catalogue.resolve(request.match_info["model_id"])
    if model is None:
        raise ApiError(404, "not_found_error", f"model: {request.match_info['model_id']}")
    return web.json_response(_model_object(model))


async def sim_cache(sim, request: web.Request) -> web.Response:
    sim.check_sim_caller(request)
    return web.json_response({"entries": sim.store.snapshot(), "now": sim.store.clock.now()})


async def sim_stats(sim, request: web.Request) -> web.Response:
    sim.check_sim_caller(request)
    return web.json_response({**sim.stats, "active_streams": sim.active_streams})


async def sim_reset(sim, request: web.Request) -> web.Response:
    sim.check_sim_caller(request)
    sim.store.reset()
    sim.files.files.clear()  # a reset simulator holds no uploads either
    sim.batches.batches.clear()
    sim.stats.clear()
    return web.json_response({"reset": True})


async def sim_advance(sim, request: web.Request) -> web.Response:
    sim.check_sim_caller(request)
    body = await sim.json_body(request)
    seconds = body.get("seconds") if isinstance(body, dict) else None
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
        raise invalid("seconds: a non-negative number is required")
    return web.json_response({"now": sim.store.clock.advance(float(seconds))})
