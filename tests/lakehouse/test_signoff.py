"""Findings and reviews of the sign-off: a planted defect is a finding with a stable id that
says what it is, its value and what was expected; every finding must be acknowledged by id; a
review is written atomically, a quality report changed after the candidate was made cannot be
approved from, and a broken review is never taken for one."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from lakehouse.checks import CheckOutcome
from lakehouse.files import write_json_atomic
from lakehouse.gold_snapshot import MartOrigin, publish_snapshot, stage_snapshot
from lakehouse.layout import LakeLayout
from lakehouse.signoff import (
    REVIEW_FILE,
    SignoffError,
    SnapshotReviews,
    check_acknowledged,
    findings_of,
    write_review,
)
from lakehouse.snapshot_quality import check_snapshot_quality
from tests.support.quality import consistent_marts, double_month, double_quarter, province_at_zero

REPORTING = date(2026, 12, 31)
PASSED = [CheckOutcome("dbt_build", True, "ok")]
LIVE, OLDER, NEWER = "20260101T000000000000Z", "20251201T000000000000Z", "20260201T000000000000Z"


def _planted() -> dict[str, pd.DataFrame]:
    marts = consistent_marts()
    double_quarter(marts, "32", "2025-04-01")
    province_at_zero(marts, "35", "2026-01-01")
    double_month(marts, "2026-03-01")
    return marts


def _report() -> dict:
    return json.loads(json.dumps(check_snapshot_quality(_planted(), REPORTING).to_dict()))


def test_each_planted_defect_is_a_finding_with_a_stable_id() -> None:
    findings = {f.id: f for f in findings_of(_report())}
    doubled = findings["rule:cube_adds_up_to_impact"]
    # The doubled quarter, and the province at zero in the impact mart but not in the cube.
    assert doubled.kind == "rule violation" and "fails in 2 place(s)" in doubled.what
    assert doubled.value == (
        "province_code 32, quarter_start 2025-04-01: left 40 vs right 20; "
        "province_code 35, quarter_start 2026-01-01: left 21 vs right 0"
    )
    assert "added up" in doubled.expected
    zero = findings["outlier:placements_by_province:35:2026-01-01"]
    assert zero.kind == "outlier" and zero.value == "0 placements"
    assert "dropped to zero" in zero.expected and zero.what.endswith("period 2026-01-01")
    months = [i for i in findings if i.startswith("outlier:children_in_care_by_province:")]
    assert months == [f"outlier:children_in_care_by_province:{p}:2026-03-01" for p in ("11", "32", "35")]  # fmt: skip
    assert findings[months[0]].value == "120 children_in_care"
    assert findings[months[0]].expected == "about 60; moved from a constant 60"
    national = findings["outlier:placements_national:2026-01-01"]
    assert national.expected.endswith("modified z-score -13.5, beyond ±3.5")
    bounds = [i for i in findings if i.startswith("outlier:research_consent_coverage_bounds:")]
    assert len(bounds) == 6 and findings[bounds[0]].expected == "within [0.0, 1.0]"
    # The same defects give the same ids in the next candidate.
    assert [f.id for f in findings_of(_report())] == list(findings)


def test_a_report_that_is_not_one_is_a_clear_error() -> None:
    with pytest.raises(SignoffError, match="not a quality report"):
        findings_of({"violations": [{"rule": "x"}], "outliers": []})
    with pytest.raises(SignoffError, match="not a quality report"):
        findings_of({})


def test_every_finding_is_acknowledged_one_by_one() -> None:
    ids = ["rule:a", "outlier:b:1:2026-01-01", "outlier:b:2:2026-01-01"]
    assert check_acknowledged("S", ids, [ids[2], ids[0], ids[1], ids[0]]) == ids
    with pytest.raises(SignoffError) as missing:
        check_acknowledged("S", ids, [ids[0]])
    assert "2 of 3 finding(s) not acknowledged: outlier:b:1:2026-01-01, outlier:b:2:2026-01-01" in str(missing.value)  # fmt: skip
    with pytest.raises(SignoffError) as unknown:
        check_acknowledged("S", ids, [*ids, "rule:nope"])
    assert "not a finding of snapshot S: rule:nope" in str(unknown.value)
    assert "not acknowledged" not in str(unknown.value)
    assert check_acknowledged("S", [], []) == []


def _candidate(layout: LakeLayout, snapshot_id: str, report: dict) -> SnapshotReviews:
    staged = stage_snapshot(
        layout.gold, snapshot_id, {"m": pd.DataFrame({"n": [1]})}, {"m": MartOrigin()}, PASSED
    )
    path = layout.quality_report(snapshot_id)
    write_json_atomic(path, report)
    reviews = SnapshotReviews(layout)
    write_review(staged.path, reviews.candidate(snapshot_id, path))
    staged.promote()
    return reviews


def test_reviews_say_what_awaits_approval(tmp_path: Path) -> None:
    layout = LakeLayout(tmp_path / "lake")
    publish_snapshot(layout.gold, LIVE, {"m": pd.DataFrame({"n": [1]})}, {"m": MartOrigin()}, PASSED)  # fmt: skip
    reviews = _candidate(layout, NEWER, _report())
    _candidate(layout, OLDER, {"violations": [], "outliers": []})
    assert (layout.gold / "CURRENT").read_text().strip() == LIVE  # a candidate moves nothing
    assert reviews.status(LIVE) == "published before sign-off"
    assert (
        reviews.status(NEWER) == "candidate"
        and reviews.status("20990101T000000000000Z") == "unknown"
    )
    assert [r.snapshot_id for r in reviews.awaiting(LIVE)] == [NEWER]  # OLDER is behind CURRENT
    review = reviews.read(NEWER)
    assert review is not None
    assert [f.id for f in reviews.findings(review)] == review.findings != []
    decided = reviews.decided(review, "rejected", "Siti (data-steward key 0)", reason="wrong")
    assert reviews.read(NEWER) == decided and reviews.awaiting(LIVE) == []


def test_a_changed_report_or_a_broken_review_is_refused(tmp_path: Path) -> None:
    layout = LakeLayout(tmp_path / "lake")
    reviews = _candidate(layout, NEWER, _report())
    review = reviews.read(NEWER)
    assert review is not None
    report = _report()
    report["outliers"] = []  # somebody "fixed" the report after the candidate was made
    write_json_atomic(layout.quality_report(NEWER), report)
    with pytest.raises(SignoffError, match="has changed since the candidate was made"):
        reviews.findings(review)
    layout.quality_report(NEWER).unlink()
    with pytest.raises(SignoffError, match="is gone"):
        reviews.findings(review)
    (layout.gold / "snapshots" / NEWER / REVIEW_FILE).write_text('{"status": "approved"}')
    with pytest.raises(SignoffError, match="is not a review"):
        reviews.read(NEWER)
    assert reviews.status(NEWER) == "unknown" and reviews.awaiting(None) == []
    with pytest.raises(SignoffError, match="not a snapshot id"):
        reviews.read("../CURRENT")
