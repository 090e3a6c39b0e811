"""Errors the API turns into HTTP responses, raised by the service layer.

The service layer (catalog checks, scope rules, store access) knows nothing about HTTP, but it
knows *why* a request cannot be answered; each class fixes the status code for that reason so
routes do not have to re-decide it.
"""

from __future__ import annotations

from typing import Any, Literal

__all__ = [
    "ApiError",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "Gone",
    "LimitName",
    "NotFound",
    "TooManyRequests",
    "Unauthorized",
    "Unavailable",
]

LimitName = Literal[
    "requests_per_minute", "distinct_queries_per_snapshot", "distinct_queries_per_release"
]


class ApiError(Exception):
    status_code = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def body(self) -> dict[str, Any]:
        """The JSON error body (every error has ``detail``; some add machine-readable fields)."""
        return {"detail": self.detail}


class Unauthorized(ApiError):
    """No key, an unknown key, or a revoked key."""

    status_code = 401


class Forbidden(ApiError):
    """A valid key whose role or scope does not allow the request."""

    status_code = 403


class NotFound(ApiError):
    status_code = 404


class Conflict(ApiError):
    """A request the resource cannot take by its kind (a table asked of a downloadable file)."""

    status_code = 409


class Gone(ApiError):
    """A release the catalog no longer hands out (withdrawn, retired, or past its availability);
    its entry and citation stay."""

    status_code = 410


class BadRequest(ApiError):
    """Unknown metric or dimension, or parameters that do not fit together."""

    status_code = 422


class Unavailable(ApiError):
    """No published snapshot yet, a snapshot that fails verification, or no audit log."""

    status_code = 503


class TooManyRequests(ApiError):
    """A key over one of its role's limits (``limit``); ``retry_after`` whole seconds from now
    the request may succeed, ``resets`` says when the limit resets in words."""

    status_code = 429

    def __init__(self, detail: str, *, limit: LimitName, retry_after: int, resets: str) -> None:
        super().__init__(detail)
        self.limit: LimitName = limit
        self.retry_after = max(1, int(retry_after))
        self.resets = resets

    @property
    def outcome(self) -> str:
        """The audit log's outcome of the refusal."""
        return "rate_limited" if self.limit == "requests_per_minute" else "budget_exhausted"

    def body(self) -> dict[str, Any]:
        return {
            "detail": self.detail,
            "limit": self.limit,
            "retry_after": self.retry_after,
            "resets": self.resets,
        }
