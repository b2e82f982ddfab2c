"""The API's error shape."""

from __future__ import annotations


class ApiError(Exception):
    """An error the simulator answers with the real status and error type."""

    def __init__(self, status: int, error_type: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.headers = headers or {}
        self.details: dict | None = None  # the error's machine-readable details, when it has any


def invalid(message: str) -> ApiError:
    return ApiError(400, "invalid_request_error", message)


def error_body(error_type: str, message: str, request_id: str, details: dict | None = None) -> dict:
    error = {"type": error_type, "message": message}
    if details:
        error["details"] = details
    return {"type": "error", "error": error, "request_id": request_id}
