"""Children in Indonesia by regency, single year of age and sex: the denominators δ-presence needs.

Why
---
δ-presence (Nergiz, Atzori & Clifton 2007) bounds what a release tells about *membership*: for a
9-year-old girl in Kota Bandung, the share of all such girls that are in the release is the
probability that she is a child in care whose guardian consented to research, a sensitive fact
in itself. Its denominators are the general child population, which BPS publishes.

What this is, exactly
---------------------
An estimate until the BPS drop (children by regency × age group × sex, issue #13) is ingested:
each province's 2020 census population (``regions.Province.weight``, millions) times the census's
national share of each single year of age 0-17 (SP2020: 0-4 8.18 %, 5-9 8.29 %, 10-14 8.25 %,
15-19 8.18 % of 270.2 million, spread evenly over the years of each group), times the national
sex ratio (50.6 % boys), split evenly over the province's regencies in the region list. It is the
right order of magnitude everywhere (what δ-presence for a few thousand children in care needs),
not an official count for any one regency; the release's privacy report names it as such.
"""

from __future__ import annotations

from functools import cache

import pandas as pd

from lakehouse.reference.regions import PROVINCES

__all__ = ["CHILD_POPULATION_SOURCE", "child_population"]

CHILD_POPULATION_SOURCE = (
    "estimate: 2020 census province totals x national single-year age and sex shares, split "
    "evenly over each province's regencies (lakehouse.reference.child_population)"
)
#: Share of the whole population in each census age group, 2020 census (SP2020).
_AGE_GROUP_SHARE = {(0, 4): 0.0818, (5, 9): 0.0829, (10, 14): 0.0825, (15, 19): 0.0818}
_BOYS = 0.506


def _year_share(age: int) -> float:
    for (low, high), share in _AGE_GROUP_SHARE.items():
        if low <= age <= high:
            return share / (high - low + 1)
    raise ValueError(f"age {age} is not a child's age")


@cache
def child_population() -> pd.DataFrame:
    """Columns regency_code, age_years (0-17), sex (M/F), children (estimated count, >= 1)."""
    rows = []
    for province in PROVINCES:
        per_regency = province.weight * 1_000_000 / len(province.regencies)
        for regency in province.regencies:
            for age in range(18):
                for sex, share in (("M", _BOYS), ("F", 1 - _BOYS)):
                    count = max(round(per_regency * _year_share(age) * share), 1)
                    rows.append((regency.code, age, sex, count))
    return pd.DataFrame(rows, columns=["regency_code", "age_years", "sex", "children"])
