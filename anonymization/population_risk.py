"""Re-identification risk against a population: uniqueness estimators, journalist risk, δ-presence.

Why measure against the population
----------------------------------
:class:`~anonymization.privacy_models.ProsecutorRisk` assumes the attacker knows the child is in
the release (risk 1/f, f = the record's class size in the release). A research release is a
sample of Indonesia's children, so the attacker more often knows only that the child exists
(a neighbour, a school list, BPS's published counts). The attacker models of El Emam and Dankar
(2008) and ARX (Prasser & Kohlmayer 2015), which the issue asks for, are:

* prosecutor: the person is known to be in the release: 1/f;
* journalist: the attacker matches a released record against the population and only knows the
  person is somewhere in it: a record's risk is 1/F, F = the number of people in the population
  consistent with the record's released (generalised) values. Needs F: :func:`population_class_sizes`
  counts it from a population table (one row per person, or aggregated counts such as BPS's
  children by regency x single age x sex), :func:`journalist_risk` turns it into risks;
* marketer: the attacker re-identifies as many records as possible; the expected share of records
  re-identified is mean(1/F) when F is known; when it is not, the share of records that are unique
  in the population, *estimated from the sample's class sizes* by :func:`population_uniqueness`.

Population uniqueness estimators (:func:`population_uniqueness`)
----------------------------------------------------------------
From the sample's equivalence-class sizes and the sampling fraction f = n / N, each estimates
S1, the number of individuals unique in the population on the quasi-identifiers:

* Zayatz (1991): Bayes' rule gives P(F = 1 | f = 1), the chance that a sample unique is a
  population unique, taking the population's class-size distribution to be the sample's and
  P(f = 1 | F = j) hypergeometric; S1 = s1 * P(F = 1 | f = 1) * N / n.
* SNB, slide negative binomial (Chen & Keller-McNulty 1998): population class sizes are 1 + a
  negative binomial(alpha, beta), the sample a Bernoulli(f) thinning; alpha and beta are solved from
  the expected numbers of sample classes of size 1 and 2 (equated to the observed s1 and s2), the
  number K of non-empty population classes from Haas & Stokes's (1998) Shlosser-type estimator;
  S1 = K * beta ** alpha.
* Pitman (Hoshino 2001): the sample's partition follows Pitman's (1995) sampling formula with
  parameters (theta, alpha); their maximum-likelihood estimates give
  S1 = Gamma(theta + 1) / Gamma(theta + alpha) * N ** alpha.
* Dankar et al. (2012)'s decision rule, which had the most consistent accuracy in their simulation
  on clinical data sets: Pitman when f <= 0.1, otherwise the smaller of the Zayatz and SNB estimates
  (Zayatz when SNB does not converge). The thresholds are as ARX implements the rule
  (``RiskModelPopulationUniqueness``); ARX also falls back to Zayatz when Pitman does not converge,
  which the paper does not cover, and so does this module.

The numerics port ARX's (``org.deidentifier.arx.risk``: ``ModelPitman``, ``ModelZayatz``,
``ModelSNB``, ``RiskModelPopulationUniqueness``) and the Newton-Raphson solver ARX configures
(``de.linearbits.newtonraphson.NewtonRaphson2D``: accuracy 1e-6, up to 1000 iterations per try,
the given start, then 16 fixed start values). Where ARX and the published mathematics differ this
module follows the mathematics, and the tests show the difference:

* SNB, expected number of sample classes of size 2: ARX multiplies by (1 - (1-f)(1-beta)) ** (alpha+2)
  where the model gives (1 - (1-f)(1-beta)) ** -(alpha+2) (a second derivative of the probability
  generating function; ARX's own Jacobian is the derivative of the latter). With ARX's sign SNB
  does not converge on ARX's adult data at f = 0.01 ... 0.5; with the model's it does from 0.1.
* SNB, Haas & Stokes's estimator of K: ARX sums ``(1-f)^i * n_i * (1+f)^i - 1`` where the estimator
  has ``(1-f)^i * ((1+f)^i - 1) * n_i`` (operator precedence); with the published form a sample of
  uniques gives K = N exactly.
* A failed estimate: ARX reports 0 uniques, which would pass any threshold; here it is NaN with
  ``converged=False`` and a criterion on it does not hold.
* The solver's time limits (100 ms per try, 1 s overall) are left out so results do not depend on
  the machine's speed.
* f = 1: the sample is the population and its uniques are counted, not estimated (ARX's Pitman
  would return the fitted model's expectation instead, e.g. 15987 where the adult data has 15512).

δ-presence (:class:`DeltaPresence`)
-----------------------------------
Nergiz, Atzori and Clifton (2007): when the population table is public (BPS's counts) the release
itself can disclose that a child *is* in it (e.g. in the child-protection case files). For a
released class, δ = released records in the class / population records consistent with it is the
probability that a person of the population matching the class is in the release;
(δmin, δmax)-presence requires δmin <= δ <= δmax for every person of the population.

References: El Emam & Dankar, "Protecting privacy using k-anonymity", JAMIA 15(5), 2008;
Zayatz, "Estimation of the percent of unique population elements on a microdata file using the
sample", US Census Bureau SRD report RR-91/08, 1991; Chen & Keller-McNulty, "Estimation of
identification disclosure risk in microdata", J. Official Statistics 14(1), 1998; Haas & Stokes,
"Estimating the number of classes in a finite population", JASA 93(444), 1998; Pitman,
"Exchangeable and partially exchangeable random partitions", PTRF 102, 1995; Hoshino, "Applying
Pitman's sampling formula to microdata disclosure risk assessment", J. Official Statistics 17(4),
2001; Dankar, El Emam, Neisa & Roffey, "Estimating the re-identification risk of clinical data
sets", BMC Med. Inform. Decis. Mak. 12:66, 2012; Nergiz, Atzori & Clifton, "Hiding the presence of
individuals from shared databases", SIGMOD 2007; Prasser & Kohlmayer, "Putting statistical
disclosure control into practice: the ARX data anonymization tool", 2015.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special
from scipy.stats import hypergeom

from anonymization.hierarchies import MISSING, Hierarchy, released_members
from anonymization.privacy_models import CriterionResult

__all__ = [
    "DeltaPresence",
    "JournalistRisk",
    "JournalistRiskResult",
    "PopulationUniqueness",
    "ReferencePopulation",
    "UniquenessEstimate",
    "UniquenessModel",
    "journalist_risk",
    "population_class_sizes",
    "population_uniqueness",
    "sample_class_sizes",
]

UniquenessModel = Literal["pitman", "zayatz", "snb", "dankar"]
_MODELS: tuple[str, ...] = ("pitman", "zayatz", "snb", "dankar")

#: Dankar et al.'s threshold on the sampling fraction: Pitman at or below it.
DANKAR_PITMAN_MAX_FRACTION = 0.1


def _round(x: float) -> float:
    return round(float(x), 6)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    return value


# --- the sample's class-size histogram ------------------------------------------------------


@dataclass(frozen=True)
class _Histogram:
    """Distinct class sizes (ascending) and how many classes have each, as ARX's
    ``RiskModelHistogram`` holds them."""

    sizes: np.ndarray
    counts: np.ndarray

    @property
    def records(self) -> float:
        return float((self.sizes * self.counts).sum())

    @property
    def classes(self) -> float:
        return float(self.counts.sum())

    def of_size(self, size: int) -> float:
        return float(self.counts[self.sizes == size].sum())


def _histogram(class_sizes: npt.ArrayLike) -> _Histogram:
    sizes = np.asarray(class_sizes)
    if sizes.ndim != 1:
        raise ValueError("class_sizes must be one-dimensional: one size per equivalence class")
    if sizes.size == 0:
        raise ValueError("class_sizes is empty: the sample has no records")
    if not (np.issubdtype(sizes.dtype, np.integer) or np.issubdtype(sizes.dtype, np.floating)):
        raise ValueError("class sizes must be whole numbers")
    as_float = sizes.astype(np.float64)
    if not np.all(np.isfinite(as_float)) or np.any(as_float != np.floor(as_float)):
        raise ValueError("class sizes must be whole numbers")
    if as_float.min() < 1:
        raise ValueError(
            f"class sizes must be >= 1 (an equivalence class holds at least one record); "
            f"got {as_float.min():g}"
        )
    values, counts = np.unique(as_float.astype(np.int64), return_counts=True)
    return _Histogram(values.astype(np.float64), counts.astype(np.float64))


def _check_fraction(sampling_fraction: float) -> float:
    try:
        f = float(sampling_fraction)
    except (TypeError, ValueError):
        raise ValueError("sampling_fraction must be a number in (0, 1]") from None
    if not 0.0 < f <= 1.0:
        raise ValueError(f"sampling_fraction must be in (0, 1]; got {sampling_fraction!r}")
    return f


# --- Newton-Raphson, as ARX configures de.linearbits.newtonraphson.NewtonRaphson2D -------------

_ACCURACY = 1e-6
_ITERATIONS_PER_TRY = 1000


def _start_values() -> tuple[tuple[float, float], ...]:
    """ARXSolverConfiguration's 16 start values, built by the same float additions (0, 0.33,
    0.66, 0.99 in each coordinate)."""
    out: list[tuple[float, float]] = []
    d1 = 0.0
    while d1 < 1.0:
        d2 = 0.0
        while d2 < 1.0:
            out.append((d1, d2))
            d2 += 0.33
        d1 += 0.33
    return tuple(out)


_START_VALUES = _start_values()

#: (x, y) -> (object function values (2,), Jacobian (2, 2): rows = equations, columns = x, y)
_System = Callable[[np.float64, np.float64], tuple[np.ndarray, np.ndarray]]


def _newton_raphson(
    system: _System,
    start: tuple[float, float],
    constraint: Callable[[np.float64, np.float64], bool] | None = None,
) -> tuple[float, float] | None:
    """Solve system(x, y) = 0; None when no try converges.

    A port of NewtonRaphson2D._solve with ARX's configuration: try ``start``, then each of the
    16 start values in turn, up to 1000 Newton steps per try; a try ends early when a step leaves
    the constraint or gives NaN. As in the library, loading the last start value ends the search
    after one step (its total iteration budget is (16 + 1) * 1000), and the step is
    J^-1 F computed through 1/det as SquareMatrix2D.inverse does. Floats are numpy's, so a
    division by zero gives inf/NaN as in Java instead of raising."""
    total_limit = (len(_START_VALUES) + 1) * _ITERATIONS_PER_TRY
    total = 0
    offset = 0
    first = True
    with np.errstate(all="ignore"):
        while total <= total_limit:
            if first:
                x, y = np.float64(start[0]), np.float64(start[1])
                first = False
            else:
                x, y = np.float64(_START_VALUES[offset][0]), np.float64(_START_VALUES[offset][1])
                offset += 1
            iterations = 0
            while True:
                total += 1
                obj, jac = system(x, y)
                if abs(obj[0]) <= _ACCURACY and abs(obj[1]) <= _ACCURACY:
                    return float(x), float(y)
                inv_det = np.float64(1.0) / (jac[0, 0] * jac[1, 1] - jac[0, 1] * jac[1, 0])
                i00, i01 = jac[1, 1] * inv_det, -jac[0, 1] * inv_det
                i10, i11 = -jac[1, 0] * inv_det, jac[0, 0] * inv_det
                x = x - (i00 * obj[0] + i01 * obj[1])
                y = y - (i10 * obj[0] + i11 * obj[1])
                if offset == len(_START_VALUES):
                    return None
                if constraint is not None and not constraint(x, y):
                    break
                if np.isnan(x) or np.isnan(y):
                    break
                if iterations >= _ITERATIONS_PER_TRY:
                    break
                iterations += 1
    return None


# --- Pitman (Hoshino 2001) ------------------------------------------------------------------


def _trigamma(x: np.ndarray | np.float64) -> Any:
    return special.polygamma(1, x)


def _pitman_closed(h: _Histogram, u: float, n: float) -> _System:
    """Score equations of the Pitman log-likelihood and their Jacobian in closed form (digamma
    and trigamma), as ModelPitman.getMasterFunctionClosed writes them: with
    L = sum_{i<u} log(theta + i*alpha) - sum_{i<n} log(theta + i) + sum_classes sum_{j<f} log(j - alpha),
    the equations are dL/dtheta = 0 and dL/dalpha = 0."""
    big = h.sizes != 1
    sizes, counts = h.sizes[big], h.counts[big]

    def system(t: np.float64, a: np.float64) -> tuple[np.ndarray, np.ndarray]:
        val0 = u - 1.0
        val1 = special.digamma(val0 + t / a + 1.0)
        val2 = _trigamma((a + t + a * val0) / a)
        val3 = _trigamma(t / a + 1.0)
        val4 = special.digamma(t / a + 1.0)
        val5 = a * a
        d1 = (val3 - val2) / val5
        d5 = (a * val1 + t * val2 - a * val4 - t * val3) / (val5 * a)
        d3 = (
            val5 * val0 - t * t * val2 + t * t * val3 - 2.0 * a * t * val1 + 2.0 * a * t * val4
        ) / (val5 * val5)
        o1 = (val1 - val4) / a
        o3 = (-t * val1 + a * val0 + t * val4) / (a * a)
        o2 = special.digamma(n + t) - special.digamma(t + 1.0)
        d2 = _trigamma(t + 1.0) - _trigamma(n + t)
        val6 = special.digamma(1.0 - a)
        val7 = _trigamma(1.0 - a)
        d4 = float((counts * (val7 - _trigamma(sizes - a))).sum())
        o4 = float((counts * (special.digamma(sizes - a) - val6)).sum())
        obj = np.array([o1 - o2, o3 - o4], dtype=np.float64)
        jac = np.array([[d2 - d1, -d5], [-d5, -d3 - d4]], dtype=np.float64)
        return obj, jac

    return system


def _pitman_sums(h: _Histogram, u: float, n: float) -> _System:
    """The same equations by direct summation (ModelPitman.getMasterFunctionIterative): slower,
    but without the cancellation the closed forms can suffer; ARX checks the closed-form root
    with it and falls back to it."""
    i = np.arange(1, int(u), dtype=np.float64)
    j = np.arange(1, int(n), dtype=np.float64)
    big = h.sizes != 1
    sizes, counts = h.sizes[big].astype(np.int64), h.counts[big]
    steps = np.arange(1, int(sizes.max()) if len(sizes) else 1, dtype=np.float64)

    def system(t: np.float64, a: np.float64) -> tuple[np.ndarray, np.ndarray]:
        v = t + i * a
        inv = 1.0 / v
        inv2 = inv * inv
        o1, o3 = inv.sum(), (i * inv).sum()
        d1, d5, d3 = inv2.sum(), (i * inv2).sum(), (i * i * inv2).sum()
        w = 1.0 / (t + j)
        o2, d2 = w.sum(), (w * w).sum()
        o4 = d4 = 0.0
        if len(sizes):
            r = 1.0 / (steps - a)
            cum1, cum2 = np.cumsum(r), np.cumsum(r * r)
            o4 = float((counts * cum1[sizes - 2]).sum())
            d4 = float((counts * cum2[sizes - 2]).sum())
        obj = np.array([o1 - o2, o3 - o4], dtype=np.float64)
        jac = np.array([[d2 - d1, -d5], [-d5, -d3 - d4]], dtype=np.float64)
        return obj, jac

    return system


def _pitman_uniques(t: float, a: float, population: float) -> float:
    """Hoshino's S1 = Gamma(theta+1) / Gamma(theta+alpha) * N^alpha, computed as ModelPitman.getResult
    does: through log-gamma and through gamma, each kept only within [0, N], the larger kept."""
    if math.isnan(t) or math.isnan(a) or a == 0:
        return math.nan
    with np.errstate(all="ignore"):
        power = np.float64(population) ** np.float64(a)
        # commons-math logGamma is NaN for arguments <= 0 (scipy's gammaln gives log|Gamma|)
        lg1 = special.gammaln(t + 1.0) if t + 1.0 > 0 else np.nan
        lg2 = special.gammaln(t + a) if t + a > 0 else np.nan
        val1 = float(np.exp(lg1 - lg2) * power)
        val2 = float(special.gamma(t + 1.0) / special.gamma(t + a) * power)
    valid = [v for v in (val1, val2) if not math.isnan(v) and 0.0 <= v <= population]
    return max(valid) if valid else math.nan


def _pitman(h: _Histogram, population: float) -> tuple[float, dict[str, float]]:
    n, u = h.records, h.classes
    c1, c2 = h.of_size(1), h.of_size(2)
    with np.errstate(all="ignore"):
        c1_, c2_, u_, n_ = (np.float64(v) for v in (c1, c2 if c2 != 0 else 1.0, u, n))
        # Hoshino's moment-type starting values, as ModelPitman computes them
        c = c1_ * (c1_ - 1) / c2_
        t0 = (n_ * u_ * c - c1_ * (n_ - 1) * (2 * u_ + c)) / (2 * c1_ * u_ + c1_ * c - n_ * c)
        a0 = (t0 * (c1_ - n_) + (n_ - 1) * c1_) / (n_ * u_)
    start = (float(t0), float(a0))

    def theta_nonnegative(t: np.float64, a: np.float64) -> bool:
        return bool(t >= 0)

    sums = _pitman_sums(h, u, n)
    root = _newton_raphson(_pitman_closed(h, u, n), start, theta_nonnegative)
    if root is not None:
        with np.errstate(all="ignore"):
            check, _ = sums(np.float64(root[0]), np.float64(root[1]))
        if np.isnan(check).any() or (np.abs(check) > _ACCURACY).any():
            root = None
    if root is None:
        root = _newton_raphson(sums, start, theta_nonnegative)
    if root is None:
        return math.nan, {}
    theta, alpha = root
    return _pitman_uniques(theta, alpha, population), {"theta": theta, "alpha": alpha}


# --- Zayatz (1991) ----------------------------------------------------------------------------


def _zayatz(h: _Histogram, population: float) -> float:
    """S1 = s1 * P(F=1 | f=1) / f with P(F=1 | f=1) = p_1 P(f=1 | F=1) / sum_j p_j P(f=1 | F=j),
    p_j = share of the sample's classes of size j, P(f=1 | F=j) hypergeometric (ModelZayatz)."""
    n, u = h.records, h.classes
    pop, draws = round(population), round(n)
    p_one = hypergeom.pmf(1, pop, h.sizes.astype(np.int64), draws)
    temp = float((h.counts / u * p_one).sum())
    unique_given_unique = (h.of_size(1) / u) * float(hypergeom.pmf(1, pop, 1, draws)) / temp
    return h.of_size(1) * unique_given_unique / (n / population)


