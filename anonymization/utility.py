"""Utility of a released table: what a researcher keeps, measured from the original and the
released tables alone, whichever tool made the release.

Alignment
---------
A released table is matched to its original by row index (:func:`align`): a row of the original
that the released table lacks was suppressed. A tool that keeps such rows with every
quasi-identifier "*" (or empty) has suppressed them too, in effect; whether those rows count as
suppressed is the caller's explicit choice (``all_star_is_suppressed``): it changes the
discernibility penalty, the class sizes and the rows the reference model sees, not the losses
(a suppressed record costs what a record with every value "*" costs). A released value that is
"*" or missing is a suppressed value: it covers every original value.

Measures
--------
* **Discernibility** (Bayardo & Agrawal, ICDE 2005): each released record costs the size of
  its equivalence class, each suppressed record the size of the table, ``sum |E|^2 + |S| * n``.
* **Normalised average equivalence class size** (LeFevre, DeWitt & Ramakrishnan, ICDE 2006,
  "Mondrian"): ``(released records / classes) / k``; 1 is the best a k-anonymous table can do.
* **Non-uniform entropy** (Gionis & Tassa, TKDE 2009, as ARX computes it): per record and
  quasi-identifier ``-log2 P(original value | released value)``, the probability estimated on
  the input, ``count(v) / sum of count(u) over the original values u the released value
  covers``. 0 for an unchanged value; a suppressed value ("*") covers every value. Reported in
  bits, total and per attribute, and normalised to [0, 1] by the entropy of suppressing every
  value of every record.
* **Loss metric** (Iyengar, KDD 2002), per attribute: a released value covering ``m`` of the
  ``M`` distinct original values costs ``(m - 1) / (M - 1)``, "*" and a suppressed record 1;
  the mean over all original records (the metric :mod:`anonymization.kanonymity` minimises).
* **Distributions** of each quasi-identifier before and after (value counts).
* **Reference model**: a categorical naive Bayes (Laplace smoothing) predicting the sensitive
  attribute from the quasi-identifiers, trained on a seeded 70 % of the released table and
  scored on the other 30 %, against the same model on the original table (same split): how
  much predictive signal the release leaves a researcher.

What a released value covers
----------------------------
For the entropy and the loss metric each released value stands for a set of original values.
With a :class:`~anonymization.hierarchies.Hierarchy` for the attribute, a value that is a label
of the hierarchy covers every original value of the input the hierarchy maps to it (at any
level). A value that is no label of the hierarchy, or any value when no hierarchy is given
(tools that release ranges like "3-7" or sets like "a,b"), covers the distinct original values
of the records released with it. Both sets are unioned, so a value never fails to cover the
records it was given to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from anonymization.hierarchies import SUPPRESSED, Hierarchy, released_members

#: How a missing original value is shown in :func:`distributions`.
MISSING_VALUE = "(missing)"
__all__ = [
    "AlignedRelease",
    "CategoricalNaiveBayes",
    "EntropyLoss",
    "LossMetric",
    "ModelAccuracy",
    "UtilityReport",
    "align",
    "average_class_size",
    "class_sizes",
    "discernibility",
    "distributions",
    "evaluate_release",
    "loss_metric",
    "model_accuracy",
    "non_uniform_entropy",
]


@dataclass(frozen=True)
class AlignedRelease:
    """An original table and its release, row by row.

    ``released`` has one row per original row (same index): the quasi-identifiers as strings,
    every value "*" in a suppressed row, plus the sensitive attribute as released (missing in a
    row the release lacks)."""

    original: pd.DataFrame
    released: pd.DataFrame
    suppressed: np.ndarray  # bool per original row
    quasi_identifiers: tuple[str, ...]
    sensitive: str | None

    @property
    def n(self) -> int:
        return len(self.original)

    @property
    def n_suppressed(self) -> int:
        return int(self.suppressed.sum())

    @property
    def n_released(self) -> int:
        return self.n - self.n_suppressed


def _shown(column: pd.Series, missing: str) -> pd.Series:
    values = column.astype(object)
    return values.where(values.notna(), missing).astype(str)


def _as_labels(column: pd.Series) -> pd.Series:
    """Released values as strings; missing -> "*"."""
    return _shown(column, SUPPRESSED)


def align(
    original: pd.DataFrame,
    released: pd.DataFrame,
    quasi_identifiers: Sequence[str],
    sensitive: str | None = None,
    *,
    all_star_is_suppressed: bool,
) -> AlignedRelease:
    """Match ``released`` to ``original`` by index. Rows of the original missing from the
    release are suppressed; so are rows whose quasi-identifiers are all "*" or missing when
    ``all_star_is_suppressed``."""
    qis = tuple(quasi_identifiers)
    if not qis:
        raise ValueError("at least one quasi-identifier is required")
    columns = [*qis, *([sensitive] if sensitive is not None else [])]
    for name, frame in (("original", original), ("released", released)):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"columns not in the {name} table: {missing}")
        if not frame.index.is_unique:
            raise ValueError(f"the {name} table's index has duplicates: rows cannot be matched")
    extra = released.index.difference(original.index)
    if len(extra):
        raise ValueError(f"{len(extra)} released rows match no original row (e.g. {extra[0]!r})")
    present = original.index.isin(released.index)
    shown = released.reindex(original.index)[columns]
    out = pd.DataFrame({q: _as_labels(shown[q]) for q in qis}, index=original.index)
    suppressed = ~present
    if all_star_is_suppressed:
        suppressed |= (out == SUPPRESSED).all(axis=1).to_numpy()
    out.loc[suppressed, list(qis)] = SUPPRESSED
    if sensitive is not None:
        out[sensitive] = shown[sensitive].astype(object).where(~suppressed, None)
    return AlignedRelease(original[columns], out, np.asarray(suppressed), qis, sensitive)


# --- classes ---------------------------------------------------------------------------


def _class_ids(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """One id per row for each distinct combination of ``columns`` (0..classes-1)."""
    key = np.zeros(len(frame), dtype=np.int64)
    radix = 1
    for column in columns:
        codes, uniques = pd.factorize(frame[column], use_na_sentinel=False)
        if radix * max(len(uniques), 1) >= 2**62:
            key = pd.factorize(key)[0].astype(np.int64)
            radix = int(key.max()) + 1 if len(key) else 1
        key = key + codes.astype(np.int64) * radix
        radix *= max(len(uniques), 1)
    return pd.factorize(key)[0].astype(np.int64)


def class_sizes(aligned: AlignedRelease) -> np.ndarray:
    """Sizes of the equivalence classes of the released (not suppressed) records."""
    kept = aligned.released.loc[~aligned.suppressed, list(aligned.quasi_identifiers)]
    if kept.empty:
        return np.zeros(0, dtype=np.int64)
    return np.bincount(_class_ids(kept, aligned.quasi_identifiers))


def discernibility(aligned: AlignedRelease) -> int:
    """``sum over classes |E|^2 + suppressed * n`` (Bayardo & Agrawal 2005)."""
    sizes = class_sizes(aligned).astype(object)  # Python ints: no overflow
    return int(sum(s * s for s in sizes)) + aligned.n_suppressed * aligned.n


def average_class_size(aligned: AlignedRelease, k: int) -> float:
    """``(released records / classes) / k`` (LeFevre et al. 2006); NaN if nothing released."""
    sizes = class_sizes(aligned)
    if len(sizes) == 0:
        return float("nan")
    return aligned.n_released / len(sizes) / k


# --- what a released value covers -----------------------------------------------------------


@dataclass(frozen=True)
class _AttributeCost:
    lm: np.ndarray  # per record, in [0, 1]
    bits: np.ndarray  # per record, -log2 P(original | released)
    bits_suppressed: np.ndarray  # per record, the same were the value "*"


def _attribute_cost(
    original: pd.Series, released: pd.Series, suppressed: np.ndarray, hierarchy: Hierarchy | None
) -> _AttributeCost:
    orig_codes, orig_uniques = pd.factorize(original, use_na_sentinel=False)
    m = max(len(orig_uniques), 1)
    counts = np.bincount(orig_codes, minlength=m).astype(np.float64)
    n = float(len(original))
    rel_codes, rel_uniques = pd.factorize(released, use_na_sentinel=False)
    labels = pd.Index(rel_uniques)
    star = labels.get_indexer([SUPPRESSED])[0]
    # (released value, original value) pairs: from the data ...
    pair_parts = [rel_codes.astype(np.int64) * m + orig_codes]
    # ... and from the hierarchy, for released values that are its labels
    if hierarchy is not None:
        # A set of the hierarchy's labels ("3201|3204") covers what each of its members covers.
        # A range of an ordered attribute that is no label of the hierarchy ("8-13") covers
        # the original values inside it.
        base_labels = hierarchy.generalize(original, 0).unique()
        members = pd.DataFrame(
            [
                (code, member)
                for code, label in enumerate(rel_uniques)
                for member in released_members(str(label), hierarchy.ordered, base_labels) or []
            ],
            columns=["set", "member"],
        )
        for level in range(hierarchy.height):
            generalised = hierarchy.generalize(original, level)
            at_level = labels.get_indexer(generalised)
            known = at_level >= 0
            pair_parts.append(at_level[known].astype(np.int64) * m + orig_codes[known])
            if len(members):
                seen = pd.DataFrame({"member": generalised.to_numpy(), "original": orig_codes})
                in_sets = seen.drop_duplicates().merge(members, on="member")
                pair_parts.append(
                    in_sets["set"].to_numpy(dtype=np.int64) * m
                    + in_sets["original"].to_numpy(dtype=np.int64)
                )
    pairs = pd.unique(np.concatenate(pair_parts))
    value_of_pair = pairs // m
    covered = np.bincount(value_of_pair, minlength=len(labels)).astype(np.float64)
    mass = np.bincount(value_of_pair, weights=counts[pairs % m], minlength=len(labels))
    if star >= 0:
        covered[star], mass[star] = m, n
    # As in the full-domain search: "*" covers all M values, (M - 1) / (M - 1) = 1 (0 where the
    # input holds one value), and a suppressed record costs 1 whatever M is.
    lm = ((covered - 1) / max(m - 1, 1))[rel_codes]
    lm[suppressed] = 1.0
    own = counts[orig_codes]
    with np.errstate(divide="ignore"):
        bits = np.log2(mass[rel_codes]) - np.log2(own)
        bits_suppressed = np.log2(n) - np.log2(own)
    return _AttributeCost(lm, np.maximum(bits, 0.0), bits_suppressed)


def _costs(
    aligned: AlignedRelease, hierarchies: Mapping[str, Hierarchy] | None
) -> dict[str, _AttributeCost]:
    hierarchies = hierarchies or {}
    return {
        q: _attribute_cost(
            aligned.original[q], aligned.released[q], aligned.suppressed, hierarchies.get(q)
        )
        for q in aligned.quasi_identifiers
    }


@dataclass(frozen=True)
class LossMetric:
    """Iyengar's LM: mean cost per record, per attribute and over all attributes."""

    per_attribute: dict[str, float]
    total: float


