"""Microaggregation (MDAV) of numeric quasi-identifiers, verified on the output alone: classes by
plain groupbys, intervals against the original values, LM recomputed from the released table;
MDAV itself against hand-worked examples and a record-by-record implementation of the paper's
algorithm."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from pycanon import anonymity

from anonymization import microaggregation
from anonymization.hierarchies import (
    Hierarchy,
    age_hierarchy,
    disability_hierarchy,
    province_hierarchy,
    sex_hierarchy,
    year_hierarchy,
)
from anonymization.kanonymity import AnonymizationError, ClassCriteria, PrivacyReport, anonymize
from anonymization.microaggregation import MDAV_GENERALIZATION, mdav, microaggregate
from anonymization.privacy_models import EntropyLDiversity
from tests.anonymization.test_kanonymity import SENSITIVE, _children

NUMERIC = ["age", "year"]
CATEGORICAL: dict[str, Hierarchy] = {
    "sex": sex_hierarchy(),
    "regency": province_hierarchy(),
    "disability": disability_hierarchy(),
}
QIS = ["age", "sex", "regency", "year", "disability"]


def _release(
    df: pd.DataFrame, k: int, l_req: int, limit: float, criteria: ClassCriteria | None = None
) -> tuple[pd.DataFrame, PrivacyReport]:
    return microaggregate(df, CATEGORICAL, NUMERIC, SENSITIVE, k, l_req, limit, criteria)


# --- independent checks ---------------------------------------------------------------------


def _bounds(labels: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The released ranges "a-b" (or "a") as numbers (the test data are non-negative)."""
    parts = labels.astype(str).str.split("-")
    return parts.str[0].astype(float), parts.str[-1].astype(float)


def _independent_lm(
    original: pd.DataFrame, released: pd.DataFrame, hierarchies: dict[str, Hierarchy]
) -> float:
    """Iyengar's LM from the released table: a numeric range covering m of the column's M
    distinct values costs (m-1)/(M-1); a categorical value the same of its group's original
    values; a suppressed record 1 per quasi-identifier."""
    total = 0.0
    for name in QIS:
        column = original[name]
        if name in NUMERIC:
            distinct = np.sort(column.astype(float).unique())
            lo, hi = _bounds(released[name])
            covered = np.searchsorted(distinct, hi, "right") - np.searchsorted(distinct, lo, "left")
            total += float(((covered - 1) / (len(distinct) - 1)).sum())
        else:
            h = hierarchies[name]
            base = h.generalize(column, 0)
            level = next(
                lv
                for lv in range(h.height)
                if (h.generalize(column, lv).loc[released.index] == released[name]).all()
            )
            group = h.generalize(column, level)
            covered = pd.DataFrame({"g": group, "b": base}).groupby("g")["b"].nunique()
            total += float(((covered[released[name]].to_numpy() - 1) / (base.nunique() - 1)).sum())
    total += (len(original) - len(released)) * len(QIS)
    return total / (len(original) * len(QIS))


def _reference_mdav(points: np.ndarray, k: int) -> np.ndarray:
    """MDAV record by record, as Domingo-Ferrer & Torra (2005) state it; records taken in
    lexicographic order of their values on ties (distances equal up to rounding)."""
    x = np.asarray(points, dtype=float).reshape(len(points), -1)
    pool = list(np.lexsort(x.T[::-1]))
    labels = np.full(len(x), -1)
    group = 0

    def farthest(centre: np.ndarray) -> int:
        d = ((x[pool] - centre) ** 2).sum(axis=1)
        return int(pool[int(np.flatnonzero(d >= d.max() - 1e-9)[0])])

    def cluster_around(record: int, size: int) -> None:
        nonlocal pool, group
        d = ((x[pool] - x[record]) ** 2).sum(axis=1).round(9)
        chosen = {pool[i] for i in np.lexsort((np.arange(len(pool)), d))[:size]}
        for r in chosen:
            labels[r] = group
        group += 1
        pool = [r for r in pool if r not in chosen]

    while len(pool) >= 3 * k:
        r = farthest(x[pool].mean(axis=0))
        cluster_around(r, k)
        cluster_around(farthest(x[r]), k)
    if len(pool) >= 2 * k:
        cluster_around(farthest(x[pool].mean(axis=0)), k)
    if pool:
        cluster_around(pool[0], len(pool))
    return labels