# --- SNB (Chen & Keller-McNulty 1998) ------------------------------------------------------


def _shlosser_classes(h: _Histogram, f: float) -> float:
    """Number of non-empty population classes, Haas & Stokes (1998)'s Shlosser-type estimator
    K = u + s1 * [sum i f^2 (1-f^2)^(i-1) n_i / sum (1-f)^i ((1+f)^i - 1) n_i]
                * [sum (1-f)^i n_i / sum i f (1-f)^(i-1) n_i]^2
    (ModelSNB.estimateNonEmptyEquivalenceClasses, with the published grouping of the second sum)."""
    i, ni = h.sizes, h.counts
    with np.errstate(all="ignore"):
        num1 = (i * f * f * np.power(1.0 - f * f, i - 1.0) * ni).sum()
        den1 = (np.power(1.0 - f, i) * (np.power(1.0 + f, i) - 1.0) * ni).sum()
        num2 = (np.power(1.0 - f, i) * ni).sum()
        den2 = (i * f * np.power(1.0 - f, i - 1.0) * ni).sum()
        return float(h.classes + h.of_size(1) * (num1 / den1) * (num2 / den2) ** 2)


def _snb_system(k: float, f: float, c1: float, c2: float) -> _System:
    """E[s1] - s1 and E[s2] - s2 under the SNB model, and their Jacobian.

    With d = (1-f)(1-beta): E[s1] = K f (beta / (1-d))^alpha (alpha d / (1-d) + 1) and
    E[s2] = K alpha beta^alpha f^2 (1-beta) / 2 (1-d)^-(alpha+2) (2 - (1-alpha) d). The Jacobian
    is ModelSNB.getDerivatives verbatim (it is the derivative of these, see the module notes)."""

    def system(a: np.float64, b: np.float64) -> tuple[np.ndarray, np.ndarray]:
        d = (1.0 - f) * (1.0 - b)
        o1 = k * f * np.power(b / (1.0 - d), a) * ((a * d) / (1.0 - d) + 1.0) - c1
        o2 = (
            k * a * np.power(b, a) * (f * f) * (1.0 - b) / 2.0
            * np.power(1.0 - d, -(a + 2.0)) * (2.0 - (1.0 - a) * d)
            - c2
        )  # fmt: skip
        val0 = (b - 1.0) * (f - 1.0)
        val1 = val0 - 1.0
        val2 = 1.0 - val0
        val3 = a * val0 / val1 - 1.0
        val4 = np.power(-b / val1, a)
        val6 = f * f
        val7 = np.power(b, a)
        val8 = val7 * val6 * k
        val9 = a * val8
        val10 = 2.0 * np.power(val2, a + 2.0)
        val11 = val1 * val1
        val13 = f * k
        val14 = f - 1.0
        val15 = a - 1.0
        val16 = b - 1.0
        val17 = val15 * val0
        val18 = val6 * k
        val19 = val17 + 2.0
        val20 = val18 * val19
        x1 = -val13 * np.log(-b / val1) * val3 * val4 - (val13 * val4 * val0) / val1
        x2 = a * val13 * (1.0 / val1 - (b * val14) / val11) * val3 * np.power(
            -b / val1, val15
        ) - val13 * val4 * ((a * val14) / val1 - (a * val16 * val14 * val14) / val11)
        y1 = (
            (val9 * np.log(val2) * val19 * val16) / val10
            - (val9 * val16 * val16 * val14) / val10
            - (val7 * val20 * val16) / val10
            - (a * val7 * val18 * np.log(b) * val19 * val16) / val10
        )
        y2 = (
            -(val9 * val19) / val10
            - (a * a * np.power(b, val15) * val20 * val16) / val10
            - (a * val7 * val18 * val17) / val10
            - (a * val7 * val20 * (a + 2.0) * val0) / (2.0 * np.power(val2, a + 3.0))
        )
        return np.array([o1, o2], dtype=np.float64), np.array(
            [[x1, x2], [y1, y2]], dtype=np.float64
        )

    return system


