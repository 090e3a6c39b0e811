"""What a gold snapshot's numbers must satisfy before anyone approves them, declared once.

Two kinds, in the manner of DHIS2's validation rules and outlier detection
(:mod:`lakehouse.snapshot_quality` checks them):

* **Validation rules** compare two measures at one level, e.g. per province and quarter. Each
  side is the sum of a mart's column at that level. A level present on one side only counts
  as 0 on the other. A rule states something that holds by construction of the data: a child
  who is counted as reunified was counted as placed. So a violation means a defect (a doubled
  import, a join that lost rows), never a surprise in the world.
* **Outlier series**: one measure of a mart per group (e.g. placements per province) over
  time. Each complete period is compared with the periods before it by the modified z-score
  (Iglewicz & Hoaglin 1993: 0.6745 (x - median) / MAD, flagged beyond 3.5). A series with no
  spread (MAD 0) uses the mean absolute deviation instead (x 1.2533, as IBM's and DHIS2's
  variants do). A series that is constant before the period is flagged when the value moves
  from it by half or more: a province whose placements drop to zero, or a month imported
  twice. Bounds (``lower``, ``upper``) are hard limits, such as a share between 0 and 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["OUTLIER_SERIES", "VALIDATION_RULES", "OutlierSeries", "Side", "ValidationRule"]

Operator = Literal["<=", "==", ">="]


@dataclass(frozen=True)
class Side:
    mart: str
    measure: str


@dataclass(frozen=True)
class ValidationRule:
    name: str
    description: str
    left: Side
    operator: Operator
    right: Side
    #: Columns both marts have; the sums are compared per combination of their values.
    level: tuple[str, ...]


@dataclass(frozen=True)
class OutlierSeries:
    name: str
    mart: str
    measure: str
    #: The groups, each its own series (empty: one national series).
    by: tuple[str, ...]
    #: The period column (the first day of each period).
    time: str
    grain: Literal["month", "quarter"]
    threshold: float = 3.5
    #: Periods a value is compared with: at least ``min_history`` (fewer and it is not judged),
    #: at most the ``window`` before it (two years of quarters, a year of months: an old level
    #: says little about a series that has grown since).
    min_history: int = 4
    window: int = 8
    #: A value within this of the median is never an outlier. In counts this small, the
    #: scores flag noise (1 placement where the median is 0); the small-cell rules hide such
    #: counts from every audience anyway.
    min_change: float = 5.0
    lower: float | None = None
    upper: float | None = None


_IMPACT = "impact_placement_outcomes_by_province_quarter"
_CUBE = "metrics_placements_cube"
_COMPLIANCE = "compliance_consent_access_by_institution_month"
_PROVINCE_QUARTER = ("province_code", "quarter_start")
_INSTITUTION_MONTH = ("institution_id", "month_start")

VALIDATION_RULES: tuple[ValidationRule, ...] = (
    ValidationRule(
        "successful_within_ended",
        "A successful placement is an ended one: successful <= ended placements.",
        Side(_IMPACT, "successful"),
        "<=",
        Side(_IMPACT, "ended_placements"),
        _PROVINCE_QUARTER,
    ),
    ValidationRule(
        "cube_adds_up_to_impact",
        "The placements cube, added up over sex, age, placement and institution type, is the "
        "impact mart's placements.",
        Side(_CUBE, "placements"),
        "==",
        Side(_IMPACT, "placements"),
        _PROVINCE_QUARTER,
    ),
    *(
        ValidationRule(
            f"{purpose}_cube_within_all_children",
            f"The children with {purpose} consent are some of all children: their placements "
            "<= all placements.",
            Side(f"{_CUBE}_{purpose}", "placements"),
            "<=",
            Side(_CUBE, "placements"),
            _PROVINCE_QUARTER,
        )
        for purpose in ("research", "community", "media")
    ),
    *(
        ValidationRule(
            f"{purpose}_consent_within_care",
            f"Children with {purpose} consent are children in care: <= children in care.",
            Side(_COMPLIANCE, f"children_with_{purpose}_consent"),
            "<=",
            Side(_COMPLIANCE, "children_in_care"),
            _INSTITUTION_MONTH,
        )
        for purpose in ("research", "community", "media")
    ),
)

OUTLIER_SERIES: tuple[OutlierSeries, ...] = (
    OutlierSeries(
        "placements_by_province",
        _IMPACT,
        "placements",
        ("province_code",),
        "quarter_start",
        "quarter",
    ),
    OutlierSeries("placements_national", _IMPACT, "placements", (), "quarter_start", "quarter"),
    OutlierSeries(
        "success_rate_bounds",
        _IMPACT,
        "success_rate",
        ("province_code",),
        "quarter_start",
        "quarter",
        threshold=float("inf"),
        lower=0.0,
        upper=1.0,
    ),
    OutlierSeries(
        "children_in_care_by_province",
        _COMPLIANCE,
        "children_in_care",
        ("province_code",),
        "month_start",
        "month",
    ),
    OutlierSeries(
        "research_consent_coverage_bounds",
        _COMPLIANCE,
        "research_consent_coverage",
        ("institution_id",),
        "month_start",
        "month",
        threshold=float("inf"),
        lower=0.0,
        upper=1.0,
    ),
)
