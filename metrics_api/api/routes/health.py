"""``/health``: liveness and the snapshot being served, without authentication.

It names the snapshot id only — never data — so load balancers and the compose healthcheck
can use it, and an operator can see at a glance which publish the API serves.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from metrics_api.api.deps import Service, Store
from metrics_api.errors import ApiError
from metrics_api.models import Health

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    operation_id="health",
    summary="Liveness and the served snapshot",
    response_model=Health,
    responses={503: {"model": Health, "description": "No snapshot published"}},
)
def health(store: Store, service: Service, response: Response) -> Health:
    try:
        snapshot = store.current()
    except ApiError:
        snapshot = None
    if snapshot is None:
        response.status_code = 503
    return Health(
        status="ok" if snapshot is not None else "no_snapshot",
        backend=store.backend,
        snapshot_id=snapshot.id if snapshot else None,
        metrics=len(service.catalog.metrics),
    )
