"""The retention policy of gold snapshots and enclave extracts: the one place that removes them
because they are old.

Why: every snapshot and every enclave extract is one more copy of what the lake knew about the
children when it was made. An erasure or a restriction withdraws every copy that held the child
at once (:mod:`lakehouse.withdrawals`); a withdrawn consent does not: the child leaves the
purpose's population from the next run on, and stays counted in the snapshots (and, record by
record, in the enclave extracts) made before. Retention bounds how long: a copy is removed once
it is not among the newest ``keep`` and at least ``min_age`` old, and always once it is older
than ``max_age``.

Never removed, whatever the policy says:

* ``CURRENT`` and the snapshot it replaced (an API request that started before the last
  publish may still be reading it);
* every candidate snapshot awaiting a data steward's approval (:mod:`lakehouse.signoff`):
  removing it would leave the approver nothing to approve. A rejected candidate, or one older
  than ``CURRENT`` (it can no longer be approved), is an ordinary old snapshot;
* the latest release of each tier (what the API serves);
* downloadable releases (public-use, licensed) at all. Their files are in researchers' hands
  already, deleting ours takes nothing back; every new release is checked against them so that
  no two files combine below k (a file deleted here would be forgotten by that check); and a
  researcher cites them. They leave the lake only when withdrawn.

What stays of a removed copy: ``gold/expired/<id>.json`` with the snapshot's manifest (checks,
rows, populations; no data) and its review (who approved or rejected it), or ``releases/expired/<id>/`` with the release's manifest,
privacy report and data dictionary (no records), and ``expired.json`` saying when and why: an
auditor, or a reader of a paper that cites the id, can still see what it was. The disclosure
ledger keeps what each audience was given from a removed snapshot: that cannot be taken back,
and the next publish is still protected against it.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from lakehouse.files import read_json_object, write_json_atomic
from lakehouse.gold_snapshot import GoldSnapshots, SnapshotError
from lakehouse.ids import id_time
from lakehouse.layout import LakeLayout
from lakehouse.research_release import (
    DICTIONARY_FILE,
    MANIFEST_FILE,
    PRIVACY_REPORT_FILE,
    ResearchReleases,
)
from lakehouse.signoff import REVIEW_FILE, SignoffError, SnapshotReviews

__all__ = [
    "EXPIRED_DIR",
    "Removal",
    "RetentionPlan",
    "RetentionPolicy",
    "RetentionRule",
    "apply_retention",
    "plan_retention",
]

EXPIRED_DIR = "expired"
#: What stays of an expired release: what it was, never its records.
RELEASE_METADATA = (MANIFEST_FILE, PRIVACY_REPORT_FILE, DICTIONARY_FILE)


@dataclass(frozen=True)
class RetentionRule:
    """Keep the newest ``keep``; remove the others once ``min_age`` old; remove every one
    older than ``max_age`` (None: no upper bound)."""

    keep: int
    min_age: timedelta
    max_age: timedelta | None = None

    def __post_init__(self) -> None:
        if self.keep < 1:
            raise ValueError("a retention rule keeps at least one")
        if self.max_age is not None and self.max_age < self.min_age:
            raise ValueError("a retention rule's max age is below its min age")

    def why_removed(self, rank: int, age: timedelta) -> str | None:
        """Why the ``rank``-th newest (0: the newest), ``age`` old, goes; None: it stays."""
        if self.max_age is not None and age > self.max_age:
            return f"older than {self.max_age.days} days"
        if rank >= self.keep and age >= self.min_age:
            return f"not among the newest {self.keep} and older than {self.min_age.days} days"
        return None


@dataclass(frozen=True)
class RetentionPolicy:
    snapshots: RetentionRule
    #: Per tier whose releases are never downloadable (the enclave extract).
    enclave: RetentionRule


@dataclass(frozen=True)
class Removal:
    kind: Literal["snapshot", "release"]
    id: str
    reason: str


@dataclass
class RetentionPlan:
    #: Snapshots, then releases, oldest first.
    remove: list[Removal] = field(default_factory=list)
    #: id -> why it stays (protected, or within the policy).
    kept: dict[str, str] = field(default_factory=dict)

    def ids(self, kind: Literal["snapshot", "release"]) -> list[str]:
        return [r.id for r in self.remove if r.kind == kind]


def _protected_snapshots(layout: LakeLayout, gold: GoldSnapshots) -> dict[str, str]:
    current = gold.current_id()
    reviews = SnapshotReviews(layout)
    out = {r.snapshot_id: "a candidate awaiting approval" for r in reviews.awaiting(current)}
    if current is None:
        return out
    out[current] = "CURRENT"
    try:
        review = reviews.read(current)
    except SignoffError:
        review = None
    # The snapshot CURRENT replaced when it was approved; before sign-off, the one it was
    # published after.
    previous = review.replaced if review is not None else None
    if previous is None:
        try:
            previous = gold.open(current).manifest.previous_snapshot_id
        except SnapshotError:
            previous = None
    if previous:
        out[previous] = "replaced by CURRENT (in-flight readers)"
    return out


def plan_retention(layout: LakeLayout, policy: RetentionPolicy, now: datetime) -> RetentionPlan:
    """What the policy removes now, and why everything else stays."""
    plan = RetentionPlan()
    gold = GoldSnapshots(layout.gold)
    protected = _protected_snapshots(layout, gold)
    newest_first = list(reversed(gold.published_ids()))
    for rank, snapshot_id in enumerate(newest_first):
        if snapshot_id in protected:
            plan.kept[snapshot_id] = protected[snapshot_id]
            continue
        reason = policy.snapshots.why_removed(rank, now - id_time(snapshot_id))
        if reason is None:
            plan.kept[snapshot_id] = "within the snapshot retention"
        else:
            plan.remove.append(Removal("snapshot", snapshot_id, reason))
    by_tier: dict[str, list[str]] = {}
    for release in ResearchReleases(layout.releases).list():  # newest first
        if release.manifest.downloadable:
            plan.kept[release.id] = "downloadable: kept until withdrawn"
            continue
        by_tier.setdefault(release.manifest.tier, []).append(release.id)
    for ids in by_tier.values():
        for rank, release_id in enumerate(ids):
            if rank == 0:
                plan.kept[release_id] = "the latest of its tier"
                continue
            reason = policy.enclave.why_removed(rank, now - id_time(release_id))
            if reason is None:
                plan.kept[release_id] = "within the enclave retention"
            else:
                plan.remove.append(Removal("release", release_id, reason))
    plan.remove.sort(key=lambda r: (r.kind, r.id))  # oldest first, snapshots first
    return plan


def _expire_snapshot(layout: LakeLayout, removal: Removal, at: str) -> Path:
    folder = layout.gold / "snapshots" / removal.id
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = None  # a folder that was never a published snapshot: nothing to keep
    record = layout.gold / EXPIRED_DIR / f"{removal.id}.json"
    write_json_atomic(
        record,
        {"snapshot_id": removal.id, "expired_at": at, "reason": removal.reason,
         "manifest": manifest, "review": read_json_object(folder / REVIEW_FILE)},
    )  # fmt: skip
    shutil.rmtree(folder)
    return record


def _expire_release(layout: LakeLayout, removal: Removal, at: str) -> Path:
    folder = layout.releases / removal.id
    target = layout.releases / EXPIRED_DIR / removal.id
    target.mkdir(parents=True, exist_ok=True)
    for name in RELEASE_METADATA:
        if (folder / name).is_file():
            shutil.copyfile(folder / name, target / name)
    record = target / "expired.json"
    write_json_atomic(
        record,
        {"release_id": removal.id, "expired_at": at, "reason": removal.reason,
         "kept": [n for n in RELEASE_METADATA if (target / n).is_file()]},
    )  # fmt: skip
    shutil.rmtree(folder)
    (layout.release_members / f"{removal.id}.json").unlink(missing_ok=True)
    return record


def apply_retention(layout: LakeLayout, plan: RetentionPlan, now: datetime) -> list[Path]:
    """Remove what ``plan`` says (call it holding the pipeline lock); returns the records left.

    Each removal writes its record before it deletes: a crash in between leaves the copy and
    its record, and the next run removes it again."""
    at = now.isoformat(timespec="seconds")
    records = []
    for removal in plan.remove:
        if removal.kind == "snapshot":
            records.append(_expire_snapshot(layout, removal, at))
        else:
            records.append(_expire_release(layout, removal, at))
    return records
