"""Population risk: the uniqueness estimators against ARX, the SNB model against its own
definition, journalist risk and δ-presence against counts made independently.

Where the expected numbers come from
------------------------------------
``ARX``: ARX (github.com/arx-deidentifier/arx, commit aacd487fb). Its classes ModelPitman,
ModelZayatz, ModelSNB, RiskModelPopulation(Uniqueness) and RiskModelHistogram were compiled from
src/main/org/deidentifier/arx/risk with the jars ARX ships (newtonraphson-0.0.1,
commons-math3-3.6.1, hppc-0.6.0) and fed each histogram below through
``new RiskModelHistogram(IntIntOpenHashMap)``, ``ARXPopulationModel.create(n, f)`` and
``ARXSolverConfiguration.create()`` (ARX's defaults); the numbers are
``getNumUniqueTuples{Pitman,Zayatz,Dankar}()`` as printed (ARX prints 0.0 for an estimate that
failed). The adult data's four Dankar shares are also asserted by ARX's own test,
TestRiskMetrics.testDecisionRule2, and the share 1.0 of an all-unique sample at f = 0.2 by
TestRiskMetrics.testDecisionRule.

ARX's SNB is not a reference: its second moment equation has the wrong sign in an exponent and its
estimate of K a misplaced bracket (see the module notes), so SNB is checked against the model's
definition instead (expected counts summed term by term with scipy's distributions).

The population-side tests count by brute force (a boolean mask per released record) or by a plain
groupby of a hand-generalised population, never through the module's level inference and keys.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom, nbinom

from anonymization.hierarchies import (
    Hierarchy,
    age_hierarchy,
    categorical_hierarchy,
    province_hierarchy,
    sex_hierarchy,
)
from anonymization.kanonymity import anonymize
from anonymization.local_recoding import local_recode
from anonymization.population_risk import (
    DeltaPresence,
    JournalistRisk,
    PopulationUniqueness,
    ReferencePopulation,
    _histogram,
    _shlosser_classes,
    _snb_system,
    journalist_risk,
    population_class_sizes,
    population_uniqueness,
    sample_class_sizes,
)
from anonymization.privacy_models import evaluate_criteria

# ARX's data/adult.csv (30162 records) with all nine columns as quasi-identifiers, as
# TestRiskMetrics.testDecisionRule2 uses it (every column with a hierarchy file is a QI):
# class size -> number of classes of that size.
ADULT = {
    1: 15512, 2: 2098, 3: 754, 4: 375, 5: 189, 6: 155, 7: 97, 8: 73, 9: 39, 10: 37, 11: 29,
    12: 18, 13: 23, 14: 14, 15: 15, 16: 9, 17: 11, 18: 10, 19: 10, 20: 5, 21: 3, 22: 4, 23: 3,
    24: 2, 25: 1, 26: 3, 27: 5, 29: 1, 30: 2, 32: 1, 34: 1, 35: 1, 36: 1, 45: 1,
}  # fmt: skip
# A made-up skewed histogram (1293 records).
SKEWED = {1: 300, 2: 120, 3: 60, 4: 35, 5: 20, 6: 12, 8: 7, 10: 5, 15: 3, 25: 2, 60: 1}
# A histogram with a heavy tail of mid-sized classes: at f = 0.8 Zayatz's estimate is the smaller.
FLAT = {1: 293, 2: 146, 3: 97, 4: 72, 5: 58, 6: 48, 7: 41, 8: 36, 9: 32, 10: 29, 11: 26}
# Small histograms on which ARX's Pitman solver does not converge.
SMALL = {1: 5, 2: 3, 3: 2, 5: 1}
ALL_UNIQUE = {1: 7}  # ARX's DataProvider test data: 7 records, all unique


def sizes(histogram: dict[int, int]) -> np.ndarray:
    return np.repeat(list(histogram), list(histogram.values()))


# --- the estimators against ARX ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("fraction", "share", "model"),
    [
        (0.01, 0.1446083531167384, "pitman"),
        (0.1, 0.27684993883653597, "pitman"),
        (1.0, 0.5142895033485844, "dankar"),  # f = 1: counted, not estimated
    ],
)
def test_dankar_reproduces_arxs_published_shares(fraction: float, share: float, model: str) -> None:
    """TestRiskMetrics.testDecisionRule2's expected getFractionOfUniqueTuplesDankar()."""
    estimate = population_uniqueness(sizes(ADULT), fraction, "dankar")
    assert estimate.share == pytest.approx(share, rel=1e-8)
    assert estimate.model == model
    assert estimate.converged


