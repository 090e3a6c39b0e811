"""The snapshot's numbers against the declared rules and outlier series: a doubled import
breaks a rule, a province at zero and a doubled quarter are outliers, noise in small counts
and a quarter still in progress are not, and a share above 1 is out of bounds."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from lakehouse.periods import period_end
from lakehouse.reference.quality_rules import OUTLIER_SERIES, VALIDATION_RULES
from lakehouse.snapshot_quality import check_snapshot_quality

QUARTERS = pd.date_range("2023-01-01", "2026-10-01", freq="QS")
PROVINCES = ("11", "32", "35")


def _marts(seed: int = 1) -> dict[str, pd.DataFrame]:
    """Consistent marts: the cube adds up to the impact mart, consented cubes are parts of it,
    successful <= ended, consent counts <= children in care; steady series with some noise."""
    rng = np.random.default_rng(seed)
    cube_rows = []
    for province in PROVINCES:
        for quarter in QUARTERS:
            for sex in ("F", "M"):
                cube_rows.append(
                    {"province_code": province, "quarter_start": quarter, "sex": sex,
                     "placements": int(rng.integers(9, 12))}
                )  # fmt: skip
    cube = pd.DataFrame(cube_rows)
    impact = cube.groupby(["province_code", "quarter_start"], as_index=False)["placements"].sum()
    impact["ended_placements"] = impact["placements"] - 2
    impact["successful"] = impact["ended_placements"] - 3
    impact["success_rate"] = impact["successful"] / impact["ended_placements"]
    consented = {
        f"metrics_placements_cube_{p}": cube.assign(placements=cube["placements"] // (i + 2))
        for i, p in enumerate(("research", "community", "media"))
    }
    months = pd.date_range("2025-01-01", "2026-10-01", freq="MS")
    compliance = pd.DataFrame(
        [{"institution_id": f"i{n}", "province_code": PROVINCES[n % 3], "month_start": m,
          "children_in_care": 30, "children_with_research_consent": 20,
          "children_with_community_consent": 10, "children_with_media_consent": 5,
          "research_consent_coverage": 20 / 30}
         for n in range(6) for m in months]
    )  # fmt: skip
    return {
        "impact_placement_outcomes_by_province_quarter": impact,
        "metrics_placements_cube": cube,
        **consented,
        "compliance_consent_access_by_institution_month": compliance,
    }


REPORTING = date(2026, 12, 31)  # every quarter complete


def test_consistent_marts_pass_every_rule_and_show_no_outlier() -> None:
    report = check_snapshot_quality(_marts(), REPORTING)
    assert report.rules_checked == len(VALIDATION_RULES) and report.violations == []
    assert report.series_checked == len(OUTLIER_SERIES) and report.outliers == []
    assert report.not_checked == [] and report.partial_periods == []


def test_a_doubled_import_breaks_the_rule_and_names_the_place() -> None:
    marts = _marts()
    cube = marts["metrics_placements_cube"]
    doubled = cube[(cube["province_code"] == "32") & (cube["quarter_start"] == "2025-04-01")]
    marts["metrics_placements_cube"] = pd.concat([cube, doubled])
    report = check_snapshot_quality(marts, REPORTING)
    broken = {v.rule: v for v in report.violations}
    assert set(broken) == {"cube_adds_up_to_impact"}
    (place,) = broken["cube_adds_up_to_impact"].examples
    assert place["province_code"] == "32" and place["quarter_start"] == "2025-04-01"
    assert place["left"] == 2 * place["right"]


def test_a_province_at_zero_and_a_doubled_quarter_are_outliers() -> None:
    marts = _marts()
    impact = marts["impact_placement_outcomes_by_province_quarter"]
    at_zero = (impact["province_code"] == "35") & (impact["quarter_start"] == "2026-01-01")
    doubled = (impact["province_code"] == "11") & (impact["quarter_start"] == "2025-07-01")
    impact.loc[at_zero, ["placements", "ended_placements", "successful"]] = 0
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
    marts = _marts()
    impact = marts["impact_placement_outcomes_by_province_quarter"]
    small = impact["province_code"] == "11"
    impact.loc[small, "placements"] = 0
    impact.loc[small & (impact["quarter_start"] == "2025-07-01"), "placements"] = 3
    report = check_snapshot_quality(marts, REPORTING)
    assert not [o for o in report.outliers if o.group.get("province_code") == "11"]


def test_a_quarter_in_progress_is_listed_and_never_judged() -> None:
    marts = _marts()
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
    marts = _marts()
    impact = marts["impact_placement_outcomes_by_province_quarter"]
    impact.loc[impact.index[0], "success_rate"] = 1.2
    del marts["metrics_placements_cube_media"]
    report = check_snapshot_quality(marts, REPORTING)
    (bound,) = [o for o in report.outliers if o.series == "success_rate_bounds"]
    assert bound.value == 1.2 and bound.reason == "outside [0.0, 1.0]"
    assert report.not_checked == ["rule media_cube_within_all_children"]
    assert report.to_dict()["outliers"][0]["series"] == "success_rate_bounds"
