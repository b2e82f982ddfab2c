"""Checks a request body as the real Messages API does, naming the offending path."""

from __future__ import annotations

import json
import re
from functools import lru_cache

from app.facts.catalogue import Catalogue, ModelInfo, resources_dir
from app.simulator.block_checks import check_block
from app.simulator.content_checks import check_content
from app.simulator.errors import ApiError, invalid
from app.simulator.fields_common import check_cache_control, extra_keys
from app.simulator.image_checks import (
    MAX_IMAGE_EDGE,
    MAX_IMAGE_EDGE_MANY,
    MAX_IMAGES,
    ImageCounter,
)
from app.simulator.request_fields import (
    TOOL_CHANGES,
    check_forced_tool_choice,
    check_max_tokens,
    check_misc,
    check_output_config,
    check_system_messages,
    check_thinking,
    check_tool_references,
    speed_used,
)
from app.simulator.structured import check_structured

COUNT_FIELDS = frozenset(
    {
        "model",
        "messages",
        "system",
        "tools",
        "tool_choice",
        "thinking",
        "cache_control",
        "output_config",
        "speed",
        "mcp_servers",
        "context_management",
        "user_profile_id",
    }
)
MESSAGE_FIELDS = COUNT_FIELDS | {
    "max_tokens",
    "temperature",
    "top_p",
    "top_k",
    "stop_sequences",
    "metadata",
    "service_tier",
    "stream",
    "container",
    "diagnostics",
    "inference_geo",
    "fallback_credit_token",
}


@lru_cache(maxsize=1)
def known_betas() -> frozenset[str]:
    """Beta names the API knows (resources/betas.json): accepted and ignored, since the
    simulator models none of them differently; an unknown name gets the API's 400."""
    with open(resources_dir() / "betas.json", encoding="utf-8") as fh:
        return frozenset(json.load(fh)["betas"])


TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
SERVER_TOOL_PREFIXES = (
    "web_search_",
    "web_fetch_",
    "bash_",
    "text_editor_",
    "code_execution_",
    "computer_",
    "memory_",
    "browser_",
    "tool_search_tool_",
    "mcp_toolset",
)
CUSTOM_TOOL_KEYS = {
    "type",
    "name",
    "description",
    "input_schema",
    "cache_control",
    "strict",
    "defer_loading",
    "input_examples",
    "allowed_callers",
    "eager_input_streaming",
}


def check_betas(header: str | None) -> None:
    if not header:
        return
    names = [b.strip() for b in header.split(",") if b.strip()]
    unknown = [b for b in names if b not in known_betas()]
    if unknown:
        raise invalid(
            f"Unexpected value(s) `{', '.join(unknown)}` for the `anthropic-beta` header. "
            "Please consult our documentation at docs.claude.com or try again without the header."
        )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


TOOL_CHANGES_BETA = "mid-conversation-tool-changes-2026-07-01"
OUTPUT_CONFIG_BETA = "mid-conversation-output-config-2026-07-01"
CLEAR_AT_BETA = "mid-conversation-system-clear-at-2026-08-21"
FALLBACK_CREDIT_BETA = "fallback-credit-2026-07-01"


def betas_of(header: str | None) -> frozenset[str]:
    return frozenset(b.strip() for b in (header or "").split(",") if b.strip())