def test_at_a_fifth_zayatz_reproduces_arx_but_the_corrected_snb_is_chosen() -> None:
    """ARX's Dankar at f = 0.2 is Zayatz (0.3577..., TestRiskMetrics.testDecisionRule2) because
    its SNB does not converge; with the published SNB equations it converges, is smaller, and
    the rule takes it."""
    zayatz = population_uniqueness(sizes(ADULT), 0.2, "zayatz")
    assert zayatz.share == pytest.approx(0.3577099234829125, rel=1e-8)
    dankar = population_uniqueness(sizes(ADULT), 0.2, "dankar")
    assert dankar.model == "snb"
    assert dankar.candidates["zayatz"] == pytest.approx(53946.23356045803, rel=1e-8)
    assert dankar.population_uniques == dankar.candidates["snb"] < dankar.candidates["zayatz"]


ARX_VALUES = [
    # (histogram, f, model, ARX's getNumUniqueTuples<Model>())
    (ADULT, 0.01, "pitman", 436167.7146707063),
    (ADULT, 0.01, "zayatz", 819539.9058719622),
    (ADULT, 0.05, "pitman", 137350.02293962502),
    (ADULT, 0.05, "zayatz", 178797.8620725102),
    (ADULT, 0.1, "pitman", 83503.47855187597),
    (ADULT, 0.1, "zayatz", 96741.67099172718),
    (ADULT, 0.2, "pitman", 50766.87124638239),
    (ADULT, 0.5, "pitman", 26295.40039041532),
    (ADULT, 0.5, "zayatz", 26056.918512805987),
    (ADULT, 0.9, "pitman", 17242.651883685314),
    (ADULT, 0.9, "zayatz", 16756.004848635806),
    (SKEWED, 0.01, "pitman", 793.3074052297674),
    (SKEWED, 0.01, "zayatz", 7353.897466645979),
    (SKEWED, 0.05, "pitman", 605.9398666666207),
    (SKEWED, 0.1, "pitman", 539.5543641818375),
    (SKEWED, 0.2, "zayatz", 588.8411302518479),
    (SKEWED, 0.3, "pitman", 448.9129216371404),
    (SKEWED, 0.5, "zayatz", 366.15949270542905),
    (SKEWED, 0.8, "pitman", 380.9263462183598),
    (SKEWED, 0.8, "zayatz", 315.5416519330736),
    (FLAT, 0.1, "pitman", 75.94546470104862),
    (FLAT, 0.8, "zayatz", 293.2615427434033),
    (SMALL, 0.05, "zayatz", 24.680404713174156),
    (SMALL, 0.5, "zayatz", 5.049984245653233),
]


@pytest.mark.parametrize(("histogram", "fraction", "model", "expected"), ARX_VALUES)
def test_pitman_and_zayatz_reproduce_arx(
    histogram: dict[int, int], fraction: float, model: str, expected: float
) -> None:
    """Pitman agrees to the solver's tolerance (ARX stops when both score equations are within
    1e-6, and its trigamma differs from scipy's, which moves the last digits), Zayatz to rounding."""
    estimate = population_uniqueness(sizes(histogram), fraction, model)  # type: ignore[arg-type]
    assert estimate.converged
    assert estimate.population_uniques == pytest.approx(expected, rel=1e-7)
    n = int(sum(s * c for s, c in histogram.items()))
    assert estimate.population_size == math.floor(n / fraction + 0.5)
    assert estimate.share == pytest.approx(expected / estimate.population_size, rel=1e-7)


@pytest.mark.parametrize(
    ("histogram", "fraction"), [(SMALL, 0.05), (SMALL, 0.5), (ALL_UNIQUE, 0.05), (ALL_UNIQUE, 0.2)]
)
def test_pitman_fails_where_arxs_fails_and_says_so(
    histogram: dict[int, int], fraction: float
) -> None:
    """ARX prints 0.0 (its value for a failed estimate) for Pitman on these; here the estimate
    is NaN and not converged, so no threshold can pass on it."""
    estimate = population_uniqueness(sizes(histogram), fraction, "pitman")
    assert not estimate.converged
    assert math.isnan(estimate.population_uniques) and math.isnan(estimate.share)
    assert estimate.to_dict()["share"] is None


