"""Checks shared by the request validator and the content-block checks."""

from __future__ import annotations

from app.simulator.errors import invalid


def extra_keys(path: str, obj: dict, allowed: set | frozenset) -> None:
    """Refuse a key the API does not define, as its validator says it."""
    for key in obj:
        if key not in allowed:
            prefix = f"{path}." if path else ""
            raise invalid(f"{prefix}{key}: Extra inputs are not permitted")


def check_cache_control(path: str, cc: object) -> None:
    if not isinstance(cc, dict):
        raise invalid(f"{path}: Input should be a valid dictionary")
    extra_keys(path, cc, {"type", "ttl"})
    if cc.get("type") != "ephemeral":
        raise invalid(f"{path}.type: Input should be 'ephemeral'")
    if "ttl" in cc and cc["ttl"] not in ("5m", "1h"):
        raise invalid(f"{path}.ttl: Input should be '5m' or '1h'")


# How deep a request body may nest (objects and arrays): a choice, the docs name no limit. A tool
# schema 120 levels deep is past anything a real tool declares; deeper bodies get a clean 400
# instead of failing deep inside the service (the simulator once answered 500 from 400 levels).
MAX_NESTING = 256


def check_json_shape(body: object) -> None:
    """A parsed body the service can work with: nested at most ``MAX_NESTING`` levels, and no
    string (key or value) holding a lone surrogate such as ``\\ud800`` (valid JSON, not Unicode)."""
    stack: list[tuple[object, int, str]] = [(body, 1, "")]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, dict | list) and depth > MAX_NESTING:
            raise invalid(f"{path or 'body'}: nested more than {MAX_NESTING} levels deep")
        if isinstance(value, dict):
            for key, item in value.items():
                where = f"{path}.{key}" if path else str(key)
                _check_unicode(where, key)
                stack.append((item, depth + 1, where))
        elif isinstance(value, list):
            stack.extend((item, depth + 1, f"{path}.{i}") for i, item in enumerate(value))
        elif isinstance(value, str):
            _check_unicode(path, value)


def _check_unicode(path: str, text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = text[exc.start : exc.end].encode("unicode_escape").decode("ascii")
        raise invalid(
            f"{path or 'body'}: the string holds an unpaired surrogate ({bad}), which is not"
            " valid Unicode"
        ) from None