def _groups(points: np.ndarray, labels: np.ndarray) -> list[tuple]:
    """The groups as sorted tuples of values (labels and record order do not matter)."""
    x = np.asarray(points, dtype=float).reshape(len(points), -1)
    return sorted(tuple(sorted(map(tuple, x[labels == g]))) for g in np.unique(labels))


# --- MDAV -----------------------------------------------------------------------------------


def test_mdav_on_a_line_by_hand() -> None:
    """1..10 and 20, k=3. 11 >= 3k records: the mean is 75/11 = 6.8; the farthest record is 20
    (13.2 away; 1 is 5.8), its group 20 and its two nearest, 10 and 9; the farthest from 20 is 1,
    its group 1, 2, 3. Five left, fewer than 2k: one group 4..8."""
    values = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20])
    assert _groups(values, mdav(values, 3)) == [
        ((1.0,), (2.0,), (3.0,)),
        ((4.0,), (5.0,), (6.0,), (7.0,), (8.0,)),
        ((9.0,), (10.0,), (20.0,)),
    ]
    # 0..6 and 30, k=3: 8 records, between 2k and 3k-1: mean 6.375, the farthest is 30, its group
    # 30, 6, 5; the other five form the second group (not 0-2 and 3-30 as cutting the sorted
    # values from the left would).
    values = np.array([0, 1, 2, 3, 4, 5, 6, 30])
    assert _groups(values, mdav(values, 3)) == [
        ((0.0,), (1.0,), (2.0,), (3.0,), (4.0,)),
        ((5.0,), (6.0,), (30.0,)),
    ]


def test_mdav_in_the_plane_by_hand() -> None:
    """k=2, seven points. Mean (27/7, 36/7); the farthest is C=(10,0) (squared distance 64.2),
    its group C and D=(10,1). The farthest from C is E=(0,10) (200), its group E and F=(1,10).
    Three left, fewer than 2k: one group A, B, G."""
    a, b, c, d, e, f, g = (0, 0), (1, 0), (10, 0), (10, 1), (0, 10), (1, 10), (5, 5)
    points = np.array([a, b, c, d, e, f, g], dtype=float)
    labels = mdav(points, 2)
    assert labels[2] == labels[3] and labels[4] == labels[5]
    assert labels[0] == labels[1] == labels[6]
    assert len(np.unique(labels)) == 3


@pytest.mark.parametrize("seed", range(40))
def test_mdav_matches_the_algorithm_record_by_record(seed: int) -> None:
    """Duplicates, ties and one to three columns: the same groups as the textbook algorithm run
    record by record, every group between k and 2k-1 records."""
    rng = np.random.default_rng(seed)
    # up to 300 distinct points: wide rows take the partial-sort path
    n, k, dims = int(rng.integers(3, 300)), int(rng.integers(1, 7)), int(rng.integers(1, 4))
    k = min(k, n)
    if seed % 4 == 0:
        points = rng.normal(size=(n, dims))
    else:
        points = rng.integers(0, int(rng.integers(2, 10)), (n, dims)).astype(float)
    labels = mdav(points, k)
    assert _groups(points, labels) == _groups(points, _reference_mdav(points, k))
    sizes = np.bincount(labels)
    assert sizes.min() >= k and (n < k or sizes.max() <= 2 * k - 1)