def _snb(h: _Histogram, population: float) -> tuple[float, dict[str, float]]:
    f = h.records / population
    k = _shlosser_classes(h, f)
    root = _newton_raphson(_snb_system(k, f, h.of_size(1), h.of_size(2)), (1.0, 1.0))
    if root is None:
        return math.nan, {"K": k}
    alpha, beta = root
    params = {"alpha": alpha, "beta": beta, "K": k}
    # outside the model's parameter space (alpha > 0, 0 < beta <= 1) the "root" is not an SNB fit
    if not (alpha > 0 and 0 < beta <= 1):
        return math.nan, params
    with np.errstate(all="ignore"):
        value = float(k * np.power(np.float64(beta), alpha))
    if math.isnan(value) or not 0.0 <= value <= population:
        return math.nan, params
    return value, params


# --- the estimate ---------------------------------------------------------------------------


@dataclass(frozen=True)
class UniquenessEstimate:
    """Estimated population uniqueness of a sample.

    ``population_uniques`` is S1, the estimated number of people unique in the population on the
    quasi-identifiers; ``share`` = S1 / N. Under random sampling every population unique is in the
    sample with probability f, so ``share`` is also the expected share of the *sample's* records
    that are unique in the population (f * S1 / n = S1 / N): the marketer's success rate on
    uniques. ``records_unique_in_population`` = share * n, those records counted.
    ``model`` is the estimator whose value is reported (for ``requested="dankar"`` the one the
    rule chose); ``candidates`` the estimates the rule compared. ``exact``: no estimation was
    needed (no sample uniques: no released record can be a population unique; or f = 1: the
    sample is the population). A failed estimate is NaN with ``converged=False``."""

    requested: UniquenessModel
    model: UniquenessModel
    population_uniques: float
    share: float
    records_unique_in_population: float
    sample_uniques: int
    sample_size: int
    population_size: int
    sampling_fraction: float
    converged: bool
    exact: bool = False
    parameters: dict[str, float] = field(default_factory=dict)
    candidates: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: a failed (NaN) estimate is null."""
        return {k: _json_safe(v) for k, v in asdict(self).items()}


def _estimate(
    requested: UniquenessModel,
    model: UniquenessModel,
    value: float,
    h: _Histogram,
    population: int,
    *,
    exact: bool = False,
    parameters: dict[str, float] | None = None,
    candidates: dict[str, float] | None = None,
) -> UniquenessEstimate:
    n = h.records
    share = value / population if not math.isnan(value) else math.nan
    return UniquenessEstimate(
        requested=requested,
        model=model,
        population_uniques=value,
        share=share,
        records_unique_in_population=share * n,
        sample_uniques=int(h.of_size(1)),
        sample_size=int(n),
        population_size=population,
        sampling_fraction=n / population,
        converged=not math.isnan(value),
        exact=exact,
        parameters=parameters or {},
        candidates=candidates or {},
    )


def population_uniqueness(
    class_sizes: npt.ArrayLike,
    sampling_fraction: float,
    model: UniquenessModel = "dankar",
) -> UniquenessEstimate:
    """Estimate how many people are unique in the population, from the sample's class sizes.

    ``class_sizes``: one entry per equivalence class of the sample (the released table), its
    number of records. ``sampling_fraction``: n / N, in (0, 1]; the population size is
    N = round(n / f) as ARX's ``ARXPopulationModel`` takes it, and the models then use n / N.
    ``model``: "pitman", "zayatz", "snb", or "dankar" (the decision rule). See the module notes
    for the estimators, their sources and where this port departs from ARX."""
    if model not in _MODELS:
        raise ValueError(f"model must be one of {_MODELS}; got {model!r}")
    h = _histogram(class_sizes)
    f = _check_fraction(sampling_fraction)
    n = h.records
    population = max(math.floor(n / f + 0.5), int(n))  # Java's Math.round
    s1 = h.of_size(1)
    if s1 == 0:
        # a population unique in the sample would be a sample unique: there is none
        return _estimate(model, model, 0.0, h, population, exact=True)
    if population == n:
        return _estimate(model, model, s1, h, population, exact=True)

    if model == "zayatz":
        return _estimate(model, "zayatz", _zayatz(h, population), h, population)
    if model == "pitman":
        value, params = _pitman(h, population)
        return _estimate(model, "pitman", value, h, population, parameters=params)
    if model == "snb":
        value, params = _snb(h, population)
        return _estimate(model, "snb", value, h, population, parameters=params)

    # Dankar et al.'s decision rule, on the fraction the models use (n / N)
    if n / population <= DANKAR_PITMAN_MAX_FRACTION:
        value, params = _pitman(h, population)
        if not math.isnan(value):
            candidates = {"pitman": value}
            return _estimate(
                model, "pitman", value, h, population, parameters=params, candidates=candidates
            )
        zayatz = _zayatz(h, population)
        return _estimate(
            model, "zayatz", zayatz, h, population, candidates={"pitman": value, "zayatz": zayatz}
        )
    snb, params = _snb(h, population)
    zayatz = _zayatz(h, population)
    candidates = {"zayatz": zayatz, "snb": snb}
    if not math.isnan(snb) and not zayatz < snb:
        return _estimate(model, "snb", snb, h, population, parameters=params, candidates=candidates)
    return _estimate(model, "zayatz", zayatz, h, population, candidates=candidates)


# --- class sizes in the sample and in the population -----------------------------------------


def sample_class_sizes(released: pd.DataFrame, quasi_identifiers: Sequence[str]) -> np.ndarray:
    """f per released record: the size of its equivalence class (records sharing its values of
    ``quasi_identifiers``), aligned with ``released``'s rows."""
    if released.empty:
        return np.zeros(0, dtype=np.int64)
    ids = released.groupby(list(quasi_identifiers), dropna=False, sort=False).ngroup().to_numpy()
    return np.bincount(ids)[ids].astype(np.int64)


