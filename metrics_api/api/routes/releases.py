"""``/v1/releases``: research datasets — metadata for every key, data for researchers only:
downloadable files as files, an enclave release as frequency tables whose counts are checked
before they leave (``metrics_api.enclave``)."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import FileResponse

from anonymization.cell_key import MAX_NOISE, METHOD
from lakehouse.reference.release_tiers import TIERS, QueryRules
from lakehouse.research_release import (
    RELEASE_ID_PATTERN,
    DownloadFormat,
    Release,
    ReleaseError,
)
from metrics_api.api.deps import (
    Audit,
    CurrentKey,
    Enclave,
    LimitedKey,
    Limiter,
    PurposeHeader,
    Releases,
    audit_event,
)
from metrics_api.enclave import (
    LAYOUT_NOTE,
    MAX_CELLS,
    Table,
    checked_query,
    frequency_table,
    queryable_columns,
)
from metrics_api.errors import ApiError, Conflict, Forbidden, NotFound, TooManyRequests, Unavailable
from metrics_api.limits import table_fingerprint
from metrics_api.models import (
    EnclaveQueries,
    ErrorMessage,
    RateLimitMessage,
    ReleaseDetail,
    ReleaseList,
    ReleaseSummary,
    ReleaseTable,
    TableCell,
    TableRequest,
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


def _query_rules(release: Release) -> QueryRules | None:
    """The query rules of a release that is never downloaded (its tier's); None for a file."""
    tier = TIERS.get(release.manifest.tier)
    if release.manifest.downloadable or tier is None:
        return None
    return tier.queries


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
    rules = _query_rules(release)
    query = None
    if rules is not None:
        query = EnclaveQueries(
            endpoint=f"POST /v1/releases/{release_id}/tables",
            columns=queryable_columns(dictionary),
            max_dimensions=rules.max_dimensions,
            max_filters=rules.max_filters,
            max_cells=MAX_CELLS,
            threshold=rules.threshold,
            max_abs_noise=MAX_NOISE,
            method=METHOD,
            budget=rules.budget,
        )
    return ReleaseDetail(
        **_summary(release),
        files=list(release.manifest.files),
        data_dictionary=dictionary,
        privacy_report=report,
        download_formats=["csv", "parquet"] if release.manifest.downloadable else [],
        query=query,
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
    purpose: PurposeHeader = None,
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


def _cells(table: Table) -> list[TableCell]:
    dims = list(table.query.dimensions)
    cells = []
    for record in table.frame.to_dict(orient="records"):
        count = record["count"]
        shown = count is not None and not pd.isna(count)
        cells.append(
            TableCell(
                dimensions={d: str(record[d]) for d in dims},
                count=int(count) if shown else None,
                suppressed=not shown,
                suppression_reason=None if shown else table.reason,
            )
        )
    return cells


@router.post(
    "/{release_id}/tables",
    operation_id="query_release_table",
    summary="A frequency table over an enclave release's records (researchers only; audited)",
    response_model=ReleaseTable,
    responses={
        **_ERRORS,
        403: {"model": ErrorMessage, "description": "Only researcher keys may query an enclave"},
        409: {
            "model": ErrorMessage,
            "description": "A downloadable release (download it instead), or an enclave release "
            "built before its records carried cell keys",
        },
        422: {"description": "Unknown or internal column, too many dimensions or filters, "
              "or a table of too many cells"},
        429: {
            "model": RateLimitMessage,
            "description": "Over your requests per minute, or your different tables of this "
            "release",
            "headers": {"Retry-After": {"description": "Seconds", "schema": {"type": "integer"}}},
        },
        503: {
            "model": ErrorMessage,
            "description": "Audit log or query budget unavailable, or a file that does not "
            "match its manifest",
        },
    },
)  # fmt: skip
def query_release_table(
    request: Request,
    response: Response,
    caller: LimitedKey,
    releases: Releases,
    enclave: Enclave,
    limiter: Limiter,
    audit: Audit,
    release_id: ReleaseId,
    body: TableRequest,
    purpose: PurposeHeader = None,
) -> ReleaseTable:
    """Counts of the release's records by 1 to 3 of its columns, optionally restricted to
    listed values of up to 2 columns; the records never leave.

    Every count is checked before it leaves: below the threshold (10), zero included, it is
    hidden (`suppressed: true`, the same reason for both); from the threshold up it carries
    cell-key noise of at most 2 and is never shown below the threshold. The noise is fixed by
    the records a count holds, so asking again, in another order or through another filter
    gives the same number. Every request is audited with its dimensions and filters (refusals
    too); each different table takes one place in your key's budget for this release (a
    repeat is free; 429 beyond it). A downloadable release answers 409: download it.
    """
    parameters: dict[str, Any] = {"dimensions": body.dimensions, "filters": body.filters}

    def record(outcome: str, status: int, cells: int = 0) -> None:
        audit_event(
            audit, request, caller, outcome=outcome, status=status, parameters=parameters,
            release_id=release_id, rows=cells, purpose=purpose,
        )  # fmt: skip

    def refuse(exc: ApiError, outcome: str = "refused") -> ApiError:
        record(outcome, exc.status_code)
        return exc

    if caller.role not in DOWNLOAD_ROLES:
        raise refuse(
            Forbidden(f"role {caller.role!r} may not query record-level releases; "
                      "researcher keys only"),
            "denied",
        )  # fmt: skip
    release = releases.get(release_id)
    if release is None:
        raise refuse(NotFound(f"no published release {release_id!r}"))
    rules = _query_rules(release)
    if rules is None:
        raise refuse(
            Conflict(
                f"release {release_id} is a {release.manifest.tier} file: download it "
                f"(GET /v1/releases/{release_id}/download); tables are for enclave releases"
                if release.manifest.downloadable
                else f"release {release_id}'s tier {release.manifest.tier!r} declares no "
                "query rules: it cannot be queried"
            )
        )
    try:
        columns = queryable_columns(releases.dictionary(release))
        query = checked_query(body.dimensions, body.filters, columns, rules)
    except ReleaseError as exc:
        raise refuse(Unavailable(str(exc)), "integrity_error") from exc
    except ApiError as exc:
        raise refuse(exc) from exc
    fingerprint = table_fingerprint(release_id, query.dimensions, query.filters)
    try:
        ticket = limiter.admit_table(caller.key_id, caller.role, release_id, fingerprint,
                                     rules.budget)  # fmt: skip
    except TooManyRequests as exc:
        raise refuse(exc, exc.outcome) from exc
    except Unavailable as exc:
        raise refuse(exc, "budget_unavailable") from exc
    try:
        table = frequency_table(enclave.get(release), query, rules.threshold)
    except ReleaseError as exc:
        ticket.refund()
        raise refuse(Unavailable(str(exc)), "integrity_error") from exc
    except ApiError as exc:
        ticket.refund()
        raise refuse(exc) from exc
    try:
        ticket.settle(release_id)  # charged for good before the answer leaves
        used = limiter.tables.used(caller.key_id, release_id)
    except Unavailable as exc:
        raise refuse(exc, "budget_unavailable") from exc
    cells = _cells(table)
    record("ok", 200, len(cells))
    response.headers["Cache-Control"] = "no-store"
    return ReleaseTable(
        release_id=release_id,
        tier=release.manifest.tier,
        dimensions=list(query.dimensions),
        filters={c: list(v) for c, v in query.filters.items()},
        method=METHOD,
        threshold=rules.threshold,
        max_abs_noise=MAX_NOISE,
        note=LAYOUT_NOTE,
        row_count=len(cells),
        suppressed_cells=table.hidden,
        budget=rules.budget,
        budget_used=used,
        cells=cells,
    )