@dataclass(frozen=True)
class EntropyLoss:
    """Non-uniform entropy in bits, and normalised by that of suppressing every value."""

    per_attribute: dict[str, float]
    total: float
    normalised_per_attribute: dict[str, float]
    normalised: float


def _lm(costs: Mapping[str, _AttributeCost]) -> LossMetric:
    per = {q: float(c.lm.mean()) if len(c.lm) else 0.0 for q, c in costs.items()}
    return LossMetric(per, float(np.mean(list(per.values()))) if per else 0.0)


def _nue(costs: Mapping[str, _AttributeCost]) -> EntropyLoss:
    bits = {q: float(c.bits.sum()) for q, c in costs.items()}
    worst = {q: float(c.bits_suppressed.sum()) for q, c in costs.items()}
    total, total_worst = sum(bits.values()), sum(worst.values())
    return EntropyLoss(
        per_attribute=bits,
        total=total,
        normalised_per_attribute={q: bits[q] / worst[q] if worst[q] else 0.0 for q in bits},
        normalised=total / total_worst if total_worst else 0.0,
    )


def loss_metric(
    aligned: AlignedRelease, hierarchies: Mapping[str, Hierarchy] | None = None
) -> LossMetric:
    """Iyengar's LM per quasi-identifier and overall (see the module's docstring for what a
    released value covers, with and without a hierarchy)."""
    return _lm(_costs(aligned, hierarchies))