_KEY_LIMIT = 2**62
_DENSE_LIMIT = 2**22


def _as_labels(values: pd.Series | pd.Index | np.ndarray) -> np.ndarray:
    """Values as the hierarchies' labels: strings, missing -> "unknown"."""
    series = pd.Series(values, dtype=object)
    return series.where(series.notna(), MISSING).astype(str).to_numpy(dtype=object)


class _Column:
    """One quasi-identifier of the population: its values factorised once, each distinct value
    generalised at every level of the hierarchy (a label per distinct value and level)."""

    def __init__(self, name: str, hierarchy: Hierarchy, values: pd.Series) -> None:
        self.name = name
        self.hierarchy = hierarchy
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
        self.codes = codes.astype(np.int64)
        distinct = pd.Series(np.asarray(uniques, dtype=object), dtype=object)
        # per level: the label code of each distinct value, and the labels
        self.level_codes: list[np.ndarray] = []
        self.level_labels: list[np.ndarray] = []
        self._where: dict[str, list[tuple[int, int]]] = {}
        for level in range(hierarchy.height):
            labels = hierarchy.generalize(distinct, level).to_numpy(dtype=object)
            label_codes, label_uniques = pd.factorize(labels)
            self.level_codes.append(label_codes.astype(np.int64))
            self.level_labels.append(np.asarray(label_uniques, dtype=object))
            for code, label in enumerate(label_uniques):
                self._where.setdefault(str(label), []).append((level, code))

    def members(self, label: str) -> list[str]:
        """The hierarchy labels a released value stands for: itself, the members of a set
        ("3201|3204", local recoding), or the original values in a range of an ordered
        attribute ("3-11", microaggregation)."""
        if label in self._where:
            return [label]
        members = released_members(label, self.hierarchy.ordered, self.level_labels[0])
        return members or [label]

    def codes_at(self, level: int) -> np.ndarray:
        """Label code of every population record at ``level``."""
        return self.level_codes[level][self.codes]

    def cardinality(self, level: int) -> int:
        return len(self.level_labels[level])

    def resolve(self, labels: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """(level, label code at that level) for each released label.

        A label is placed at the level whose generalisation of the population produces it. A label
        produced at several levels (e.g. "unknown", which every level but "*" keeps) is fine when it
        covers the same population values at each (take the lowest); otherwise it is ambiguous."""
        codes, uniques = pd.factorize(pd.Series(_as_labels(labels)))
        level_of = np.empty(len(uniques), dtype=np.int64)
        code_of = np.empty(len(uniques), dtype=np.int64)
        unknown: list[str] = []
        ambiguous: list[str] = []
        for i, label in enumerate(uniques):
            places = self._where.get(str(label))
            if not places:
                unknown.append(str(label))
                continue
            level, code = places[0]
            for other_level, other_code in places[1:]:
                covered = np.flatnonzero(self.level_codes[level] == code)
                if not np.array_equal(
                    covered, np.flatnonzero(self.level_codes[other_level] == other_code)
                ):
                    names = [self.hierarchy.level_name(lv) for lv, _ in places]
                    ambiguous.append(f"{label!r} (levels {', '.join(names)})")
                    break
            level_of[i], code_of[i] = level, code
        if unknown:
            shown = ", ".join(repr(v) for v in sorted(unknown)[:10])
            raise ValueError(
                f"{self.name!r}: released value(s) {shown}{' ...' if len(unknown) > 10 else ''} "
                f"are produced by no level of hierarchy {self.hierarchy.name!r} from any value in "
                "the population: the population does not cover the release, or the release was "
                "generalised with another hierarchy"
            )
        if ambiguous:
            raise ValueError(
                f"{self.name!r}: released value(s) {', '.join(ambiguous[:10])} occur at several "
                f"levels of hierarchy {self.hierarchy.name!r} with different meanings, so the "
                "population records consistent with them are not defined"
            )
        return level_of[codes], code_of[codes]


def _record_weights(population: pd.DataFrame, count_column: str | None) -> np.ndarray | None:
    if count_column is None:
        return None
    if count_column not in population.columns:
        raise ValueError(f"count column {count_column!r} not in the population table")
    counts = pd.to_numeric(population[count_column], errors="coerce").to_numpy(dtype=np.float64)
    if np.isnan(counts).any() or (counts < 0).any() or (counts != np.floor(counts)).any():
        raise ValueError(f"count column {count_column!r} must hold whole numbers >= 0")
    return counts


@dataclass
class _Match:
    """Population counts for a released table: F per record, each record's level vector (index
    into ``vectors``), and, per level vector, the population records whose class at that
    generalisation has no released record."""

    sizes: np.ndarray
    vector_ids: np.ndarray
    vectors: list[tuple[int, ...]]
    absent: list[int]


def _match(
    released: pd.DataFrame,
    population: pd.DataFrame,
    hierarchies: Mapping[str, Hierarchy],
    quasi_identifiers: Sequence[str] | None,
    count_column: str | None,
) -> _Match:
    columns = list(hierarchies) if quasi_identifiers is None else list(quasi_identifiers)
    if not columns:
        raise ValueError("at least one quasi-identifier is required")
    missing = [c for c in columns if c not in hierarchies]
    if missing:
        raise ValueError(f"no hierarchy for {missing}")
    for table, what in ((released, "released table"), (population, "population")):
        absent = [c for c in columns if c not in table.columns]
        if absent:
            raise ValueError(
                f"columns {absent} not in the {what}; to count on the quasi-identifiers the "
                "population knows, pass them as quasi_identifiers (a projection: F is then an "
                "upper bound and the risk an underestimate)"
            )
    weights = _record_weights(population, count_column)
    total = int(weights.sum()) if weights is not None else len(population)
    m = len(released)
    if m == 0:
        return _Match(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), [], [])

    cols = [_Column(c, hierarchies[c], population[c]) for c in columns]
    # A set or a range stands for several labels: one row per combination, F summed back.
    expanded = pd.DataFrame({c.name: _as_labels(released[c.name]) for c in cols})
    expanded["__row"] = np.arange(m)
    for col in cols:
        distinct = expanded[col.name].unique()
        members = {str(v): col.members(str(v)) for v in distinct}
        if any(ms != [v] for v, ms in members.items()):
            expanded[col.name] = expanded[col.name].map(members)
            expanded = expanded.explode(col.name, ignore_index=True)
    row_of = expanded["__row"].to_numpy(dtype=np.int64)
    released = expanded
    m_rows, m = m, len(expanded)
    resolved = [col.resolve(released[col.name]) for col in cols]
    # one id per distinct level vector (mixed radix over the hierarchies' heights)
    vector_key = np.zeros(m, dtype=np.int64)
    for col, (levels, _) in zip(cols, resolved, strict=True):
        vector_key = vector_key * col.hierarchy.height + levels
    distinct, vector_ids = np.unique(vector_key, return_inverse=True)
    vectors: list[tuple[int, ...]] = []
    for key in distinct.tolist():
        levels_rev = []
        for col in reversed(cols):
            levels_rev.append(key % col.hierarchy.height)
            key //= col.hierarchy.height
        vectors.append(tuple(reversed(levels_rev)))

    sizes = np.zeros(m, dtype=np.int64)
    absent_counts: list[int] = []
    for v, vector in enumerate(vectors):
        rows = np.flatnonzero(vector_ids == v)
        pop_key = np.zeros(len(population), dtype=np.int64)
        rel_key = np.zeros(len(rows), dtype=np.int64)
        radix = 1
        for col, (_, codes), level in zip(cols, resolved, vector, strict=True):
            card = col.cardinality(level)
            if card == 1:
                continue  # e.g. "*": every record consistent
            if radix * card >= _KEY_LIMIT:
                joint = pd.factorize(np.concatenate([pop_key, rel_key]))[0].astype(np.int64)
                pop_key, rel_key = joint[: len(pop_key)], joint[len(pop_key) :]
                radix = int(joint.max()) + 1
            pop_key += col.codes_at(level) * radix
            rel_key += codes[rows] * radix
            radix *= card
        if radix <= max(_DENSE_LIMIT, 2 * len(population)):
            counts = np.bincount(pop_key, weights=weights, minlength=radix)
            sizes[rows] = np.rint(counts[rel_key]).astype(np.int64)
            present = int(np.rint(counts[np.unique(rel_key)].sum()))
        else:
            keys, inverse = np.unique(pop_key, return_inverse=True)
            counts = np.bincount(inverse, weights=weights, minlength=len(keys))
            pos = np.minimum(np.searchsorted(keys, rel_key), len(keys) - 1)
            found = keys[pos] == rel_key
            sizes[rows] = np.where(found, np.rint(counts[pos]), 0).astype(np.int64)
            present = int(np.rint(counts[np.unique(pos[found])].sum()))
        absent_counts.append(total - present)
    per_row = np.bincount(row_of, weights=sizes, minlength=m_rows).astype(np.int64)
    first = np.unique(row_of, return_index=True)[1]
    return _Match(per_row, vector_ids.astype(np.int64)[first], vectors, absent_counts)


