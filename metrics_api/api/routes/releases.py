"""``/v1/releases``: research datasets — metadata for every key, data for researchers only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import FileResponse

from metrics_api.api.deps import Audit, CurrentKey, Releases, audit_event
from metrics_api.errors import Forbidden, NotFound
from metrics_api.models import ErrorMessage, ReleaseDetail, ReleaseList, ReleaseSummary
from metrics_api.release_store import RELEASE_ID_PATTERN, DownloadFormat

router = APIRouter(prefix="/v1/releases", tags=["releases"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorMessage, "description": "Missing, invalid or revoked API key"},
    404: {"model": ErrorMessage, "description": "No such (published) release"},
}
ReleaseId = Annotated[
    str, Path(pattern=RELEASE_ID_PATTERN, description="e.g. research-20250101T000000000000Z")
]
#: Record-level data goes to researchers under a data-use agreement, to no one else.
DOWNLOAD_ROLES = frozenset({"researcher"})
_MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}


def _summary(manifest: dict[str, Any]) -> dict[str, Any]:
    return {
        "release_id": manifest["release_id"],
        "created_at": manifest.get("created_at"),
        "purpose": manifest.get("purpose"),
        "rows": manifest.get("rows"),
        "checks_passed": list(manifest.get("checks_passed") or []),
        "all_checks_passed": bool(manifest.get("all_checks_passed")),
    }


@router.get(
    "",
    operation_id="list_releases",
    summary="Published research releases",
    response_model=ReleaseList,
    responses=_ERRORS,
)
def list_releases(caller: CurrentKey, releases: Releases) -> ReleaseList:
    """Releases whose every check passed, newest first (metadata only)."""
    return ReleaseList(releases=[ReleaseSummary(**_summary(m)) for m in releases.list()])


@router.get(
    "/{release_id}",
    operation_id="get_release",
    summary="One release: data dictionary and privacy report",
    response_model=ReleaseDetail,
    responses=_ERRORS,
)
def get_release(caller: CurrentKey, releases: Releases, release_id: ReleaseId) -> ReleaseDetail:
    """What a researcher needs to decide whether to request the data (no records)."""
    found = releases.get(release_id)
    if found is None:
        raise NotFound(f"no published release {release_id!r}")
    manifest = found["manifest"]
    return ReleaseDetail(
        **_summary(manifest),
        files=list(manifest.get("files") or []),
        data_dictionary=found["data_dictionary"],
        privacy_report=found["privacy_report"],
        download_formats=["csv", "parquet"],
    )


@router.get(
    "/{release_id}/download",
    operation_id="download_release",
    summary="Download a release's records (researchers only; audited)",
    response_class=FileResponse,
    responses={
        **_ERRORS,
        403: {"model": ErrorMessage, "description": "Only researcher keys may download"},
        503: {"model": ErrorMessage, "description": "Audit log unavailable"},
        200: {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.apache.parquet": {
                    "schema": {"type": "string", "format": "binary"}
                },
            }
        },
    },
)
def download_release(
    request: Request,
    caller: CurrentKey,
    releases: Releases,
    audit: Audit,
    release_id: ReleaseId,
    format: Annotated[DownloadFormat, Query(description="csv or parquet")] = "csv",
    purpose: Annotated[
        str | None,
        Header(alias="X-Purpose", max_length=200, description="Why (e.g. the DUA reference)"),
    ] = None,
) -> FileResponse:
    """Streams the file; the audit record is written first, so no download goes unrecorded.

    Refused downloads (any role but researcher) are audited as ``denied``: a non-researcher
    key probing for record-level data is exactly what the data protection officer must see.
    """
    if caller.role not in DOWNLOAD_ROLES:
        audit_event(
            audit, request, caller, outcome="denied", status=403,
            parameters={"format": format}, release_id=release_id, purpose=purpose,
        )  # fmt: skip
        raise Forbidden(
            f"role {caller.role!r} may not download record-level releases; researcher keys only"
        )
    path = releases.data_file(release_id, format)
    found = releases.get(release_id) if path is not None else None
    if path is None or found is None:
        raise NotFound(f"no published release {release_id!r}")
    audit_event(
        audit,
        request,
        caller,
        outcome="ok",
        status=200,
        parameters={"format": format},
        release_id=release_id,
        rows=int(found["manifest"].get("rows") or 0),
        purpose=purpose,
    )
    return FileResponse(
        path,
        media_type=_MEDIA_TYPES[format],
        filename=f"{release_id}.{format}",
        headers={"Cache-Control": "no-store"},
    )