# --- Dankar et al.'s decision rule, in each of its regimes ---------------------------------


def test_rule_takes_pitman_at_or_below_a_tenth() -> None:
    estimate = population_uniqueness(sizes(ADULT), 0.1, "dankar")
    assert (estimate.model, estimate.requested) == ("pitman", "dankar")
    assert set(estimate.candidates) == {"pitman"}
    assert estimate.parameters["theta"] > 0 and 0 < estimate.parameters["alpha"] < 1


def test_rule_falls_back_to_zayatz_when_pitman_fails() -> None:
    estimate = population_uniqueness(sizes(SMALL), 0.05, "dankar")  # ARX: ZAYATZ 24.6804...
    assert estimate.model == "zayatz"
    assert math.isnan(estimate.candidates["pitman"])
    assert estimate.population_uniques == pytest.approx(24.680404713174156, rel=1e-10)


def test_rule_takes_zayatz_above_a_tenth_when_snb_fails() -> None:
    """ARX's TestRiskMetrics.testDecisionRule: its all-unique 7-record data at f = 0.2 has
    population uniqueness 1.0 (every one of the N = 35 people unique)."""
    estimate = population_uniqueness(sizes(ALL_UNIQUE), 0.2, "dankar")
    assert estimate.model == "zayatz"
    assert math.isnan(estimate.candidates["snb"])
    assert estimate.share == pytest.approx(1.0) and estimate.population_uniques == 35


def test_rule_takes_the_smaller_of_zayatz_and_snb_above_a_tenth() -> None:
    snb_smaller = population_uniqueness(sizes(SKEWED), 0.5, "dankar")
    assert snb_smaller.model == "snb"
    assert snb_smaller.candidates["snb"] < snb_smaller.candidates["zayatz"]
    zayatz_smaller = population_uniqueness(sizes(FLAT), 0.8, "dankar")
    assert zayatz_smaller.model == "zayatz"
    assert zayatz_smaller.candidates["zayatz"] < zayatz_smaller.candidates["snb"]
    assert zayatz_smaller.population_uniques == pytest.approx(293.2615427434033, rel=1e-10)


# --- SNB against the model's definition ----------------------------------------------------


def _snb_expected_counts(alpha: float, beta: float, f: float) -> tuple[float, float]:
    """P(a population class yields a sample class of size 1 / 2): population class sizes
    1 + NegBin(alpha, beta), each member sampled with probability f; summed term by term."""
    m = np.arange(0, 20000)
    p_size = nbinom.pmf(m, alpha, beta)
    return (
        float((p_size * binom.pmf(1, m + 1, f)).sum()),
        float((p_size * binom.pmf(2, m + 1, f)).sum()),
    )


@pytest.mark.parametrize(
    ("alpha", "beta", "f"), [(0.7, 0.4, 0.3), (2.5, 0.8, 0.1), (0.2, 0.05, 0.6)]
)
def test_snb_moment_equations_are_the_models_expectations(
    alpha: float, beta: float, f: float
) -> None:
    """With K = 1 and s1 = s2 = 0 the object functions are E[s1] / K and E[s2] / K. ARX's second
    equation, with (1-d)^(alpha+2) in place of (1-d)^-(alpha+2), is not."""
    obj, _ = _snb_system(1.0, f, 0.0, 0.0)(np.float64(alpha), np.float64(beta))
    e1, e2 = _snb_expected_counts(alpha, beta, f)
    assert obj[0] == pytest.approx(e1, rel=1e-9)
    assert obj[1] == pytest.approx(e2, rel=1e-9)
    d = (1 - f) * (1 - beta)
    arx_e2 = (
        alpha
        * beta**alpha
        * f
        * f
        * (1 - beta)
        / 2
        * (1 - d) ** (alpha + 2)
        * (2 - (1 - alpha) * d)
    )
    assert arx_e2 != pytest.approx(e2, rel=1e-3)


