"""``/v1/metrics``: the catalog as the caller may see it, and metric values."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response

from lakehouse.audit_log import HashChainedLog
from lakehouse.gold_snapshot import SNAPSHOT_ID_PATTERN
from lakehouse.reference.purposes import PURPOSES
from metrics_api.api.answer_bodies import csv_body, json_body
from metrics_api.api.deps import (
    Audit,
    AuditFields,
    CurrentKey,
    LimitedKey,
    Limiter,
    PurposeHeader,
    QueryBudget,
    Service,
    Store,
    audit_event,
    audit_event_async,
)
from metrics_api.errors import ApiError, Forbidden, NotFound
from metrics_api.limits import BudgetTicket
from metrics_api.models import (
    ErrorMessage,
    KeyLimits,
    MetricCatalog,
    MetricInfo,
    MetricResult,
    RateLimitMessage,
)
from metrics_api.service import Caller, MetricAnswer, MetricRequest, MetricService

router = APIRouter(prefix="/v1/metrics", tags=["metrics"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorMessage, "description": "Missing, invalid or revoked API key"},
    403: {
        "model": ErrorMessage,
        "description": "Role or province scope does not allow this (a candidate snapshot too, "
        "but for government and admin keys)",
    },
    404: {"model": ErrorMessage, "description": "`snapshot` names no candidate awaiting approval"},
    422: {"description": "Unknown metric or dimension, or invalid parameters"},
    429: {
        "model": RateLimitMessage,
        "description": "Over your requests per minute or distinct queries per snapshot",
        "headers": {"Retry-After": {"description": "Seconds", "schema": {"type": "integer"}}},
    },
    503: {"model": ErrorMessage, "description": "No snapshot published, or audit log unavailable"},
}


@router.get(
    "",
    operation_id="list_metrics",
    summary="Metrics your key may read",
    response_model=MetricCatalog,
    responses={k: v for k, v in _ERRORS.items() if k in (401, 503)},
)
def list_metrics(
    caller: CurrentKey, service: Service, store: Store, limiter: Limiter
) -> MetricCatalog:
    """The catalog filtered to the caller's role, with the threshold and geography applied,
    and the key's limits (with the distinct queries it has used of the current snapshot)."""
    snapshot = store.current()
    snapshot_id = snapshot.id if snapshot else None
    limits = limiter.for_role(caller.role)
    infos = []
    for metric in service.catalog.visible_to(caller.role):
        rule = metric.rule_for(caller.role)
        assert rule is not None
        infos.append(
            MetricInfo(
                name=metric.name,
                description=metric.description.strip(),
                unit=metric.unit,
                kind=metric.kind,
                dimensions=[
                    d
                    for d in metric.dimension_names
                    if not (rule.finest_geography == "national" and d == metric.geography_dimension)
                ],
                grains=list(metric.time.grains),
                stock=metric.stock,
                threshold=rule.threshold,
                finest_geography=rule.finest_geography,
                purpose=rule.purpose,
                population=PURPOSES[rule.purpose].population,
            )
        )
    return MetricCatalog(
        role=caller.role,
        province_scope=caller.province,
        snapshot_id=snapshot_id,
        limits=KeyLimits(
            requests_per_minute=limits.requests_per_minute,
            distinct_queries_per_snapshot=limits.distinct_queries_per_snapshot,
            distinct_queries_used=limiter.used(caller.key_id, caller.role, snapshot_id),
        ),
        metrics=infos,
    )


