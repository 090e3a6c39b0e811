"""Repeated metric queries answered without FastAPI's per-request machinery.

Why: a cached answer is a prepared body, yet the route spent most of each request in the
framework (resolving a dozen parameters and six dependencies, thread-pool hops); measured
with wrk, a bare FastAPI app sent the same 267 kB answer about eight times as fast.

This ASGI middleware takes only the plainest case: ``GET /v1/metrics/<name>`` whose every
query parameter is one the route knows, given once, in its strict form (an ISO date, a
two-digit province, a known grain and format); a valid, unrevoked key; a request the key's
per-minute limit admits; and, where the role has a distinct-query budget, a query this key
was already answered on the current snapshot (so no new place is taken). Anything else goes
to the route untouched, before any side effect. Once admitted, the answer comes from the same
:func:`~metrics_api.api.routes.metrics.serve_metric` the route calls (scope, suppression,
disclosure ledger, audit record before the answer leaves), in one thread-pool call, and an
error after admission is rendered by the app's own error handler.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal, cast
from urllib.parse import parse_qsl

from fastapi.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from metrics_api.api.deps import AppContext, authenticate, budget_place
from metrics_api.api.error_responses import error_response
from metrics_api.api.routes.metrics import MetricQuery, serve_cached_metric, serve_metric
from metrics_api.errors import ApiError
from metrics_api.limits import BudgetTicket
from metrics_api.service import Caller

__all__ = ["CachedAnswers"]

_PATH = re.compile(r"/v1/metrics/([A-Za-z0-9_]+)")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PROVINCE = re.compile(r"[0-9]{2}")
_GRAINS = ("quarter", "year", "month")
_FORMATS = ("json", "csv")
#: Longest values the route accepts (its Query/Header max_length).
_MAX_DIMENSIONS, _MAX_PURPOSE, _MAX_IF_NONE_MATCH = 200, 200, 1000


def _strict_query(raw: bytes) -> dict[str, str] | None:
    """The query parameters if each is known, once, and in the form the route would accept
    unchanged; None sends the request to the route."""
    try:
        pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True, strict_parsing=False)
    except ValueError:
        return None
    query = dict(pairs)
    if len(query) != len(pairs):
        return None
    for name, value in query.items():
        ok = (
            (name == "dimensions" and 0 < len(value) <= _MAX_DIMENSIONS)
            or (name == "grain" and value in _GRAINS)
            or (name == "format" and value in _FORMATS)
            or (name == "province" and _PROVINCE.fullmatch(value) is not None)
            or (name in ("from", "to") and _iso_date(value) is not None)
        )
        if not ok:
            return None
    return query


def _iso_date(value: str) -> date | None:
    if not _DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


class CachedAnswers:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        admitted = self._admit(scope) if scope["type"] == "http" else None
        if admitted is None:
            await self.app(scope, receive, send)
            return
        context, caller, ticket, query = admitted
        request = Request(scope, receive)
        try:
            # An answer this process holds is served on the loop; one it must compute (or
            # refuse, with its audit record) in a thread, off the loop.
            response = await serve_cached_metric(
                request, caller, ticket, context.service, context.audit, query
            )
            if response is None:
                response = await run_in_threadpool(
                    serve_metric, request, caller, ticket, context.service, context.audit, query
                )
        except ApiError as exc:
            ticket.refund()
            response = error_response(exc)
        except BaseException:
            ticket.refund()
            raise
        await response(scope, receive, send)

    @staticmethod
    def _admit(scope: Scope) -> tuple[AppContext, Caller, BudgetTicket, MetricQuery] | None:
        """Everything the route's dependencies would check, without a side effect until the
        key's per-minute count is taken (the last step): None sends the request on."""
        if scope["method"] != "GET":
            return None
        path = _PATH.fullmatch(scope["path"])
        app = scope.get("app")
        if path is None or app is None:
            return None
        query = _strict_query(scope.get("query_string", b""))
        if query is None:
            return None
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            name = raw_name.decode("latin-1").lower()
            if name in headers:
                return None  # a repeated header: the route decides which one counts
            headers[name] = raw_value.decode("latin-1")
        purpose, tag = headers.get("x-purpose"), headers.get("if-none-match")
        if (purpose is not None and len(purpose) > _MAX_PURPOSE) or (
            tag is not None and len(tag) > _MAX_IF_NONE_MATCH
        ):
            return None
        context: AppContext = app.state.context
        try:
            caller = authenticate(context, _presented(headers))
        except ApiError:
            return None
        metric = path.group(1)
        snapshot_id, fingerprint = budget_place(context, caller, metric, query)
        limiter = context.limiter
        if snapshot_id is not None and not limiter.budget.answered(
            caller.key_id, snapshot_id, fingerprint
        ):
            return None  # a new distinct query: the route charges it (or refuses it)
        try:
            limiter.hit(caller.key_id, caller.role)
        except ApiError:
            return None  # over the limit (not counted): the route refuses and audits it
        if snapshot_id is None:
            ticket = BudgetTicket.free(caller.key_id)
        else:
            ticket = limiter.admit_query(caller.key_id, caller.role, snapshot_id, fingerprint)
        grain = query.get("grain")
        fmt = query.get("format", "json")
        return (
            context,
            caller,
            ticket,
            MetricQuery(
                metric,
                dimensions=query.get("dimensions"),
                grain=cast(Literal["quarter", "year", "month"] | None, grain),
                date_from=_iso_date(query["from"]) if "from" in query else None,
                date_to=_iso_date(query["to"]) if "to" in query else None,
                province=query.get("province"),
                format=cast(Literal["json", "csv"], fmt),
                purpose=purpose,
                if_none_match=tag,
            ),
        )


def _presented(headers: dict[str, str]) -> str | None:
    """The key as the route reads it: X-API-Key, else an ``Authorization: Bearer`` token."""
    key = headers.get("x-api-key")
    if key:
        return key
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None