def _check_system_message(path: str, message: dict, betas: frozenset[str]) -> None:
    """What a ``role: "system"`` message may carry besides content (SDK 2.16's
    BetaSystemMessageParam): ``output_config`` with a per-turn ``effort`` (its beta), and
    ``clear_at`` (its beta); a message with neither content nor output_config is refused."""
    extra_keys(path, message, {"role", "content", "output_config", "clear_at"})
    if "output_config" in message:
        config = message["output_config"]
        if OUTPUT_CONFIG_BETA not in betas:
            raise invalid(
                f"{path}.output_config: per-message output_config requires the "
                f"`{OUTPUT_CONFIG_BETA}` beta header"
            )
        if not isinstance(config, dict | None):
            raise invalid(f"{path}.output_config: Input should be a valid dictionary")
        extra_keys(f"{path}.output_config", config or {}, {"effort"})
        effort = (config or {}).get("effort")
        if effort is not None and effort not in ("low", "medium", "high", "xhigh", "max"):
            raise invalid(
                f"{path}.output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' "
                "or 'max'"
            )
    if "clear_at" in message:
        if CLEAR_AT_BETA not in betas:
            raise invalid(f"{path}.clear_at: requires the `{CLEAR_AT_BETA}` beta header")
        if message["clear_at"] not in ("next_user_message", "never", None):
            raise invalid(f"{path}.clear_at: Input should be 'next_user_message' or 'never'")
    if message.get("content") in (None, "", []) and not message.get("output_config"):
        raise invalid(f"{path}: a system message needs content or output_config")
    blocks = message.get("content") if isinstance(message.get("content"), list) else []
    changes = any(isinstance(b, dict) and b.get("type") in TOOL_CHANGES for b in blocks)
    if changes and TOOL_CHANGES_BETA not in betas:  # mid-conversation-system-messages.md
        raise invalid(
            f"{path}.content: tool_addition and tool_removal require the "
            f"`{TOOL_CHANGES_BETA}` beta header"
        )


def _check_messages(
    messages: object, images: ImageCounter, files=None, betas: frozenset[str] = frozenset()
) -> None:
    if not isinstance(messages, list):
        raise invalid("messages: Input should be a valid list")
    if not messages:
        raise invalid("messages: at least one message is required")
    for i, message in enumerate(messages):
        path = f"messages.{i}"
        if not isinstance(message, dict):
            raise invalid(f"{path}: Input should be a valid dictionary")
        role = message.get("role")
        if role not in ("user", "assistant", "system"):
            raise invalid(f"{path}.role: Input should be 'user', 'assistant' or 'system'")
        if role == "system":
            _check_system_message(path, message, betas)
            if "content" not in message:
                continue
        else:
            extra_keys(path, message, {"role", "content"})
        content = message.get("content")
        if isinstance(content, str):
            if not content and i != len(messages) - 1:
                raise invalid(f"{path}.content: text content blocks must be non-empty")
        elif isinstance(content, list):
            if not content and not (role == "assistant" and i == len(messages) - 1):
                raise invalid(f"{path}.content: messages must have non-empty content")
            for j, block in enumerate(content):
                check_block(f"{path}.content.{j}", block, role, images, False, files)
        else:
            raise invalid(f"{path}.content: Field required")


def _check_system(system: object) -> None:
    if isinstance(system, str):
        return
    if not isinstance(system, list):
        raise invalid("system: Input should be a valid string or list")
    for i, block in enumerate(system):
        path = f"system.{i}"
        if not isinstance(block, dict) or block.get("type") != "text":
            raise invalid(f"{path}.type: Input should be 'text'")
        extra_keys(path, block, {"type", "text", "cache_control", "citations"})
        if "cache_control" in block:
            check_cache_control(f"{path}.cache_control", block["cache_control"])
        if not isinstance(block.get("text"), str) or not block["text"]:
            if "cache_control" in block:
                raise invalid(
                    f"{path}.cache_control: cache_control cannot be set for empty text blocks"
                )
            raise invalid(f"{path}.text: text content blocks must be non-empty")