@router.get(
    "/{name}",
    operation_id="query_metric",
    summary="Values of one metric, broken down by the requested dimensions",
    response_model=MetricResult,
    responses={
        **_ERRORS,
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "headers": {"ETag": {"description": "The answer's hash, for If-None-Match"}},
        },
        304: {"description": "The answer named by If-None-Match is still current (no body)"},
    },
)
def query_metric(
    request: Request,
    caller: LimitedKey,
    budget: QueryBudget,
    service: Service,
    audit: Audit,
    name: str,
    purpose: PurposeHeader = None,
    dimensions: Annotated[
        str | None,
        Query(
            max_length=200,
            examples=["province,quarter"],
            description="Comma-separated breakdown, e.g. `province,quarter` (see GET /v1/metrics)",
        ),
    ] = None,
    grain: Annotated[
        Literal["quarter", "year", "month"] | None,
        Query(description="Time grain; the same as adding it to `dimensions`"),
    ] = None,
    date_from: Annotated[
        date | None,
        Query(alias="from", description="First day of the first period included (whole periods)"),
    ] = None,
    date_to: Annotated[
        date | None,
        Query(alias="to", description="First or last day of the last period included"),
    ] = None,
    province: Annotated[
        str | None, Query(pattern=r"^[0-9]{2}$", description="Two-digit BPS province code")
    ] = None,
    format: Annotated[Literal["json", "csv"], Query(description="Response format")] = "json",
    snapshot: Annotated[
        str | None,
        Query(
            pattern=SNAPSHOT_ID_PATTERN,
            description="Preview a candidate snapshot awaiting a data steward's approval "
            "(government and admin keys; audited). Without it, CURRENT: the approved snapshot "
            "every role is served",
        ),
    ] = None,
    if_none_match: Annotated[
        str | None,
        Header(
            alias="If-None-Match",
            max_length=1000,
            description="The ETag of an answer you hold: 304 (no body) when it is still current",
        ),
    ] = None,
) -> Any:
    """Aggregated values; cells below your threshold (and their complements) are hidden.

    Every hidden row says `suppressed: true` and why. Community and media answers are
    perturbed: every shown row says `perturbed: true` and how far its counts may be from the
    truth (`max_abs_error`), and `perturbation` says how (see GET /v1/perturbation). JSON and
    CSV carry the same numbers; the snapshot id is in the body (JSON) and in the
    `X-Snapshot-Id` header (both), and whether it is approved in `X-Snapshot-Status`.

    Every role is answered from CURRENT, the snapshot a data steward approved. Government and
    admin keys may preview a candidate awaiting approval with `snapshot=<id>` (audited; answers
    say `snapshot_status: candidate`); any other role asking for a snapshot but CURRENT gets 403.

    Each query you have not asked of the current snapshot yet takes one place in your
    distinct-query budget (dimensions in any order are one query; the format does not count);
    over it, or over your requests per minute, the answer is a 429 with `Retry-After`.
    """
    query = MetricQuery(
        name, dimensions, grain, date_from, date_to, province, format, snapshot, purpose,
        if_none_match,
    )  # fmt: skip
    return serve_metric(request, caller, budget, service, audit, query)


@dataclass(frozen=True)
class MetricQuery:
    """One metric request's parameters, validated: what the route and the cached-answer path
    (:mod:`metrics_api.api.cached_answers`) both hand to :func:`serve_metric`."""

    name: str
    dimensions: str | None = None
    grain: Literal["quarter", "year", "month"] | None = None
    date_from: date | None = None
    date_to: date | None = None
    province: str | None = None
    format: Literal["json", "csv"] = "json"
    snapshot: str | None = None
    purpose: str | None = None
    if_none_match: str | None = None

    @property
    def request(self) -> MetricRequest:
        return MetricRequest(
            self.name, self.dimensions, self.grain, self.date_from, self.date_to, self.province,
            self.snapshot,
        )  # fmt: skip

    @property
    def parameters(self) -> dict[str, Any]:
        """As the audit record keeps them."""
        return {
            "dimensions": self.dimensions,
            "grain": self.grain,
            "from": self.date_from,
            "to": self.date_to,
            "province": self.province,
            "format": self.format,
            "snapshot": self.snapshot,
        }