def non_uniform_entropy(
    aligned: AlignedRelease, hierarchies: Mapping[str, Hierarchy] | None = None
) -> EntropyLoss:
    """Non-uniform entropy per quasi-identifier and overall, in bits and normalised."""
    return _nue(_costs(aligned, hierarchies))


def distributions(aligned: AlignedRelease) -> dict[str, dict[str, dict[str, int]]]:
    """Per quasi-identifier, the value counts of the original values (as strings) and of the
    released values ("*" for suppressed values and records), most frequent first."""

    def counts(series: pd.Series) -> dict[str, int]:
        return {str(v): int(c) for v, c in series.value_counts(dropna=False).items()}

    return {
        q: {
            "original": counts(_shown(aligned.original[q], MISSING_VALUE)),
            "released": counts(aligned.released[q]),
        }
        for q in aligned.quasi_identifiers
    }


# --- reference model -------------------------------------------------------------------------


class CategoricalNaiveBayes:
    """Naive Bayes over categorical features (values compared as strings), Laplace smoothing
    ``alpha``. Each feature gets one extra slot for values not seen in training:
    ``P(x_j = v | y) = (count(v, y) + alpha) / (count(y) + alpha * (|V_j| + 1))``, where
    ``V_j`` are the feature's training values; ``P(y) = (count(y) + alpha) / (n + alpha |Y|)``.
    Ties go to the first class in sorted order."""

    def __init__(self, alpha: float = 1.0) -> None:
        if alpha <= 0:
            raise ValueError("alpha must be > 0")
        self.alpha = alpha
        self.classes_: np.ndarray = np.empty(0, dtype=object)
        self.log_prior_: np.ndarray = np.empty(0)
        self._vocab: list[pd.Index] = []
        self._log_likelihood: list[np.ndarray] = []  # (|V_j| + 1) x |Y| per feature
        self._columns: list[str] = []

    def fit(self, features: pd.DataFrame, target: pd.Series) -> CategoricalNaiveBayes:
        if len(features) != len(target) or len(features) == 0:
            raise ValueError("fit needs as many targets as rows, and at least one row")
        y_labels = target.astype(str).to_numpy()
        self.classes_ = np.array(sorted(set(y_labels)), dtype=object)
        y = pd.Index(self.classes_).get_indexer(y_labels)
        n_classes = len(self.classes_)
        class_counts = np.bincount(y, minlength=n_classes).astype(np.float64)
        a = self.alpha
        self.log_prior_ = np.log(class_counts + a) - np.log(len(y) + a * n_classes)
        self._columns = list(features.columns)
        self._vocab, self._log_likelihood = [], []
        for column in self._columns:
            values = features[column].astype(str).to_numpy()
            vocab = pd.Index(sorted(set(values)))
            codes = vocab.get_indexer(values)
            table = np.bincount(
                codes * n_classes + y, minlength=(len(vocab) + 1) * n_classes
            ).reshape(len(vocab) + 1, n_classes)
            denominator = class_counts + a * (len(vocab) + 1)
            self._vocab.append(vocab)
            self._log_likelihood.append(np.log(table + a) - np.log(denominator))
        return self

    def log_joint(self, features: pd.DataFrame) -> np.ndarray:
        """``log P(y) + sum_j log P(x_j | y)`` per row and class."""
        joint = np.tile(self.log_prior_, (len(features), 1))
        for column, vocab, table in zip(
            self._columns, self._vocab, self._log_likelihood, strict=True
        ):
            codes = vocab.get_indexer(features[column].astype(str).to_numpy())
            codes[codes < 0] = len(vocab)  # the slot for unseen values
            joint += table[codes]
        return joint

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        return self.classes_[np.argmax(self.log_joint(features), axis=1)]


