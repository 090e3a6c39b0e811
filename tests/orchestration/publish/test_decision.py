"""A snapshot that serves what CURRENT serves (or what the candidate awaiting approval serves)
is not published, unless withdrawals wait for a new one (an erasure or a restriction), the run
is forced, or equality cannot be shown."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lakehouse.checks import CheckOutcome
from lakehouse.gold_snapshot import MartOrigin, SnapshotManifest, publish_snapshot, stage_snapshot
from orchestration.publish.decision import decide

PASSED = [CheckOutcome("dbt_build", True, "ok")]
ORIGINS = {"m": MartOrigin(relation="marts.m", audience=("government",))}


def _frames(value: int = 1) -> dict[str, pd.DataFrame]:
    return {"m": pd.DataFrame({"province_code": ["32", "33"], "placements": [value, 5]})}


def _current(gold: Path) -> SnapshotManifest:
    return publish_snapshot(gold, "20260101T000000000000Z", _frames(), ORIGINS, PASSED).manifest


def _staged(gold: Path, value: int = 1) -> SnapshotManifest:
    staged = stage_snapshot(gold, "20260102T000000000000Z", _frames(value), ORIGINS, PASSED)
    staged.discard()
    return staged.manifest


def test_the_same_content_publishes_nothing_and_says_since_when(tmp_path: Path) -> None:
    current = _current(tmp_path)
    decision = decide(current, _staged(tmp_path), [])
    assert not decision.publish
    assert decision.reason == (
        "nothing new since snapshot 20260101T000000000000Z: CURRENT unchanged"
    )


def test_other_content_is_published(tmp_path: Path) -> None:
    current = _current(tmp_path)
    decision = decide(current, _staged(tmp_path, value=2), [])
    assert decision.publish and "content differs" in decision.reason


def test_withdrawals_waiting_for_a_new_snapshot_publish_whatever_the_content(
    tmp_path: Path,
) -> None:
    """An erased child's snapshots go only once a new one is live: 'nothing new' must never
    keep them (CURRENT may be one of them)."""
    current = _current(tmp_path)
    decision = decide(current, _staged(tmp_path), [current.snapshot_id])
    assert decision.publish and "withdraw" in decision.reason


def test_a_forced_run_the_first_publish_and_an_old_manifest_publish(tmp_path: Path) -> None:
    current = _current(tmp_path)
    staged = _staged(tmp_path)
    assert decide(current, staged, [], forced=True).publish
    assert decide(None, staged, []).publish
    old = current.model_copy(update={"content_sha256": None})  # published before digests
    assert decide(old, staged.model_copy(update={"content_sha256": None}), []).publish


def test_a_candidate_awaiting_approval_is_what_a_new_snapshot_is_compared_with(
    tmp_path: Path,
) -> None:
    """A second run before the steward approved the first candidate makes no second candidate
    of the same content (whatever CURRENT serves), and a new one of other content."""
    current = _current(tmp_path)
    pending = _staged(tmp_path, value=2)
    same = decide(current, _staged(tmp_path, value=2), [], pending=pending)
    assert not same.publish
    assert same.reason == (
        "nothing new since candidate 20260102T000000000000Z (awaiting approval): CURRENT unchanged"
    )
    # Content equal to CURRENT's but not to the candidate's is new against the candidate.
    back = decide(current, _staged(tmp_path), [], pending=pending)
    assert back.publish and "content differs from candidate" in back.reason
    # Withdrawals waiting: the pending candidate (not marked: made after the request) will
    # withdraw them when approved; a run forced publishes.
    assert not decide(current, _staged(tmp_path, 2), ["20260101T000000000000Z"], pending=pending).publish  # fmt: skip
    assert decide(current, _staged(tmp_path, 2), [], forced=True, pending=pending).publish
    assert not decide(None, _staged(tmp_path, 2), [], pending=pending).publish
