"""Joint suppression of every served table, checked by the independent exact auditor."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from anonymization.disclosure_audit import LinearRelease, audit_intervals, prove_widths
from anonymization.protected_tables import TableShape, Witness, protect_tables
from anonymization.table_audit import TableAudit, audit_tables

DIMS = ("region", "sex", "kind")
COUNTS = ["placements", "successful"]


def _finest(seed: int, records: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    quarters = [f"{y}-Q{q}" for y in (2023, 2024) for q in range(1, 5)]
    frame = pd.DataFrame(
        {
            "region": rng.choice(["a", "b", "c", "d"], records, p=[0.4, 0.3, 0.2, 0.1]),
            "sex": rng.choice(["F", "M"], records),
            "kind": rng.choice(["foster", "kin", "adopt"], records, p=[0.5, 0.35, 0.15]),
            "quarter": rng.choice(quarters, records),
            "placements": 1,
            "successful": (rng.random(records) < 0.3).astype(int),
        }
    )
    finest = frame.groupby([*DIMS, "quarter"], as_index=False)[COUNTS].sum()
    finest["year"] = finest["quarter"].str[:4]
    return finest


def _shapes(max_dims: int) -> list[TableShape]:
    return [
        TableShape(subset, grain)
        for n in range(max_dims + 1)
        for subset in itertools.combinations(DIMS, n)
        for grain in ("quarter", "year")
    ]


def _protect(finest: pd.DataFrame, threshold: int) -> pd.DataFrame:
    return protect_tables(
        finest, _shapes(2), COUNTS, threshold, threshold / 2, block="year",
        parents={"quarter": ["year"]}, bounded_by={"successful": "placements"},
    ).cells  # fmt: skip


def _attack(finest: pd.DataFrame, cells: pd.DataFrame, threshold: int) -> list[float]:
    """The exact auditor over every visible count: the width of every hidden small count."""
    n = len(finest)
    release = LinearRelease(2 * n, [])
    release.at_most.extend((n + f, f) for f in range(n))
    targets = []
    for shape in _shapes(2):
        table = cells[cells["table"] == shape.key]
        for row in table.to_dict("records"):
            match = finest[shape.grain] == row["period"]
            for d in shape.dims:
                match &= finest[d] == row[d]
            members = np.flatnonzero(match.to_numpy())
            for k, count in enumerate(COUNTS):
                value = int(finest[count].to_numpy()[members].sum())
                assert value == row[count]  # every cell holds the true sum
                if row[f"{count}__hidden"]:
                    if 0 < value < threshold:
                        targets.append(members + k * n)
                else:
                    assert not 0 < value < threshold, f"{shape.key} {row}: small {count} shown"
                    release.add(members + k * n, value)
    for k, count in enumerate(COUNTS):  # the attacker is told which finest cells are zero
        for f in np.flatnonzero(finest[count].to_numpy() == 0):
            release.add([k * n + f], 0)
    assert targets
    return [i.width for i in audit_intervals(release, targets)]


@pytest.mark.parametrize(("seed", "threshold"), [(1, 5), (2, 10)])
def test_no_hidden_small_count_is_narrower_than_half_the_threshold(
    seed: int, threshold: int
) -> None:
    finest = _finest(seed)
    cells = _protect(finest, threshold)
    widths = _attack(finest, cells, threshold)
    assert min(widths) >= threshold / 2 - 1e-7
    # Not everything is hidden: the national year totals, at least, are shown.
    years = cells[cells["table"] == "|year"]
    assert not years["placements__hidden"].any()


def test_showing_one_complement_breaks_it_and_the_auditor_says_so() -> None:
    """The check can fail: un-hide complementary cells and the attacker narrows a small one."""
    finest = _finest(1)
    cells = _protect(finest, 5)
    complements = cells.index[cells["placements__reason"] == "complementary"]
    assert len(complements) > 0
    narrowed = False
    for index in complements[:40]:
        leaky = cells.copy()
        leaky.loc[index, "placements__hidden"] = False
        if min(_attack(finest, leaky, 5)) < 2.5 - 1e-7:
            narrowed = True
            break
    assert narrowed


def test_cells_of_every_table_and_block_are_listed_once() -> None:
    finest = _finest(3)
    cells = _protect(finest, 5)
    assert set(cells["table"]) == {s.key for s in _shapes(2)}
    keys = ["table", *DIMS, "period"]
    assert not cells.duplicated(keys).any()
    national = cells[cells["table"] == "|year"].set_index("period")["placements"]
    assert national.to_dict() == finest.groupby("year")["placements"].sum().to_dict()


def test_known_inequalities_narrow_what_the_attacker_proves() -> None:
    """p_a = 2 is shown and s_a + s_b = 7: since s_a <= p_a, s_b lies in [5, 7], not [0, 7]."""
    # cells: p_a, p_b, s_a, s_b
    release = LinearRelease(4, [])
    release.add([0], 2)
    release.add([2, 3], 7)
    (free,) = audit_intervals(release, [[3]])
    assert (free.low, free.high) == (0, 7)
    release.at_most.extend([(2, 0), (3, 1)])
    (bounded,) = audit_intervals(release, [[3]])
    assert (bounded.low, bounded.high) == pytest.approx((5, 7))


def _random_release(
    rng: np.random.Generator, equations: int
) -> tuple[np.ndarray, LinearRelease, np.ndarray]:
    """A truth of 30 cells, ``equations`` random sums of it released, and their matrix."""
    truth = rng.integers(0, 6, size=30).astype(float)
    release = LinearRelease(30, [])
    matrix = np.zeros((equations, 30))
    for row in range(equations):
        cells = rng.choice(30, size=int(rng.integers(2, 7)), replace=False)
        release.add(cells, float(truth[cells].sum()))
        matrix[row, cells] = 1.0
    return truth, release, matrix


def test_proving_widths_agrees_with_the_exact_intervals() -> None:
    truth, release, _ = _random_release(np.random.default_rng(7), 18)
    targets = [np.array([i]) for i in range(30)]
    exact = audit_intervals(release, targets)
    proved = prove_widths(release, targets, 3.0, known=truth)
    for e, p in zip(exact, proved, strict=True):
        assert e.low - 1e-7 <= p.low and p.high <= e.high + 1e-7  # never wider than the truth
        assert (e.width >= 3.0 - 1e-7) == (p.width >= 3.0 - 1e-7)


def test_a_known_table_that_contradicts_the_release_is_refused() -> None:
    release = LinearRelease(2, [])
    release.add([0, 1], 4)
    with pytest.raises(ValueError, match="does not satisfy"):
        prove_widths(release, [[0]], 1.0, known=np.array([1.0, 1.0]))


def _audit(
    finest: pd.DataFrame, cells: pd.DataFrame, threshold: int, witnesses: Sequence[Witness] = ()
) -> TableAudit:
    return audit_tables(
        finest, cells, _shapes(2), COUNTS, threshold, threshold / 2,
        {"successful": "placements"}, witnesses=witnesses,
    )  # fmt: skip


def test_the_protectors_witnesses_prove_every_width_without_an_lp() -> None:
    """The protector hands on tables consistent with what it shows; the audit checks them and
    finds every hidden small count proven, with the same verdict as without them."""
    finest = _finest(1)
    result = protect_tables(
        finest, _shapes(2), COUNTS, 5, 2.5, block="year", parents={"quarter": ["year"]},
        bounded_by={"successful": "placements"},
    )  # fmt: skip
    assert result.witnesses
    with_them = _audit(finest, result.cells, 5, result.witnesses)
    without = _audit(finest, result.cells, 5)
    assert with_them.passed and without.passed
    assert with_them.hidden_small == without.hidden_small > 0


def test_a_leak_is_caught_whatever_witnesses_are_offered() -> None:
    """Un-hide a complement the pattern needs: the protector's witnesses no longer satisfy
    the newly shown count, the audit drops them, and its own LPs find the narrow count.
    Forged witnesses (any table at all) change nothing either."""
    finest = _finest(1)
    result = protect_tables(
        finest, _shapes(2), COUNTS, 5, 2.5, block="year", parents={"quarter": ["year"]},
        bounded_by={"successful": "placements"},
    )  # fmt: skip
    cells = result.cells
    rng = np.random.default_rng(0)
    forged = [
        Witness(w.rows, w.tables + rng.integers(-3, 4, size=w.tables.shape))
        for w in result.witnesses
    ]
    caught = 0
    for index in cells.index[cells["placements__reason"] == "complementary"][:40]:
        leaky = cells.copy()
        leaky.loc[index, "placements__hidden"] = False
        plain = _audit(finest, leaky, 5)
        assert _audit(finest, leaky, 5, result.witnesses).passed == plain.passed
        assert _audit(finest, leaky, 5, forged).passed == plain.passed
        caught += not plain.passed
        if caught >= 2:
            break
    assert caught >= 1


def test_witnesses_agree_with_the_exact_intervals_on_random_releases() -> None:
    """Candidate points (some consistent, some not) never make a width look wider than the
    exact LP interval, nor change which targets are at least the width."""
    from scipy.linalg import null_space

    rng = np.random.default_rng(11)
    for _ in range(5):
        truth, release, matrix = _random_release(rng, 16)
        targets = [np.array([i]) for i in range(30)]
        exact = audit_intervals(release, targets)
        # Consistent candidates: the truth moved as far as it stays non-negative along
        # directions that keep every released sum; inconsistent ones: random moves.
        moves = null_space(matrix).T
        steps = [min(truth[v < -1e-12] / -v[v < -1e-12], default=0.0) for v in moves]
        consistent = truth + np.array(steps)[:, None] * moves
        tables = np.vstack([consistent, truth + rng.integers(-2, 3, size=(40, 30))])
        proved = prove_widths(
            release, targets, 3.0, known=truth, candidates=[(np.arange(30), tables)]
        )
        for e, p in zip(exact, proved, strict=True):
            assert e.low - 1e-7 <= p.low and p.high <= e.high + 1e-7
            assert (e.width >= 3.0 - 1e-7) == (p.width >= 3.0 - 1e-7)


def test_one_instance_per_sense_finds_the_same_bounds() -> None:
    """The audit's attacker keeps a HiGHS instance per sense (the protector one): both must
    reach the same optima, whatever order the targets come in, and across released rows."""
    from scipy.sparse import csr_matrix

    from anonymization.joint_suppression import AttackerLP

    rng = np.random.default_rng(5)
    truth = rng.integers(0, 6, size=40).astype(float)
    dense = (rng.random((25, 40)) < 0.2).astype(float)
    rhs = dense @ truth
    one, two = AttackerLP(csr_matrix(dense), rhs), AttackerLP(csr_matrix(dense), rhs, None, True)
    for step in range(60):
        target = np.unique(rng.choice(40, size=int(rng.integers(1, 4))))
        maximize = bool(rng.integers(0, 2))
        a, _ = one.bound(target, maximize)
        b, _ = two.bound(target, maximize)
        assert a == pytest.approx(b, abs=1e-7)
        if step == 30:
            one.release(np.array([0, 1]))
            two.release(np.array([0, 1]))