def test_mdav_in_blocks_keeps_group_sizes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many distinct points (continuous data) are cut into blocks first: groups still hold k to
    2k-1 records, and each group is compact along the first principal axis."""
    monkeypatch.setattr(microaggregation, "MAX_POINTS", 50)
    rng = np.random.default_rng(3)
    points = rng.normal(size=(400, 2)) * [10.0, 1.0]
    labels = mdav(points, 4)
    sizes = np.bincount(labels)
    assert sizes.min() >= 4 and sizes.max() <= 7
    assert len(sizes) >= 400 // 7


def test_mdav_bad_input() -> None:
    with pytest.raises(ValueError, match="k must be"):
        mdav([1.0, 2.0], 0)
    with pytest.raises(ValueError, match="finite"):
        mdav([1.0, np.nan, 3.0], 1)
    with pytest.raises(ValueError, match="at least k"):
        mdav([1.0, 2.0], 3)


# --- the transformation ------------------------------------------------------------------


@pytest.mark.parametrize(("k", "l_req", "limit"), [(5, 2, 0.05), (11, 3, 0.02), (3, 1, 0.0)])
def test_every_released_class_meets_k_and_l(k: int, l_req: int, limit: float) -> None:
    df = _children(3000, seed=21)
    released, report = _release(df, k, l_req, limit)
    assert all(isinstance(v, str) for v in released[QIS].to_numpy().ravel())
    classes = released.groupby(QIS)[SENSITIVE]
    assert classes.size().min() >= k
    assert classes.nunique().min() >= l_req
    data = released.reset_index(drop=True)
    assert anonymity.k_anonymity(data, QIS) >= k
    assert anonymity.l_diversity(data, QIS, [SENSITIVE]) >= l_req
    assert (report.k, report.l) == (classes.size().min(), classes.nunique().min())
    assert report.equivalence_classes == classes.ngroups
    assert report.generalization["age"] == report.generalization["year"] == MDAV_GENERALIZATION
    # suppression within the limit, the rest released with the other columns unchanged
    assert len(df) - len(released) == report.suppressed_rows <= np.floor(limit * len(df))
    assert released.index.is_unique and released.index.isin(df.index).all()
    untouched = ["child_token", SENSITIVE]
    pd.testing.assert_frame_equal(released[untouched], df.loc[released.index, untouched])


def test_intervals_are_truthful_and_exactly_their_cluster() -> None:
    """Every numeric range contains the record's original value, and is exactly the range of the
    originals shown with it: the records of a released class (clusters showing the same values
    are one class) span the range from end to end."""
    df = _children(3000, seed=22)
    released, _ = _release(df, 5, 2, 0.05)
    for name in NUMERIC:
        lo, hi = _bounds(released[name])
        original = df.loc[released.index, name].astype(float)
        assert ((lo <= original) & (original <= hi)).all()
        frame = pd.DataFrame({"cls": released.groupby(QIS).ngroup(), "v": original, "lo": lo})
        frame["hi"] = hi
        per_class = frame.groupby("cls").agg(
            vmin=("v", "min"), vmax=("v", "max"), lo=("lo", "first"), hi=("hi", "first")
        )
        assert (per_class["vmin"] == per_class["lo"]).all()
        assert (per_class["vmax"] == per_class["hi"]).all()
        # a single value is shown as the value
        single = released[name][lo == hi]
        assert single.str.fullmatch(r"\d+").all()


def test_categorical_columns_are_generalised_full_domain() -> None:
    """Each categorical column shows one level of its hierarchy for every released record."""
    df = _children(3000, seed=23)
    released, report = _release(df, 5, 2, 0.05)
    for name, hierarchy in CATEGORICAL.items():
        levels = [
            lv
            for lv in range(hierarchy.height)
            if (hierarchy.generalize(df[name], lv).loc[released.index] == released[name]).all()
        ]
        assert levels, name
        assert report.generalization[name] == hierarchy.level_name(levels[0])


def test_the_reported_loss_is_lm_of_the_released_table() -> None:
    df = _children(2000, seed=24)
    for limit in (0.0, 0.05):
        released, report = _release(df, 5, 2, limit)
        expected = _independent_lm(df, released, CATEGORICAL)
        assert report.information_loss == {"metric": "loss_metric", "value": round(expected, 6)}


def test_no_categorical_generalisation_does_better() -> None:
    """Exhaustively: with each column's hierarchy cut to start at a given level (which forces the
    categorical columns to that level or coarser), the release's LM, recomputed against the full
    hierarchies, is never below the one chosen."""
    df = _children(1500, seed=32)
    _, report = _release(df, 5, 2, 0.05)
    best = report.information_loss["value"]
    seen = set()
    for start in itertools.product(*(range(h.height - 1) for h in CATEGORICAL.values())):
        cut = {
            name: Hierarchy(
                h.name,
                list(h.levels[level:]),
                [h.level_name(i) for i in range(level, h.height)],
            )
            for (name, h), level in zip(CATEGORICAL.items(), start, strict=True)
        }
        other, _ = microaggregate(df, cut, NUMERIC, SENSITIVE, 5, 2, 0.05)
        loss = _independent_lm(df, other, CATEGORICAL)
        assert loss >= best - 1e-6, start
        seen.add(round(loss, 6))
    assert best in seen  # cut at level 0 everywhere: the hierarchies themselves
    assert len(seen) > 1  # and the others are different releases


def test_lm_of_a_small_example_by_hand() -> None:
    """Ages 1,1,1,2,3,10,11 (k=3, one sex, l=1). MDAV runs on the ages' ranks 0,0,0,1,2,3,4 (of
    M=5 distinct ages) scaled to [0, 1]: 7 records, between 2k and 3k-1; the mean rank 10/7 is
    nearer the low end, so the group forms around 11: 11, 10, 3. The rest: 1, 1, 1, 2.
    "3-11" covers 3 of the 5 ages (3, 10, 11): (3-1)/(5-1) = 0.5 for three records; "1-2"
    covers 2: 0.25 for four. Sex is kept (cost 0). LM = (1.5 + 1.0) / (7 records x 2) = 0.178571."""
    df = pd.DataFrame(
        {
            "age": [1, 3, 1, 10, 2, 1, 11],
            "sex": ["P"] * 7,
            SENSITIVE: ["neglect", "abuse", "neglect", "other", "abuse", "neglect", "other"],
        }
    )
    released, report = microaggregate(df, {"sex": sex_hierarchy()}, ["age"], SENSITIVE, 3, 1, 0.0)
    assert released["age"].tolist() == ["1-2", "3-11", "1-2", "3-11", "1-2", "1-2", "3-11"]
    assert released["sex"].tolist() == ["P"] * 7
    assert report.information_loss["value"] == pytest.approx(2.5 / 14, abs=1e-6)
    assert report.quasi_identifiers == ["sex", "age"]


def test_clusters_failing_l_are_merged_with_their_nearest() -> None:
    """Two clusters of three (ages 1 and 5, each one case type) fail 2-diversity: merged, one
    class 1-5. With l=1 they stay apart. A third cluster (ages 20-21, mixed) stays apart
    either way: the failing cluster joins the one with the nearest mean."""
    df = pd.DataFrame(
        {
            "age": [1, 1, 1, 5, 5, 5, 20, 20, 21],
            "sex": ["L"] * 9,
            SENSITIVE: ["a", "a", "a", "b", "b", "b", "a", "b", "a"],
        }
    )
    qis = {"sex": sex_hierarchy()}
    released, report = microaggregate(df, qis, ["age"], SENSITIVE, 3, 1, 0.0)
    assert sorted(set(released["age"])) == ["1", "20-21", "5"]
    released, report = microaggregate(df, qis, ["age"], SENSITIVE, 3, 2, 0.0)
    assert released["age"].tolist() == ["1-5"] * 6 + ["20-21"] * 3
    assert report.l == 2 and report.k == 3


def test_further_criteria_hold_in_every_class() -> None:
    df = _children(3000, seed=25)
    released, _ = _release(df, 5, 2, 0.05, criteria=ClassCriteria(entropy_l=2.0))
    data = released.reset_index(drop=True)
    assert EntropyLDiversity(2.0).evaluate(data, QIS, SENSITIVE).holds


def test_nullable_integer_columns_as_in_the_release() -> None:
    """The release casts ages and years to pandas' nullable Int64; microaggregation reads them."""
    df = _children(1500, seed=26)
    df["age"] = df["age"].astype("Int64")
    df["year"] = df["year"].astype("Int64")
    released, _ = _release(df, 5, 2, 0.05)
    lo, hi = _bounds(released["age"])
    age = df.loc[released.index, "age"].astype(float)
    assert ((lo <= age) & (age <= hi)).all()
    assert released.groupby(QIS).size().min() >= 5


