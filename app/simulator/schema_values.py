"""Plausible JSON for a schema of the subset structured outputs allow (structured-outputs.md,
"JSON Schema limitations"): what the simulator answers with ``output_config.format`` and puts in
a tool call's ``input``.

Deterministic (the same schema gives the same value), and plausible for each field: a value of
its type, its ``const``, ``default`` or first ``enum`` value, its string ``format``, or one its
name suggests (``age`` 34, ``email`` an address, ``name`` a person); never an empty string or a
zero where a number is asked for. Objects list required properties first, then optional ones,
each in schema order ("Property ordering"). ``anyOf`` and type lists take their first branch
that is not null; ``allOf`` merges its branches; ``$ref`` follows ``$defs`` / ``definitions``.
"""

from __future__ import annotations

FORMATS = {
    "date-time": "2026-11-01T12:00:00Z",
    "time": "12:00:00",
    "date": "2026-11-01",
    "duration": "P3D",
    "email": "jane.doe@example.com",
    "hostname": "example.com",
    "uri": "https://example.com/",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uuid": "123e4567-e89b-12d3-a456-426614174000",
}
INTEGERS = {"age": 34, "year": 2026, "month": 11, "day": 1, "count": 3, "quantity": 3}
NUMBERS = {"price": 19.99, "amount": 19.99, "cost": 19.99, "score": 0.87, "rating": 4.5}
STRINGS = {
    "name": "Jane Doe",
    "first_name": "Jane",
    "last_name": "Doe",
    "email": "jane.doe@example.com",
    "city": "Oslo",
    "country": "Norway",
    "title": "Example title",
    "url": "https://example.com/",
    "phone": "+1 555 0100",
    "company": "Example Corp",
}
MAX_DEPTH = 12  # nesting followed before a value stops descending (schemas are not recursive)


def value_for(schema: object, name: str = "value", root: dict | None = None, depth: int = 0):
    """A value of ``schema`` (the root schema holds its definitions)."""
    root = root if root is not None else (schema if isinstance(schema, dict) else {})
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return _by_name("string", name)
    schema = _resolved(schema, root)
    if "const" in schema:
        return schema["const"]
    if "default" in schema:
        return schema["default"]
    if schema.get("enum"):
        return schema["enum"][0]
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        chosen = next(
            (b for b in branches if _resolved(b, root).get("type") != "null"), branches[0]
        )
        return value_for(chosen, name, root, depth + 1)
    if schema.get("allOf"):
        merged: dict = {}
        for branch in schema["allOf"]:
            part = _resolved(branch, root)
            merged = {
                **merged,
                **part,
                "properties": {**merged.get("properties", {}), **part.get("properties", {})},
            }
            merged["required"] = [*merged.get("required", []), *part.get("required", [])]
        return value_for({k: v for k, v in merged.items() if k != "allOf"}, name, root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
    if kind == "object":
        return _object(schema, root, depth)
    if kind == "array":
        item = value_for(schema.get("items") or {}, _singular(name), root, depth + 1)
        return [item]
    if kind == "null":
        return None
    if kind == "string" and schema.get("format") in FORMATS:
        return FORMATS[schema["format"]]
    return _by_name(kind, name)


def _resolved(schema: object, root: dict) -> dict:
    seen = 0
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and seen < MAX_DEPTH:
        ref = schema["$ref"]
        target: object = root
        for part in ref.lstrip("#/").split("/") if ref != "#" else []:
            target = target.get(part) if isinstance(target, dict) else None
        schema = {**(target or {}), **{k: v for k, v in schema.items() if k != "$ref"}}
        seen += 1
    return schema if isinstance(schema, dict) else {}


def _object(schema: dict, root: dict, depth: int) -> dict:
    properties = schema.get("properties") or {}
    required = [n for n in properties if n in set(schema.get("required") or [])]
    optional = [n for n in properties if n not in required]
    return {n: value_for(properties[n], n, root, depth + 1) for n in (*required, *optional)}


def _singular(name: str) -> str:
    return name[:-1] if name.endswith("s") and len(name) > 3 else name


def _by_name(kind: str, name: str):
    key = name.lower()
    if kind == "integer":
        return next((v for k, v in INTEGERS.items() if k in key), 42)
    if kind == "number":
        return next((v for k, v in NUMBERS.items() if k in key), 3.5)
    if kind == "boolean":
        return True
    exact = STRINGS.get(key)
    if exact is not None:
        return exact
    return next((v for k, v in STRINGS.items() if k in key), f"Example {name.replace('_', ' ')}")
