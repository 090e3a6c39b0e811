"""Approving or rejecting a candidate snapshot: the one code path that moves ``CURRENT``.

The publish step makes a candidate (gated, complete, with its quality report and review:
:mod:`lakehouse.signoff`); :func:`approve` is what ``merajut publish approve`` runs for a data
steward, what ``merajut demo`` runs for the demo steward it creates, and what the publish step
runs for its own candidate when ``MERAJUT_PUBLISH_APPROVAL=automatic`` (dev mode only; refused
here too in production, not only by the settings). Each caller holds the pipeline lock.

The order is what makes an approval auditable: the candidate and its findings are checked, every
finding must be acknowledged by id, the approval (actor, snapshot, each acknowledged id) is
appended to the hash-chained publication log, the review records it, and only then does
``CURRENT`` move (then the warehouse's ``gold._current``; the snapshots waiting for an erasure
or restriction are withdrawn once the approved one is live; retention; the Superset catalog).
An approval killed after its record and before ``CURRENT`` moved leaves an approved snapshot
newer than ``CURRENT``: approving it again finishes the move (and records it again).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from dashboards.duckdb_catalog import refresh_catalog
from lakehouse import gold_tables
from lakehouse.audit_log import AuditLogError
from lakehouse.gold_snapshot import GoldSnapshots, SnapshotError, SnapshotManifest, move_current
from lakehouse.key_store import PersonalKey
from lakehouse.populations import PopulationMembers
from lakehouse.settings import Settings
from lakehouse.signoff import Finding, Review, SignoffError, SnapshotReviews, check_acknowledged
from lakehouse.warehouse import session
from lakehouse.withdrawals import marked_snapshots, withdraw_marked_snapshots
from orchestration.core.publication import publication_log, record_go_live
from orchestration.publish.retention import apply_at_publish

__all__ = ["Approval", "Approver", "SignoffError", "approvable", "approve", "reject"]


@dataclass(frozen=True)
class Approver:
    """Who approves: a data steward (the key's owner), or the pipeline itself in dev mode."""

    actor: str
    automatic: bool = False

    @classmethod
    def steward(cls, key: PersonalKey) -> Approver:
        return cls(key.actor)

    @classmethod
    def pipeline(cls, run_id: str) -> Approver:
        return cls(
            f"merajut pipeline (run {run_id[:8]}; MERAJUT_PUBLISH_APPROVAL=automatic, dev mode)",
            automatic=True,
        )


@dataclass(frozen=True)
class Approval:
    snapshot_id: str
    acknowledged: list[str]
    #: The snapshot CURRENT named before (None: the first one to go live).
    replaced: str | None
    withdrawn: list[str]
    expired: list[str]


def _gone(settings: Settings, snapshot_id: str) -> str:
    gold = settings.layout.gold
    for folder, what in (("withdrawn", "withdrawn"), ("expired", "removed by retention")):
        if (gold / folder / f"{snapshot_id}.json").is_file():
            return f" (it was {what})"
    if (gold / "rejected" / f"{snapshot_id}.json").is_file():
        return " (the publish gate refused it)"
    return ""


def _reviewed(settings: Settings, snapshot_id: str) -> tuple[SnapshotReviews, Review]:
    """The snapshot's review, or SignoffError saying why there is none to decide on."""
    reviews = SnapshotReviews(settings.layout)
    if not reviews.folder(snapshot_id).is_dir():
        raise SignoffError(
            f"no snapshot {snapshot_id} on disk{_gone(settings, snapshot_id)}; "
            "`merajut publish candidates` lists those awaiting approval"
        )
    review = reviews.read(snapshot_id)
    if review is None:
        raise SignoffError(f"snapshot {snapshot_id} was published before sign-off existed")
    if review.status == "rejected":
        raise SignoffError(
            f"snapshot {snapshot_id} was rejected by {review.actor} at {review.decided_at}: "
            f"{review.reason}"
        )
    return reviews, review


def _current_id(settings: Settings) -> str | None:
    try:
        return GoldSnapshots(settings.layout.gold).current_id()
    except SnapshotError as exc:
        raise SignoffError(str(exc)) from exc


def approvable(settings: Settings, snapshot_id: str) -> tuple[Review, list[Finding]]:
    """A snapshot that may go live now, and its findings; SignoffError (unknown, rejected,
    CURRENT already, older than CURRENT, marked for withdrawal, a quality report that changed)
    otherwise."""
    reviews, review = _reviewed(settings, snapshot_id)
    current = _current_id(settings)
    if snapshot_id == current:
        raise SignoffError(f"snapshot {snapshot_id} is CURRENT already")
    if current is not None and snapshot_id < current:
        raise SignoffError(
            f"snapshot {snapshot_id} is older than CURRENT ({current}): approving it would take "
            "every reader back to older data; approve a newer candidate"
        )
    if snapshot_id in marked_snapshots(settings.layout):
        raise SignoffError(
            f"snapshot {snapshot_id} counted a child erased or restricted since it was made and "
            "will be withdrawn; approve a candidate made after (the next `merajut run` makes one)"
        )
    return review, reviews.findings(review)


def _append(settings: Settings, record: dict[str, Any]) -> None:
    try:
        publication_log(settings.layout).append(record)
    except AuditLogError as exc:
        raise SignoffError(
            f"refused: the publication log cannot be written ({exc}); CURRENT unchanged"
        ) from exc


def approve(
    settings: Settings,
    snapshot_id: str,
    acknowledged: Iterable[str],
    approver: Approver,
    *,
    run_id: str | None = None,
    report: Callable[[str], None] = print,
) -> Approval:
    """Approve candidate ``snapshot_id`` with every one of its findings acknowledged by id, and
    make it ``CURRENT``. SignoffError (nothing changed) when it cannot be."""
    if approver.automatic and (
        settings.mode == "production" or settings.publish_approval != "automatic"
    ):
        raise SignoffError(
            "automatic approval is refused: a data steward approves every snapshot "
            "(MERAJUT_PUBLISH_APPROVAL=automatic is for dev mode only)"
        )
    review, findings = approvable(settings, snapshot_id)
    ids = check_acknowledged(snapshot_id, [f.id for f in findings], acknowledged)
    try:
        manifest = GoldSnapshots(settings.layout.gold).open(snapshot_id).manifest
    except SnapshotError as exc:
        raise SignoffError(str(exc)) from exc
    current = _current_id(settings)
    _append(
        settings,
        {"actor": approver.actor, "action": "approve_snapshot", "snapshot": snapshot_id,
         "outcome": "approved", "acknowledged": ids, "findings": len(findings),
         "replaces": current,
         "quality_report_sha256": review.quality_report_sha256,
         "content_sha256": manifest.content_sha256},
    )  # fmt: skip
    SnapshotReviews(settings.layout).decided(
        review, "approved", approver.actor, acknowledged=ids, replaced=current
    )
    withdrawn, expired = _go_live(settings, manifest, approver.actor, current, run_id, report)
    return Approval(snapshot_id, ids, current, withdrawn, expired)


def _go_live(
    settings: Settings,
    manifest: SnapshotManifest,
    approver: str,
    replaced: str | None,
    run_id: str | None,
    report: Callable[[str], None],
) -> tuple[list[str], list[str]]:
    """Move ``CURRENT`` (lake, then warehouse), withdraw what waited for a live replacement,
    apply retention, re-point Superset; returns (withdrawn, expired)."""
    layout = settings.layout
    snapshot_id = manifest.snapshot_id
    with session(settings.warehouse_target, purpose="approve a snapshot") as client:
        move_current(layout.gold, snapshot_id)
        awaiting = [r.snapshot_id for r in SnapshotReviews(layout).awaiting(snapshot_id)]
        gold_tables.mark_current(client, manifest, keep=awaiting)
        # Snapshots that counted an erased or restricted subject go once this one is live.
        withdrawn = withdraw_marked_snapshots(layout, snapshot_id)
        gold_tables.drop_withdrawn(client, withdrawn)
        expired = apply_at_publish(settings, client, run_id, report)
    PopulationMembers(layout.populations).prune(keep=[snapshot_id])
    refresh_catalog(layout)
    record_go_live(
        layout,
        approver,
        {"outcome": "published", "snapshot_id": snapshot_id, "current": snapshot_id,
         "replaced": replaced, "content_sha256": manifest.content_sha256,
         "withdrawn": withdrawn, "expired": expired},
    )  # fmt: skip
    return withdrawn, expired


def reject(settings: Settings, snapshot_id: str, reason: str, approver: Approver) -> Review:
    """Reject a candidate: it never goes live (its files stay until retention removes them,
    for whoever fixes what was wrong). Recorded in the publication log before the review."""
    reason = reason.strip()
    if not reason:
        raise SignoffError("a rejection needs a reason (--reason TEXT)")
    reviews, review = _reviewed(settings, snapshot_id)
    if review.status == "approved":
        raise SignoffError(f"snapshot {snapshot_id} was approved by {review.actor}; not rejected")
    _append(
        settings,
        {"actor": approver.actor, "action": "reject_snapshot", "snapshot": snapshot_id,
         "outcome": "rejected", "reason": reason, "findings": len(review.findings)},
    )  # fmt: skip
    return reviews.decided(review, "rejected", approver.actor, reason=reason)
