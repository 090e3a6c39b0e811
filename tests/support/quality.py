"""Marts for the quality checks and the sign-off (a pytest-free helper): consistent ones, and
the defects the checks exist for, planted in them.

The marts have the shape and columns of the real ones the rules and series read
(``lakehouse.reference.quality_rules``): the cube adds up to the impact mart, consented cubes
are parts of it, successful <= ended, consent counts <= children in care; steady series with
some noise, so a planted defect is the only finding.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

IMPACT = "impact_placement_outcomes_by_province_quarter"
CUBE = "metrics_placements_cube"
COMPLIANCE = "compliance_consent_access_by_institution_month"
QUARTERS = pd.date_range("2023-01-01", "2026-10-01", freq="QS")
PROVINCES = ("11", "32", "35")


def consistent_marts(seed: int = 1) -> dict[str, pd.DataFrame]:
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


def double_quarter(marts: dict[str, pd.DataFrame], province: str, quarter: str) -> None:
    """A quarter of one province imported twice into the cube (the impact mart is not)."""
    cube = marts[CUBE]
    doubled = cube[(cube["province_code"] == province) & (cube["quarter_start"] == quarter)]
    marts[CUBE] = pd.concat([cube, doubled], ignore_index=True)


def province_at_zero(marts: dict[str, pd.DataFrame], province: str, quarter: str) -> None:
    """A province whose placements drop to zero in one quarter of the impact mart."""
    impact = marts[IMPACT]
    at_zero = (impact["province_code"] == province) & (impact["quarter_start"] == quarter)
    impact.loc[at_zero, ["placements", "ended_placements", "successful"]] = 0


def double_month(marts: dict[str, pd.DataFrame], month: str) -> None:
    """Every institution's row of one month in the compliance mart imported twice."""
    compliance = marts[COMPLIANCE]
    again = compliance[compliance["month_start"] == month]
    marts[COMPLIANCE] = pd.concat([compliance, again], ignore_index=True)
