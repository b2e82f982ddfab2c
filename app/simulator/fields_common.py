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
