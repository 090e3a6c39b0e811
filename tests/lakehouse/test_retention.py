"""The retention policy keeps CURRENT, the snapshot before it, every candidate awaiting a data
steward's approval, the newest N and anything young; removes the rest (and anything older than the max age); never touches downloadable releases;
leaves a record of what each removed copy was."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from lakehouse.checks import CheckOutcome
from lakehouse.files import write_json_atomic
from lakehouse.gold_snapshot import GoldSnapshots, MartOrigin, publish_snapshot, stage_snapshot
from lakehouse.ids import timestamp_id
from lakehouse.layout import LakeLayout
from lakehouse.research_release import ResearchReleases, publish_release
from lakehouse.retention import RetentionPolicy, RetentionRule, apply_retention, plan_retention
from lakehouse.signoff import SnapshotReviews, write_review
from lakehouse.withdrawals import record_release_members, releases_holding

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
PASSED = [CheckOutcome("dbt_build", True, "ok")]


def _days_ago(days: float) -> str:
    return timestamp_id(NOW - timedelta(days=days))


def _policy(keep: int = 2, min_age: int = 7, max_age: int | None = None) -> RetentionPolicy:
    return RetentionPolicy(
        snapshots=RetentionRule(
            keep, timedelta(days=min_age), None if max_age is None else timedelta(days=max_age)
        ),
        enclave=RetentionRule(1, timedelta(days=30), timedelta(days=180)),
    )


def _snapshots(layout: LakeLayout, *ages: float) -> list[str]:
    """Snapshots published oldest first (each one CURRENT in turn); returns their ids."""
    ids = []
    for age in sorted(ages, reverse=True):
        snapshot_id = _days_ago(age)
        frame = pd.DataFrame({"placements": [int(age)]})
        publish_snapshot(layout.gold, snapshot_id, {"m": frame}, {"m": MartOrigin()}, PASSED)
        ids.append(snapshot_id)
    return ids


def _release(layout: LakeLayout, days: float, tier: str, downloadable: bool) -> str:
    release_id = "research-" + _days_ago(days)
    data = pd.DataFrame({"record_id": ["r1", "r2"], "case_type": ["neglect", "abandonment"]})
    publish_release(
        layout.releases, release_id, data=data, data_csv=data.to_csv(index=False),
        dictionary={"record_id": {}}, privacy_report={"k": 1}, purpose="research",
        checks=PASSED, tier=tier, downloadable=downloadable,
    )  # fmt: skip
    record_release_members(layout, release_id, ["sub_a", "sub_b"])
    return release_id


def test_current_the_one_before_it_and_the_newest_are_kept(tmp_path: Path) -> None:
    layout = LakeLayout(tmp_path)
    d100, d60, d30, d10, d3 = _snapshots(layout, 100, 60, 30, 10, 3)
    plan = plan_retention(layout, _policy(keep=2), NOW)
    assert plan.ids("snapshot") == [d100, d60, d30]
    assert plan.kept == {d3: "CURRENT", d10: "replaced by CURRENT (in-flight readers)"}
    # Nothing younger than the min age goes, whatever its rank.
    young = plan_retention(layout, _policy(keep=1, min_age=45), NOW)
    assert young.ids("snapshot") == [d100, d60] and young.kept[d30].startswith("within")


def _candidate(layout: LakeLayout, age: float) -> str:
    """A candidate snapshot awaiting approval (CURRENT does not move), as the publish step
    leaves one."""
    snapshot_id = _days_ago(age)
    frame = pd.DataFrame({"placements": [int(age)]})
    staged = stage_snapshot(layout.gold, snapshot_id, {"m": frame}, {"m": MartOrigin()}, PASSED)
    report = layout.quality_report(snapshot_id)
    write_json_atomic(report, {"violations": [], "outliers": []})
    write_review(staged.path, SnapshotReviews(layout).candidate(snapshot_id, report))
    staged.promote()
    return snapshot_id


def test_candidates_awaiting_approval_are_never_removed(tmp_path: Path) -> None:
    layout = LakeLayout(tmp_path)
    # No CURRENT yet: the first candidates wait for their approval, however old.
    first, second = _candidate(layout, 300), _candidate(layout, 200)
    plan = plan_retention(layout, _policy(keep=1, min_age=0, max_age=30), NOW)
    assert plan.remove == []
    assert plan.kept == {first: "a candidate awaiting approval", second: "a candidate awaiting approval"}  # fmt: skip
    # Once a snapshot is CURRENT, a candidate older than it can no longer be approved: an
    # ordinary old snapshot. A rejected one too; one newer than CURRENT stays.
    (current,) = _snapshots(layout, 100)
    newer = _candidate(layout, 50)
    rejected = _candidate(layout, 40)
    reviews = SnapshotReviews(layout)
    review = reviews.read(rejected)
    assert review is not None
    reviews.decided(review, "rejected", "a steward", reason="wrong")
    plan = plan_retention(layout, _policy(keep=1, min_age=0, max_age=30), NOW)
    assert plan.ids("snapshot") == [first, second, rejected]
    assert plan.kept == {current: "CURRENT", newer: "a candidate awaiting approval"}
    apply_retention(layout, plan, NOW)
    record = json.loads((layout.gold / "expired" / f"{rejected}.json").read_text())
    assert record["review"]["status"] == "rejected" and record["review"]["reason"] == "wrong"


def test_nothing_is_kept_past_the_max_age_but_current_and_the_one_before(tmp_path: Path) -> None:
    layout = LakeLayout(tmp_path)
    d400, d300, d200, d20 = _snapshots(layout, 400, 300, 200, 20)
    plan = plan_retention(layout, _policy(keep=10, max_age=180), NOW)
    assert plan.ids("snapshot") == [d400, d300] and d200 in plan.kept and d20 in plan.kept
    # CURRENT moved back to an old snapshot: it stays, and so does the one before it.
    (layout.gold / "CURRENT").write_text(d300 + "\n")
    back = plan_retention(layout, _policy(keep=1, max_age=180), NOW)
    assert back.kept[d300] == "CURRENT" and back.kept[d400].startswith("replaced")
    assert back.ids("snapshot") == [d200] and back.kept[d20].startswith("within")


def test_applying_removes_the_files_and_leaves_what_each_snapshot_was(tmp_path: Path) -> None:
    layout = LakeLayout(tmp_path)
    d100, _, _, d10, d3 = _snapshots(layout, 100, 60, 30, 10, 3)
    plan = plan_retention(layout, _policy(keep=2), NOW)
    records = apply_retention(layout, plan, NOW)
    reader = GoldSnapshots(layout.gold)
    assert reader.published_ids() == [d10, d3] and reader.current_id() == d3
    snapshot = reader.open_current()
    assert snapshot is not None and reader.mart_file(snapshot, "m").is_file()
    expired = json.loads((layout.gold / "expired" / f"{d100}.json").read_text())
    assert expired["manifest"]["snapshot_id"] == d100 and "newest 2" in expired["reason"]
    assert len(records) == 3 and not (layout.gold / "snapshots" / d100).exists()
    # Applied again: nothing left to remove.
    assert plan_retention(layout, _policy(keep=2), NOW).remove == []


def test_only_old_enclave_extracts_expire_and_their_description_stays(tmp_path: Path) -> None:
    layout = LakeLayout(tmp_path)
    _snapshots(layout, 1)
    licensed = [_release(layout, d, "licensed", True) for d in (401, 301)]
    e400, e200, e100, e10 = (_release(layout, d, "enclave", False) for d in (400, 200, 100, 10))
    plan = plan_retention(layout, _policy(), NOW)
    # The latest extract stays; one past the max age goes; one within it but not the newest
    # goes once older than the min age; downloadable files are never retention's to remove.
    assert plan.ids("release") == [e400, e200, e100]
    assert plan.kept[e10] == "the latest of its tier"
    assert all(plan.kept[r].startswith("downloadable") for r in licensed)
    apply_retention(layout, plan, NOW)
    reader = ResearchReleases(layout.releases)
    assert [r.id for r in reader.list("enclave")] == [e10]
    assert {r.id for r in reader.list("licensed")} == set(licensed)
    kept = layout.releases / "expired" / e400
    assert sorted(p.name for p in kept.iterdir()) == [
        "data_dictionary.json", "expired.json", "manifest.json", "privacy_report.json",
    ]  # fmt: skip
    # Its membership record is gone with its records; an erasure now finds only what is left.
    assert not (layout.release_members / f"{e400}.json").exists()
    assert set(releases_holding(layout, ["sub_a"])) == {*licensed, e10}
