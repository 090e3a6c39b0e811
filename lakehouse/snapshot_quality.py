"""Checks a snapshot's numbers against the declared validation rules and outlier series
(:mod:`lakehouse.reference.quality_rules`), so that a wrong number is seen before it goes out.

The result is a report for the person who approves the snapshot: every violated rule with the
places it fails (both sums), every outlier with its value, the median and spread it was judged
against, and its score. Periods that were not complete on the reporting date are listed apart
and never judged. A quarter still in progress always looks like a drop, and flagging it every
time would teach the approver to wave outliers through.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from lakehouse.periods import period_end
from lakehouse.reference.quality_rules import (
    OUTLIER_SERIES,
    VALIDATION_RULES,
    OutlierSeries,
    ValidationRule,
)

__all__ = ["Outlier", "QualityReport", "Violation", "check_snapshot_quality", "period_end"]

#: Places of a violated rule kept in the report (the count of all of them is kept too).
MAX_PLACES = 20
_MAD_SCALE = 0.6745
_MEAN_AD_SCALE = 1.253314


@dataclass(frozen=True)
class Violation:
    rule: str
    description: str
    places: int
    examples: list[dict[str, Any]]


@dataclass(frozen=True)
class Outlier:
    series: str
    group: dict[str, Any]
    period: str
    value: float
    median: float | None
    score: float | None
    reason: str


@dataclass
class QualityReport:
    rules_checked: int = 0
    series_checked: int = 0
    violations: list[Violation] = field(default_factory=list)
    outliers: list[Outlier] = field(default_factory=list)
    #: Rules or series whose mart the snapshot does not publish (named, not silently skipped).
    not_checked: list[str] = field(default_factory=list)
    #: Periods not complete on the reporting date: shown, never judged.
    partial_periods: list[str] = field(default_factory=list)

    @property
    def findings(self) -> int:
        return len(self.violations) + len(self.outliers)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _label(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


def _sums(frame: pd.DataFrame, level: Sequence[str], measure: str) -> pd.Series:
    return frame.groupby(list(level), dropna=False)[measure].sum().astype("float64")


def _check_rule(rule: ValidationRule, marts: Mapping[str, pd.DataFrame]) -> Violation | None:
    left = _sums(marts[rule.left.mart], rule.level, rule.left.measure).rename("left")
    right = _sums(marts[rule.right.mart], rule.level, rule.right.measure).rename("right")
    both = pd.concat([left, right], axis=1).fillna(0.0)
    if rule.operator == "<=":
        failing = both[both["left"] > both["right"]]
    elif rule.operator == ">=":
        failing = both[both["left"] < both["right"]]
    else:
        failing = both[both["left"] != both["right"]]
    if failing.empty:
        return None
    examples = [
        {
            **{c: _label(v) for c, v in zip(rule.level, key if isinstance(key, tuple) else (key,),
                                            strict=True)},
            rule.left.measure if rule.left.measure != rule.right.measure else "left": row.left,
            rule.right.measure if rule.left.measure != rule.right.measure else "right": row.right,
        }
        for key, row in failing.head(MAX_PLACES).iterrows()
    ]  # fmt: skip
    return Violation(rule.name, rule.description, len(failing), examples)


def _judge(
    history: pd.Series, value: float, series: OutlierSeries
) -> tuple[float, float, str] | None:
    """(median, score, reason) when ``value`` is an outlier against ``history``."""
    median = float(history.median())
    if abs(value - median) < series.min_change:
        return None
    mad = float((history - median).abs().median())
    if mad > 0:
        score = _MAD_SCALE * (value - median) / mad
    else:
        mean_ad = float((history - median).abs().mean())
        if mean_ad > 0:
            score = (value - median) / (_MEAN_AD_SCALE * mean_ad)
        else:  # constant before this period: a move by half or more
            moved = abs(value - median) >= 0.5 * max(abs(median), 1.0)
            if not moved:
                return None
            reason = "drop to zero" if value == 0 else f"moved from a constant {median:g}"
            return median, math.copysign(math.inf, value - median), reason
    if abs(score) <= series.threshold:
        return None
    reason = "drop to zero" if value == 0 and median > 0 else "modified z-score"
    return median, score, reason


def _check_series(
    series: OutlierSeries, frame: pd.DataFrame, complete_before: date | None, report: QualityReport
) -> None:
    values = (
        frame.groupby([*series.by, series.time], dropna=False)[series.measure]
        .sum(min_count=1)
        .astype("float64")
        .reset_index()
        .sort_values([*series.by, series.time])
    )
    starts = pd.to_datetime(values[series.time]).dt.date
    partial = (
        starts.map(lambda s: period_end(s, series.grain) > complete_before)
        if complete_before is not None
        else pd.Series(False, index=values.index)
    )
    for start in sorted(set(starts[partial])):
        label = f"{series.mart}: {series.grain} from {start.isoformat()}"
        if label not in report.partial_periods:
            report.partial_periods.append(label)
    groups = values[~partial.to_numpy()].groupby(list(series.by), dropna=False) if series.by else [
        ((), values[~partial.to_numpy()])
    ]  # fmt: skip
    for key, group in groups:
        keys = key if isinstance(key, tuple) else (key,)
        where = {c: _label(v) for c, v in zip(series.by, keys, strict=True)}
        measured = group[series.measure].to_numpy()
        periods = group[series.time].to_list()
        for i, value in enumerate(measured):
            if math.isnan(value):
                continue
            period = str(_label(periods[i]))
            out_of_bounds = (series.lower is not None and value < series.lower) or (
                series.upper is not None and value > series.upper
            )
            if out_of_bounds:
                report.outliers.append(
                    Outlier(series.name, where, period, float(value), None, None,
                            f"outside [{series.lower}, {series.upper}]")
                )  # fmt: skip
                continue
            history = pd.Series(measured[max(0, i - series.window) : i]).dropna()
            if math.isinf(series.threshold) or len(history) < series.min_history:
                continue
            judged = _judge(history, float(value), series)
            if judged is not None:
                median, score, reason = judged
                report.outliers.append(
                    Outlier(series.name, where, period, float(value), median,
                            score if math.isfinite(score) else None, reason)
                )  # fmt: skip


def check_snapshot_quality(
    marts: Mapping[str, pd.DataFrame],
    complete_before: date | None,
    rules: Sequence[ValidationRule] = VALIDATION_RULES,
    series: Sequence[OutlierSeries] = OUTLIER_SERIES,
) -> QualityReport:
    """Every rule and series whose marts are in ``marts``; ``complete_before``: the reporting
    date (a period ending after it is partial)."""
    report = QualityReport()
    for rule in rules:
        if rule.left.mart not in marts or rule.right.mart not in marts:
            report.not_checked.append(f"rule {rule.name}")
            continue
        report.rules_checked += 1
        violation = _check_rule(rule, marts)
        if violation is not None:
            report.violations.append(violation)
    for s in series:
        if s.mart not in marts:
            report.not_checked.append(f"series {s.name}")
            continue
        report.series_checked += 1
        _check_series(s, marts[s.mart], complete_before, report)
    return report
