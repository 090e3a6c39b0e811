"""k-anonymity + l-diversity, verified independently (pycanon, groupby, brute force)."""

from __future__ import annotations

import itertools
import json
import time

import numpy as np
import pandas as pd
import pytest
from pycanon import anonymity

from anonymization.hierarchies import (
    Hierarchy,
    age_hierarchy,
    categorical_hierarchy,
    disability_hierarchy,
    province_hierarchy,
    sex_hierarchy,
    year_hierarchy,
)
from anonymization.kanonymity import AnonymizationError, ClassCriteria, anonymize
from anonymization.privacy_models import (
    EntropyLDiversity,
    RecursiveCLDiversity,
    TCloseness,
    evaluate_criteria,
)

SENSITIVE = "case_type"
CASE_TYPES = ["neglect", "abuse", "trafficking", "child_labour", "exploitation", "other"]


def _children(n: int, seed: int) -> pd.DataFrame:
    """Skewed synthetic case data: most children in Jawa, a few in tiny Papua regencies."""
    rng = np.random.default_rng(seed)
    common = ["3201", "3204", "3273", "3171", "3578", "3374", "1271", "7371"]
    rare = ["9101", "9471", "8271", "6501", "5312"]  # 1-3 children each
    n_rare = 9
    regency = list(rng.choice(common, n - n_rare, p=[0.3, 0.2, 0.15, 0.1, 0.1, 0.05, 0.05, 0.05]))
    regency += list(rng.choice(rare, n_rare))
    return pd.DataFrame(
        {
            "child_token": [f"nm_{i:020x}" for i in range(n)],
            "age": rng.integers(0, 18, n),
            "sex": rng.choice(["L", "P"], n),
            "regency": regency,
            "year": rng.integers(2016, 2025, n),
            "disability": rng.choice(
                ["none", "tunanetra", "tunarungu", "autisme"], n, p=[0.85, 0.05, 0.05, 0.05]
            ),
            SENSITIVE: rng.choice(CASE_TYPES, n, p=[0.4, 0.25, 0.05, 0.15, 0.1, 0.05]),
        }
    )


def _qis() -> dict[str, Hierarchy]:
    return {
        "age": age_hierarchy(),
        "sex": sex_hierarchy(),
        "regency": province_hierarchy(),
        "year": year_hierarchy(periods=(2, 10)),
        "disability": disability_hierarchy(),
    }


@pytest.mark.parametrize(("k", "l_req", "limit"), [(5, 2, 0.05), (11, 3, 0.02), (3, 1, 0.0)])
def test_release_is_k_anonymous_and_l_diverse(k: int, l_req: int, limit: float) -> None:
    df = _children(3000, seed=1)
    qis = _qis()
    out, report = anonymize(df, qis, SENSITIVE, k=k, l=l_req, max_suppression=limit)
    qi_list = list(qis)

    # no NaN anywhere in the quasi-identifiers: pycanon treats NaN as distinct values
    assert out[qi_list].notna().all().all()
    assert all(isinstance(v, str) for v in out[qi_list].to_numpy().ravel())

    # independent check 1: pycanon
    released = out.reset_index(drop=True)
    assert anonymity.k_anonymity(released, qi_list) >= k
    assert anonymity.l_diversity(released, qi_list, [SENSITIVE]) >= l_req

    # independent check 2: plain groupby, and the report states the true values
    groups = out.groupby(qi_list)[SENSITIVE]
    assert groups.size().min() == report.k >= k
    assert groups.nunique().min() == report.l >= l_req
    assert groups.ngroups == report.equivalence_classes

    # suppression within the limit and correctly counted
    assert report.suppressed_rows <= limit * len(df) + 1e-9
    assert report.released_rows == len(out) == len(df) - report.suppressed_rows
    assert set(out.index) <= set(df.index)

    # passthrough columns unchanged for released rows
    pd.testing.assert_series_equal(out[SENSITIVE], df.loc[out.index, SENSITIVE])
    assert (out["child_token"] == df.loc[out.index, "child_token"]).all()

    # the rare Papua regencies must not appear ungeneralised
    for code in ["9101", "9471", "8271", "6501", "5312"]:
        assert code not in set(out["regency"])

    data = report.to_dict()
    json.dumps(data)
    assert set(data) == {
        "quasi_identifiers",
        "sensitive_attribute",
        "k_required",
        "k",
        "l_required",
        "l",
        "generalization",
        "input_rows",
        "released_rows",
        "suppressed_rows",
        "suppression_limit",
        "information_loss",
        "equivalence_classes",
        "lattice_nodes_evaluated",
    }
    assert data["quasi_identifiers"] == qi_list
    assert set(data["generalization"]) == set(qi_list)
    assert data["information_loss"]["metric"] == "loss_metric"
    assert 0.0 <= data["information_loss"]["value"] <= 1.0
    assert 0 < data["lattice_nodes_evaluated"] <= 4 * 2 * 4 * 4 * 3


