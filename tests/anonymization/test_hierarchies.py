"""Generalisation hierarchies: levels, labels, nesting, missing values."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from anonymization.hierarchies import (
    MISSING,
    Hierarchy,
    age_hierarchy,
    categorical_hierarchy,
    disability_hierarchy,
    province_hierarchy,
    sex_hierarchy,
    year_hierarchy,
)


def _levels(h: Hierarchy, values: list[object]) -> list[list[str]]:
    s = pd.Series(values)
    return [h.generalize(s, level).tolist() for level in range(h.height)]


def test_age() -> None:
    h = age_hierarchy()
    assert _levels(h, [0, 4, 7.0, 17, None]) == [
        ["0", "4", "7", "17", MISSING],
        ["00-04", "00-04", "05-09", "15-19", MISSING],
        ["00-09", "00-09", "00-09", "10-19", MISSING],
        ["*"] * 5,
    ]
    assert [h.level_name(i) for i in range(h.height)] == ["age", "age_5y", "age_10y", "*"]


def test_sex() -> None:
    assert _levels(sex_hierarchy(), ["L", "P", np.nan]) == [["L", "P", MISSING], ["*"] * 3]


def test_province() -> None:
    h = province_hierarchy()
    assert _levels(h, ["3201", 3273, "91.05", "5171", "9999", None]) == [
        ["3201", "3273", "9105", "5171", MISSING, MISSING],
        ["32", "32", "91", "51", MISSING, MISSING],
        ["Jawa", "Jawa", "Maluku-Papua", "Bali-Nusa Tenggara", MISSING, MISSING],
        ["*"] * 6,
    ]


def test_year() -> None:
    h = year_hierarchy(periods=(2, 10))
    values = [2015, "2016", dt.date(2019, 5, 1), pd.Timestamp("2020-01-02"), "2021-07-30", None]
    assert _levels(h, values) == [
        ["2015", "2016", "2019", "2020", "2021", MISSING],
        ["2014-2015", "2016-2017", "2018-2019", "2020-2021", "2020-2021", MISSING],
        ["2010-2019", "2010-2019", "2010-2019", "2020-2029", "2020-2029", MISSING],
        ["*"] * 6,
    ]
    assert _levels(year_hierarchy(), [2017])[1] == ["2015-2019"]
    with pytest.raises(ValueError):
        year_hierarchy(periods=(2, 5))  # 2-year periods do not nest in 5-year ones


def test_categorical_and_disability() -> None:
    h = categorical_hierarchy(
        "institution",
        {"LKSA": "residential", "panti": "residential", "foster": "family_based"},
        {"residential": "care", "family_based": "care"},
        level_names=["institution", "care_type", "care"],
    )
    assert _levels(h, ["LKSA", "foster", "unknown_code", None]) == [
        ["LKSA", "foster", "unknown_code", MISSING],
        ["residential", "family_based", "other", MISSING],
        ["care", "care", "other", MISSING],
        ["*"] * 4,
    ]
    assert h.level_name(3) == "*"
    d = disability_hierarchy()
    assert _levels(d, ["tunanetra", "none", "Tidak Ada", None])[1] == [
        "any_disability",
        "none",
        "none",
        MISSING,
    ]


def test_output_is_never_nan() -> None:
    for h in [age_hierarchy(), province_hierarchy(), year_hierarchy(), disability_hierarchy()]:
        for level in range(h.height):
            out = h.generalize(pd.Series([None, np.nan, pd.NA], dtype=object), level)
            assert out.notna().all() and all(isinstance(v, str) for v in out)