def population_class_sizes(
    released: pd.DataFrame,
    population: pd.DataFrame,
    hierarchies: Mapping[str, Hierarchy],
    *,
    quasi_identifiers: Sequence[str] | None = None,
    count_column: str | None = None,
) -> np.ndarray:
    """F per released record: how many people of ``population`` are consistent with the record's
    released (generalised) values, aligned with ``released``'s rows.

    ``population``: original (level-0) values of the quasi-identifiers, one row per person, or
    aggregated with ``count_column`` holding how many people each row stands for (e.g. BPS children
    by regency x single age x sex). ``hierarchies``: the ones the release was generalised with.
    A released value's level is the level at which generalising the population produces it, so
    full-domain output (one level per column) and locally recoded output (levels differing per
    record) are both handled: released records are grouped by their vector of levels and the
    population is generalised and counted once per distinct vector. Raises when a released value
    is produced by no level (unknown) or by several levels covering different values (ambiguous).

    ``quasi_identifiers``: the columns to match on, by default every key of ``hierarchies``. When
    the population table knows only some of the release's quasi-identifiers (BPS has region, age
    and sex, not disability), pass those: the count is then the projection of the class on them,
    F_projected >= F (more people match fewer attributes), so 1/F is underestimated and a risk
    computed from it is a lower bound, not a guarantee.

    Counted against each released label on its own, a locally recoded remainder cell ("32": the
    province's records outside the regencies shown separately) matches every person of the
    province, although an attacker who knows the recoding could exclude the regencies shown: F can
    again be an overestimate there."""
    return _match(released, population, hierarchies, quasi_identifiers, count_column).sizes


