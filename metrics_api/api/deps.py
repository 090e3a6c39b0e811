"""Dependencies of the routes, as ``Annotated`` aliases (``CurrentKey``, ``Store``, ``Audit`` ...).

Everything a route needs lives on ``app.state.context`` (built once by ``create_app``), so
routes never read settings or the environment themselves and tests can build as many
independent apps as they like.

The data routes take ``LimitedKey`` (the key, after its requests-per-minute check) and the
metric route ``QueryBudget`` too (its distinct-query ticket): both run before the route's body,
so a refusal (429, audited) reads no data at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn, Required, TypedDict, Unpack

from fastapi import Depends, Header, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from lakehouse.audit_log import AuditLogError, HashChainedLog
from lakehouse.gold_snapshot import SNAPSHOT_ID_PATTERN
from lakehouse.release_catalog import ReleaseCatalog
from lakehouse.research_release import ResearchReleases
from lakehouse.settings import Settings
from metrics_api.catalog import Catalog
from metrics_api.enclave import EnclaveRecords
from metrics_api.errors import ApiError, TooManyRequests, Unauthorized, Unavailable
from metrics_api.keys import KeyStore
from metrics_api.limits import BudgetTicket, KeyLimiter, query_fingerprint
from metrics_api.release_access import AccessRecords, Agreement
from metrics_api.service import Caller, MetricService
from metrics_api.store import MetricStore

__all__ = [
    "Access",
    "AppContext",
    "Audit",
    "CurrentKey",
    "DataUseAgreement",
    "Enclave",
    "Entries",
    "LimitedKey",
    "Limiter",
    "PurposeHeader",
    "QueryBudget",
    "Releases",
    "Service",
    "Store",
    "audit_event",
    "authenticate",
    "budget_place",
]


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    catalog: Catalog
    store: MetricStore
    service: MetricService
    keys: KeyStore
    audit: HashChainedLog
    releases: ResearchReleases
    limiter: KeyLimiter
    enclave: EnclaveRecords
    #: Every release ever published and what became of it (status, identifier, citation).
    entries: ReleaseCatalog
    access: AccessRecords
    agreement: Agreement


async def get_context(request: Request) -> AppContext:
    # The accessors are coroutines although they never wait: FastAPI runs a plain function
    # dependency in its thread pool, and a hop there and back per dependency per request cost
    # more than the cached answer itself.
    context: AppContext = request.app.state.context
    return context


Context = Annotated[AppContext, Depends(get_context)]

_api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="API key issued with `merajut api key create`"
)
_bearer = HTTPBearer(auto_error=False, description="The same API key as a bearer token")


async def get_current_key(
    context: Context,
    api_key: Annotated[str | None, Security(_api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Caller:
    # On the event loop: a stat of the key file (re-read only when it changed) and one HMAC.
    return authenticate(context, api_key or (bearer.credentials if bearer is not None else None))


def authenticate(context: AppContext, presented: str | None) -> Caller:
    """The caller a presented key stands for, or :class:`Unauthorized`."""
    if not presented:
        raise Unauthorized("missing API key: send it as X-API-Key or Authorization: Bearer")
    record = context.keys.authenticate(presented)
    if record is None:
        raise Unauthorized("invalid API key")
    if record.revoked:
        raise Unauthorized("this API key has been revoked")
    return Caller(key_id=record.id, name=record.name, role=record.role, province=record.province)


CurrentKey = Annotated[Caller, Depends(get_current_key)]


async def get_store(context: Context) -> MetricStore:
    return context.store


async def get_service(context: Context) -> MetricService:
    return context.service


async def get_audit(context: Context) -> HashChainedLog:
    return context.audit


async def get_releases(context: Context) -> ResearchReleases:
    return context.releases


async def get_limiter(context: Context) -> KeyLimiter:
    return context.limiter


async def get_enclave(context: Context) -> EnclaveRecords:
    return context.enclave


async def get_entries(context: Context) -> ReleaseCatalog:
    return context.entries


async def get_access(context: Context) -> AccessRecords:
    return context.access


async def get_agreement(context: Context) -> Agreement:
    return context.agreement


Store = Annotated[MetricStore, Depends(get_store)]
Service = Annotated[MetricService, Depends(get_service)]
Audit = Annotated[HashChainedLog, Depends(get_audit)]
Releases = Annotated[ResearchReleases, Depends(get_releases)]
Limiter = Annotated[KeyLimiter, Depends(get_limiter)]
Enclave = Annotated[EnclaveRecords, Depends(get_enclave)]
Entries = Annotated[ReleaseCatalog, Depends(get_entries)]
Access = Annotated[AccessRecords, Depends(get_access)]
DataUseAgreement = Annotated[Agreement, Depends(get_agreement)]
PurposeHeader = Annotated[
    str | None,
    Header(
        alias="X-Purpose",
        max_length=200,
        description="Why you ask (recorded in the audit log), e.g. a case or DUA reference",
    ),
]

#: Query parameters a refusal's audit record keeps (those of the data routes).
_AUDITED_QUERY = ("dimensions", "grain", "from", "to", "province", "format", "snapshot")
_SNAPSHOT_ID = re.compile(SNAPSHOT_ID_PATTERN)


def _refuse(
    context: AppContext,
    request: Request,
    caller: Caller,
    exc: TooManyRequests,
    snapshot_id: str | None = None,
) -> NoReturn:
    """Record a 429 as every refusal is recorded (503 if it cannot be), then raise it."""
    purpose = request.headers.get("X-Purpose")
    audit_event(
        context.audit,
        request,
        caller,
        outcome=exc.outcome,
        status=exc.status_code,
        parameters={n: v for n, v in request.query_params.items() if n in _AUDITED_QUERY},
        metric=request.path_params.get("name"),
        release_id=request.path_params.get("release_id"),
        snapshot_id=snapshot_id,
        purpose=purpose[:200] if purpose else None,
    )
    raise exc


async def get_limited_key(request: Request, context: Context, caller: CurrentKey) -> Caller:
    """The caller, once its data request fits its role's requests per minute (counted in
    memory, on the event loop; a refusal's audit record is written in the thread pool)."""
    try:
        context.limiter.hit(caller.key_id, caller.role)
    except TooManyRequests as exc:
        await run_in_threadpool(_refuse, context, request, caller, exc)
    return caller


