"""Whether a snapshot that passed the gate is published (as a candidate for a data steward to
approve: :mod:`lakehouse.signoff`), or nothing new is.

A snapshot is published when it serves something ``CURRENT`` does not (its content digest
differs: :func:`lakehouse.gold_snapshot.content_digest`) or, while a candidate awaits approval,
something that candidate does not: a run that finds what the candidate holds makes no second
candidate of it (the first goes live when approved). It is published always when snapshots are
waiting
to be withdrawn: an erasure or a restriction marks every snapshot that counted the child, and
only a new publish withdraws them. Skipping it because the content happens to be equal would
keep the marked snapshot, perhaps ``CURRENT`` itself, live. A run asked to (``--force``) and a
live snapshot without a digest (published before digests were recorded) publish too: equality
cannot be shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lakehouse.gold_snapshot import SnapshotManifest

__all__ = ["PublishDecision", "decide"]


@dataclass(frozen=True)
class PublishDecision:
    publish: bool
    reason: str


def decide(
    current: SnapshotManifest | None,
    staged: SnapshotManifest,
    to_withdraw: Sequence[str],
    *,
    forced: bool = False,
    pending: SnapshotManifest | None = None,
) -> PublishDecision:
    """Publish ``staged``, or keep ``current``; and why, in words for the run's summary.
    ``pending``: the newest candidate awaiting approval that is not marked for withdrawal (it
    was built without every subject erased or restricted so far)."""
    if pending is not None:
        if forced:
            return PublishDecision(True, "forced: published whatever the content")
        if pending.content_sha256 is not None and pending.content_sha256 == staged.content_sha256:
            return PublishDecision(
                False,
                f"nothing new since candidate {pending.snapshot_id} (awaiting approval): "
                "CURRENT unchanged",
            )
        return PublishDecision(
            True, f"content differs from candidate {pending.snapshot_id} (awaiting approval)"
        )
    if current is None:
        return PublishDecision(True, "nothing was published before")
    if to_withdraw:
        return PublishDecision(
            True,
            f"{len(to_withdraw)} snapshot(s) to withdraw (an erasure or restriction) once a new "
            "one is live",
        )
    if forced:
        return PublishDecision(True, "forced: published whatever the content")
    if current.content_sha256 is None:
        return PublishDecision(
            True, f"snapshot {current.snapshot_id} records no content digest to compare with"
        )
    if current.content_sha256 != staged.content_sha256:
        return PublishDecision(True, f"content differs from snapshot {current.snapshot_id}")
    return PublishDecision(
        False, f"nothing new since snapshot {current.snapshot_id}: CURRENT unchanged"
    )