# --- journalist risk -------------------------------------------------------------------------


@dataclass(frozen=True)
class JournalistRiskResult:
    """Journalist re-identification risk of a release against a known population.

    ``highest``: max 1/F over released records. ``average``: mean of 1/F over released records,
    the expected share of released records re-identified when the attacker matches each against
    the population (ARX's journalist/marketer success rate with a population table). ``class_average``:
    classes / sum of their F (El Emam & Dankar 2008's average journalist risk); ARX reports the
    larger of the two as the journalist "average risk". ``records_above_threshold``: records with
    1/F > threshold."""

    records: int
    threshold: float
    highest: float
    average: float
    class_average: float
    records_above_threshold: int
    share_above_threshold: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def journalist_risk(
    sample_sizes: npt.ArrayLike, population_sizes: npt.ArrayLike, threshold: float = 0.2
) -> JournalistRiskResult:
    """Journalist risk from f (class size in the release) and F (people in the population
    consistent with the record's class), one of each per released record (as
    :func:`sample_class_sizes` and :func:`population_class_sizes` return them)."""
    f = np.asarray(sample_sizes, dtype=np.float64)
    big_f = np.asarray(population_sizes, dtype=np.float64)
    if f.ndim != 1 or big_f.ndim != 1 or len(f) != len(big_f):
        raise ValueError("sample_sizes and population_sizes need one value per released record")
    if len(f) == 0:
        raise ValueError("no released records")
    if np.isnan(f).any() or np.isnan(big_f).any() or (f < 1).any():
        raise ValueError("sample class sizes must be >= 1 (and no size may be missing)")
    short = np.flatnonzero(big_f < f)
    if len(short):
        i = int(short[0])
        raise ValueError(
            f"{len(short)} released record(s) belong to classes larger in the release than in the "
            f"population (first: record {i}, f={int(f[i])}, F={int(big_f[i])}): the population "
            "table does not contain the released people, so F and the journalist risk are undefined"
        )
    risk = 1.0 / big_f
    above = int((risk > threshold).sum())
    return JournalistRiskResult(
        records=len(f),
        threshold=float(threshold),
        highest=_round(risk.max()),
        average=_round(risk.mean()),
        # sum over records of 1/f = number of classes; of F/f = sum over classes of F
        class_average=_round((1.0 / f).sum() / (big_f / f).sum()),
        records_above_threshold=above,
        share_above_threshold=_round(above / len(f)),
    )


