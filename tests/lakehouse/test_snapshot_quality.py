"""The snapshot's numbers against the declared rules and outlier series: a doubled import
breaks a rule, a province at zero and a doubled quarter are outliers, noise in small counts
and a quarter still in progress are not, and a share above 1 is out of bounds."""

from __future__ import annotations

from datetime import date

from lakehouse.periods import period_end
from lakehouse.reference.quality_rules import OUTLIER_SERIES, VALIDATION_RULES
from lakehouse.snapshot_quality import check_snapshot_quality
from tests.support.quality import consistent_marts, double_quarter, province_at_zero

REPORTING = date(2026, 12, 31)  # every quarter complete


def test_consistent_marts_pass_every_rule_and_show_no_outlier() -> None:
    report = check_snapshot_quality(consistent_marts(), REPORTING)
    assert report.rules_checked == len(VALIDATION_RULES) and report.violations == []
    assert report.series_checked == len(OUTLIER_SERIES) and report.outliers == []
    assert report.not_checked == [] and report.partial_periods == []


def test_a_doubled_import_breaks_the_rule_and_names_the_place() -> None:
    marts = consistent_marts()
    double_quarter(marts, "32", "2025-04-01")
    report = check_snapshot_quality(marts, REPORTING)
    broken = {v.rule: v for v in report.violations}
    assert set(broken) == {"cube_adds_up_to_impact"}
    (place,) = broken["cube_adds_up_to_impact"].examples
    assert place["province_code"] == "32" and place["quarter_start"] == "2025-04-01"
    assert place["left"] == 2 * place["right"]


def test_a_province_at_zero_and_a_doubled_quarter_are_outliers() -> None:
    marts = consistent_marts()
    province_at_zero(marts, "35", "2026-01-01")
    impact = marts["impact_placement_outcomes_by_province_quarter"]
    doubled = (impact["province_code"] == "11") & (impact["quarter_start"] == "2025-07-01")
    impact.loc[doubled, "placements"] = impact.loc[doubled, "placements"] * 2
    report = check_snapshot_quality(marts, REPORTING)
    found = {
        (o.series, o.group.get("province_code"), o.period): o
        for o in report.outliers
        if o.series == "placements_by_province"
    }
    assert set(found) == {
        ("placements_by_province", "35", "2026-01-01"),
        ("placements_by_province", "11", "2025-07-01"),
    }
    assert found[("placements_by_province", "35", "2026-01-01")].reason == "drop to zero"
    assert found[("placements_by_province", "11", "2025-07-01")].score > 3.5  # type: ignore[operator]


def test_noise_in_small_counts_is_not_an_outlier() -> None:
    marts = consistent_marts()
    impact = marts["impact_placement_outcomes_by_province_quarter"]
    small = impact["province_code"] == "11"
    impact.loc[small, "placements"] = 0
    impact.loc[small & (impact["quarter_start"] == "2025-07-01"), "placements"] = 3
    report = check_snapshot_quality(marts, REPORTING)
    assert not [o for o in report.outliers if o.group.get("province_code") == "11"]


def test_a_quarter_in_progress_is_listed_and_never_judged() -> None:
    marts = consistent_marts()
    impact = marts["impact_placement_outcomes_by_province_quarter"]
    impact.loc[impact["quarter_start"] == "2026-10-01", "placements"] = 1  # a month in
    report = check_snapshot_quality(marts, date(2026, 11, 1))
    assert report.outliers == []
    assert (
        "impact_placement_outcomes_by_province_quarter: quarter from 2026-10-01"
        in report.partial_periods
    )
    assert period_end(date(2026, 10, 1), "quarter") == date(2026, 12, 31)
    assert period_end(date(2026, 12, 1), "month") == date(2026, 12, 31)
    assert period_end(date(2024, 2, 1), "month") == date(2024, 2, 29)
    assert period_end(date(2026, 1, 1), "year") == date(2026, 12, 31)


def test_a_share_above_one_is_out_of_bounds_and_a_missing_mart_is_named() -> None:
    marts = consistent_marts()
    impact = marts["impact_placement_outcomes_by_province_quarter"]
    impact.loc[impact.index[0], "success_rate"] = 1.2
    del marts["metrics_placements_cube_media"]
    report = check_snapshot_quality(marts, REPORTING)
    (bound,) = [o for o in report.outliers if o.series == "success_rate_bounds"]
    assert bound.value == 1.2 and bound.reason == "outside [0.0, 1.0]"
    assert report.not_checked == ["rule media_cube_within_all_children"]
    assert report.to_dict()["outliers"][0]["series"] == "success_rate_bounds"
