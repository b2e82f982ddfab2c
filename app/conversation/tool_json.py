"""Tool definitions as the user edits them: a JSON list, checked with messages that say where."""

from __future__ import annotations

import json

from app.conversation.blocks import ToolDefinition

NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


class ToolJsonError(ValueError):
    pass


def tools_to_json(tools: tuple[ToolDefinition, ...]) -> str:
    return json.dumps([t.api for t in tools], indent=2, ensure_ascii=False)


def parse_tools(text: str) -> tuple[ToolDefinition, ...]:
    """A JSON list of {name, description, input_schema} objects; empty text means no tools."""
    if not text.strip():
        return ()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise ToolJsonError(f"Not valid JSON: {exc.msg} ({where}).") from None
    if not isinstance(data, list):
        raise ToolJsonError("Expected a JSON list of tool definitions, [ {...}, ... ].")
    tools = []
    seen = set()
    for i, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            raise ToolJsonError(f"Tool {i} is not an object.")
        name = item.get("name")
        if not isinstance(name, str) or not name or not set(name) <= NAME_CHARS or len(name) > 64:
            raise ToolJsonError(
                f"Tool {i}: name must be 1-64 letters, digits, '_' or '-' (got {name!r})."
            )
        if name in seen:
            raise ToolJsonError(f"Tool {i}: the name {name!r} is used twice.")
        seen.add(name)
        description = item.get("description", "")
        if not isinstance(description, str):
            raise ToolJsonError(f"Tool {name!r}: description must be a string.")
        schema = item.get("input_schema")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            raise ToolJsonError(
                f'Tool {name!r}: input_schema must be an object with "type": "object".'
            )
        unknown = set(item) - {"name", "description", "input_schema", "cache_control"}
        if unknown:
            raise ToolJsonError(f"Tool {name!r}: unknown field(s) {', '.join(sorted(unknown))}.")
        tools.append(ToolDefinition.create(name, description, schema))
    return tuple(tools)