# --- criteria ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferencePopulation:
    """The population a release is measured against, for the criteria that need it.

    ``data``: original values of (some of) the quasi-identifiers, one row per person, or one row
    per combination with ``count_column`` (BPS's children by regency x single age x sex).
    ``hierarchies``: the ones the release was generalised with (to read its labels).
    ``projected``: the population knows only some of the release's quasi-identifiers and the
    criteria may count on those; F is then an upper bound, risks and δ lower bounds (the result
    says so). Without it a missing quasi-identifier is an error."""

    data: pd.DataFrame = field(repr=False, compare=False)
    hierarchies: Mapping[str, Hierarchy] = field(repr=False, compare=False)
    count_column: str | None = None
    projected: bool = False

    def columns_for(self, quasi_identifiers: Sequence[str]) -> list[str]:
        known = [q for q in quasi_identifiers if q in self.data.columns and q != self.count_column]
        missing = [q for q in quasi_identifiers if q not in known]
        if missing and not self.projected:
            raise ValueError(
                f"the population has no column(s) {missing}; set projected=True to count on the "
                "quasi-identifiers it has (F is then an upper bound and the risk underestimated)"
            )
        if not known:
            raise ValueError("the population shares no quasi-identifier with the release")
        return known

    def match(self, released: pd.DataFrame, quasi_identifiers: Sequence[str]) -> _Match:
        columns = self.columns_for(quasi_identifiers)
        return _match(released, self.data, self.hierarchies, columns, self.count_column)

    def describe(self, quasi_identifiers: Sequence[str]) -> dict[str, Any]:
        columns = self.columns_for(quasi_identifiers)
        if self.count_column is not None:
            people = int(pd.to_numeric(self.data[self.count_column]).sum())
        else:
            people = len(self.data)
        return {
            "population_records": people,
            "population_quasi_identifiers": columns,
            "projected": len(columns) < len(quasi_identifiers),
        }


