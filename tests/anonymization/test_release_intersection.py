"""Two releases held together: the guard suppresses what would combine below k, and the
independent check, reading only the two files, finds no joint class below k."""

from __future__ import annotations

import numpy as np
import pandas as pd

from anonymization.output_checks import check_intersections
from anonymization.release_intersection import EarlierRelease, guard_intersections

QIS = ("age", "region")


def _always(frame: pd.DataFrame) -> np.ndarray:
    return np.ones(len(frame), dtype=bool)


def _earlier(ids: list[str], age: list[str], region: list[str], k: int = 3) -> EarlierRelease:
    records = pd.DataFrame({"record_id": [f"old_{i}" for i in ids], "age": age, "region": region})
    tokens = pd.Series([f"old_{i}" for i in ids], index=range(len(ids)))
    return EarlierRelease("research-1", records, k, 1, tokens)


def test_a_class_split_by_an_earlier_release_below_k_is_suppressed_and_checked() -> None:
    # New release: six children in one class (age band 5-9, province 32).
    new = pd.DataFrame(
        {"age": ["05-09"] * 6, "region": ["32"] * 6, "case": list("abcabc")}, index=range(6)
    )
    # The earlier release cut them differently: four by exact regency 3201, two in 3204.
    old = _earlier([str(i) for i in range(6)], ["05-09"] * 6, ["3201"] * 4 + ["3204"] * 2)
    # Plainly: joint classes (new class, old class) have sizes 4 and 2; k=3 breaks the 2.
    before = check_intersections(new, QIS, "case", 3, 1, [old])
    assert not before.passed and "smallest joint class 2" in before.detail
    kept, results, refused = guard_intersections(new, QIS, "case", [old], 3, 1, 2, _always)
    assert refused is None
    assert sorted(kept.index) == [0, 1, 2, 3]  # the two in 3204 go
    assert results[0].smallest_joint_class == 4 and results[0].suppressed_for_it == 2
    assert check_intersections(kept, QIS, "case", 3, 1, [old]).passed


def test_the_own_criteria_are_rechecked_after_suppression() -> None:
    """Suppressing for an intersection can break the release's own criteria in the class it
    leaves behind (here distinct 2-diversity): that class goes too."""
    new = pd.DataFrame(
        {"age": ["05-09"] * 4 + ["10-14"] * 3, "region": ["32"] * 7, "case": list("aaababc")}
    )
    old = _earlier([str(i) for i in range(7)], ["x"] * 7, ["A"] * 3 + ["B"] + ["C"] * 3)

    def distinct_2(frame: pd.DataFrame) -> np.ndarray:
        return (frame.groupby(list(QIS))["case"].transform("nunique") >= 2).to_numpy()

    kept, _, refused = guard_intersections(new, QIS, "case", [old], 3, 1, 7, distinct_2)
    assert refused is None
    # Row 3 (the only B, the class's only "b") goes for the joint class; the 05-09 class is
    # then all "a" and goes for its own l; the 10-14 class stays.
    assert sorted(kept.index) == [4, 5, 6]


def test_beyond_the_suppression_limit_nothing_is_published() -> None:
    new = pd.DataFrame({"age": ["a"] * 6, "region": ["r"] * 6, "case": list("abcabc")})
    old = _earlier([str(i) for i in range(6)], ["a"] * 6, ["1", "2", "3", "4", "5", "6"])
    _, _, refused = guard_intersections(new, QIS, "case", [old], 3, 1, 2, _always)
    assert refused is not None and "over the limit of 2" in refused


def test_children_in_only_one_release_form_no_joint_class() -> None:
    new = pd.DataFrame({"age": ["a"] * 4, "region": ["r"] * 4, "case": list("abab")})
    old = EarlierRelease(
        "research-1",
        pd.DataFrame({"record_id": ["x", "y"], "age": ["a", "a"], "region": ["1", "2"]}),
        3,
        1,
        pd.Series(["n0", "n1", "n2", "n3"]),  # none of them is in the earlier release
    )
    kept, results, refused = guard_intersections(new, QIS, "case", [old], 3, 1, 0, _always)
    assert refused is None and len(kept) == 4 and results[0].shared_records == 0
    assert check_intersections(new, QIS, "case", 3, 1, [old]).passed