def test_fully_generalised_values_are_star_strings() -> None:
    df = _children(300, seed=5)
    out, report = anonymize(
        df, {"age": age_hierarchy(), "regency": province_hierarchy()}, SENSITIVE, 40, 4, 0.0
    )
    starred = [qi for qi, level in report.generalization.items() if level == "*"]
    assert starred, report.generalization
    for qi in starred:
        assert set(out[qi]) == {"*"}


def _brute_force_best(
    df: pd.DataFrame, qis: dict[str, Hierarchy], k: int, l_req: int, limit: float
) -> tuple[float, list[dict[str, str]]]:
    """Exhaustive, deliberately naive reference: every node, pandas groupby, LM by hand."""
    n = len(df)
    best, argbest = np.inf, []
    max_supp = int(np.floor(limit * n + 1e-9))
    for node in itertools.product(*(range(h.height) for h in qis.values())):
        pairs = list(zip(qis.items(), node, strict=True))
        gen = pd.DataFrame({name: h.generalize(df[name], lv) for (name, h), lv in pairs})
        gen[SENSITIVE] = df[SENSITIVE].to_numpy()
        grouped = gen.groupby(list(qis))[SENSITIVE]
        ok = (grouped.transform("size") >= k) & (grouped.transform("nunique") >= l_req)
        if (~ok).sum() > max_supp:
            continue
        cost = 0.0
        for name, h in qis.items():
            original = h.generalize(df[name], 0)
            total = original.nunique()
            covered = original.groupby(gen[name]).nunique()
            per_row = (gen[name].map(covered) - 1) / max(total - 1, 1)
            cost += per_row[ok].sum() + (~ok).sum()
        loss = cost / (n * len(qis))
        levels = {name: h.level_name(lv) for (name, h), lv in pairs}
        if loss < best - 1e-12:
            best, argbest = loss, [levels]
        elif abs(loss - best) <= 1e-12:
            argbest.append(levels)
    return best, argbest


@pytest.mark.parametrize(
    ("n", "seed", "k", "l_req", "limit"),
    [
        (600, 2, 4, 2, 0.03),
        (600, 3, 8, 3, 0.05),
        # cases where a NON-minimal satisfying node wins (less suppression pays off)
        (150, 2, 3, 1, 0.1),
        (600, 3, 6, 1, 0.15),
    ],
)
def test_chosen_node_has_minimal_information_loss(
    n: int, seed: int, k: int, l_req: int, limit: float
) -> None:
    df = _children(n, seed=seed)
    qis = {
        "age": age_hierarchy(),
        "sex": sex_hierarchy(),
        "regency": province_hierarchy(),
        "disability": disability_hierarchy(),
    }
    _, report = anonymize(df, qis, SENSITIVE, k, l_req, limit)
    best, argbest = _brute_force_best(df, qis, k, l_req, limit)
    assert report.information_loss["value"] == pytest.approx(best, abs=1e-6)
    assert report.generalization in argbest


def test_impossible_requirements_raise() -> None:
    df = _children(50, seed=4)
    with pytest.raises(AnonymizationError):
        anonymize(df, _qis(), SENSITIVE, k=51, l=1, max_suppression=0.5)
    with pytest.raises(AnonymizationError):
        anonymize(df, _qis(), SENSITIVE, k=2, l=len(CASE_TYPES) + 1, max_suppression=0.5)
    with pytest.raises(AnonymizationError):
        anonymize(df.iloc[:0], _qis(), SENSITIVE, k=2, l=1, max_suppression=0.5)


def test_invalid_arguments() -> None:
    df = _children(50, seed=4)
    with pytest.raises(ValueError):
        anonymize(df, {"missing_col": sex_hierarchy()}, SENSITIVE, 2, 1, 0.1)
    with pytest.raises(ValueError):
        anonymize(df, {SENSITIVE: sex_hierarchy()}, SENSITIVE, 2, 1, 0.1)
    with pytest.raises(ValueError):
        anonymize(df, _qis(), SENSITIVE, 0, 1, 0.1)
    with pytest.raises(ValueError):
        anonymize(df, _qis(), SENSITIVE, 2, 1, 1.0)