@dataclass(frozen=True)
class JournalistRisk:
    """Journalist risk against ``population``: holds when the highest 1/F is at most
    ``max_risk`` and the average at most ``average_risk`` (the larger of the two published
    averages, as ARX takes it); ``threshold`` counts the records above it."""

    max_risk: float = 1.0
    average_risk: float = 1.0
    threshold: float = 0.2
    population: ReferencePopulation = field(kw_only=True)
    name: str = "journalist_risk"

    def evaluate(
        self, data: pd.DataFrame, quasi_identifiers: Sequence[str], sensitive: str
    ) -> CriterionResult:
        params: dict[str, Any] = {
            "max_risk": self.max_risk,
            "average_risk": self.average_risk,
            "threshold": self.threshold,
            **self.population.describe(quasi_identifiers),
        }
        if data.empty:
            return CriterionResult(self.name, params, {}, False)
        f = sample_class_sizes(data, quasi_identifiers)
        big_f = self.population.match(data, quasi_identifiers).sizes
        result = journalist_risk(f, big_f, self.threshold)
        average = max(result.average, result.class_average)
        achieved = {
            "highest": result.highest,
            "average": result.average,
            "class_average": result.class_average,
            "records_above_threshold": result.records_above_threshold,
            "share_above_threshold": result.share_above_threshold,
        }
        holds = result.highest <= self.max_risk + 1e-12 and average <= self.average_risk + 1e-12
        return CriterionResult(self.name, params, achieved, holds)


@dataclass(frozen=True)
class PopulationUniqueness:
    """Marketer-style risk without a population table: the estimated share of the population (and
    of the released records) unique in the population, by ``model`` (see
    :func:`population_uniqueness`) at ``sampling_fraction``. Holds when the estimate converged
    and the share is at most ``max_share``."""

    max_share: float
    model: UniquenessModel
    sampling_fraction: float
    name: str = "population_uniqueness"

    def evaluate(
        self, data: pd.DataFrame, quasi_identifiers: Sequence[str], sensitive: str
    ) -> CriterionResult:
        params: dict[str, Any] = {
            "max_share": self.max_share,
            "model": self.model,
            "sampling_fraction": self.sampling_fraction,
        }
        if data.empty:
            return CriterionResult(self.name, params, {}, False)
        sizes = data.groupby(list(quasi_identifiers), dropna=False).size().to_numpy()
        estimate = population_uniqueness(sizes, self.sampling_fraction, self.model)
        achieved = {
            "share": None if not estimate.converged else _round(estimate.share),
            "population_uniques": None
            if not estimate.converged
            else _round(estimate.population_uniques),
            "model_used": estimate.model,
            "converged": estimate.converged,
            "sample_uniques": estimate.sample_uniques,
            "sample_share_unique": _round(estimate.sample_uniques / estimate.sample_size),
        }
        holds = estimate.converged and estimate.share <= self.max_share + 1e-12
        return CriterionResult(self.name, params, achieved, holds)


@dataclass(frozen=True)
class DeltaPresence:
    """(δmin, δmax)-presence (Nergiz, Atzori & Clifton 2007) against ``population``.

    For each released class (distinct combination of released values), δ = its records / the
    population records consistent with it: the probability that a person of the population who
    matches the class is in the release. The criterion holds when every class has
    delta_min <= δ <= delta_max. Nergiz et al. require it for every person of the population, so
    with delta_min > 0 the people whose class (at the release's generalisation) has no released
    record at all (δ = 0: the release shows they are absent) violate it too; that is checked when
    the release has one level per column (full-domain output, suppressed classes included). For
    locally recoded output a person's class is not defined (cells are generalised differently), so
    only the released classes are checked and ``absent_population_records`` is None."""

    delta_min: float = 0.0
    delta_max: float = 1.0
    population: ReferencePopulation = field(kw_only=True)
    name: str = "delta_presence"

    def __post_init__(self) -> None:
        if not 0.0 <= self.delta_min <= self.delta_max <= 1.0:
            raise ValueError("need 0 <= delta_min <= delta_max <= 1")

    def evaluate(
        self, data: pd.DataFrame, quasi_identifiers: Sequence[str], sensitive: str
    ) -> CriterionResult:
        params: dict[str, Any] = {
            "delta_min": self.delta_min,
            "delta_max": self.delta_max,
            **self.population.describe(quasi_identifiers),
        }
        if data.empty:
            return CriterionResult(self.name, params, {}, False)
        cls = data.groupby(list(quasi_identifiers), dropna=False, sort=False).ngroup().to_numpy()
        match = self.population.match(data, quasi_identifiers)
        first = np.unique(cls, return_index=True)[1]
        f = np.bincount(cls)
        big_f = match.sizes[first]
        short = np.flatnonzero(big_f < f)
        if len(short):
            raise ValueError(
                f"{len(short)} released class(es) have more records than the population has "
                "people consistent with them: the population does not contain the released people"
            )
        delta = f / big_f
        outside = (delta < self.delta_min - 1e-12) | (delta > self.delta_max + 1e-12)
        absent: int | None = match.absent[0] if len(match.vectors) == 1 else None
        achieved = {
            "lowest_delta": _round(delta.min()),
            "highest_delta": _round(delta.max()),
            "classes": len(delta),
            "classes_outside": int(outside.sum()),
            "absent_population_records": absent,
        }
        holds = not outside.any()
        if self.delta_min > 0 and absent:
            holds = False
        return CriterionResult(self.name, params, achieved, holds)