def test_the_release_checks_pass_with_the_release_quasi_identifiers() -> None:
    """The research release's quasi-identifiers, hierarchies and policy (ages and years as
    nullable integers, as the release casts them): its own output checks pass."""
    from anonymization.output_checks import check_k_anonymity, check_l_diversity
    from orchestration.release.build import QUASI_IDENTIFIERS, ReleasePolicy, hierarchies

    policy = ReleasePolicy()
    df = _children(3000, seed=31).rename(
        columns={"age": "age_years", "regency": "regency_code", "year": "admission_year"}
    )
    df["age_years"] = df["age_years"].astype("Int64")
    df["admission_year"] = df["admission_year"].astype("Int64")
    released, report = microaggregate(
        df, hierarchies(), ["age_years", "admission_year"], policy.sensitive, policy.k_required,
        policy.l_required, policy.suppression_limit,
    )  # fmt: skip
    qis = list(QUASI_IDENTIFIERS)
    assert report.quasi_identifiers == qis
    assert check_k_anonymity(released, qis, policy.k_required).passed
    assert check_l_diversity(released, qis, policy.sensitive, policy.l_required).passed


def test_lower_loss_than_the_full_domain_optimum_on_skewed_data() -> None:
    df = _children(3000, seed=27)
    hierarchies = {
        "age": age_hierarchy(),
        **CATEGORICAL,
        "year": year_hierarchy(periods=(2, 10)),
    }
    _, full = anonymize(df, hierarchies, SENSITIVE, 5, 2, 0.05)
    _, micro = microaggregate(df, hierarchies, NUMERIC, SENSITIVE, 5, 2, 0.05)
    assert micro.information_loss["value"] < full.information_loss["value"]


