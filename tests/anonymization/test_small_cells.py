"""Small-cell suppression: primary + complementary, checked on many random tables."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from anonymization.small_cells import (
    singly_hidden_lines,
    suppress_cells,
    verify_no_recoverable_cells,
)

PRIMARY = "primary: count 1..4"


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "region": ["A", "A", "A", "B", "B", "B"],
            "sex": ["L", "P", "X", "L", "P", "X"],
            "n": [3, 20, 15, 30, 25, 40],
            "rate": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
        }
    )


def test_worked_example() -> None:
    out = suppress_cells(_table(), ["region", "sex"], "n", 5, ["rate"])
    assert out["suppressed"].tolist() == [True, False, True, True, False, True]
    assert out["suppression_reason"].tolist() == [
        PRIMARY,
        None,
        "complementary: protects a suppressed cell in the sex margin",  # A: hide 15 with the 3
        "complementary: protects a suppressed cell in the region margin",  # column L: hide 30
        None,
        # column X: hide 40, which also completes row B (its 25 would open column P)
        "complementary: protects a suppressed cell in the region margin",
    ]
    assert out["n"].isna().tolist() == out["suppressed"].tolist()
    assert out["rate"].isna().tolist() == out["suppressed"].tolist()
    assert str(out["n"].dtype) == "Int64"
    assert out.loc[1, "n"] == 20
    assert verify_no_recoverable_cells(out, ["region", "sex"], "n", 5) == []


def test_zero_cells_are_not_primary_and_are_used_last() -> None:
    df = pd.DataFrame({"region": ["A", "B", "C"], "n": [2, 0, 50]})
    out = suppress_cells(df, ["region"], "n", 5)
    # the complement is the non-zero cell, not the zero
    assert out["suppressed"].tolist() == [True, False, True]
    df = pd.DataFrame({"region": ["A", "B"], "n": [2, 0]})
    out = suppress_cells(df, ["region"], "n", 5)
    assert out["suppressed"].tolist() == [True, True]  # only a zero left: hide it anyway


def test_threshold_one_means_no_suppression() -> None:
    out = suppress_cells(_table(), ["region", "sex"], "n", 1, ["rate"])
    assert not out["suppressed"].any()
    assert out["suppression_reason"].isna().all()
    assert out["n"].tolist() == _table()["n"].tolist()


def test_verify_detects_problems() -> None:
    df = _table()
    published = df.assign(n=df["n"].astype("Int64").mask(df.index == 0))
    problems = verify_no_recoverable_cells(published, ["region", "sex"], "n", 5)
    assert any("sex margin" in p for p in problems)
    assert any("region margin" in p for p in problems)
    problems = verify_no_recoverable_cells(df, ["region", "sex"], "n", 5)
    assert problems and all("below 5" in p for p in problems)


def test_input_validation() -> None:
    df = _table()
    with pytest.raises(ValueError):
        suppress_cells(pd.concat([df, df]), ["region", "sex"], "n", 5)
    with pytest.raises(ValueError):
        suppress_cells(df, ["region", "nope"], "n", 5)
    with pytest.raises(ValueError):
        suppress_cells(df, ["region", "sex"], "n", 5, ["nope"])
    with pytest.raises(ValueError):
        suppress_cells(df.assign(n=[1, None, 3, 4, 5, 6]), ["region", "sex"], "n", 5)


def _random_table(rng: np.random.Generator) -> tuple[pd.DataFrame, list[str]]:
    n_dims = int(rng.integers(1, 4))
    dims = [f"d{i}" for i in range(n_dims)]
    sizes = rng.integers(2, 6, n_dims)
    cells = list(itertools.product(*(range(s) for s in sizes)))
    df = pd.DataFrame(cells, columns=dims).astype(str)
    # skewed counts: many zeros and small cells, some large ones
    df["n"] = rng.choice([0, 1, 2, 3, 4, 5, 7, 12, 30, 80], len(df))
    df["numerator"] = (df["n"] * rng.random(len(df))).round().astype(int)
    return df, dims


def test_random_tables_leave_nothing_recoverable() -> None:
    rng = np.random.default_rng(20240601)
    checked = 0
    for _ in range(300):
        df, dims = _random_table(rng)
        threshold = int(rng.choice([3, 5, 10, 11]))
        out = suppress_cells(df, dims, "n", threshold, ["numerator"])
        assert verify_no_recoverable_cells(out, dims, "n", threshold) == []

        visible = out["n"].dropna()
        assert not ((visible > 0) & (visible < threshold)).any()
        primary = (df["n"] > 0) & (df["n"] < threshold)
        assert out.loc[primary, "suppressed"].all()
        assert (out["suppressed"] == out["n"].isna()).all()
        assert (out["suppressed"] == out["numerator"].isna()).all()
        kept = ~out["suppressed"]
        assert (out.loc[kept, "n"].astype(int) == df.loc[kept, "n"]).all()
        reasons = out.loc[out["suppressed"], "suppression_reason"]
        assert reasons.str.match(r"^(primary|complementary): ").all()

        # independent re-check of every margin line with plain pandas
        for d in dims:
            others = [x for x in dims if x != d]
            lines = out.groupby(others)["suppressed"] if others else [(None, out["suppressed"])]
            for _, hidden in lines:
                assert not (len(hidden) >= 2 and int(hidden.sum()) == 1)
        checked += 1
    assert checked == 300


def test_nested_lines_protect_the_quarters_of_a_year() -> None:
    """A year total published elsewhere is a margin of the quarters: one hidden quarter in a
    year would be the year minus the others."""
    quarters = [f"2024-Q{q}" for q in range(1, 5)] + [f"2025-Q{q}" for q in range(1, 5)]
    df = pd.DataFrame({"quarter": quarters, "n": [3, 40, 50, 60, 20, 70, 80, 90]})
    years = df["quarter"].str[:4]
    plain = suppress_cells(df, ["quarter"], "n", 5)
    assert plain["suppressed"].sum() == 2  # the line of all quarters: the smallest complement
    assert singly_hidden_lines(
        df, plain["suppressed"].to_numpy(), ["quarter"], nested={"year": ("quarter", years)}
    ) == [("year", ("2024",)), ("year", ("2025",))]
    nested = suppress_cells(df, ["quarter"], "n", 5, nested={"year": ("quarter", years)})
    hidden = nested["suppressed"].to_numpy()
    assert hidden.sum() == 2 and set(df["quarter"][hidden].str[:4]) == {"2024"}
    assert singly_hidden_lines(df, hidden, ["quarter"], nested={"year": ("quarter", years)}) == []
    # the complement closes both lines: the one of all quarters and the year of the primary
    assert df["quarter"][hidden].tolist() == ["2024-Q1", "2024-Q2"]
