"""What every authenticated response says about its account (api/overview.md, "Response
headers"; api/rate-limits.md, "Response headers"): ``anthropic-organization-id``,
``anthropic-workspace-id``, and on Messages responses the ``anthropic-ratelimit-*`` headers.

The simulator enforces no rate limit (faults do that); the limits are a choice, a Tier 4
account's for Sonnet-class models as data below, counted per workspace over the current minute
of the simulator's clock, tokens rounded to the nearest thousand as the page says."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime

from app.simulator.store import key_hash

LIMITS = {"requests": 4_000, "input-tokens": 2_000_000, "output-tokens": 400_000}


def organization_id(owner: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"cachescope-sim/organization/{owner}"))


def workspace_id(owner: str) -> str:
    return "wrkspc_sim" + owner


class RateMeter:
    """Requests and tokens per workspace in the current minute."""

    def __init__(self, clock) -> None:
        self.clock = clock  # wall seconds (the simulator's)
        self.used: dict[tuple[str, int], dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def _window(self, owner: str) -> tuple[tuple[str, int], float]:
        minute = int(self.clock() // 60)
        return (owner, minute), (minute + 1) * 60.0

    def record(self, owner: str, input_tokens: int, output_tokens: int) -> None:
        key, _ = self._window(owner)
        used = self.used[key]
        used["requests"] += 1
        used["input-tokens"] += input_tokens
        used["output-tokens"] += output_tokens
        for old in [k for k in self.used if k[0] == owner and k[1] < key[1]]:
            del self.used[old]

    def headers(self, owner: str) -> dict[str, str]:
        key, reset = self._window(owner)
        used = self.used.get(key, {})
        stamp = datetime.fromtimestamp(reset, UTC).isoformat().replace("+00:00", "Z")
        out: dict[str, str] = {}
        limits = {**LIMITS, "tokens": LIMITS["input-tokens"] + LIMITS["output-tokens"]}
        spent = {**used, "tokens": used.get("input-tokens", 0) + used.get("output-tokens", 0)}
        for name, limit in limits.items():
            left = max(0, limit - spent.get(name, 0))
            if name != "requests":
                left = round(left, -3)
            out[f"anthropic-ratelimit-{name}-limit"] = str(limit)
            out[f"anthropic-ratelimit-{name}-remaining"] = str(left)
            out[f"anthropic-ratelimit-{name}-reset"] = stamp
        return out


def account_headers(owner: str) -> dict[str, str]:
    return {
        "anthropic-organization-id": organization_id(owner),
        "anthropic-workspace-id": workspace_id(owner),
    }


def response_headers(meter: RateMeter, path: str, api_key: str, status: int) -> dict[str, str]:
    """The organization, workspace and (on Messages) rate-limit headers of an authenticated
    /v1 response (none when authentication failed)."""
    if not path.startswith("/v1/") or not api_key.strip() or status == 401:
        return {}
    owner = key_hash(api_key.strip())
    out = account_headers(owner)
    if path.startswith("/v1/messages"):
        out.update(meter.headers(owner))
    return out
