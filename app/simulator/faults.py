"""Faults on demand: per request with the ``x-sim-fault`` header, or at random with ``--fault``."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from app.simulator.errors import ApiError

FAULTS = (
    "overloaded",
    "rate_limit",
    "server_error",
    "stream_error",
    "disconnect",
    "stall",
    "invalid_key",
)


def parse_fault_spec(spec: str) -> tuple[str, float]:
    """``overloaded:0.2`` -> ("overloaded", 0.2)."""
    name, _, prob = spec.partition(":")
    if name not in FAULTS:
        raise ValueError(f"unknown fault {name!r}; choose from {', '.join(FAULTS)}")
    probability = float(prob) if prob else 1.0
    if not 0.0 <= probability <= 1.0:
        raise ValueError(f"fault probability must be between 0 and 1, got {probability}")
    return name, probability


@dataclass
class FaultPlan:
    """Random faults for every request, drawn from a seeded generator."""

    odds: list[tuple[str, float]] = field(default_factory=list)
    seed: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def pick(
        self, header: str | None, attempts_header: str | None, retry_count: str | None
    ) -> str | None:
        if header:
            name = header.strip()
            if name not in FAULTS:
                return None
            if attempts_header:
                try:
                    if int(retry_count or 0) >= int(attempts_header):
                        return None
                except ValueError:
                    return None
            return name
        for name, probability in self.odds:
            if self._rng.random() < probability:
                return name
        return None


def raise_early_fault(fault: str | None, retry_after_s: int) -> None:
    """The faults that answer before the response begins, as the API answers them."""
    if fault == "overloaded":
        raise ApiError(529, "overloaded_error", "Overloaded")
    if fault == "rate_limit":
        raise ApiError(
            429,
            "rate_limit_error",
            "This request would exceed your organization's rate limit (simulated).",
            {"retry-after": str(retry_after_s)},
        )
    if fault == "server_error":
        raise ApiError(500, "api_error", "Internal server error")
    if fault == "invalid_key":
        raise ApiError(401, "authentication_error", "invalid x-api-key")