def _check_tools(tools: object) -> list[str]:
    if not isinstance(tools, list):
        raise invalid("tools: Input should be a valid list")
    names = []
    for i, tool in enumerate(tools):
        path = f"tools.{i}"
        if not isinstance(tool, dict):
            raise invalid(f"{path}: Input should be a valid dictionary")
        kind = tool.get("type", "custom")
        if kind != "custom":
            if not isinstance(kind, str) or not kind.startswith(SERVER_TOOL_PREFIXES):
                raise invalid(f"{path}.type: unknown tool type '{kind}'")
        else:
            extra_keys(path, tool, CUSTOM_TOOL_KEYS)
            for flag in ("strict", "defer_loading", "eager_input_streaming"):
                if flag in tool and not isinstance(tool[flag], bool | None):
                    raise invalid(f"{path}.custom.{flag}: Input should be a valid boolean")
            name = tool.get("name")
            if not isinstance(name, str) or not TOOL_NAME.match(name):
                raise invalid(
                    f"{path}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'"
                )
            schema = tool.get("input_schema")
            if not isinstance(schema, dict):
                raise invalid(f"{path}.custom.input_schema: Field required")
            if schema.get("type") != "object":
                raise invalid(f"{path}.custom.input_schema.type: Input should be 'object'")
            if "description" in tool and not isinstance(tool["description"], str):
                raise invalid(f"{path}.custom.description: Input should be a valid string")
        if "cache_control" in tool:
            check_cache_control(f"{path}.cache_control", tool["cache_control"])
            if tool.get("defer_loading") is True:  # tool-search-tool.md, "Prompt caching"
                raise invalid(
                    f"{path}: a tool with defer_loading cannot carry cache_control; put the "
                    "breakpoint on a tool that is not deferred"
                )
        names.append(str(tool.get("name", "")))
    if len(set(names)) != len(names):
        raise invalid("tools: Tool names must be unique.")
    return names


