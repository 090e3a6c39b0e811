"""``/v1/releases``: the research release catalog, every release ever published, by the
access its tier declares (NADA / UK Data Service): public-use files for every key, licensed
files for researchers under a data-use agreement (``release_agreements``), the enclave as
checked tables (``release_tables``). Metadata and citations for every key, for every release,
withdrawn ones too; the records only by the tier's terms (``metrics_api.release_access``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse, PlainTextResponse

from anonymization.cell_key import MAX_NOISE, METHOD
from lakehouse.reference.release_tiers import TIERS, QueryRules
from lakehouse.release_catalog import CatalogEntry, CitationStyle, citation
from lakehouse.research_release import (
    RELEASE_ID_PATTERN,
    DownloadFormat,
    Release,
    ReleaseError,
)
from metrics_api.api.deps import (
    Access,
    Audit,
    CurrentKey,
    DataUseAgreement,
    Entries,
    LimitedKey,
    PurposeHeader,
    Releases,
    audit_event,
)
from metrics_api.enclave import MAX_CELLS, queryable_columns
from metrics_api.errors import ApiError, Forbidden, NotFound, Unavailable
from metrics_api.models import (
    EnclaveQueries,
    ErrorMessage,
    RateLimitMessage,
    ReleaseDetail,
    ReleaseList,
    ReleaseSummary,
)
from metrics_api.release_access import handed_out, require_agreement, terms_of

router = APIRouter(prefix="/v1/releases", tags=["releases"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorMessage, "description": "Missing, invalid or revoked API key"},
    404: {"model": ErrorMessage, "description": "No release was ever published with this id"},
}
GONE: dict[str, Any] = {
    "model": ErrorMessage,
    "description": "Withdrawn, retired or past its availability: the entry and citation stay, "
    "the records are not handed out",
}
_INTEGRITY = {
    "model": ErrorMessage,
    "description": "A release file that does not match its manifest (never served)",
}
ReleaseId = Annotated[
    str, Path(pattern=RELEASE_ID_PATTERN, description="e.g. research-20250101T000000000000Z")
]
_MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}
_CITATION_TYPES = {
    "text": "text/plain; charset=utf-8",
    "bibtex": "application/x-bibtex; charset=utf-8",
    "ris": "application/x-research-info-systems; charset=utf-8",
}


def query_rules(release: Release) -> QueryRules | None:
    """The query rules of a release that is never downloaded (its tier's); None for a file."""
    tier = TIERS.get(release.manifest.tier)
    if release.manifest.downloadable or tier is None:
        return None
    return tier.queries


def _summary(entry: CatalogEntry) -> dict[str, Any]:
    tier = TIERS.get(entry.tier)
    manifest = entry.release.manifest if entry.release is not None else None
    return {
        "release_id": entry.release_id,
        "status": entry.status,
        "identifier": entry.identifier,
        "citation": citation(entry),
        "created_at": entry.created_at,
        "purpose": entry.purpose,
        "population": entry.population,
        "tier": entry.tier,
        "access": tier.access if tier is not None else None,
        "downloadable": entry.downloadable,
        "agreement_required": tier is not None and tier.terms.agreement,
        "downloads_per_key": tier.terms.downloads_per_key if tier is not None else None,
        "available_until": entry.available_until,
        "ended_at": entry.ended_at,
        "reason": entry.reason,
        "rows": entry.rows,
        "checks_passed": list(manifest.checks_passed) if manifest is not None else [],
        # The catalog holds only releases that passed every check when they were published.
        "all_checks_passed": True,
    }


def _entry(entries: Entries, release_id: str) -> CatalogEntry:
    entry = entries.entry(release_id)
    if entry is None:
        raise NotFound(f"no published release {release_id!r}")
    return entry


@router.get(
    "",
    operation_id="list_releases",
    summary="The research release catalog",
    response_model=ReleaseList,
    responses=ERRORS,
)
def list_releases(
    caller: CurrentKey,
    entries: Entries,
    tier: Annotated[str | None, Query(description="public_use, licensed or enclave")] = None,
    status: Annotated[
        str | None, Query(description="available, expired, withdrawn or retired")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Entries per page")] = 50,
    after: Annotated[
        str | None,
        Query(pattern=RELEASE_ID_PATTERN, description="The `next_after` of the previous page"),
    ] = None,
) -> ReleaseList:
    """Every release ever published, newest first, withdrawn and retired ones too (marked):
    metadata, identifier and citation, never records. Pages of `limit`; ids sort by creation
    time, so a page boundary holds while new releases are published."""
    found = [e for e in entries.entries(tier) if status in (None, e.status)]
    older = [e for e in found if after is None or e.release_id < after]
    page = older[:limit]
    more = len(older) > limit
    return ReleaseList(
        releases=[ReleaseSummary(**_summary(e)) for e in page],
        total=len(found),
        next_after=page[-1].release_id if more else None,
    )


@router.get(
    "/{release_id}",
    operation_id="get_release",
    summary="One release: status, citation, data dictionary and privacy report",
    response_model=ReleaseDetail,
    responses={**ERRORS, 503: _INTEGRITY},
)
def get_release(
    caller: CurrentKey, entries: Entries, releases: Releases, release_id: ReleaseId
) -> ReleaseDetail:
    """What a researcher needs to decide whether to ask for the data (no records). A withdrawn
    or retired release keeps its entry: its status, why, and how to cite it."""
    entry = _entry(entries, release_id)
    release = entry.release
    if release is None:
        return ReleaseDetail(
            **_summary(entry), data_dictionary={}, privacy_report={}, download_formats=[]
        )
    try:
        dictionary, report = releases.dictionary(release), releases.privacy_report(release)
    except ReleaseError as exc:
        raise Unavailable(str(exc)) from exc
    rules = query_rules(release)
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
    servable = entry.status == "available" and release.manifest.downloadable
    return ReleaseDetail(
        **_summary(entry),
        files=list(release.manifest.files),
        data_dictionary=dictionary,
        privacy_report=report,
        download_formats=["csv", "parquet"] if servable else [],
        query=query,
    )


@router.get(
    "/{release_id}/citation",
    operation_id="cite_release",
    summary="How to cite a release: plain text, BibTeX or RIS",
    response_class=PlainTextResponse,
    responses={
        **ERRORS,
        200: {"content": {t.split(";")[0]: {"schema": {"type": "string"}} for t in
                          _CITATION_TYPES.values()}},
    },
)  # fmt: skip
def cite_release(
    caller: CurrentKey,
    entries: Entries,
    release_id: ReleaseId,
    style: Annotated[CitationStyle, Query(description="text, bibtex or ris")] = "text",
) -> PlainTextResponse:
    """The citation of any release the catalog ever published, withdrawn ones too."""
    entry = _entry(entries, release_id)
    return PlainTextResponse(citation(entry, style) + "\n", media_type=_CITATION_TYPES[style])


@router.get(
    "/{release_id}/download",
    operation_id="download_release",
    summary="Download a release's records (by its tier's terms; audited)",
    response_class=FileResponse,
    responses={
        **ERRORS,
        403: {
            "model": ErrorMessage,
            "description": "A role the tier does not admit, an enclave release (query it), "
            "no accepted data-use agreement, or this key's copies of it all taken",
        },
        410: GONE,
        429: {
            "model": RateLimitMessage,
            "description": "Over your requests per minute",
            "headers": {"Retry-After": {"description": "Seconds", "schema": {"type": "integer"}}},
        },
        503: {
            "model": ErrorMessage,
            "description": "Audit log or access records unavailable, or a file that does not "
            "match its manifest",
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
    entries: Entries,
    releases: Releases,
    access: Access,
    agreement: DataUseAgreement,
    audit: Audit,
    release_id: ReleaseId,
    format: Annotated[DownloadFormat, Query(description="csv or parquet")] = "csv",
    purpose: PurposeHeader = None,
) -> FileResponse:
    """Streams the file by the release's tier: a public-use file to every key; a licensed
    file to researcher keys that accepted its data-use agreement, a few copies per key, while
    it is available. The audit record is written first, so no download goes unrecorded; every
    refusal is audited too (a key probing for record-level data is exactly what the data
    protection officer must see). Downloads count against the key's requests per minute."""

    def record(outcome: str, status: int, rows: int = 0) -> None:
        audit_event(
            audit, request, caller, outcome=outcome, status=status,
            parameters={"format": format}, release_id=release_id, rows=rows, purpose=purpose,
        )  # fmt: skip

    try:
        entry = _entry(entries, release_id)
        release = handed_out(entry, release_id, caller, "download")
        if not release.manifest.downloadable:
            raise Forbidden(
                f"release {release_id} is a {release.manifest.tier} release: its records are "
                "queried inside the enclave, never downloaded"
            )
        require_agreement(entry, caller, access, agreement)
        access.take_download(caller.key_id, release_id, terms_of(entry).downloads_per_key)
    except ApiError as exc:
        record("denied" if exc.status_code == 403 else "refused", exc.status_code)
        raise
    try:
        path = releases.download_file(release, format)
    except ReleaseError as exc:
        # A file altered after its checks is never served; the copy is given back.
        access.give_back_download(caller.key_id, release_id)
        record("integrity_error", 503)
        raise Unavailable(str(exc)) from exc
    try:
        record("ok", 200, release.manifest.rows)
    except Unavailable:
        access.give_back_download(caller.key_id, release_id)  # nothing left unrecorded
        raise
    return FileResponse(
        path,
        media_type=_MEDIA_TYPES[format],
        filename=f"{release_id}.{format}",
        headers={"Cache-Control": "no-store"},
    )