def test_snb_jacobian_is_the_derivative_of_the_equations() -> None:
    system = _snb_system(1000.0, 0.3, 200.0, 50.0)
    a, b, h = np.float64(0.7), np.float64(0.4), 1e-6
    _, jac = system(a, b)
    d_alpha = (system(a + h, b)[0] - system(a - h, b)[0]) / (2 * h)
    d_beta = (system(a, b + h)[0] - system(a, b - h)[0]) / (2 * h)
    np.testing.assert_allclose(jac[:, 0], d_alpha, rtol=1e-6)
    np.testing.assert_allclose(jac[:, 1], d_beta, rtol=1e-6)


@pytest.mark.parametrize(("histogram", "fraction"), [(ADULT, 0.2), (SKEWED, 0.5), (FLAT, 0.8)])
def test_snb_fit_reproduces_the_observed_sample_uniques_and_pairs(
    histogram: dict[int, int], fraction: float
) -> None:
    estimate = population_uniqueness(sizes(histogram), fraction, "snb")
    assert estimate.converged
    alpha, beta, k = (estimate.parameters[p] for p in ("alpha", "beta", "K"))
    e1, e2 = _snb_expected_counts(alpha, beta, estimate.sampling_fraction)
    assert k * e1 == pytest.approx(histogram[1], abs=1e-5)
    assert k * e2 == pytest.approx(histogram[2], abs=1e-5)
    # population uniques: K * P(population class of size 1) = K * P(NegBin = 0)
    assert estimate.population_uniques == pytest.approx(k * nbinom.pmf(0, alpha, beta), rel=1e-12)


@pytest.mark.parametrize("f", [0.1, 0.3, 0.7])
def test_shlosser_estimate_of_classes_is_n_over_f_for_a_sample_of_uniques(f: float) -> None:
    """Every population class of size 1 gives every sample class size 1 and K = N = n / f exactly
    with Haas & Stokes's grouping; ARX's ((1-f)^i n_i (1+f)^i - 1) gives n (1 + (1-f)/(1+f))."""
    assert _shlosser_classes(_histogram([1] * 100), f) == pytest.approx(100 / f, rel=1e-12)


# --- edge cases and validation ------------------------------------------------------------


@pytest.mark.parametrize("model", ["pitman", "zayatz", "snb", "dankar"])
@pytest.mark.parametrize("fraction", [0.05, 0.5, 1.0])
def test_no_sample_uniques_means_no_population_uniques(model: str, fraction: float) -> None:
    """A population unique that was sampled would be a sample unique (ARX returns 0 as well)."""
    estimate = population_uniqueness([2, 2, 3, 5], fraction, model)  # type: ignore[arg-type]
    assert estimate.population_uniques == 0 and estimate.share == 0
    assert estimate.exact and estimate.converged


@pytest.mark.parametrize("fraction", [0.05, 0.2, 0.5])
def test_all_uniques_are_all_population_uniques_by_zayatz(fraction: float) -> None:
    """ARX: Zayatz 140, 35, 14 for the 7 uniques at 0.05, 0.2, 0.5, i.e. N: every person unique."""
    estimate = population_uniqueness(sizes(ALL_UNIQUE), fraction, "zayatz")
    assert estimate.population_uniques == pytest.approx(estimate.population_size)
    assert estimate.share == pytest.approx(1.0)


@pytest.mark.parametrize("model", ["pitman", "zayatz", "snb", "dankar"])
def test_fraction_one_counts_the_sample_uniques(model: str) -> None:
    """At f = 1 the sample is the population: 15512 uniques in the adult data, by every model
    (ARX's Pitman would report its fitted expectation, 15986.58)."""
    estimate = population_uniqueness(sizes(ADULT), 1.0, model)  # type: ignore[arg-type]
    assert estimate.population_uniques == 15512 and estimate.exact
    assert estimate.records_unique_in_population == pytest.approx(15512)


def test_share_is_also_the_expected_share_of_released_records() -> None:
    estimate = population_uniqueness(sizes(ADULT), 0.1, "pitman")
    n = estimate.sample_size
    assert estimate.records_unique_in_population == pytest.approx(
        estimate.sampling_fraction * estimate.population_uniques
    )
    assert estimate.records_unique_in_population / n == pytest.approx(estimate.share)


