"""The FastAPI application factory of the metrics API.

``create_app(settings)`` builds everything (catalog, store, key store, audit log, cache) and
stores it on ``app.state``; nothing happens at import time, so tests build isolated apps and
``uvicorn --factory metrics_api.main:create_app`` reads the environment only when it starts.
"""

from __future__ import annotations

import time
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from lakehouse.audit_log import HashChainedLog
from lakehouse.disclosure_ledger import ServedCells
from lakehouse.gold_snapshot import GoldSnapshots
from lakehouse.release_catalog import ReleaseCatalog
from lakehouse.research_release import ResearchReleases
from lakehouse.settings import ConfigError, Settings, get_settings
from lakehouse.signoff import SnapshotReviews
from metrics_api.api.cached_answers import CachedAnswers
from metrics_api.api.deps import AppContext
from metrics_api.api.error_responses import error_response
from metrics_api.api.main import api_router
from metrics_api.catalog import PACKAGED_CATALOG, Limits, load_catalog
from metrics_api.docs import install_docs
from metrics_api.enclave import EnclaveRecords
from metrics_api.errors import ApiError
from metrics_api.keys import KeyStore
from metrics_api.ledger import DisclosureLedger
from metrics_api.limits import Clock, KeyLimiter
from metrics_api.models import InvalidRequest, ParameterProblem
from metrics_api.release_access import AccessRecords, Agreement, agreement_path
from metrics_api.service import MetricService, ResultCache
from metrics_api.store import LakeSnapshotStore, MetricStore, WarehouseSnapshotStore

__all__ = ["budget_path", "build_store", "create_app"]

DESCRIPTION = """\
Aggregate statistics of the MerajutASA child-welfare platform, from the published gold
snapshot. Every key has a role (government, business, researcher, community, media, admin)
and optionally a province scope; counts below the role's threshold are hidden together with
the cells that would reveal them. Research releases (`/v1/releases`): a catalog of every
release ever published, each with its status, persistent identifier and citation; public-use
files for every key, licensed files for researcher keys that accepted the release's data-use
agreement (a few copies per key, for the release's availability), and the enclave release as
output-checked, perturbed frequency tables (`POST /v1/releases/{id}/tables`; its records never
leave). Every data-returning request is audited.
"""


def budget_path(settings: Settings) -> Path:
    """The distinct-query budget's SQLite file: next to the key store, in the restricted home."""
    return settings.api_key_store.with_name("query_budget.sqlite")


def _describe_limits(limits: Limits) -> str:
    def shown(value: int | None) -> str:
        return "unlimited" if value is None else str(value)

    lines = [
        "",
        "Limits per key (HTTP 429 with `Retry-After` beyond them; a repeat of a query already "
        "answered is always served):",
        "",
        "| role | data requests per minute | distinct queries per snapshot |",
        "|---|---|---|",
    ]
    for role, rule in limits.roles.items():
        lines.append(
            f"| {role} | {shown(rule.requests_per_minute)} "
            f"| {shown(rule.distinct_queries_per_snapshot)} |"
        )
    return "\n".join(lines) + "\n"


def build_store(settings: Settings) -> MetricStore:
    """The gold snapshot's Parquet in the lake, or the gated gold tables in the warehouse
    (``MERAJUT_API_GOLD_SOURCE``; by default the warehouse only when it is a server)."""
    gold = GoldSnapshots(settings.layout.gold)
    if settings.api_reads_warehouse:
        return WarehouseSnapshotStore(settings.warehouse_target, gold)
    return LakeSnapshotStore(gold)


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _invalid_request(_: Request, exc: Exception) -> JSONResponse:
    """A validation failure as one sentence plus a list, in the shape of every other error."""
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        location = loc[0] if loc else "request"
        parameter = ".".join(loc[1:]) or location
        kind = str(error.get("type", ""))
        hint = " (a date is YYYY-MM-DD)" if kind.startswith("date") else ""
        problem = str(error.get("msg", "invalid")) + hint
        problems.append(ParameterProblem(parameter=parameter, location=location, problem=problem))
    detail = "invalid request: " + "; ".join(f"{p.parameter}: {p.problem}" for p in problems)
    body = InvalidRequest(detail=detail, errors=problems)
    return JSONResponse(body.model_dump(), status_code=422)


def create_app(settings: Settings | None = None, *, clock: Clock = time.monotonic) -> FastAPI:
    """The app; raises ConfigError (a ValueError) when a secret it needs is missing.

    ``clock`` (monotonic seconds) drives the requests-per-minute windows; tests pass their own.
    """
    settings = settings or get_settings()
    catalog = load_catalog(settings.api.catalog_path or PACKAGED_CATALOG)
    store = build_store(settings)
    if not settings.api.ledger and settings.mode == "production":
        raise ConfigError("MERAJUT_API_LEDGER=false is for measuring only, never in production")
    ledger = (
        DisclosureLedger(ServedCells(settings.layout.served_ledger))
        if settings.api.ledger
        else None
    )
    releases = ResearchReleases(settings.layout.releases)
    context = AppContext(
        settings=settings,
        catalog=catalog,
        store=store,
        service=MetricService(
            catalog,
            store,
            ResultCache(settings.api.cache_entries),
            ledger,
            reviews=SnapshotReviews(settings.layout),
        ),
        keys=KeyStore(settings.api_key_store, settings.api_pepper()),
        audit=HashChainedLog(settings.api_audit_log),
        releases=releases,
        limiter=KeyLimiter(catalog.limits, budget_path(settings), clock),
        enclave=EnclaveRecords(releases),
        entries=ReleaseCatalog(releases),
        access=AccessRecords(agreement_path(settings.api_key_store)),
        agreement=Agreement.packaged(),
    )
    app = FastAPI(
        title="MerajutASA metrics API",
        version="1.0.0",
        description=DESCRIPTION + _describe_limits(catalog.limits),
        docs_url=None,  # served from local files below, never from a CDN
        redoc_url=None,
        openapi_url="/openapi.json",
        responses={422: {"model": InvalidRequest, "description": "Invalid parameters"}},
    )
    app.state.context = context
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.include_router(api_router)
    # Repeated metric queries in their plainest form skip the framework's per-request work.
    app.add_middleware(CachedAnswers)
    install_docs(app, "/openapi.json")
    return app