@dataclass(frozen=True)
class ModelAccuracy:
    """Accuracy of the reference model on the held-out rows: trained and scored on the
    released table, on the original table, and of always predicting the original training
    rows' most frequent value (what a model without signal gets)."""

    released: float
    original: float
    majority: float
    train_rows_released: int
    test_rows_released: int
    train_rows_original: int
    test_rows_original: int


def model_accuracy(
    aligned: AlignedRelease, seed: int = 0, train_share: float = 0.7, alpha: float = 1.0
) -> ModelAccuracy:
    """The reference model on a seeded split of the original rows: the released table's rows
    (suppressed ones left out: a researcher does not have them) in each part train and score
    it; the original table's rows do the same for the comparison."""
    if aligned.sensitive is None:
        raise ValueError("the reference model needs the sensitive attribute")
    if not 0 < train_share < 1:
        raise ValueError("train_share must be in (0, 1)")
    qis, s = list(aligned.quasi_identifiers), aligned.sensitive
    order = np.random.default_rng(seed).permutation(aligned.n)
    train = np.zeros(aligned.n, dtype=bool)
    train[order[: round(train_share * aligned.n)]] = True
    test = ~train
    kept = ~aligned.suppressed

    def score(frame: pd.DataFrame, fit_rows: np.ndarray, test_rows: np.ndarray) -> float:
        if not fit_rows.any() or not test_rows.any():
            return float("nan")
        model = CategoricalNaiveBayes(alpha).fit(frame.loc[fit_rows, qis], frame.loc[fit_rows, s])
        predicted = model.predict(frame.loc[test_rows, qis])
        return float(np.mean(predicted == frame.loc[test_rows, s].astype(str).to_numpy()))

    original = aligned.original
    truth = original[s].astype(str)
    majority_value = truth[train].value_counts().index[0] if train.any() else None
    return ModelAccuracy(
        released=score(aligned.released, train & kept, test & kept),
        original=score(original, train, test),
        majority=float(np.mean(truth[test] == majority_value)) if test.any() else float("nan"),
        train_rows_released=int((train & kept).sum()),
        test_rows_released=int((test & kept).sum()),
        train_rows_original=int(train.sum()),
        test_rows_original=int(test.sum()),
    )


