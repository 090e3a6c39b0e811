"""Generalisation hierarchies for quasi-identifiers.

A :class:`Hierarchy` is an ordered list of level functions. Level 0 is the
original value (as a string), every next level is coarser, and the last level
is ``"*"`` (fully generalised). Each level function receives the ORIGINAL
column, not the previous level, so a level can be computed directly.

Why strict nesting matters: the lattice search in :mod:`anonymization.kanonymity`
prunes with monotonicity ("if a node is k-anonymous, every more general node
is"). That only holds if each level is a coarsening of the previous one (every
value maps to exactly one value one level up). ``anonymize`` checks this on the
data, which is why e.g. the year hierarchy only offers nested periods.

Missing values become ``"unknown"`` (a category of its own, never NaN) until
the final ``"*"`` level: analysts can then tell "not recorded" from
"generalised away", and the output never contains NaN.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lakehouse.reference.regions import ISLAND_GROUPS

__all__ = [
    "MISSING",
    "SUPPRESSED",
    "Hierarchy",
    "age_hierarchy",
    "categorical_hierarchy",
    "disability_hierarchy",
    "province_hierarchy",
    "sex_hierarchy",
    "year_hierarchy",
]

SUPPRESSED = "*"
#: Joins the values of a set released in place of one value ("3201|3204": either regency), as
#: local recoding releases siblings of the hierarchy that share a cell.
SET_SEPARATOR = "|"
_RANGE = re.compile(r"^(\d+)-(\d+)$")


def released_members(label: str, ordered: bool, base_labels: Iterable[Any]) -> list[str] | None:
    """What a released set or range stands for: the labels a set joins ("3201|3204"), or, for
    an ordered attribute, the original values (``base_labels``: the level-0 labels there are)
    inside a range ("8-13", also a band such as "05-09"); None for any other label. The one
    reading of local recoding's and microaggregation's values that utility and risk share."""
    if SET_SEPARATOR in label:
        return label.split(SET_SEPARATOR)
    bounds = _RANGE.match(label) if ordered else None
    if bounds is None:
        return None
    low, high = int(bounds.group(1)), int(bounds.group(2))
    return [str(v) for v in base_labels if str(v).isdigit() and low <= int(v) <= high]


MISSING = "unknown"

Level = Callable[[pd.Series], pd.Series]


@dataclass(frozen=True)
class Hierarchy:
    """Named generalisation levels for one quasi-identifier (0 = original, last = "*")."""

    name: str
    levels: Sequence[Level]
    level_names: Sequence[str] | None = None
    #: Whether the values have an order a cut should follow (ages, years): local recoding then
    #: cuts a set of siblings into ranges; otherwise it cuts the most frequent from the rest.
    ordered: bool = False

    def __post_init__(self) -> None:
        if len(self.levels) < 1:
            raise ValueError(f"hierarchy {self.name!r} needs at least one level")
        if self.level_names is not None and len(self.level_names) != len(self.levels):
            raise ValueError(f"hierarchy {self.name!r}: one level name per level required")

    @property
    def height(self) -> int:
        """Number of levels (including the original and the "*" level)."""
        return len(self.levels)

    def level_name(self, level: int) -> str:
        if self.level_names is not None:
            return self.level_names[level]
        return SUPPRESSED if level == self.height - 1 else f"level_{level}"

    def generalize(self, series: pd.Series, level: int) -> pd.Series:
        """Values of ``series`` at ``level`` as strings; missing -> "unknown", never NaN."""
        out = self.levels[level](series)
        out = out.astype(object).where(out.notna(), MISSING)
        return out.astype(str)


def _map_unique(series: pd.Series, func: Callable[[Any], str]) -> pd.Series:
    """Apply ``func`` once per distinct value (QI columns have few distinct values)."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    mapped = np.array([func(v) for v in uniques.tolist()] + [MISSING], dtype=object)
    return pd.Series(mapped[codes], index=series.index, dtype=object)


def _as_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or MISSING


def _star(series: pd.Series) -> pd.Series:
    return pd.Series(SUPPRESSED, index=series.index, dtype=object)


def _original(series: pd.Series) -> pd.Series:
    return _map_unique(series, _as_text)


# --- age ---------------------------------------------------------------------


def _age_band(width: int) -> Level:
    def band(series: pd.Series) -> pd.Series:
        def label(value: Any) -> str:
            age = _to_int(value)
            if age is None or age < 0:
                return MISSING
            lo = age // width * width
            return f"{lo:02d}-{lo + width - 1:02d}"

        return _map_unique(series, label)

    return band


def _to_int(value: Any) -> int | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number != number:  # NaN
        return None
    return int(number)


def _exact_age(series: pd.Series) -> pd.Series:
    def label(value: Any) -> str:
        age = _to_int(value)
        return MISSING if age is None or age < 0 else str(age)

    return _map_unique(series, label)


def age_hierarchy(name: str = "age") -> Hierarchy:
    """Exact age -> 5-year band ("00-04") -> 10-year band ("00-09") -> "*"."""
    return Hierarchy(
        name,
        [_exact_age, _age_band(5), _age_band(10), _star],
        ["age", "age_5y", "age_10y", SUPPRESSED],
        ordered=True,
    )


