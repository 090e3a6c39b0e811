"""Utility measures of a release, each against a small example computed by hand (the arithmetic
is in the comments), and the invariants: an unchanged table loses nothing, a fully suppressed
one loses everything."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from anonymization.hierarchies import age_hierarchy, sex_hierarchy
from anonymization.kanonymity import anonymize
from anonymization.local_recoding import local_recode
from anonymization.utility import (
    CategoricalNaiveBayes,
    align,
    average_class_size,
    class_sizes,
    discernibility,
    distributions,
    evaluate_release,
    loss_metric,
    model_accuracy,
    non_uniform_entropy,
)
from tests.anonymization.test_kanonymity import SENSITIVE, _children, _qis

QIS = ["age", "sex"]


def _original() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [1, 2, 3, 3, 7, 9],
            "sex": ["F", "F", "M", "M", "M", "F"],
            "s": ["a", "b", "a", "b", "a", "b"],
        }
    )


def _released() -> pd.DataFrame:
    """Rows 0-1 as one range, rows 2-3 unchanged, row 4 with every value "*", row 5 left out
    (a range/set tool's output: no hierarchy behind "1-2")."""
    return pd.DataFrame(
        {
            "age": ["1-2", "1-2", "3", "3", "*"],
            "sex": ["F", "F", "M", "M", "*"],
            "s": ["a", "b", "a", "b", "a"],
        },
        index=[0, 1, 2, 3, 4],
    )


def _aligned(all_star: bool):
    return align(_original(), _released(), QIS, "s", all_star_is_suppressed=all_star)


def test_alignment_and_suppression_are_explicit() -> None:
    star = _aligned(True)
    assert star.suppressed.tolist() == [False, False, False, False, True, True]
    assert star.released.loc[5, "age"] == "*" and star.released.loc[5, "sex"] == "*"
    assert star.released.loc[4, "s"] is None  # a suppressed row's sensitive value is not used
    kept = _aligned(False)
    assert kept.suppressed.tolist() == [False, False, False, False, False, True]
    assert kept.n_released == 5 and kept.n_suppressed == 1


def test_discernibility_by_hand() -> None:
    # all-"*" row suppressed: classes {0,1} and {2,3}; suppressed rows 4 and 5, n = 6:
    # 2^2 + 2^2 + 2 * 6 = 20
    assert discernibility(_aligned(True)) == 20
    # all-"*" row kept as a class of its own: 2^2 + 2^2 + 1^2 + 1 * 6 = 15
    assert discernibility(_aligned(False)) == 15
    assert sorted(class_sizes(_aligned(False)).tolist()) == [1, 2, 2]


def test_average_class_size_by_hand() -> None:
    # (4 released records / 2 classes) / k=2 = 1.0
    assert average_class_size(_aligned(True), k=2) == pytest.approx(1.0)
    # (5 / 3) / 2 = 0.8333...
    assert average_class_size(_aligned(False), k=2) == pytest.approx(5 / 6)


def test_loss_metric_by_hand_from_the_data() -> None:
    lm = loss_metric(_aligned(True))
    # age: M = 5 distinct values {1, 2, 3, 7, 9}. "1-2" covers {1, 2}: (2 - 1) / 4 = 0.25 for
    # rows 0, 1; "3" covers {3}: 0 for rows 2, 3; "*" and the suppressed row: 1 each.
    # (0.25 + 0.25 + 0 + 0 + 1 + 1) / 6 = 2.5 / 6
    assert lm.per_attribute["age"] == pytest.approx(2.5 / 6)
    # sex: M = 2; rows 0-3 unchanged (0), rows 4 and 5 cost 1: 2 / 6
    assert lm.per_attribute["sex"] == pytest.approx(2 / 6)
    # overall: the mean over attributes, (2.5/6 + 2/6) / 2 = 0.375
    assert lm.total == pytest.approx(0.375)
    # The same whether or not the all-"*" row counts as suppressed.
    assert loss_metric(_aligned(False)) == lm


def test_non_uniform_entropy_by_hand() -> None:
    nue = non_uniform_entropy(_aligned(True))
    log6, log3 = math.log2(6), math.log2(3)
    # age, counts in the input 1:1, 2:1, 3:2, 7:1, 9:1 (n = 6).
    # rows 0, 1: "1-2" covers 1 + 1 = 2 records: -log2(1/2) = 1 bit each;
    # rows 2, 3: "3" covers its 2 records: 0; rows 4, 5 ("*"): -log2(1/6) each.
    age = 2 * 1 + 2 * log6
    assert nue.per_attribute["age"] == pytest.approx(age)
    # sex, F:3, M:3: rows 0-3 unchanged (0), rows 4 and 5: -log2(3/6) = 1 bit each.
    assert nue.per_attribute["sex"] == pytest.approx(2.0)
    assert nue.total == pytest.approx(age + 2)
    # Every value "*": age 4 * log2(6) (values 1, 2, 7, 9) + 2 * log2(6/2) (the two 3s);
    # sex 6 * 1 bit.
    age_full = 4 * log6 + 2 * log3
    assert nue.normalised_per_attribute["age"] == pytest.approx(age / age_full)
    assert nue.normalised_per_attribute["sex"] == pytest.approx(2 / 6)
    assert nue.normalised == pytest.approx((age + 2) / (age_full + 6))


def test_a_hierarchy_label_covers_what_the_hierarchy_maps_to_it() -> None:
    original = _original()
    released = _released().assign(age=["00-04", "00-04", "3", "3", "*"])
    aligned = align(original, released, QIS, "s", all_star_is_suppressed=True)
    hierarchies = {"age": age_hierarchy(), "sex": sex_hierarchy()}
    # From the data alone "00-04" covers the originals released with it, {1, 2}:
    # LM (2 - 1) / 4 = 0.25, entropy -log2(1/2) = 1 bit, as for "1-2" above.
    assert loss_metric(aligned).per_attribute["age"] == pytest.approx(2.5 / 6)
    # By the hierarchy it covers every input value in 0-4, {1, 2, 3} (4 records):
    # LM (3 - 1) / 4 = 0.5 for rows 0, 1: (0.5 + 0.5 + 0 + 0 + 1 + 1) / 6 = 3 / 6;
    # entropy -log2(1/4) = 2 bits for rows 0, 1: 2 * 2 + 2 * log2(6).
    assert loss_metric(aligned, hierarchies).per_attribute["age"] == pytest.approx(3 / 6)
    assert non_uniform_entropy(aligned, hierarchies).per_attribute["age"] == pytest.approx(
        4 + 2 * math.log2(6)
    )


def test_unchanged_release_loses_nothing() -> None:
    df = _children(800, seed=3)
    qis = _qis()
    for hierarchies in (None, qis):
        aligned = align(df, df, list(qis), SENSITIVE, all_star_is_suppressed=True)
        lm = loss_metric(aligned, hierarchies)
        nue = non_uniform_entropy(aligned, hierarchies)
        assert lm.total == 0 and set(lm.per_attribute.values()) == {0.0}
        assert nue.total == 0 and nue.normalised == 0


@pytest.mark.parametrize("how", ["left out", "every value *"])
def test_full_suppression_normalises_to_one(how: str) -> None:
    df = _children(800, seed=4)
    qis = _qis()
    released = df.iloc[:0] if how == "left out" else df.assign(**{q: "*" for q in qis})
    aligned = align(df, released, list(qis), SENSITIVE, all_star_is_suppressed=how == "left out")
    nue = non_uniform_entropy(aligned, qis)
    assert nue.normalised == pytest.approx(1.0)
    assert all(v == pytest.approx(1.0) for v in nue.normalised_per_attribute.values())
    assert loss_metric(aligned, qis).total == pytest.approx(1.0)
    # Either way every record pays n: suppressed (n each) or one class of n (n each).
    assert discernibility(aligned) == len(df) ** 2


def test_loss_metric_matches_the_engines_own() -> None:
    """The full-domain search and local recoding report Iyengar's LM with hierarchy coverage;
    measured from their output alone it is the same number."""
    df = _children(2000, seed=5)
    qis = _qis()
    for released, report in (
        anonymize(df, qis, SENSITIVE, 5, 2, 0.05),
        local_recode(df, qis, SENSITIVE, 5, 2),
    ):
        aligned = align(df, released, list(qis), SENSITIVE, all_star_is_suppressed=False)
        assert loss_metric(aligned, qis).total == pytest.approx(
            report.information_loss["value"], abs=1e-6
        )
        assert aligned.n_suppressed == report.suppressed_rows
        assert len(class_sizes(aligned)) == report.equivalence_classes


def test_distributions_before_and_after() -> None:
    dist = distributions(_aligned(True))
    assert dist["age"]["original"] == {"3": 2, "1": 1, "2": 1, "7": 1, "9": 1}
    assert dist["age"]["released"] == {"1-2": 2, "3": 2, "*": 2}
    assert dist["sex"]["released"] == {"F": 2, "M": 2, "*": 2}


def test_naive_bayes_by_hand() -> None:
    x = pd.DataFrame({"x": ["A", "A", "B", "B", "B"]})
    y = pd.Series(["p", "p", "q", "q", "p"])
    model = CategoricalNaiveBayes(alpha=1.0).fit(x, y)
    # Prior (Laplace): p (3 + 1) / (5 + 2) = 4/7, q (2 + 1) / 7 = 3/7.
    # Likelihoods, 2 seen values + 1 slot for unseen ones: P(A|p) = (2+1)/(3+3) = 1/2,
    # P(B|p) = (1+1)/6 = 1/3, P(C|p) = 1/6; P(A|q) = (0+1)/(2+3) = 1/5, P(B|q) = 3/5,
    # P(C|q) = 1/5.
    joint = np.exp(model.log_joint(pd.DataFrame({"x": ["A", "B", "C"]})))
    expected = [
        [4 / 7 * 1 / 2, 3 / 7 * 1 / 5],  # A: 0.286 vs 0.086 -> p
        [4 / 7 * 1 / 3, 3 / 7 * 3 / 5],  # B: 0.190 vs 0.257 -> q
        [4 / 7 * 1 / 6, 3 / 7 * 1 / 5],  # C: 0.095 vs 0.086 -> p
    ]
    np.testing.assert_allclose(joint, expected)
    assert model.predict(pd.DataFrame({"x": ["A", "B", "C"]})).tolist() == ["p", "q", "p"]


def test_model_accuracy_sees_the_signal_a_release_keeps() -> None:
    rng = np.random.default_rng(7)
    n = 1000
    sex = rng.choice(["F", "M"], n, p=[0.6, 0.4])
    df = pd.DataFrame(
        {"sex": sex, "age": rng.integers(0, 18, n), "s": np.where(sex == "F", "a", "b")}
    )
    # sex kept: the model predicts s perfectly, as on the original.
    kept = df.assign(age="*")
    acc = model_accuracy(align(df, kept, ["sex", "age"], "s", all_star_is_suppressed=True), seed=1)
    assert acc.original == 1.0 and acc.released == 1.0
    assert acc.train_rows_released == acc.train_rows_original == 700
    # sex generalised away: only the prior is left, the model falls to the majority class.
    gone = df.assign(sex="*", age="*")
    acc = model_accuracy(align(df, gone, ["sex", "age"], "s", all_star_is_suppressed=False), seed=1)
    assert acc.original == 1.0 and acc.released == pytest.approx(acc.majority)
    assert 0.5 < acc.majority < 0.7


def test_evaluate_release_puts_it_together() -> None:
    report = evaluate_release(_original(), _released(), QIS, "s", k=2, all_star_is_suppressed=True)
    assert (report.rows, report.released_rows, report.suppressed_rows) == (6, 4, 2)
    assert report.equivalence_classes == 2 and report.discernibility == 20
    assert report.loss_metric.total == pytest.approx(0.375)
    assert report.to_dict()["non_uniform_entropy"]["per_attribute"]["sex"] == pytest.approx(2.0)


def test_rows_that_match_no_original_are_refused() -> None:
    with pytest.raises(ValueError, match="match no original row"):
        align(_original(), _released().rename(index={4: 99}), QIS, all_star_is_suppressed=True)
    with pytest.raises(ValueError, match="duplicates"):
        align(_original(), _released().rename(index={4: 3}), QIS, all_star_is_suppressed=True)