# --- all together -------------------------------------------------------------------------------


@dataclass(frozen=True)
class UtilityReport:
    rows: int
    released_rows: int
    suppressed_rows: int
    equivalence_classes: int
    discernibility: int
    average_class_size: float
    loss_metric: LossMetric
    non_uniform_entropy: EntropyLoss
    model: ModelAccuracy | None
    distributions: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate_release(
    original: pd.DataFrame,
    released: pd.DataFrame,
    quasi_identifiers: Sequence[str],
    sensitive: str | None,
    *,
    k: int,
    all_star_is_suppressed: bool,
    hierarchies: Mapping[str, Hierarchy] | None = None,
    seed: int = 0,
    with_distributions: bool = True,
) -> UtilityReport:
    """Every measure of this module for one release (the model only with ``sensitive``)."""
    aligned = align(
        original,
        released,
        quasi_identifiers,
        sensitive,
        all_star_is_suppressed=all_star_is_suppressed,
    )
    costs = _costs(aligned, hierarchies)
    sizes = class_sizes(aligned)
    return UtilityReport(
        rows=aligned.n,
        released_rows=aligned.n_released,
        suppressed_rows=aligned.n_suppressed,
        equivalence_classes=len(sizes),
        discernibility=discernibility(aligned),
        average_class_size=average_class_size(aligned, k),
        loss_metric=_lm(costs),
        non_uniform_entropy=_nue(costs),
        model=model_accuracy(aligned, seed) if sensitive is not None else None,
        distributions=distributions(aligned) if with_distributions else {},
    )