# --- sex -----------------------------------------------------------------------


def sex_hierarchy(name: str = "sex") -> Hierarchy:
    """Value -> "*"."""
    return Hierarchy(name, [_original, _star], ["sex", SUPPRESSED])


# --- region --------------------------------------------------------------------

_NON_DIGIT = re.compile(r"\D")


def _region_digits(value: Any) -> str | None:
    text = _as_text(value)
    digits = _NON_DIGIT.sub("", text)
    if len(digits) < 2 or digits[:2] not in ISLAND_GROUPS:
        return None
    return digits


def _regency(series: pd.Series) -> pd.Series:
    return _map_unique(series, lambda v: _region_digits(v) or MISSING)


def _province(series: pd.Series) -> pd.Series:
    def label(value: Any) -> str:
        digits = _region_digits(value)
        return digits[:2] if digits else MISSING

    return _map_unique(series, label)


def _island_group(series: pd.Series) -> pd.Series:
    def label(value: Any) -> str:
        digits = _region_digits(value)
        return ISLAND_GROUPS[digits[:2]] if digits else MISSING

    return _map_unique(series, label)


def province_hierarchy(name: str = "region") -> Hierarchy:
    """Regency code (4 digits, e.g. "3201") -> province ("32") -> island group -> "*".

    Codes whose province prefix is not a BPS province become "unknown".
    """
    return Hierarchy(
        name,
        [_regency, _province, _island_group, _star],
        ["regency", "province", "island_group", SUPPRESSED],
    )


# --- year ------------------------------------------------------------------------


def _to_year(value: Any) -> int | None:
    if isinstance(value, dt.date | pd.Timestamp):
        return value.year
    number = _to_int(value)
    if number is not None and 1000 <= number <= 9999:
        return number
    try:
        parsed = pd.to_datetime(str(value), errors="coerce")
    except (TypeError, ValueError):
        return None
    return None if pd.isna(parsed) else int(parsed.year)


def _period(width: int) -> Level:
    def period(series: pd.Series) -> pd.Series:
        def label(value: Any) -> str:
            year = _to_year(value)
            if year is None:
                return MISSING
            lo = year // width * width
            return f"{lo}-{lo + width - 1}"

        return _map_unique(series, label)

    return period


def _year(series: pd.Series) -> pd.Series:
    return _map_unique(series, lambda v: str(y) if (y := _to_year(v)) is not None else MISSING)


def year_hierarchy(name: str = "year", periods: Sequence[int] = (5,)) -> Hierarchy:
    """Date or year -> year -> period(s) -> "*".

    Periods are calendar-aligned (5 -> "2015-2019") and each must divide the
    next, so the levels nest: (2, 10) is valid, (2, 5) is not and is rejected.
    """
    widths = list(periods)
    for smaller, larger in itertools.pairwise(widths):
        if larger % smaller:
            raise ValueError(f"periods must nest: {larger} is not a multiple of {smaller}")
    if any(w < 2 for w in widths):
        raise ValueError("periods must be at least 2 years")
    return Hierarchy(
        name,
        [_year, *[_period(w) for w in widths], _star],
        ["year", *[f"{w}y" for w in widths], SUPPRESSED],
        ordered=True,
    )


# --- categorical -------------------------------------------------------------------


def categorical_hierarchy(
    name: str,
    *mappings: Mapping[str, str],
    level_names: Sequence[str] | None = None,
    unmapped: str = "other",
) -> Hierarchy:
    """Original value -> mappings[0] -> mappings[1] ... -> "*".

    Each mapping is applied to the previous level's values, so nesting holds by
    construction. Values missing from a mapping become ``unmapped`` (and
    "unknown" stays "unknown"), so an unexpected code never leaks unchanged.
    """

    def compose(depth: int) -> Level:
        def level(series: pd.Series) -> pd.Series:
            def label(value: Any) -> str:
                current = _as_text(value)
                for mapping in mappings[:depth]:
                    if current == MISSING:
                        break
                    current = mapping.get(current, unmapped)
                return current

            return _map_unique(series, label)

        return level

    levels = [compose(d) for d in range(len(mappings) + 1)] + [_star]
    names = list(level_names) if level_names is not None else None
    if names is not None and len(names) == len(levels) - 1:
        names.append(SUPPRESSED)
    return Hierarchy(name, levels, names)


def disability_hierarchy(
    name: str = "disability",
    none_values: Sequence[str] = ("none", "tidak ada", "tidak", "no", "tanpa disabilitas"),
) -> Hierarchy:
    """Disability type -> "any_disability" / "none" -> "*"."""
    none_set = {v.casefold() for v in none_values}

    def binary(series: pd.Series) -> pd.Series:
        def label(value: Any) -> str:
            text = _as_text(value)
            if text == MISSING:
                return MISSING
            return "none" if text.casefold() in none_set else "any_disability"

        return _map_unique(series, label)

    return Hierarchy(name, [_original, binary, _star], ["disability", "any_disability", "*"])
