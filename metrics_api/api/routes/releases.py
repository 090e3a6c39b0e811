"""``/v1/releases``: research datasets — metadata for every key, data for researchers only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import FileResponse

from lakehouse.research_release import (
    RELEASE_ID_PATTERN,
    DownloadFormat,
    Release,
    ReleaseError,
)
from metrics_api.api.deps import Audit, CurrentKey, LimitedKey, Releases, audit_event
from metrics_api.errors import Forbidden, NotFound, Unavailable
from metrics_api.models import (
    ErrorMessage,
    RateLimitMessage,
    ReleaseDetail,
    ReleaseList,
    ReleaseSummary,
)

router = APIRouter(prefix="/v1/releases", tags=["releases"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorMessage, "description": "Missing, invalid or revoked API key"},
    404: {"model": ErrorMessage, "description": "No such (published) release"},
}
_INTEGRITY = {
    "model": ErrorMessage,
    "description": "A release file that does not match its manifest (never served)",
}
ReleaseId = Annotated[
    str, Path(pattern=RELEASE_ID_PATTERN, description="e.g. research-20250101T000000000000Z")
]
#: Record-level data goes to researchers under a data-use agreement, to no one else.
DOWNLOAD_ROLES = frozenset({"researcher"})
_MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}


def _summary(release: Release) -> dict[str, Any]:
    manifest = release.manifest
    return {
        "release_id": manifest.release_id,
        "created_at": manifest.created_at,
        "purpose": manifest.purpose,
        "tier": manifest.tier,
        "downloadable": manifest.downloadable,
        "rows": manifest.rows,
        "checks_passed": list(manifest.checks_passed),
        "all_checks_passed": manifest.all_checks_passed,
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
    return ReleaseList(releases=[ReleaseSummary(**_summary(r)) for r in releases.list()])


@router.get(
    "/{release_id}",
    operation_id="get_release",
    summary="One release: data dictionary and privacy report",
    response_model=ReleaseDetail,
    responses={**_ERRORS, 503: _INTEGRITY},
)
def get_release(caller: CurrentKey, releases: Releases, release_id: ReleaseId) -> ReleaseDetail:
    """What a researcher needs to decide whether to request the data (no records)."""
    release = releases.get(release_id)
    if release is None:
        raise NotFound(f"no published release {release_id!r}")
    try:
        dictionary, report = releases.dictionary(release), releases.privacy_report(release)
    except ReleaseError as exc:
        raise Unavailable(str(exc)) from exc
    return ReleaseDetail(
        **_summary(release),
        files=list(release.manifest.files),
        data_dictionary=dictionary,
        privacy_report=report,
        download_formats=["csv", "parquet"] if release.manifest.downloadable else [],
    )


@router.get(
    "/{release_id}/download",
    operation_id="download_release",
    summary="Download a release's records (researchers only; audited)",
    response_class=FileResponse,
    responses={
        **_ERRORS,
        403: {
            "model": ErrorMessage,
            "description": "Only researcher keys may download, and never an enclave release",
        },
        429: {
            "model": RateLimitMessage,
            "description": "Over your requests per minute",
            "headers": {"Retry-After": {"description": "Seconds", "schema": {"type": "integer"}}},
        },
        503: {
            "model": ErrorMessage,
            "description": "Audit log unavailable, or a file that does not match its manifest",
        },
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
    caller: LimitedKey,
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
    Downloads count against the key's requests per minute (429 beyond, audited); a release is
    not a snapshot query, so the distinct-query budget does not apply.
    """

    def refuse(reason: str) -> Forbidden:
        audit_event(
            audit, request, caller, outcome="denied", status=403,
            parameters={"format": format}, release_id=release_id, purpose=purpose,
        )  # fmt: skip
        return Forbidden(reason)

    if caller.role not in DOWNLOAD_ROLES:
        raise refuse(
            f"role {caller.role!r} may not download record-level releases; researcher keys only"
        )
    release = releases.get(release_id)
    if release is None:
        raise NotFound(f"no published release {release_id!r}")
    if not release.manifest.downloadable:
        raise refuse(
            f"release {release_id} is a {release.manifest.tier} release: its records are "
            "queried inside the enclave, never downloaded"
        )
    try:
        path = releases.download_file(release, format)
    except ReleaseError as exc:
        # A file altered after its checks is never served; the refusal is audited too.
        audit_event(
            audit, request, caller, outcome="integrity_error", status=503,
            parameters={"format": format}, release_id=release_id, purpose=purpose,
        )  # fmt: skip
        raise Unavailable(str(exc)) from exc
    audit_event(
        audit,
        request,
        caller,
        outcome="ok",
        status=200,
        parameters={"format": format},
        release_id=release_id,
        rows=release.manifest.rows,
        purpose=purpose,
    )
    return FileResponse(
        path,
        media_type=_MEDIA_TYPES[format],
        filename=f"{release_id}.{format}",
        headers={"Cache-Control": "no-store"},
    )
