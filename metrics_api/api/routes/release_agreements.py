"""``/v1/releases/{id}/agreement``: the data-use agreement of a licensed or enclave release,
read and accepted per key before its first download or table (UK Data Service / NADA licensed
access). An acceptance names the project and the exact text (its sha256); it is recorded
against the key (``metrics_api.release_access``) and in the audit log."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from lakehouse.release_catalog import CatalogEntry
from metrics_api.api.deps import (
    Access,
    Audit,
    CurrentKey,
    DataUseAgreement,
    Entries,
    LimitedKey,
    PurposeHeader,
    audit_event,
)
from metrics_api.api.routes.releases import ERRORS, GONE, ReleaseId
from metrics_api.errors import ApiError, Conflict
from metrics_api.models import AgreementAcceptance, AgreementStatus, ErrorMessage
from metrics_api.release_access import (
    Acceptance,
    AccessRecords,
    Agreement,
    handed_out,
    terms_of,
)
from metrics_api.service import Caller

router = APIRouter(prefix="/v1/releases", tags=["releases"])

_REFUSALS = {
    **ERRORS,
    403: {"model": ErrorMessage, "description": "A role the release's tier does not admit"},
    409: {
        "model": ErrorMessage,
        "description": "A text other than the current agreement, or a tier without one",
    },
    410: GONE,
}


@router.get(
    "/{release_id}/agreement",
    operation_id="get_release_agreement",
    summary="The data-use agreement of a release, and whether your key accepted it",
    response_model=AgreementStatus,
    responses=_REFUSALS,
)
def get_agreement(
    caller: CurrentKey,
    entries: Entries,
    access: Access,
    agreement: DataUseAgreement,
    release_id: ReleaseId,
) -> AgreementStatus:
    """Read it before accepting it; `agreement_sha256` is what you send to accept this text."""
    entry = entries.entry(release_id)
    release = handed_out(entry, release_id, caller, "have")
    assert entry is not None
    accepted = access.acceptance(caller.key_id, release.id, agreement.sha256)
    return _status(entry, caller, access, agreement, accepted, with_text=True)


@router.post(
    "/{release_id}/agreement",
    operation_id="accept_release_agreement",
    summary="Accept the data-use agreement of a release for your project (audited)",
    response_model=AgreementStatus,
    status_code=201,
    responses={
        **_REFUSALS,
        503: {"model": ErrorMessage, "description": "Audit log or access records unavailable"},
    },
)
def accept_agreement(
    request: Request,
    response: Response,
    caller: LimitedKey,
    entries: Entries,
    access: Access,
    agreement: DataUseAgreement,
    audit: Audit,
    release_id: ReleaseId,
    body: AgreementAcceptance,
    purpose: PurposeHeader = None,
) -> AgreementStatus:
    """Recorded against your key for this release only (each release is its own request, as
    in a data archive); the audit record is written first. Accepting again changes nothing."""

    def record(outcome: str, status: int) -> None:
        audit_event(
            audit, request, caller, outcome=outcome, status=status,
            parameters={"agreement_sha256": body.agreement_sha256, "project": body.project},
            release_id=release_id, purpose=purpose,
        )  # fmt: skip

    try:
        entry = entries.entry(release_id)
        release = handed_out(entry, release_id, caller, "have")
        assert entry is not None
        terms = terms_of(entry)
        if not terms.agreement:
            raise Conflict(f"release {release_id} is a {entry.tier} release: it needs no agreement")
        if body.agreement_sha256 != agreement.sha256:
            raise Conflict(
                "that is not the sha256 of the current data-use agreement: read it again at "
                f"GET /v1/releases/{release_id}/agreement and accept that text"
            )
    except ApiError as exc:
        record("denied" if exc.status_code == 403 else "refused", exc.status_code)
        raise
    record("agreement_accepted", 201)
    accepted = access.accept(caller.key_id, release.id, agreement.sha256, body.project)
    response.headers["Cache-Control"] = "no-store"
    return _status(entry, caller, access, agreement, accepted, with_text=False)


def _status(
    entry: CatalogEntry,
    caller: Caller,
    access: AccessRecords,
    agreement: Agreement,
    accepted: Acceptance | None,
    *,
    with_text: bool,
) -> AgreementStatus:
    terms = terms_of(entry)
    return AgreementStatus(
        release_id=entry.release_id,
        agreement_sha256=agreement.sha256,
        text=agreement.text if with_text else None,
        required=terms.agreement,
        accepted=accepted is not None,
        accepted_at=accepted.accepted_at if accepted else None,
        project=accepted.project if accepted else None,
        downloads_taken=access.downloads(caller.key_id, entry.release_id),
        downloads_per_key=terms.downloads_per_key,
        available_until=entry.available_until,
    )