LimitedKey = Annotated[Caller, Depends(get_limited_key)]


def get_query_budget(
    request: Request, context: Context, caller: LimitedKey
) -> Iterator[BudgetTicket]:
    """The metric query's place in the key's distinct-query budget of the snapshot it asks
    (the current one, or the candidate a reviewer previews).

    Taken from the raw request before the route reads anything, and given back if the route
    ends without an answer (403, 422, 503); the route settles it once it has the answer.
    """
    query = request.query_params
    snapshot_id, fingerprint = budget_place(context, caller, request.path_params["name"], query)
    try:
        ticket = context.limiter.admit_query(caller.key_id, caller.role, snapshot_id, fingerprint)
    except TooManyRequests as exc:
        _refuse(context, request, caller, exc, snapshot_id)
    try:
        yield ticket
    except BaseException:
        ticket.refund()
        raise


QueryBudget = Annotated[BudgetTicket, Depends(get_query_budget)]


def budget_place(
    context: AppContext, caller: Caller, metric: str, query: Mapping[str, str]
) -> tuple[str | None, str]:
    """(the snapshot a metric query is charged on, None when the role has no budget or nothing
    is published; the query's fingerprint), from the raw query parameters."""
    snapshot_id = None
    if context.limiter.for_role(caller.role).distinct_queries_per_snapshot is not None:
        # A preview counts against the candidate's budget (a budget is per snapshot); whether
        # the caller may preview it is the route's decision, and a refusal refunds the ticket.
        asked = query.get("snapshot")
        if asked is not None and _SNAPSHOT_ID.match(asked):
            snapshot_id = asked
        else:
            try:
                snapshot = context.store.current()
            except ApiError:
                snapshot = None  # the route answers with the store's own error
            snapshot_id = snapshot.id if snapshot is not None else None
    fingerprint = query_fingerprint(
        metric,
        dimensions=query.get("dimensions"),
        grain=query.get("grain"),
        date_from=query.get("from"),
        date_to=query.get("to"),
        province=query.get("province"),
        scope=caller.province,
    )
    return snapshot_id, fingerprint


class AuditFields(TypedDict, total=False):
    """What a route says of a request in its audit record (the key and the request itself are
    filled in by :func:`audit_record`)."""

    outcome: Required[str]
    status: Required[int]
    parameters: Required[dict[str, Any]]
    metric: str | None
    release_id: str | None
    rows: int
    snapshot_id: str | None
    purpose: str | None


def audit_event(
    audit: HashChainedLog, request: Request, caller: Caller, **fields: Unpack[AuditFields]
) -> None:
    """Record who asked what, when, why, and what they got; fails closed (503, no data)."""
    try:
        audit.append(audit_record(request, caller, **fields))
    except (AuditLogError, OSError) as exc:
        raise Unavailable("the audit log cannot be written; no data is returned") from exc


async def audit_event_async(
    audit: HashChainedLog, request: Request, caller: Caller, **fields: Unpack[AuditFields]
) -> None:
    """:func:`audit_event` for a coroutine (returns once the record is durable)."""
    try:
        await audit.append_async(audit_record(request, caller, **fields))
    except (AuditLogError, OSError) as exc:
        raise Unavailable("the audit log cannot be written; no data is returned") from exc


def audit_record(request: Request, caller: Caller, **fields: Unpack[AuditFields]) -> dict[str, Any]:
    """What an audit record of one request says: who asked what, when, why, what they got."""
    return {
        "key_id": caller.key_id,
        "key_name": caller.name,
        "role": caller.role,
        "province_scope": caller.province,
        "method": request.method,
        "path": request.url.path,
        "metric": fields.get("metric"),
        "release_id": fields.get("release_id"),
        "parameters": fields["parameters"],
        "purpose": fields.get("purpose"),
        "outcome": fields["outcome"],
        "status": fields["status"],
        "rows": fields.get("rows", 0),
        "snapshot_id": fields.get("snapshot_id"),
    }
