"""Errors the API turns into HTTP responses, raised by the service layer.

The service layer (catalog checks, scope rules, store access) knows nothing about HTTP, but it
knows *why* a request cannot be answered; each class fixes the status code for that reason so
routes do not have to re-decide it.
"""

from __future__ import annotations

__all__ = ["ApiError", "BadRequest", "Forbidden", "NotFound", "Unauthorized", "Unavailable"]


class ApiError(Exception):
    status_code = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Unauthorized(ApiError):
    """No key, an unknown key, or a revoked key."""

    status_code = 401


class Forbidden(ApiError):
    """A valid key whose role or scope does not allow the request."""

    status_code = 403


class NotFound(ApiError):
    status_code = 404


class BadRequest(ApiError):
    """Unknown metric or dimension, or parameters that do not fit together."""

    status_code = 422


class Unavailable(ApiError):
    """No published snapshot yet, a snapshot that fails verification, or no audit log."""

    status_code = 503
