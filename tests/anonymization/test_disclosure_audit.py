"""The LP attacker: exact recoveries, intervals, and what it cannot bound."""

from __future__ import annotations

import math

import pytest

from anonymization.disclosure_audit import LinearRelease, audit_intervals


def test_differencing_two_totals_pins_the_cell() -> None:
    # Cells a, b, c; released a+b+c = 20 and b+c = 17: a is exactly 3.
    release = LinearRelease(3, [])
    release.add([0, 1, 2], 20)
    release.add([1, 2], 17)
    a, b = audit_intervals(release, [[0], [1]])
    assert a.exact() and a.low == pytest.approx(3)
    assert (b.low, b.high) == pytest.approx((0, 17))


def test_two_hidden_cells_of_a_line_share_an_interval() -> None:
    # 2 x 2 table x[r][c] with all four margins and one visible cell (x11 = 9): the three
    # hidden cells are tied by the margins, and x00 follows from r0 - x01 = r0 - (c1 - x11).
    release = LinearRelease(4, [])  # x00, x01, x10, x11
    release.add([0, 1], 12)  # row 0
    release.add([2, 3], 14)  # row 1
    release.add([0, 2], 8)  # column 0
    release.add([1, 3], 18)  # column 1
    release.add([3], 9)
    (x00,) = audit_intervals(release, [[0]])
    assert x00.exact() and x00.low == pytest.approx(3)


def test_zeros_and_single_cells_fix_their_cells_and_nothing_else_is_bounded() -> None:
    release = LinearRelease(4, [])
    release.add([0, 1], 0)
    release.add([2], 5)
    fixed, single, free = audit_intervals(release, [[0], [2], [3]])
    assert fixed.exact() and fixed.high == 0
    assert single.exact() and single.high == 5
    assert free.low == 0 and math.isinf(free.high)


def test_inconsistent_releases_are_an_error_not_an_interval() -> None:
    release = LinearRelease(2, [])
    release.add([0, 1], 3)
    release.add([0], 5)
    with pytest.raises(RuntimeError, match="inconsistent"):
        audit_intervals(release, [[1]])
