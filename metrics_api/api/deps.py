"""Dependencies of the routes, as ``Annotated`` aliases (``CurrentKey``, ``Store``, ``Audit`` ...).

Everything a route needs lives on ``app.state.context`` (built once by ``create_app``), so
routes never read settings or the environment themselves and tests can build as many
independent apps as they like.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from lakehouse.audit_log import AuditLogError, HashChainedLog
from lakehouse.research_release import ResearchReleases
from lakehouse.settings import Settings
from metrics_api.catalog import Catalog
from metrics_api.errors import Unauthorized, Unavailable
from metrics_api.keys import KeyStore
from metrics_api.service import Caller, MetricService
from metrics_api.store import MetricStore

__all__ = [
    "AppContext",
    "Audit",
    "CurrentKey",
    "Releases",
    "Service",
    "Store",
    "audit_event",
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


def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


Context = Annotated[AppContext, Depends(get_context)]

_api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="API key issued with `merajut api key create`"
)
_bearer = HTTPBearer(auto_error=False, description="The same API key as a bearer token")


def get_current_key(
    context: Context,
    api_key: Annotated[str | None, Security(_api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Caller:
    presented = api_key or (bearer.credentials if bearer is not None else None)
    if not presented:
        raise Unauthorized("missing API key: send it as X-API-Key or Authorization: Bearer")
    record = context.keys.authenticate(presented)
    if record is None:
        raise Unauthorized("invalid API key")
    if record.revoked:
        raise Unauthorized("this API key has been revoked")
    return Caller(key_id=record.id, name=record.name, role=record.role, province=record.province)


CurrentKey = Annotated[Caller, Depends(get_current_key)]


def get_store(context: Context) -> MetricStore:
    return context.store


def get_service(context: Context) -> MetricService:
    return context.service


def get_audit(context: Context) -> HashChainedLog:
    return context.audit


def get_releases(context: Context) -> ResearchReleases:
    return context.releases


Store = Annotated[MetricStore, Depends(get_store)]
Service = Annotated[MetricService, Depends(get_service)]
Audit = Annotated[HashChainedLog, Depends(get_audit)]
Releases = Annotated[ResearchReleases, Depends(get_releases)]


def audit_event(
    audit: HashChainedLog,
    request: Request,
    caller: Caller,
    *,
    outcome: str,
    status: int,
    parameters: dict[str, Any],
    metric: str | None = None,
    release_id: str | None = None,
    rows: int = 0,
    snapshot_id: str | None = None,
    purpose: str | None = None,
) -> None:
    """Record who asked what, when, why, and what they got; fails closed (503, no data)."""
    try:
        audit.append(
            {
                "key_id": caller.key_id,
                "key_name": caller.name,
                "role": caller.role,
                "province_scope": caller.province,
                "method": request.method,
                "path": request.url.path,
                "metric": metric,
                "release_id": release_id,
                "parameters": parameters,
                "purpose": purpose,
                "outcome": outcome,
                "status": status,
                "rows": rows,
                "snapshot_id": snapshot_id,
            }
        )
    except (AuditLogError, OSError) as exc:
        raise Unavailable("the audit log cannot be written; no data is returned") from exc
