"""Checks a request body as the real Messages API does, naming the offending path."""

from __future__ import annotations

import re

from app.facts.catalogue import Catalogue, ModelInfo
from app.simulator.errors import ApiError, invalid
from app.simulator.image_checks import (
    MAX_IMAGE_EDGE,
    MAX_IMAGE_EDGE_MANY,
    MAX_IMAGES,
    ImageCounter,
    check_image,
)

MESSAGE_FIELDS = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "system",
        "tools",
        "tool_choice",
        "thinking",
        "temperature",
        "top_p",
        "top_k",
        "stop_sequences",
        "metadata",
        "service_tier",
        "stream",
        "cache_control",
        "container",
        "mcp_servers",
        "context_management",
    }
)
COUNT_FIELDS = frozenset(
    {
        "model",
        "messages",
        "system",
        "tools",
        "tool_choice",
        "thinking",
        "cache_control",
        "mcp_servers",
        "context_management",
    }
)
# Betas that are now generally available: accepted and ignored.
ACCEPTED_BETAS = frozenset(
    {
        "prompt-caching-2024-07-31",
        "extended-cache-ttl-2025-04-11",
        "token-counting-2024-11-01",
        "message-batches-2024-09-24",
        "pdfs-2024-09-25",
        "max-tokens-3-5-sonnet-2024-07-15",
        "messages-2023-12-15",
    }
)
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
SERVER_TOOL_PREFIXES = (
    "web_search_",
    "web_fetch_",
    "bash_",
    "text_editor_",
    "code_execution_",
    "computer_",
    "memory_",
)
BLOCK_KEYS = {
    "text": {"type", "text", "cache_control", "citations"},
    "image": {"type", "source", "cache_control"},
    "document": {"type", "source", "cache_control", "title", "context", "citations"},
    "tool_use": {"type", "id", "name", "input", "cache_control"},
    "server_tool_use": {"type", "id", "name", "input", "cache_control"},
    "tool_result": {"type", "tool_use_id", "content", "is_error", "cache_control"},
    "thinking": {"type", "thinking", "signature"},
    "redacted_thinking": {"type", "data"},
    "web_search_tool_result": {"type", "tool_use_id", "content", "cache_control"},
}
USER_BLOCKS = ("text", "image", "document", "tool_result")
ASSISTANT_BLOCKS = (
    "text",
    "tool_use",
    "server_tool_use",
    "thinking",
    "redacted_thinking",
    "web_search_tool_result",
)


def check_betas(header: str | None) -> None:
    if not header:
        return
    unknown = [
        b.strip() for b in header.split(",") if b.strip() and b.strip() not in ACCEPTED_BETAS
    ]
    if unknown:
        raise invalid(
            f"Unexpected value(s) `{', '.join(unknown)}` for the `anthropic-beta` header. "
            "The offline simulator accepts only betas that are now generally available."
        )


def _extra(path: str, obj: dict, allowed: set | frozenset) -> None:
    for key in obj:
        if key not in allowed:
            prefix = f"{path}." if path else ""
            raise invalid(f"{prefix}{key}: Extra inputs are not permitted")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_cache_control(path: str, cc: object) -> None:
    if not isinstance(cc, dict):
        raise invalid(f"{path}: Input should be a valid dictionary")
    _extra(path, cc, {"type", "ttl"})
    if cc.get("type") != "ephemeral":
        raise invalid(f"{path}.type: Input should be 'ephemeral'")
    if "ttl" in cc and cc["ttl"] not in ("5m", "1h"):
        raise invalid(f"{path}.ttl: Input should be '5m' or '1h'")


def _check_block(path: str, block: object, role: str, images: ImageCounter, nested: bool) -> None:
    if not isinstance(block, dict):
        raise invalid(f"{path}: Input should be a valid dictionary")
    kind = block.get("type")
    allowed = ("text", "image") if nested else (USER_BLOCKS if role == "user" else ASSISTANT_BLOCKS)
    if kind not in allowed:
        tags = ", ".join(f"'{t}'" for t in allowed)
        raise invalid(
            f"{path}.type: Input tag '{kind}' found using 'type' does not match any of the "
            f"expected tags: {tags}"
        )
    _extra(path, block, BLOCK_KEYS[kind])
    if "cache_control" in block:
        if nested:
            raise invalid(
                f"{path}.cache_control: cache_control is not allowed on blocks nested inside "
                "another block; set it on the enclosing block"
            )
        check_cache_control(f"{path}.cache_control", block["cache_control"])
    if kind == "text":
        if not isinstance(block.get("text"), str):
            raise invalid(f"{path}.text: Input should be a valid string")
        if not block["text"]:
            if "cache_control" in block:
                raise invalid(
                    f"{path}.cache_control: cache_control cannot be set for empty text blocks"
                )
            raise invalid(f"{path}.text: text content blocks must be non-empty")
    elif kind == "image":
        check_image(path, block, images)
    elif kind in ("tool_use", "server_tool_use"):
        for field in ("id", "name"):
            if not isinstance(block.get(field), str) or not block[field]:
                raise invalid(f"{path}.{field}: Field required")
        if not isinstance(block.get("input"), dict):
            raise invalid(f"{path}.input: Input should be a valid dictionary")
    elif kind == "tool_result":
        if not isinstance(block.get("tool_use_id"), str) or not block["tool_use_id"]:
            raise invalid(f"{path}.tool_use_id: Field required")
        content = block.get("content", "")
        if isinstance(content, list):
            for k, part in enumerate(content):
                _check_block(f"{path}.content.{k}", part, role, images, nested=True)
        elif not isinstance(content, str):
            raise invalid(f"{path}.content: Input should be a valid string or list")
        if "is_error" in block and not isinstance(block["is_error"], bool):
            raise invalid(f"{path}.is_error: Input should be a valid boolean")
    elif kind == "thinking":
        if not isinstance(block.get("thinking"), str) or not isinstance(
            block.get("signature"), str
        ):
            raise invalid(f"{path}: thinking blocks need `thinking` and `signature` strings")
    elif kind == "document":
        source = block.get("source")
        if not isinstance(source, dict) or source.get("type") not in ("base64", "text", "content"):
            raise invalid(f"{path}.source.type: Input should be 'base64', 'text' or 'content'")


