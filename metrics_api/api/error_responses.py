"""An :class:`~metrics_api.errors.ApiError` as the HTTP answer every route gives for it."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from metrics_api.errors import ApiError, TooManyRequests

__all__ = ["error_response"]


def error_response(exc: ApiError) -> JSONResponse:
    headers: dict[str, str] | None = None
    if exc.status_code == 401:
        headers = {"WWW-Authenticate": 'Bearer, ApiKey header="X-API-Key"'}
    elif isinstance(exc, TooManyRequests):
        headers = {"Retry-After": str(exc.retry_after)}
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=headers)
