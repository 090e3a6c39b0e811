"""``POST /v1/releases/{id}/tables``: frequency tables over an enclave release's records,
whose counts are checked before they leave (``metrics_api.enclave``); the records never do."""

from __future__ import annotations

from typing import Any

import pandas as pd
from fastapi import APIRouter, Request, Response

from anonymization.cell_key import MAX_NOISE, METHOD
from lakehouse.research_release import ReleaseError
from metrics_api.api.deps import (
    Access,
    Audit,
    DataUseAgreement,
    Enclave,
    Entries,
    LimitedKey,
    Limiter,
    PurposeHeader,
    Releases,
    audit_event,
)
from metrics_api.api.routes.releases import ERRORS, GONE, ReleaseId, query_rules
from metrics_api.enclave import (
    LAYOUT_NOTE,
    Table,
    checked_query,
    frequency_table,
    queryable_columns,
)
from metrics_api.errors import ApiError, Conflict, TooManyRequests, Unavailable
from metrics_api.limits import table_fingerprint
from metrics_api.models import (
    ErrorMessage,
    RateLimitMessage,
    ReleaseTable,
    TableCell,
    TableRequest,
)
from metrics_api.release_access import handed_out, require_agreement

router = APIRouter(prefix="/v1/releases", tags=["releases"])


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
        **ERRORS,
        403: {
            "model": ErrorMessage,
            "description": "Only researcher keys that accepted the release's data-use agreement "
            "may query an enclave",
        },
        410: GONE,
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
    entries: Entries,
    releases: Releases,
    access: Access,
    agreement: DataUseAgreement,
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
    repeat is free; 429 beyond it). A downloadable release answers 409: download it. Like a
    licensed download, a table needs the key to have accepted the release's data-use
    agreement (403 until then), and a withdrawn or expired release answers 410.
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

    try:
        entry = entries.entry(release_id)
        release = handed_out(entry, release_id, caller, "query")
    except ApiError as exc:
        refuse(exc, "denied" if exc.status_code == 403 else "refused")
        raise
    rules = query_rules(release)
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
    assert entry is not None  # handed_out refused an unknown release
    try:
        require_agreement(entry, caller, access, agreement)
    except ApiError as exc:
        refuse(exc, "denied")
        raise
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