def test_non_nested_hierarchy_is_rejected() -> None:
    df = _children(200, seed=6)
    bad = Hierarchy(
        "age",
        [
            lambda s: s.astype(str),
            lambda s: (s // 2).astype(str),  # pairs (0,1), (2,3) ...
            lambda s: ((s + 1) // 3).astype(str),  # cuts across the pairs
            lambda s: pd.Series("*", index=s.index),
        ],
    )
    with pytest.raises(ValueError, match="not nested"):
        anonymize(df, {"age": bad}, SENSITIVE, 2, 1, 0.1)


def test_categorical_quasi_identifier() -> None:
    df = _children(2000, seed=8)
    rng = np.random.default_rng(8)
    df["institution"] = rng.choice(["LKSA", "panti", "foster", "kinship"], len(df))
    institution = categorical_hierarchy(
        "institution",
        {"LKSA": "residential", "panti": "residential", "foster": "family", "kinship": "family"},
    )
    out, report = anonymize(
        df, {"institution": institution, "age": age_hierarchy()}, SENSITIVE, 10, 2, 0.01
    )
    assert anonymity.k_anonymity(out.reset_index(drop=True), ["institution", "age"]) >= 10
    assert report.k >= 10


def test_100k_rows_in_a_few_seconds() -> None:
    df = _children(100_000, seed=9)
    start = time.perf_counter()
    out, report = anonymize(df, _qis(), SENSITIVE, k=5, l=2, max_suppression=0.02)
    elapsed = time.perf_counter() - start
    assert report.k >= 5 and report.l >= 2
    assert out.groupby(list(_qis()))[SENSITIVE].size().min() >= 5
    assert elapsed < 10.0, f"{elapsed:.2f}s"


# -- further criteria enforced by the search ----------------------------------------------------


def _lm(df: pd.DataFrame, gen: pd.DataFrame, qis: dict[str, Hierarchy], ok: pd.Series) -> float:
    """Iyengar's LM of the generalised table ``gen`` with the records not ``ok`` suppressed."""
    cost = 0.0
    for name, h in qis.items():
        original = h.generalize(df[name], 0)
        covered = original.groupby(gen[name]).nunique()
        per_row = (gen[name].map(covered) - 1) / max(original.nunique() - 1, 1)
        cost += per_row[ok].sum() + (~ok).sum()
    return float(cost / (len(df) * len(qis)))


def _brute_force_with(df: pd.DataFrame, qis: dict[str, Hierarchy], k: int, limit: float,
                      criteria: list) -> float:  # type: ignore[type-arg]  # fmt: skip
    """Least loss over every node whose classes, after suppressing the failing ones, meet k
    and ``criteria`` (entropy l, t-closeness), each recomputed here with plain groupbys."""
    n = len(df)
    best = np.inf
    overall = df[SENSITIVE].value_counts(normalize=True)
    for node in itertools.product(*(range(h.height) for h in qis.values())):
        pairs = list(zip(qis.items(), node, strict=True))
        gen = pd.DataFrame({name: h.generalize(df[name], lv) for (name, h), lv in pairs})
        gen[SENSITIVE] = df[SENSITIVE].to_numpy()
        keys = list(qis)
        ok = gen.groupby(keys)[SENSITIVE].transform("size") >= k
        for kind, value in criteria:
            shares = gen.groupby(keys)[SENSITIVE].value_counts(normalize=True)
            if kind == "entropy":
                per = (-shares * np.log(shares)).groupby(level=list(range(len(keys)))).sum()
                good = per >= np.log(value) - 1e-12
            else:
                per = shares.unstack(fill_value=0.0).reindex(columns=overall.index, fill_value=0.0)
                good = 0.5 * (per - overall).abs().sum(axis=1) <= value + 1e-12
            ok &= pd.Series(
                good.reindex(pd.MultiIndex.from_frame(gen[keys])).to_numpy(), index=gen.index
            )
        if (~ok).sum() > int(np.floor(limit * n + 1e-9)):
            continue
        best = min(best, _lm(df, gen, qis, ok))
    return best


@pytest.mark.parametrize(
    ("criteria", "spec"),
    [
        (ClassCriteria(entropy_l=2.5), [("entropy", 2.5)]),
        (ClassCriteria(t=0.15), [("t", 0.15)]),
        (ClassCriteria(entropy_l=2.0, t=0.2), [("entropy", 2.0), ("t", 0.2)]),
    ],
)
def test_further_criteria_hold_on_the_output_and_the_node_is_still_optimal(
    criteria: ClassCriteria, spec: list
) -> None:  # type: ignore[type-arg]
    df = _children(600, seed=4)
    qis = {
        "age": age_hierarchy(),
        "sex": sex_hierarchy(),
        "regency": province_hierarchy(),
        "disability": disability_hierarchy(),
    }
    released, report = anonymize(df, qis, SENSITIVE, 4, 1, 0.05, criteria)
    data = released.reset_index(drop=True)
    measured = evaluate_criteria(
        data,
        list(qis),
        SENSITIVE,
        [
            EntropyLDiversity(criteria.entropy_l or 1),
            TCloseness(1.0 if criteria.t is None else criteria.t + 0.05),
        ],
    )
    assert measured[0].holds
    if criteria.t is not None:
        # Against the input's distribution (the engine's reference): recomputed here.
        overall = df[SENSITIVE].value_counts(normalize=True)
        per = (
            data.groupby(list(qis))[SENSITIVE].value_counts(normalize=True).unstack(fill_value=0.0)
        )
        per = per.reindex(columns=overall.index, fill_value=0.0)
        assert (0.5 * (per - overall).abs().sum(axis=1)).max() <= criteria.t + 1e-9
    assert report.information_loss["value"] == pytest.approx(
        _brute_force_with(df, qis, 4, 0.05, spec), abs=1e-6
    )


def test_recursive_c_l_diversity_is_enforced() -> None:
    df = _children(600, seed=5)
    qis = {"age": age_hierarchy(), "sex": sex_hierarchy(), "regency": province_hierarchy()}
    released, _ = anonymize(
        df, qis, SENSITIVE, 4, 2, 0.05, ClassCriteria(recursive_c=2.0, recursive_l=2)
    )
    result = RecursiveCLDiversity(c=2.0, l=2).evaluate(
        released.reset_index(drop=True), list(qis), SENSITIVE
    )
    assert result.holds, result


def test_criteria_that_cannot_be_met_say_so() -> None:
    df = _children(200, seed=6)
    # Six case types: no class can be as mixed as ten equally frequent values.
    with pytest.raises(AnonymizationError, match=r"entropy l=10"):
        anonymize(df, {"age": age_hierarchy()}, SENSITIVE, 2, 1, 0.0, ClassCriteria(entropy_l=10))
    with pytest.raises(ValueError, match=r"both c and l"):
        ClassCriteria(recursive_c=2.0)


# -- t-closeness with ordered and hierarchical ground distances ----------------------------------

SEVERITY = ("low", "medium", "high", "critical")
CASE_GROUPS = {  # value -> (group, root): a two-level hierarchy of case types
    "neglect": ("care", "*"),
    "abuse": ("harm", "*"),
    "exploitation": ("harm", "*"),
    "trafficking": ("harm", "*"),
    "child_labour": ("care", "*"),
    "other": ("care", "*"),
}


def _ordered_emd(shares: pd.Series, overall: pd.Series) -> float:
    """Li et al.'s ordered distance, worked out plainly: the running sum of the surplus."""
    diff = shares.reindex(SEVERITY, fill_value=0.0) - overall.reindex(SEVERITY, fill_value=0.0)
    running, total = 0.0, 0.0
    for value in SEVERITY:
        running += diff[value]
        total += abs(running)
    return total / (len(SEVERITY) - 1)


def _hierarchical_emd(shares: pd.Series, overall: pd.Series) -> float:
    """Li et al.'s hierarchical distance for a two-level tree: inside each group, the mass that
    must move between its leaves costs 1/2; between groups it costs 1."""
    diff = shares.reindex(list(CASE_GROUPS), fill_value=0.0) - overall.reindex(
        list(CASE_GROUPS), fill_value=0.0
    )
    total, group_extra = 0.0, {}
    for group in {g for g, _ in CASE_GROUPS.values()}:
        extras = [diff[v] for v, (g, _) in CASE_GROUPS.items() if g == group]
        positive = sum(e for e in extras if e > 0)
        negative = -sum(e for e in extras if e < 0)
        total += 0.5 * min(positive, negative)
        group_extra[group] = sum(extras)
    positive = sum(e for e in group_extra.values() if e > 0)
    negative = -sum(e for e in group_extra.values() if e < 0)
    return total + min(positive, negative)


# t where the declared distance gives another optimum than the equal distance would (0.32 and
# 0.31 against 0.49 and 0.41): the test fails if the search used the equal distance.
@pytest.mark.parametrize(("distance", "t"), [("ordered", 0.12), ("hierarchical", 0.2)])
def test_ordered_and_hierarchical_t_closeness_are_enforced_at_the_optimum(
    distance: str, t: float
) -> None:
    df = _children(500, seed=21)
    if distance == "ordered":
        rng = np.random.default_rng(3)
        df[SENSITIVE] = rng.choice(SEVERITY, len(df), p=[0.5, 0.3, 0.15, 0.05])
        criteria = ClassCriteria(t=t, t_distance="ordered", t_order=SEVERITY)
        emd = _ordered_emd
    else:
        criteria = ClassCriteria(t=t, t_distance="hierarchical", t_hierarchy=CASE_GROUPS)
        emd = _hierarchical_emd
    qis = {"age": age_hierarchy(), "sex": sex_hierarchy(), "regency": province_hierarchy()}
    released, report = anonymize(df, qis, SENSITIVE, 3, 1, 0.05, criteria)
    _, equal_distance = anonymize(df, qis, SENSITIVE, 3, 1, 0.05, ClassCriteria(t=t))
    overall = df[SENSITIVE].value_counts(normalize=True)
    per_class = released.groupby(list(qis))[SENSITIVE].value_counts(normalize=True)
    worst = max(emd(shares.droplevel(list(range(3))), overall) for _, shares in
                per_class.groupby(level=[0, 1, 2]))  # fmt: skip
    assert worst <= t + 1e-9

    # Exhaustively: no node with a lower loss meets k=3 and the distance after suppression.
    n, best = len(df), np.inf
    for node in itertools.product(*(range(h.height) for h in qis.values())):
        gen = pd.DataFrame(
            {name: h.generalize(df[name], lv) for (name, h), lv in zip(qis.items(), node, strict=True)}
        )  # fmt: skip
        gen[SENSITIVE] = df[SENSITIVE].to_numpy()
        keys = list(qis)
        good_classes = {
            key for key, group in gen.groupby(keys)[SENSITIVE]
            if len(group) >= 3 and emd(group.value_counts(normalize=True), overall) <= t + 1e-12
        }  # fmt: skip
        ok = pd.Series([tuple(r) in good_classes for r in gen[keys].itertuples(index=False)])
        if (~ok).sum() > int(np.floor(0.05 * n + 1e-9)):
            continue
        best = min(best, _lm(df, gen, qis, ok))
    assert report.information_loss["value"] == pytest.approx(best, abs=1e-6)
    assert report.information_loss["value"] < equal_distance.information_loss["value"]


def test_a_t_distance_without_its_order_or_hierarchy_is_refused() -> None:
    with pytest.raises(ValueError, match="t_order"):
        ClassCriteria(t=0.2, t_distance="ordered")
    with pytest.raises(ValueError, match="t_hierarchy"):
        ClassCriteria(t=0.2, t_distance="hierarchical")
    df = _children(100, seed=2)
    with pytest.raises(ValueError, match="outside the declared order"):
        anonymize(df, {"age": age_hierarchy()}, SENSITIVE, 2, 1, 0.0,
                  ClassCriteria(t=0.5, t_distance="ordered", t_order=("low",)))  # fmt: skip


def test_a_lowest_level_keeps_every_value_at_or_above_it() -> None:
    """A public-use file shows no geography below province: the search starts there."""
    df = _children(600, seed=22)
    qis = {"age": age_hierarchy(), "sex": sex_hierarchy(), "regency": province_hierarchy()}
    free, _ = anonymize(df, qis, SENSITIVE, 3, 1, 0.05)
    assert free["regency"].str.fullmatch(r"\d{4}").any()  # unconstrained, regencies show
    released, report = anonymize(df, qis, SENSITIVE, 3, 1, 0.05, lowest_levels={"regency": 1})
    assert not released["regency"].str.fullmatch(r"\d{4}").any()
    assert report.generalization["regency"] != "regency"
    with pytest.raises(ValueError, match="not a level"):
        anonymize(df, qis, SENSITIVE, 3, 1, 0.05, lowest_levels={"regency": 9})
    with pytest.raises(ValueError, match="not quasi-identifiers"):
        anonymize(df, qis, SENSITIVE, 3, 1, 0.05, lowest_levels={"case_type": 1})
