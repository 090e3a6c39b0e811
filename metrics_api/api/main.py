"""All routers of the API, assembled once."""

from __future__ import annotations

from fastapi import APIRouter

from metrics_api.api.routes import (
    health,
    metrics,
    perturbation,
    release_agreements,
    release_tables,
    releases,
)

api_router = APIRouter()
api_router.include_router(health.router)
api_router.include_router(metrics.router)
api_router.include_router(perturbation.router)
api_router.include_router(releases.router)
api_router.include_router(release_agreements.router)
api_router.include_router(release_tables.router)
