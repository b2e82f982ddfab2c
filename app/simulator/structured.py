"""Structured outputs (structured-outputs.md): the JSON Schema subset the API compiles, its
400s, and the complexity limits shared by ``output_config.format`` and ``strict: true`` tools.

"JSON Schema limitations": numerical constraints (``minimum``, ``maximum``, ``multipleOf``),
string constraints (``minLength``, ``maxLength``), array constraints beyond ``minItems`` 0 or 1,
``additionalProperties`` other than ``false``, recursive schemas, external ``$ref``, complex
types in ``enum``, ``allOf`` with ``$ref`` and regex features the grammar lacks (backreferences,
lookaround, word boundaries) are 400s. "Schema complexity limits": at most 20 strict tools, 24
optional parameters and 16 parameters with union types across every strict schema of a request.
"Feature compatibility": citations together with a format are a 400, and so is a prefilled
assistant turn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.simulator.errors import invalid

MAX_STRICT_TOOLS = 20
MAX_OPTIONAL = 24
MAX_UNIONS = 16
NUMERIC = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
STRING_LIMITS = ("minLength", "maxLength")
ARRAY_LIMITS = ("maxItems", "uniqueItems", "contains", "minContains", "maxContains")
BAD_PATTERN = re.compile(r"\\[1-9bB]|\(\?[=!<]")
SCALARS = (str, int, float, bool, type(None))


@dataclass
class Complexity:
    """What a request's strict schemas add up to (the limits apply to their total)."""

    optional: int = 0
    unions: int = 0


def _defs(root: dict) -> dict:
    out: dict = {}
    for key in ("$defs", "definitions", "$def"):
        if isinstance(root.get(key), dict):
            out.update({f"#/{key}/{name}": value for name, value in root[key].items()})
    return out


def check_schema(path: str, root: object, complexity: Complexity) -> None:
    """Refuse what the grammar compiler refuses, naming the schema path; count the optional
    and union parameters toward the request's limits."""
    if not isinstance(root, dict):
        raise invalid(f"{path}: Input should be a valid dictionary")
    definitions = _defs(root)
    _walk(path, root, definitions, complexity, ())


def _walk(
    path: str, schema: object, defs: dict, complexity: Complexity, refs: tuple[str, ...]
) -> None:
    if isinstance(schema, bool):
        return
    if not isinstance(schema, dict):
        raise invalid(f"{path}: a schema should be an object")
    ref = schema.get("$ref")
    if ref is not None:
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise invalid(f"{path}.$ref: external $ref is not supported ({ref})")
        if ref in refs:
            raise invalid(f"{path}.$ref: recursive schemas are not supported ({ref})")
        if ref not in defs:
            raise invalid(f"{path}.$ref: {ref} is not defined in $defs or definitions")
        _walk(f"{path}.$ref", defs[ref], defs, complexity, (*refs, ref))
    for key in NUMERIC:
        if key in schema:
            raise invalid(f"{path}.{key}: numerical constraints are not supported")
    for key in STRING_LIMITS:
        if key in schema:
            raise invalid(f"{path}.{key}: string length constraints are not supported")
    for key in ARRAY_LIMITS:
        if key in schema:
            raise invalid(f"{path}.{key}: array constraints are not supported")
    if "minItems" in schema and schema["minItems"] not in (0, 1):
        raise invalid(f"{path}.minItems: only 0 and 1 are supported")
    if "additionalProperties" in schema and schema["additionalProperties"] is not False:
        raise invalid(f"{path}.additionalProperties: must be set to false for objects")
    if "enum" in schema and not all(isinstance(v, SCALARS) for v in schema["enum"] or []):
        raise invalid(f"{path}.enum: complex types within enum are not supported")
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and BAD_PATTERN.search(pattern):
        raise invalid(
            f"{path}.pattern: backreferences, lookaround and word boundaries are not supported"
        )
    kinds = schema.get("type")
    if "anyOf" in schema or (isinstance(kinds, list) and len(kinds) > 1):
        complexity.unions += 1
    for key in ("anyOf", "allOf"):
        for i, branch in enumerate(schema.get(key) or []):
            if key == "allOf" and isinstance(branch, dict) and "$ref" in branch:
                raise invalid(f"{path}.allOf.{i}: allOf with $ref is not supported")
            _walk(f"{path}.{key}.{i}", branch, defs, complexity, refs)
    properties = schema.get("properties")
    if isinstance(properties, dict):
        required = set(schema.get("required") or [])
        complexity.optional += sum(1 for name in properties if name not in required)
        for name, sub in properties.items():
            _walk(f"{path}.properties.{name}", sub, defs, complexity, refs)
    if "items" in schema:
        _walk(f"{path}.items", schema["items"], defs, complexity, refs)


def check_limits(complexity: Complexity, strict_tools: int) -> None:
    """structured-outputs.md, "Explicit limits" (all strict schemas of a request together)."""
    if strict_tools > MAX_STRICT_TOOLS:
        raise invalid(
            f"tools: at most {MAX_STRICT_TOOLS} tools with strict: true per request, "
            f"got {strict_tools}"
        )
    if complexity.optional > MAX_OPTIONAL:
        raise invalid(
            f"Schema is too complex: {complexity.optional} optional parameters across strict "
            f"schemas, at most {MAX_OPTIONAL}"
        )
    if complexity.unions > MAX_UNIONS:
        raise invalid(
            f"Schema is too complex: {complexity.unions} parameters with union types across "
            f"strict schemas, at most {MAX_UNIONS}"
        )


def check_structured(body: dict) -> None:
    """Every strict schema of a request (the format's, the strict tools'), their limits, and
    what a format cannot go with."""
    complexity = Complexity()
    fmt = (body.get("output_config") or {}).get("format")
    if fmt is not None:
        check_schema("output_config.format.schema", fmt.get("schema"), complexity)
        _check_format_companions(body)
    strict = 0
    for i, tool in enumerate(body.get("tools") or []):
        if isinstance(tool, dict) and tool.get("strict") is True:
            strict += 1
            check_schema(f"tools.{i}.input_schema", tool.get("input_schema"), complexity)
    if fmt is not None or strict:
        check_limits(complexity, strict)


def _check_format_companions(body: dict) -> None:
    """structured-outputs.md, "Feature compatibility": citations and prefilling are
    incompatible with JSON outputs."""
    for i, message in enumerate(body.get("messages") or []):
        content = message.get("content")
        for j, block in enumerate(content if isinstance(content, list) else []):
            citations = block.get("citations") if isinstance(block, dict) else None
            if isinstance(citations, dict) and citations.get("enabled"):
                raise invalid(
                    f"messages.{i}.content.{j}.citations: citations cannot be enabled together "
                    "with output_config.format"
                )
    said = [m for m in body.get("messages") or [] if m.get("role") != "system"]
    if said and said[-1].get("role") == "assistant":
        raise invalid(
            "messages: a prefilled assistant message cannot be used with output_config.format"
        )