def serve_metric(
    request: Request,
    caller: Caller,
    budget: BudgetTicket,
    service: MetricService,
    audit: HashChainedLog,
    query: MetricQuery,
) -> Response:
    """The answer to an admitted metric query (its key authenticated, its requests per minute
    and its distinct-query place taken), audited before it leaves."""
    try:
        answer = service.answer(caller, query.request)
    except (Forbidden, NotFound) as exc:
        # Refusals are audited too: repeated probing of other provinces (or of candidate
        # snapshots) is worth seeing.
        audit_event(
            audit, request, caller, outcome="denied" if isinstance(exc, Forbidden) else "not_found",
            status=exc.status_code, parameters=query.parameters, metric=query.name,
            snapshot_id=query.snapshot, purpose=query.purpose,
        )  # fmt: skip
        raise
    reply = _Reply.of(answer, caller, budget, service, query)
    audit_event(audit, request, caller, **reply.audit)
    return reply.response


async def serve_cached_metric(
    request: Request,
    caller: Caller,
    budget: BudgetTicket,
    service: MetricService,
    audit: HashChainedLog,
    query: MetricQuery,
) -> Response | None:
    """:func:`serve_metric` on the event loop for an answer this process holds already (the
    same checks, bytes, headers and audit record; the record made durable by the audit log's
    syncer thread while the loop serves others). None, with nothing done, when the answer is
    not held or is refused: the caller then runs :func:`serve_metric` in a thread, which
    computes it or audits the refusal."""
    try:
        answer = service.cached_answer(caller, query.request)
    except ApiError:
        return None
    if answer is None:
        return None
    reply = _Reply.of(answer, caller, budget, service, query)
    await audit_event_async(audit, request, caller, **reply.audit)
    return reply.response


@dataclass(frozen=True)
class _Reply:
    """An answer as it leaves: the response, and what its audit record says."""

    response: Response
    audit: AuditFields

    @classmethod
    def of(
        cls,
        answer: MetricAnswer,
        caller: Caller,
        budget: BudgetTicket,
        service: MetricService,
        query: MetricQuery,
    ) -> _Reply:
        budget.settle(answer.snapshot_id)  # charged for good before the answer leaves
        format = query.format
        body_key = (*answer.key, format)
        prepared = service.bodies.get(body_key)
        if prepared is None:
            body = csv_body(answer) if format == "csv" else json_body(answer, caller)
            prepared = (body, f'"{hashlib.sha256(body).hexdigest()[:40]}"')
            service.bodies.put(body_key, prepared)
        body, etag = prepared
        headers = {
            "X-Snapshot-Id": answer.snapshot_id,
            "X-Snapshot-Status": "candidate" if answer.candidate else "approved",
            # A client may keep the answer (never a shared cache) but asks again each time; the
            # ETag is the answer's hash, so a new snapshot with the same numbers is a 304 too.
            "Cache-Control": "private, no-cache",
            "ETag": etag,
        }
        if answer.perturbed:
            headers["X-Perturbed"] = "cell-key"
        if format == "csv":
            filename = f"{answer.metric.name}-{answer.snapshot_id}.csv"
            headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        unchanged = query.if_none_match is not None and _matches(query.if_none_match, etag)
        # Every answer is audited before it leaves, a "you have it already" too.
        audit: AuditFields = {
            "outcome": ("preview_" if answer.candidate else "")
            + ("not_modified" if unchanged else "ok"),
            "status": 304 if unchanged else 200,
            "parameters": query.parameters,
            "metric": query.name,
            "rows": len(answer.frame),
            "snapshot_id": answer.snapshot_id,
            "purpose": query.purpose,
        }
        if unchanged:
            return cls(Response(status_code=304, headers=headers), audit)
        media = "text/csv; charset=utf-8" if format == "csv" else "application/json"
        return cls(Response(body, media_type=media, headers=headers), audit)


def _matches(if_none_match: str, etag: str) -> bool:
    """Whether an If-None-Match header names ``etag`` (weak tags compared by their value, as
    RFC 9110 has it for If-None-Match) or is ``*``."""
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag in tags
