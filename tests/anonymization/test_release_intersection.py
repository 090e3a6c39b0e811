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
    # The earlier release cut them differently: four by exact regency 3201, two in 3204 (with
    # child 6, who has left since).
    old = _earlier([str(i) for i in range(7)], ["05-09"] * 7, ["3201"] * 4 + ["3204"] * 3)
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
        pd.DataFrame({"record_id": ["x", "y", "z"], "age": ["a"] * 3, "region": ["1"] * 3}),
        3,
        1,
        pd.Series(["n0", "n1", "n2", "n3"]),  # none of them is in the earlier release
    )
    kept, results, refused = guard_intersections(new, QIS, "case", [old], 3, 1, 0, _always)
    assert refused is None and len(kept) == 4 and results[0].shared_records == 0
    assert check_intersections(new, QIS, "case", 3, 1, [old]).passed


def _dated(ids: list[int], age: list[str], case: str) -> EarlierRelease:
    """An earlier release of the children ``ids`` (with their case types), region 32."""
    records = pd.DataFrame(
        {
            "record_id": [f"old_{i}" for i in ids],
            "age": age,
            "region": ["32"] * len(ids),
            "case": list(case),
        }
    )
    tokens = pd.Series([f"old_{i}" for i in range(20)], index=range(20))
    return EarlierRelease("research-1", records, 3, 2, tokens)


def test_one_child_leaving_a_region_suppresses_the_new_release_there() -> None:
    """Six children of 5-9 and five of 10-14 in the earlier file; child 5 (case "c") leaves.
    The 5-9 class of the new file is the earlier one less child 5: subtracting the two names
    child 5's case type. The guard suppresses the new file's 5-9 class (its children then read
    as six leavers of a 2-diverse class); the independent check finds the leak before and
    nothing after."""
    old = _dated(list(range(11)), ["05-09"] * 6 + ["10-14"] * 5, "abcabc" + "ababa")
    held = [0, 1, 2, 3, 4, 6, 7, 8, 9, 10]
    new = pd.DataFrame(
        {
            "age": ["05-09"] * 5 + ["10-14"] * 5,
            "region": ["32"] * 10,
            "case": list("abcab") + list("ababa"),
        },
        index=held,
    )
    before = check_intersections(new, QIS, "case", 3, 2, [old])
    assert not before.passed and "1 child(ren) who left" in before.detail
    kept, results, refused = guard_intersections(new, QIS, "case", [old], 3, 2, 5, _always)
    assert refused is None
    assert sorted(kept.index) == [6, 7, 8, 9, 10]
    assert results[0].leavers == 6 and results[0].joiners == 0
    assert results[0].smallest_difference == 6 and results[0].suppressed_for_it == 5
    assert check_intersections(kept, QIS, "case", 3, 2, [old]).passed


def test_one_child_joining_is_suppressed_with_its_region() -> None:
    old = _dated(list(range(5)), ["05-09"] * 5, "ababa")
    new = pd.DataFrame(
        {"age": ["05-09"] * 6, "region": ["32"] * 6, "case": list("ababac")}, index=range(6)
    )
    assert not check_intersections(new, QIS, "case", 3, 2, [old]).passed
    kept, results, refused = guard_intersections(new, QIS, "case", [old], 3, 2, 6, _always)
    assert refused is None and kept.empty and results[0].joiners == 0
    # Without the budget for it the release is refused, never published with the leak.
    _, _, refused = guard_intersections(new, QIS, "case", [old], 3, 2, 5, _always)
    assert refused is not None


def test_enough_diverse_leavers_and_joiners_in_a_region_are_published() -> None:
    """Three leavers with two case types and three joiners with two: subtracting the files
    gives a group of three, no single child; nothing is suppressed."""
    old = _dated(list(range(8)), ["05-09"] * 8, "abababab")
    held = [0, 1, 2, 3, 4, 11, 12, 13]
    new = pd.DataFrame(
        {"age": ["05-09"] * 8, "region": ["32"] * 8, "case": list("ababa") + list("aab")},
        index=held,
    )
    kept, results, refused = guard_intersections(new, QIS, "case", [old], 3, 2, 0, _always)
    assert refused is None and len(kept) == 8
    assert (results[0].leavers, results[0].joiners, results[0].smallest_difference) == (3, 3, 3)
    assert check_intersections(new, QIS, "case", 3, 2, [old]).passed


def test_a_region_spans_every_class_a_shared_child_links() -> None:
    """The earlier file cut 5-9 into 5-7 and 8-9; the new one keeps 5-9 whole. Neither old
    class alone can be subtracted from the new file, only their union: two leavers, one from
    each old class, make one region of two (below k=3), found although each old class lost
    only one."""
    old = _dated(list(range(8)), ["05-07"] * 4 + ["08-09"] * 4, "abababab")
    held = [0, 1, 2, 4, 5, 6]
    new = pd.DataFrame(
        {"age": ["05-09"] * 6, "region": ["32"] * 6, "case": list("ababab")}, index=held
    )
    result = check_intersections(new, QIS, "case", 3, 2, [old])
    assert not result.passed and "2 child(ren) who left" in result.detail
    kept, results, _ = guard_intersections(new, QIS, "case", [old], 3, 2, 6, _always)
    # The new file's 5-9 class goes; the earlier file's two classes are then regions of their
    # own, each of four children the new file does not hold.
    assert kept.empty and results[0].difference_pieces == 2
    assert (results[0].leavers, results[0].smallest_difference) == (8, 4)