@pytest.mark.parametrize(
    ("class_sizes", "fraction", "model", "message"),
    [
        ([1, 2], 0.0, "dankar", "sampling_fraction"),
        ([1, 2], 1.5, "dankar", "sampling_fraction"),
        ([1, 2], float("nan"), "dankar", "sampling_fraction"),
        ([1, 0], 0.5, "dankar", ">= 1"),
        ([1, -3], 0.5, "dankar", ">= 1"),
        ([1, 2.5], 0.5, "dankar", "whole numbers"),
        ([], 0.5, "dankar", "empty"),
        ([[1, 2]], 0.5, "dankar", "one-dimensional"),
        ([1, 2], 0.5, "mu-argus", "model"),
    ],
)
def test_invalid_input_is_rejected(
    class_sizes: list[float], fraction: float, model: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        population_uniqueness(class_sizes, fraction, model)  # type: ignore[arg-type]


# --- population counts and journalist risk --------------------------------------------------

HIERARCHIES: dict[str, Hierarchy] = {
    "region": province_hierarchy(),
    "age": age_hierarchy(),
    "sex": sex_hierarchy(),
}
QIS = ["region", "age", "sex"]

# 14 people: regency, age, sex.
HAND_POPULATION = pd.DataFrame(
    [
        ("3201", 3, "L"), ("3201", 4, "L"), ("3202", 2, "L"), ("3273", 1, "L"),
        ("3201", 6, "P"), ("3202", 8, "P"),
        ("3301", 12, "L"), ("3302", 10, "L"), ("3301", 11, "L"), ("3302", 14, "L"),
        ("3301", 13, "L"), ("3302", 11, "L"),
        ("3301", 15, "P"), ("3301", 16, "P"),
    ],
    columns=QIS,
)  # fmt: skip
# Released at province x 5-year band x sex: F = 4 (2 records), 2 (1), 6 (2); the 2 girls of
# 33 aged 15-19 are in no released class.
HAND_RELEASE = pd.DataFrame(
    [
        ("32", "00-04", "L", "neglect"), ("32", "00-04", "L", "abuse"),
        ("32", "05-09", "P", "neglect"),
        ("33", "10-14", "L", "neglect"), ("33", "10-14", "L", "abuse"),
    ],
    columns=[*QIS, "case_type"],
)  # fmt: skip


def _by_groupby(released: pd.DataFrame, population: pd.DataFrame) -> np.ndarray:
    """F by a plain groupby of the population generalised by hand to province x 5-year band."""
    generalised = pd.DataFrame(
        {
            "region": population["region"].str[:2],
            "age": population["age"].map(lambda a: f"{a // 5 * 5:02d}-{a // 5 * 5 + 4:02d}"),
            "sex": population["sex"],
        }
    )
    counts = generalised.groupby(QIS).size().rename("F").reset_index()
    return released[QIS].merge(counts, on=QIS, how="left")["F"].fillna(0).to_numpy()


def test_journalist_risk_on_a_hand_example() -> None:
    big_f = population_class_sizes(HAND_RELEASE, HAND_POPULATION, HIERARCHIES)
    np.testing.assert_array_equal(big_f, [4, 4, 2, 6, 6])
    np.testing.assert_array_equal(big_f, _by_groupby(HAND_RELEASE, HAND_POPULATION))
    f = sample_class_sizes(HAND_RELEASE, QIS)
    np.testing.assert_array_equal(f, [2, 2, 1, 2, 2])
    result = journalist_risk(f, big_f, threshold=0.2)
    assert result.highest == 0.5
    assert result.average == pytest.approx((0.25 + 0.25 + 0.5 + 1 / 6 + 1 / 6) / 5, abs=1e-6)
    assert result.class_average == pytest.approx(3 / (4 + 2 + 6), abs=1e-6)
    assert (result.records_above_threshold, result.share_above_threshold) == (3, 0.6)


def test_journalist_risk_refuses_a_population_smaller_than_the_release() -> None:
    with pytest.raises(ValueError, match=r"f=3, F=2"):
        journalist_risk([1, 3], [5, 2])
    three_girls = pd.concat([HAND_RELEASE, HAND_RELEASE.iloc[[2, 2]]], ignore_index=True)
    f = sample_class_sizes(three_girls, QIS)
    big_f = population_class_sizes(three_girls, HAND_POPULATION, HIERARCHIES)
    with pytest.raises(ValueError, match="does not contain the released people"):
        journalist_risk(f, big_f)


def _random_population(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    regions = ["3201", "3202", "3273", "3301", "3302", "9101", "9102", "1101", "XX"]
    age = rng.integers(0, 18, n).astype(float)
    age[rng.random(n) < 0.02] = np.nan
    return pd.DataFrame(
        {
            "region": rng.choice(regions, n, p=[0.2, 0.15, 0.1, 0.15, 0.1, 0.1, 0.05, 0.1, 0.05]),
            "age": age,
            "sex": rng.choice(["L", "P"], n),
            "disability": rng.choice(["none", "visual", "hearing"], n, p=[0.9, 0.05, 0.05]),
            "case_type": rng.choice(["neglect", "abuse", "exploitation"], n),
        }
    )


def _mixed_levels_release(population: pd.DataFrame, m: int, seed: int) -> pd.DataFrame:
    """m people of the population, each column at a level drawn per record (local-recoding-like)."""
    rng = np.random.default_rng(seed)
    rows = population.iloc[rng.choice(len(population), m, replace=False)].reset_index(drop=True)
    out = rows.copy()
    for column in QIS:
        h = HIERARCHIES[column]
        levels = rng.integers(0, h.height, m)
        out[column] = [
            h.generalize(rows[column].iloc[[i]], int(levels[i])).iloc[0] for i in range(m)
        ]
    return out


def _brute_force(
    released: pd.DataFrame,
    population: pd.DataFrame,
    columns: list[str],
    hierarchies: dict[str, Hierarchy],
) -> np.ndarray:
    """For each released record, the population rows whose value, at *some* level, has the
    released label (or, for a set "a|b" local recoding releases, one of its members; for a range
    of an ordered attribute, a value inside it), in every column: a mask per record, no level
    vectors or keys."""
    at_level = {
        c: [
            hierarchies[c].generalize(population[c], lv).to_numpy()
            for lv in range(hierarchies[c].height)
        ]
        for c in columns
    }
    out = np.zeros(len(released), dtype=np.int64)
    for i, record in enumerate(released[columns].itertuples(index=False)):
        mask = np.ones(len(population), dtype=bool)
        for column, label in zip(columns, record, strict=True):
            accepted = str(label).split("|")
            low_high = str(label).split("-")
            if (
                hierarchies[column].ordered
                and len(low_high) == 2
                and all(x.isdigit() for x in low_high)
            ):  # a range of ages or years ("8-13"): every value inside it
                accepted += [str(v) for v in range(int(low_high[0]), int(low_high[1]) + 1)]
            mask &= np.logical_or.reduce([np.isin(labels, accepted) for labels in at_level[column]])
        out[i] = mask.sum()
    return out


def test_population_counts_for_mixed_levels_match_brute_force() -> None:
    population = _random_population(3000, seed=1)
    released = _mixed_levels_release(population, 300, seed=2)
    big_f = population_class_sizes(released, population, HIERARCHIES)
    np.testing.assert_array_equal(big_f, _brute_force(released, population, QIS, HIERARCHIES))
    assert (big_f >= sample_class_sizes(released, QIS)).all()


def test_population_counts_for_real_anonymiser_outputs_match_brute_force() -> None:
    population = _random_population(4000, seed=3)
    sample = population.sample(600, random_state=4)
    full_domain, report = anonymize(
        sample, HIERARCHIES, "case_type", k=3, l=1, max_suppression=0.05
    )
    recoded, _ = local_recode(sample, HIERARCHIES, "case_type", k=3, l=1)
    for released in (full_domain, recoded):
        big_f = population_class_sizes(released, population, HIERARCHIES)
        np.testing.assert_array_equal(big_f, _brute_force(released, population, QIS, HIERARCHIES))
    assert report.released_rows == len(full_domain)


def test_aggregated_population_counts_equal_one_row_per_person() -> None:
    population = _random_population(3000, seed=5)
    released = _mixed_levels_release(population, 200, seed=6)
    table = population.groupby(QIS, dropna=False).size().rename("count").reset_index()
    np.testing.assert_array_equal(
        population_class_sizes(released, table, HIERARCHIES, count_column="count"),
        population_class_sizes(released, population, HIERARCHIES),
    )


def test_projection_on_the_populations_quasi_identifiers_is_an_upper_bound() -> None:
    disability = categorical_hierarchy(
        "disability", {"none": "none", "visual": "any", "hearing": "any"}
    )
    hierarchies = {**HIERARCHIES, "disability": disability}
    population = _random_population(3000, seed=7)
    released = population.sample(300, random_state=8).reset_index(drop=True)
    released["region"] = HIERARCHIES["region"].generalize(released["region"], 0)
    released["age"] = age_hierarchy().generalize(released["age"], 1)
    released["disability"] = hierarchies["disability"].generalize(released["disability"], 1)
    full = population_class_sizes(released, population, hierarchies)
    bps = population.drop(columns=["disability"])  # what a population table knows
    with pytest.raises(ValueError, match="projection"):
        population_class_sizes(released, bps, hierarchies)
    projected = population_class_sizes(released, bps, hierarchies, quasi_identifiers=QIS)
    np.testing.assert_array_equal(projected, _brute_force(released, population, QIS, hierarchies))
    assert (projected >= full).all() and (projected > full).any()
    f = sample_class_sizes(released, [*QIS, "disability"])
    assert journalist_risk(f, projected).highest <= journalist_risk(f, full).highest


def test_unknown_and_ambiguous_labels_are_errors() -> None:
    released = HAND_RELEASE.copy()
    released.loc[0, "region"] = "3599"
    with pytest.raises(ValueError, match=r"'3599'.*produced by no level"):
        population_class_sizes(released, HAND_POPULATION, HIERARCHIES)
    # "a" is an original value and also the level-2 label of both "a" and "b"
    status = categorical_hierarchy("status", {"a": "x", "b": "y"}, {"x": "a", "y": "a"})
    people = pd.DataFrame({"status": ["a", "a", "b"]})
    with pytest.raises(ValueError, match=r"'a'.*several levels"):
        population_class_sizes(pd.DataFrame({"status": ["a"]}), people, {"status": status})
    # "x" is unambiguous; "unknown" is kept by every level but "*" with the same meaning
    assert population_class_sizes(
        pd.DataFrame({"status": ["x"]}), people, {"status": status}
    ).tolist() == [2]
    ages = pd.DataFrame({"age": [3.0, np.nan, np.nan]})
    assert population_class_sizes(
        pd.DataFrame({"age": ["unknown"]}), ages, {"age": age_hierarchy()}
    ).tolist() == [2]


# --- criteria -----------------------------------------------------------------------------------


def test_journalist_risk_criterion() -> None:
    population = ReferencePopulation(HAND_POPULATION, HIERARCHIES)
    loose, tight = (
        JournalistRisk(0.5, 0.3, 0.2, population=population),
        JournalistRisk(0.4, 0.3, 0.2, population=population),
    )
    results = evaluate_criteria(HAND_RELEASE, QIS, "case_type", [loose, tight])
    assert [r.holds for r in results] == [True, False]
    assert results[0].achieved["highest"] == 0.5
    assert results[0].parameters["population_records"] == 14
    assert results[0].parameters["projected"] is False


def test_population_uniqueness_criterion() -> None:
    release = pd.DataFrame({"a": np.repeat(np.arange(len(sizes(SKEWED))), sizes(SKEWED))})
    estimate = population_uniqueness(sizes(SKEWED), 0.1, "dankar")
    ok = PopulationUniqueness(0.05, "dankar", 0.1).evaluate(release, ["a"], "a")
    assert ok.holds and ok.achieved["share"] == pytest.approx(estimate.share, abs=1e-6)
    assert ok.achieved["model_used"] == "pitman"
    assert not PopulationUniqueness(0.04, "dankar", 0.1).evaluate(release, ["a"], "a").holds
    uniques = pd.DataFrame({"a": range(7)})
    failed = PopulationUniqueness(1.0, "pitman", 0.05).evaluate(uniques, ["a"], "a")
    assert not failed.holds and failed.achieved["share"] is None


def test_delta_presence_hand_example() -> None:
    """δ = released / consistent people: 2/4 (32, 00-04, L), 1/2 (32, 05-09, P), 2/6
    (33, 10-14, L). Two people (33, 15-19, P) fall in no released class: δ = 0 for them."""
    population = ReferencePopulation(HAND_POPULATION, HIERARCHIES)
    result = DeltaPresence(0.3, 0.6, population=population).evaluate(HAND_RELEASE, QIS, "case_type")
    assert (result.achieved["lowest_delta"], result.achieved["highest_delta"]) == (0.333333, 0.5)
    assert result.achieved["absent_population_records"] == 2
    assert not result.holds  # the two absent girls: δ = 0 < 0.3
    assert DeltaPresence(0.0, 0.6, population=population).evaluate(HAND_RELEASE, QIS, "x").holds
    narrow = DeltaPresence(0.0, 0.45, population=population).evaluate(HAND_RELEASE, QIS, "x")
    assert not narrow.holds and narrow.achieved["classes_outside"] == 2
    # everyone's class released: the lower bound is about the released classes only
    present = HAND_POPULATION.iloc[:12]
    covered = ReferencePopulation(present, HIERARCHIES)
    assert DeltaPresence(0.3, 0.6, population=covered).evaluate(HAND_RELEASE, QIS, "x").holds
    # the same population as BPS-style counts
    counts = HAND_POPULATION.groupby(QIS).size().rename("count").reset_index()
    aggregated = ReferencePopulation(counts, HIERARCHIES, count_column="count")
    again = DeltaPresence(0.3, 0.6, population=aggregated).evaluate(HAND_RELEASE, QIS, "x")
    assert again.achieved == result.achieved and again.parameters["population_records"] == 14


def test_delta_presence_on_a_locally_recoded_release_checks_released_classes_only() -> None:
    mixed = HAND_RELEASE.copy()
    mixed.loc[2, "region"] = "3201"  # one record at regency level: two level vectors
    population = ReferencePopulation(HAND_POPULATION, HIERARCHIES)
    result = DeltaPresence(0.3, 1.0, population=population).evaluate(mixed, QIS, "x")
    assert result.achieved["absent_population_records"] is None
    assert result.holds  # 3201/05-09/P: 1 of 1 person, δ = 1


def test_criteria_need_an_explicit_projection() -> None:
    release = HAND_RELEASE.assign(disability="none")
    hierarchies = {**HIERARCHIES, "disability": categorical_hierarchy("disability")}
    qis = [*QIS, "disability"]
    strict = ReferencePopulation(HAND_POPULATION, hierarchies)
    with pytest.raises(ValueError, match="projected=True"):
        JournalistRisk(population=strict).evaluate(release, qis, "case_type")
    projected = ReferencePopulation(HAND_POPULATION, hierarchies, projected=True)
    result = JournalistRisk(population=projected).evaluate(release, qis, "case_type")
    assert result.parameters["projected"] is True
    assert result.parameters["population_quasi_identifiers"] == QIS
    assert result.achieved["highest"] == 0.5


# --- scale ------------------------------------------------------------------------------------


def test_two_hundred_thousand_records_complete() -> None:
    """A sanity run at scale (no timing assertion): 200k released records at mixed levels
    against 200k people, and the estimators on a 200k-record sample."""
    rng = np.random.default_rng(11)
    n = 200_000
    population = _random_population(n, seed=12)
    released = population.copy()
    levels = rng.integers(0, 3, n)
    released["region"] = np.where(
        levels == 0, released["region"], np.where(levels == 1, released["region"].str[:2], "*")
    )
    released.loc[released["region"] == "XX", "region"] = "unknown"  # not a BPS code
    released["age"] = age_hierarchy().generalize(released["age"], 1)
    big_f = population_class_sizes(released, population, HIERARCHIES)
    f = sample_class_sizes(released, QIS)
    assert (big_f >= f).all()
    first = released.iloc[:20]
    np.testing.assert_array_equal(big_f[:20], _brute_force(first, population, QIS, HIERARCHIES))
    class_sizes = released.groupby(QIS).size().to_numpy()
    for fraction in (0.05, 0.3):
        assert population_uniqueness(class_sizes, fraction, "dankar").converged