def test_continuous_values_in_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Continuous values (every one distinct) with classes larger than the block size: the
    released classes still meet k and l and every range holds its records' values."""
    monkeypatch.setattr(microaggregation, "MAX_POINTS", 64)
    df = _children(2000, seed=30)
    rng = np.random.default_rng(30)
    df["age"] = df["age"] + rng.random(len(df))  # 0.0 .. 18.0, all distinct
    df["year"] = df["year"] + rng.random(len(df)).round(3)
    released, report = _release(df, 5, 2, 0.05)
    classes = released.groupby(QIS)[SENSITIVE]
    assert classes.size().min() >= 5 and classes.nunique().min() >= 2
    for name in NUMERIC:
        lo, hi = _bounds(released[name])
        original = df.loc[released.index, name]
        assert ((lo <= original) & (original <= hi)).all()
    assert report.information_loss["value"] == pytest.approx(
        _independent_lm(df, released, CATEGORICAL), abs=1e-6
    )


def test_the_same_input_gives_the_same_output() -> None:
    df = _children(1500, seed=28)
    a, ra = _release(df, 5, 2, 0.05)
    b, rb = _release(df, 5, 2, 0.05)
    pd.testing.assert_frame_equal(a, b)
    assert ra == rb


def test_bad_input_is_a_clear_error() -> None:
    df = _children(200, seed=29)
    with pytest.raises(ValueError, match="k and l must be >= 1"):
        _release(df, 0, 1, 0.0)
    with pytest.raises(ValueError, match="k and l must be >= 1"):
        _release(df, 2, 0, 0.0)
    text = df.assign(age=df["age"].astype(str))
    with pytest.raises(ValueError, match="'age' is not numeric"):
        _release(text, 5, 2, 0.05)
    with pytest.raises(ValueError, match="'age' is not numeric"):
        _release(df.assign(age=df["age"] > 5), 5, 2, 0.05)
    missing = df.assign(year=df["year"].astype(float))
    missing.loc[3, "year"] = np.nan
    with pytest.raises(ValueError, match="'year' has 1 missing values"):
        _release(missing, 5, 2, 0.05)
    with pytest.raises(ValueError, match="infinite"):
        _release(df.assign(year=df["year"].astype(float).replace(2020, np.inf)), 5, 2, 0.05)
    with pytest.raises(ValueError, match="numeric quasi-identifier is required"):
        microaggregate(df, CATEGORICAL, [], SENSITIVE, 5, 2, 0.05)
    with pytest.raises(ValueError, match="columns not in data"):
        microaggregate(df, CATEGORICAL, ["weight"], SENSITIVE, 5, 2, 0.05)
    with pytest.raises(AnonymizationError, match="no generalisation"):
        _release(df, 201, 1, 0.0)
