"""Typed failures: every way a request can fail, as one value the UI can show."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from app.facts.redact import redact

if TYPE_CHECKING:  # the SDK takes a second or more to import: only when a request fails
    import anthropic


@dataclass(frozen=True)
class Failure:
    kind: str  # auth, permission, rate_limited, overloaded, server, network, timeout,
    #            too_large, invalid_request, not_found, unknown
    message: str  # one sentence for the user
    status: int | None = None
    retry_after_s: float | None = None
    api_message: str = ""  # the API's own words, when it sent any

    def __post_init__(self) -> None:
        # Whatever a failure says is shown and logged: never with a URL's password or a key.
        object.__setattr__(self, "message", redact(self.message))
        object.__setattr__(self, "api_message", redact(self.api_message))


@cache
def _http_errors() -> tuple[type, type]:
    for name in ("httpx2", "httpx"):
        try:
            module = importlib.import_module(name)
            return module.TimeoutException, module.TransportError
        except ImportError:
            continue
    return TimeoutError, ConnectionError


def _api_message(exc: anthropic.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"]
    return str(exc.message)


def _retry_after(exc: anthropic.APIStatusError) -> float | None:
    value = exc.response.headers.get("retry-after") if exc.response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def classify(exc: BaseException) -> Failure:
    """Turn an SDK or transport exception (raised after the SDK's retries) into a Failure."""
    import anthropic

    timeout_errors, transport_errors = _http_errors()
    if isinstance(exc, anthropic.APIStatusError):
        status, said = exc.status_code, _api_message(exc)
        body_type = ""
        if isinstance(exc.body, dict) and isinstance(exc.body.get("error"), dict):
            body_type = exc.body["error"].get("type", "")
        if isinstance(exc, anthropic.AuthenticationError):
            return Failure(
                "auth", "The API key was refused. Check it in Settings.", status, None, said
            )
        if isinstance(exc, anthropic.PermissionDeniedError):
            return Failure("permission", f"This key may not do that: {said}", status, None, said)
        if isinstance(exc, anthropic.RateLimitError):
            wait = _retry_after(exc)
            when = f" Try again in {wait:.0f} s." if wait else " Try again shortly."
            return Failure("rate_limited", "Rate limited by the API." + when, status, wait, said)
        if status == 529 or body_type == "overloaded_error":
            return Failure(
                "overloaded",
                "The API is overloaded right now. Try again shortly.",
                status,
                None,
                said,
            )
        if status == 413 or body_type == "request_too_large":
            return Failure(
                "too_large",
                "The request is too large (over 32 MB). Remove an image "
                "or start a new conversation.",
                status,
                None,
                said,
            )
        if isinstance(exc, anthropic.NotFoundError):
            return Failure("not_found", f"Not found: {said}", status, None, said)
        if isinstance(exc, anthropic.BadRequestError):
            return Failure(
                "invalid_request", f"The API refused the request: {said}", status, None, said
            )
        if status >= 500:
            return Failure(
                "server", f"The API failed ({status}). Try again shortly.", status, None, said
            )
        return Failure("unknown", f"The API answered {status}: {said}", status, None, said)
    if isinstance(exc, anthropic.APITimeoutError | timeout_errors):
        return Failure("timeout", "The API stopped answering (timed out).")
    if isinstance(exc, anthropic.APIConnectionError | transport_errors | ConnectionError):
        return Failure("network", "The connection to the API failed or dropped. Check the network.")
    return Failure("unknown", f"Unexpected error: {type(exc).__name__}: {exc}")