def _check_tool_choice(choice: object, tool_names: list[str] | None) -> None:
    if not isinstance(choice, dict):
        raise invalid("tool_choice: Input should be a valid dictionary")
    kind = choice.get("type")
    if kind not in ("auto", "any", "tool", "none"):
        raise invalid("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
    extra_keys("tool_choice", choice, {"type", "name", "disable_parallel_tool_use"})
    if tool_names is None and kind != "none":
        raise invalid("tool_choice: tool_choice may only be specified while providing tools.")
    if kind == "tool" and choice.get("name") not in (tool_names or []):
        raise invalid(f"tool_choice.name: Tool '{choice.get('name')}' not found in tools")


def _check_sampling(body: dict) -> None:
    for field in ("temperature", "top_p"):
        if field in body and (not _is_number(body[field]) or not 0 <= body[field] <= 1):
            raise invalid(f"{field}: Input should be a number between 0 and 1")
    if "top_k" in body and (not _is_int(body["top_k"]) or body["top_k"] < 0):
        raise invalid("top_k: Input should be a non-negative integer")
    if "stop_sequences" in body:
        seqs = body["stop_sequences"]
        if not isinstance(seqs, list) or not all(isinstance(s, str) for s in seqs):
            raise invalid("stop_sequences: Input should be a valid list of strings")
        if any(not s.strip() for s in seqs):
            raise invalid("stop_sequences: each stop sequence must contain non-whitespace")
    if "metadata" in body:
        meta = body["metadata"]
        if not isinstance(meta, dict):
            raise invalid("metadata: Input should be a valid dictionary")
        extra_keys("metadata", meta, {"user_id"})
    if "service_tier" in body and body["service_tier"] not in ("auto", "standard_only"):
        raise invalid("service_tier: Input should be 'auto' or 'standard_only'")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise invalid("stream: Input should be a valid boolean")


# What "non-default" means for the sampling parameters (a choice: the docs name temperature's
# default, 1.0, and no default for top_p or top_k, so any top_k and a top_p other than 1 count).
SAMPLING_DEFAULTS = {"temperature": 1.0, "top_p": 1.0}


def _check_model_refusals(body: dict, model: ModelInfo) -> None:
    """What a model refuses by its data (models.json's ``refuses_sampling``, ``inference_geo``)."""
    if model.refuses_sampling:
        for field in ("temperature", "top_p", "top_k"):
            value = body.get(field)
            if value is not None and value != SAMPLING_DEFAULTS.get(field):
                raise invalid(
                    f"{field}: is deprecated for {model.id} and cannot be set to a non-default "
                    "value; omit it and guide the model by prompting"
                )
    if body.get("inference_geo") is not None and not model.inference_geo:
        raise invalid(f"inference_geo: is not supported by {model.id} (Claude 4.6 and later)")


def _check_fallback_credit(body: dict, betas: frozenset[str]) -> None:
    """``fallback_credit_token`` (SDK 2.16): a bare string, or ``{token, mode}`` with its beta.
    The simulator never refuses a request, so it mints no token and none can be redeemed:
    ``strict`` (the default) is the API's 400, ``best_effort`` is served at normal price and
    says so in ``usage.fallback_credit``."""
    if "fallback_credit_token" not in body or body["fallback_credit_token"] is None:
        return
    token = body["fallback_credit_token"]
    if isinstance(token, dict):
        if FALLBACK_CREDIT_BETA not in betas:
            raise invalid(
                "fallback_credit_token: the object form requires the "
                f"`{FALLBACK_CREDIT_BETA}` beta header; without it pass the token string"
            )
        extra_keys("fallback_credit_token", token, {"token", "mode"})
        if token.get("mode", "strict") not in ("strict", "best_effort"):
            raise invalid("fallback_credit_token.mode: Input should be 'strict' or 'best_effort'")
        mode, value = token.get("mode", "strict"), token.get("token")
    else:
        mode, value = "strict", token
    if not isinstance(value, str) or not value:
        raise invalid("fallback_credit_token: malformed token")
    if mode == "strict":
        raise invalid(
            "fallback_credit_token: the token does not match a refusal of this organization "
            "in the last 5 minutes"
        )


def fallback_credit_usage(body: dict) -> dict | None:
    """``usage.fallback_credit`` for a served request that presented a token."""
    if not isinstance(body.get("fallback_credit_token"), dict):
        return None
    return {"status": {"type": "not_applied", "reason": "body_mismatch"}}


def validate_request(
    body: object,
    catalogue: Catalogue,
    count_only: bool = False,
    files=None,
    betas: frozenset[str] = frozenset(),
) -> ModelInfo:
    """Raise ApiError for anything the real API rejects; return the resolved model.

    ``files(file_id)`` finds a file this workspace uploaded (for ``file`` sources); ``betas``
    are the request's ``anthropic-beta`` names."""
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object")
    extra_keys("", body, COUNT_FIELDS if count_only else MESSAGE_FIELDS)
    model_name = body.get("model")
    if not isinstance(model_name, str) or not model_name:
        raise invalid("model: Field required")
    model = catalogue.resolve(model_name)
    if model is None:
        raise ApiError(404, "not_found_error", f"model: {model_name}")
    if model.retired:
        raise ApiError(
            404,
            "not_found_error",
            f"model: {model_name} was retired on {(model.retires_at or '')[:10]} and is no "
            "longer available",
        )
    if "messages" not in body:
        raise invalid("messages: Field required")
    images = ImageCounter()
    _check_messages(body["messages"], images, files, betas)
    check_system_messages(body["messages"], model)
    check_tool_references(body)
    if "system" in body:
        _check_system(body["system"])
    tool_names = _check_tools(body["tools"]) if "tools" in body else None
    if "tool_choice" in body:
        _check_tool_choice(body["tool_choice"], tool_names)
        check_forced_tool_choice(body, model)
    if "cache_control" in body:
        check_cache_control("cache_control", body["cache_control"])
    _check_sampling(body)
    _check_model_refusals(body, model)
    if not count_only:
        check_max_tokens(body, model)
    effort = check_output_config(body, model)
    check_structured(body)
    check_thinking(body, model, effort, needs_max=not count_only)
    check_misc(body)
    display = (body.get("thinking") or {}).get("display") or model.thinking_display
    check_content(body, display)
    speed_used(body, model)
    _check_fallback_credit(body, betas)
    if len(images.blocks) > MAX_IMAGES:
        raise invalid(f"messages: Too many images: {len(images.blocks)} > {MAX_IMAGES} per request")
    limit = MAX_IMAGE_EDGE_MANY if len(images.blocks) > 20 else MAX_IMAGE_EDGE
    for path, (w, h) in images.blocks:
        if max(w, h) > limit:
            raise invalid(
                f"{path}.source.base64.data: At least one of the image dimensions exceed max "
                f"allowed size for many-image requests: {limit} pixels"
                if limit == MAX_IMAGE_EDGE_MANY
                else f"{path}.source.base64.data: At least one of the image dimensions exceed "
                f"max allowed size: {limit} pixels"
            )
    return model