def _check_messages(messages: object, images: ImageCounter) -> None:
    if not isinstance(messages, list):
        raise invalid("messages: Input should be a valid list")
    if not messages:
        raise invalid("messages: at least one message is required")
    for i, message in enumerate(messages):
        path = f"messages.{i}"
        if not isinstance(message, dict):
            raise invalid(f"{path}: Input should be a valid dictionary")
        _extra(path, message, {"role", "content"})
        role = message.get("role")
        if role not in ("user", "assistant"):
            raise invalid(f"{path}.role: Input should be 'user' or 'assistant'")
        content = message.get("content")
        if isinstance(content, str):
            if not content and i != len(messages) - 1:
                raise invalid(f"{path}.content: text content blocks must be non-empty")
        elif isinstance(content, list):
            if not content and not (role == "assistant" and i == len(messages) - 1):
                raise invalid(f"{path}.content: messages must have non-empty content")
            for j, block in enumerate(content):
                _check_block(f"{path}.content.{j}", block, role, images, nested=False)
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
        _extra(path, block, {"type", "text", "cache_control", "citations"})
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
            _extra(path, tool, {"type", "name", "description", "input_schema", "cache_control"})
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
    _extra("tool_choice", choice, {"type", "name", "disable_parallel_tool_use"})
    if tool_names is None and kind != "none":
        raise invalid("tool_choice: tool_choice may only be specified while providing tools.")
    if kind == "tool" and choice.get("name") not in (tool_names or []):
        raise invalid(f"tool_choice.name: Tool '{choice.get('name')}' not found in tools")


def _check_sampling(body: dict, model: ModelInfo, needs_max_tokens: bool) -> None:
    if needs_max_tokens:
        if "max_tokens" not in body:
            raise invalid("max_tokens: Field required")
        max_tokens = body["max_tokens"]
        if not _is_int(max_tokens) or max_tokens < 1:
            raise invalid("max_tokens: Input should be greater than or equal to 1")
        if max_tokens > model.max_output_tokens:
            raise invalid(
                f"max_tokens: {max_tokens} > {model.max_output_tokens}, which is the maximum "
                f"allowed number of output tokens for {model.id}"
            )
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
        _extra("metadata", meta, {"user_id"})
    if "service_tier" in body and body["service_tier"] not in ("auto", "standard_only"):
        raise invalid("service_tier: Input should be 'auto' or 'standard_only'")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise invalid("stream: Input should be a valid boolean")
    thinking = body.get("thinking")
    if thinking is not None:
        if not isinstance(thinking, dict) or thinking.get("type") not in (
            "enabled",
            "disabled",
            "adaptive",
        ):
            raise invalid("thinking.type: Input should be 'enabled', 'disabled' or 'adaptive'")
        if thinking["type"] == "enabled":
            budget = thinking.get("budget_tokens")
            if not _is_int(budget) or budget < 1024:
                raise invalid(
                    "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
                )
            if needs_max_tokens and budget >= body["max_tokens"]:
                raise invalid("`max_tokens` must be greater than `thinking.budget_tokens`.")


def validate_request(body: object, catalogue: Catalogue, count_only: bool = False) -> ModelInfo:
    """Raise ApiError for anything the real API rejects; return the resolved model."""
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object")
    _extra("", body, COUNT_FIELDS if count_only else MESSAGE_FIELDS)
    model_name = body.get("model")
    if not isinstance(model_name, str) or not model_name:
        raise invalid("model: Field required")
    model = catalogue.resolve(model_name)
    if model is None:
        raise ApiError(404, "not_found_error", f"model: {model_name}")
    if "messages" not in body:
        raise invalid("messages: Field required")
    images = ImageCounter()
    _check_messages(body["messages"], images)
    if "system" in body:
        _check_system(body["system"])
    tool_names = _check_tools(body["tools"]) if "tools" in body else None
    if "tool_choice" in body:
        _check_tool_choice(body["tool_choice"], tool_names)
    if "cache_control" in body:
        check_cache_control("cache_control", body["cache_control"])
    _check_sampling(body, model, needs_max_tokens=not count_only)
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
