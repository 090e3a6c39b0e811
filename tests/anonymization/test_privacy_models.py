"""Privacy models on released tables: worked examples from the papers that define them, and
the same numbers as pycanon where pycanon implements the same definition."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from pycanon import anonymity

from anonymization.privacy_models import (
    DistinctLDiversity,
    EntropyLDiversity,
    KAnonymity,
    ProsecutorRisk,
    RecursiveCLDiversity,
    TCloseness,
    evaluate_criteria,
)

QI = ["zip", "age"]

# Li, Li & Venkatasubramanian (ICDE 2007), Table 3/4: salaries 3k..11k, one record each; the
# class {3k, 4k, 5k} is 0.375 from the whole table, {6k, 8k, 11k} is 0.167 (ordered distance).
SALARIES = tuple(f"{s}k" for s in range(3, 12))


def _salary_table() -> pd.DataFrame:
    classes = {"A": ["3k", "4k", "5k"], "B": ["6k", "8k", "11k"], "C": ["7k", "9k", "10k"]}
    rows = [(c, 30, s) for c, salaries in classes.items() for s in salaries]
    return pd.DataFrame(rows, columns=["zip", "age", "salary"])


def test_t_closeness_ordered_matches_the_papers_worked_example() -> None:
    result = TCloseness(0.4, "ordered", order=SALARIES).evaluate(_salary_table(), QI, "salary")
    assert result.achieved["largest_emd"] == pytest.approx(0.375)
    assert result.holds
    whole = _salary_table()
    # Without the {3k, 4k, 5k} class the largest is {7k, 9k, 10k}'s: 17/9/8 = 0.236 > 0.167 of B.
    swapped = whole.assign(salary=whole["salary"].replace({"3k": "6k", "6k": "3k"}))
    assert (
        TCloseness(1.0, "ordered", order=SALARIES)
        .evaluate(swapped, QI, "salary")
        .achieved["largest_emd"]
        < 0.375
    )
    assert not TCloseness(0.3, "ordered", order=SALARIES).evaluate(whole, QI, "salary").holds


def test_t_closeness_ordered_matches_pycanon_on_numbers() -> None:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "zip": rng.choice(["a", "b", "c", "d"], 400),
            "age": rng.choice([10, 11], 400),
            "salary": rng.choice([1, 2, 3, 4, 5], 400, p=[0.4, 0.3, 0.1, 0.1, 0.1]),
        }
    )
    ours = TCloseness(1.0, "ordered", order=(1, 2, 3, 4, 5)).evaluate(frame, QI, "salary")  # type: ignore[arg-type]
    assert ours.achieved["largest_emd"] == pytest.approx(
        anonymity.t_closeness(frame, QI, ["salary"]), abs=1e-6
    )


def test_t_closeness_equal_distance_matches_pycanon() -> None:
    rng = np.random.default_rng(11)
    frame = pd.DataFrame(
        {
            "zip": rng.choice(["a", "b", "c"], 300),
            "age": rng.choice(["young", "old"], 300),
            "case": rng.choice(["neglect", "abuse", "abandonment", "poverty"], 300),
        }
    )
    ours = TCloseness(1.0).evaluate(frame, QI, "case")
    assert ours.achieved["largest_emd"] == pytest.approx(
        anonymity.t_closeness(frame, QI, ["case"]), abs=1e-6
    )


def test_hierarchical_distance() -> None:
    # One level: the hierarchical distance is the equal distance.
    flat = {v: ("root",) for v in ("a1", "a2", "b1", "b2")}
    frame = pd.DataFrame(
        {
            "zip": ["x"] * 4 + ["y"] * 4,
            "age": [1] * 8,
            "case": ["a1"] * 4 + ["a2", "b1", "b2", "b2"],
        }
    )
    equal = TCloseness(1.0).evaluate(frame, QI, "case").achieved["largest_emd"]
    assert TCloseness(1.0, "hierarchical", hierarchy=flat).evaluate(frame, QI, "case").achieved[
        "largest_emd"
    ] == pytest.approx(equal)
    # Two levels, worked by hand: the whole table uniform over a1, a2, b1, b2; a class of a1
    # only moves 1/4 to its sibling a2 (distance 1/2) and 1/2 to the other branch (distance 1).
    tree = {"a1": ("A", "R"), "a2": ("A", "R"), "b1": ("B", "R"), "b2": ("B", "R")}
    frame = pd.DataFrame(
        {
            "zip": ["x"] * 4 + ["y"] * 4 + ["z"] * 4 + ["w"] * 4,
            "age": [1] * 16,
            "case": ["a1"] * 4 + ["a2"] * 4 + ["b1"] * 4 + ["b2"] * 4,
        }
    )
    result = TCloseness(0.7, "hierarchical", hierarchy=tree).evaluate(frame, QI, "case")
    assert result.achieved["largest_emd"] == pytest.approx(0.625)
    assert (
        result.holds
        and not TCloseness(0.6, "hierarchical", hierarchy=tree).evaluate(frame, QI, "case").holds
    )


def test_values_outside_a_declared_order_are_an_error() -> None:
    with pytest.raises(ValueError, match="outside the declared order"):
        TCloseness(0.5, "ordered", order=("3k",)).evaluate(_salary_table(), QI, "salary")


def test_entropy_l_diversity_matches_pycanon_and_a_hand_count() -> None:
    # Two values half-and-half: entropy log 2, i.e. entropy 2-diverse exactly.
    half = pd.DataFrame({"zip": ["x"] * 4, "age": [1] * 4, "case": ["a", "a", "b", "b"]})
    assert EntropyLDiversity(2).evaluate(half, QI, "case").achieved["lowest_entropy_l"] == 2.0
    assert EntropyLDiversity(2).evaluate(half, QI, "case").holds
    # 9 of 10 the same: distinct 2-diverse, but far from entropy 2-diverse.
    skewed = pd.DataFrame({"zip": ["x"] * 10, "age": [1] * 10, "case": ["a"] * 9 + ["b"]})
    assert DistinctLDiversity(2).evaluate(skewed, QI, "case").holds
    result = EntropyLDiversity(2).evaluate(skewed, QI, "case")
    expected = math.exp(-(0.9 * math.log(0.9) + 0.1 * math.log(0.1)))
    assert result.achieved["lowest_entropy_l"] == pytest.approx(expected, abs=1e-6)
    assert not result.holds
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "zip": rng.choice(["a", "b"], 200),
            "age": rng.choice([1, 2, 3], 200),
            "case": rng.choice(["p", "q", "r", "s"], 200),
        }
    )
    ours = EntropyLDiversity(1).evaluate(frame, QI, "case").achieved["lowest_entropy_l"]
    assert int(ours) == anonymity.entropy_l_diversity(frame, QI, ["case"])


def test_recursive_c_l_diversity_by_its_definition() -> None:
    # Machanavajjhala et al.: r1 < c (r_l + ... + r_m), counts sorted descending.
    frame = pd.DataFrame(
        {"zip": ["x"] * 10, "age": [1] * 10, "case": ["a"] * 5 + ["b"] * 3 + ["c"] * 2}
    )
    two = RecursiveCLDiversity(c=2, l=2).evaluate(frame, QI, "case")
    assert two.achieved["highest_ratio"] == pytest.approx(1.0) and two.holds  # 5 < 2 * (3 + 2)
    assert not RecursiveCLDiversity(c=1, l=2).evaluate(frame, QI, "case").holds  # 5 < 1 * 5 fails
    three = RecursiveCLDiversity(c=3, l=3).evaluate(frame, QI, "case")
    assert three.achieved["highest_ratio"] == pytest.approx(2.5) and three.holds
    four = RecursiveCLDiversity(c=100, l=4).evaluate(frame, QI, "case")
    assert math.isinf(four.achieved["highest_ratio"]) and not four.holds


def test_k_anonymity_and_prosecutor_risk_by_plain_counts() -> None:
    frame = pd.DataFrame(
        {"zip": ["x"] * 5 + ["y"] * 2 + ["z"] * 3, "age": [1] * 10, "case": ["a", "b"] * 5}
    )
    k = KAnonymity(3).evaluate(frame, QI, "case")
    assert k.achieved == {"smallest_class": 2, "classes": 3} and not k.holds
    assert k.achieved["smallest_class"] == anonymity.k_anonymity(frame, QI)
    risk = ProsecutorRisk(max_risk=0.5, average_risk=0.5, threshold=0.25).evaluate(
        frame, QI, "case"
    )
    assert risk.achieved["highest"] == 0.5
    # average of 1/f over the 10 records: (5 * 1/5 + 2 * 1/2 + 3 * 1/3) / 10 = 3 classes / 10.
    assert risk.achieved["average"] == pytest.approx(0.3) == risk.achieved["marketer"]
    assert risk.achieved["records_above_threshold"] == 5  # the classes of 2 and 3
    assert risk.holds
    assert not ProsecutorRisk(max_risk=0.2).evaluate(frame, QI, "case").holds


def test_criteria_are_evaluated_together_and_fast() -> None:
    rng = np.random.default_rng(5)
    n = 1_000_000
    frame = pd.DataFrame(
        {
            "zip": rng.integers(0, 300, n),
            "age": rng.integers(0, 18, n),
            "case": rng.choice(["neglect", "abuse", "abandonment", "poverty", "other"], n),
        }
    )
    results = evaluate_criteria(
        frame,
        QI,
        "case",
        [
            KAnonymity(5),
            DistinctLDiversity(2),
            EntropyLDiversity(2),
            RecursiveCLDiversity(3, 2),
            TCloseness(0.2),
            ProsecutorRisk(0.2, 0.05),
        ],
    )
    assert [r.name for r in results] == [
        "k_anonymity", "distinct_l_diversity", "entropy_l_diversity",
        "recursive_c_l_diversity", "t_closeness", "prosecutor_risk",
    ]  # fmt: skip
    assert all(r.holds for r in results), [r for r in results if not r.holds]
