"""Privacy models measured on a released table: each a declared criterion with its parameters.

Why measure more than k and distinct l
--------------------------------------
k-anonymity stops linking a row to a person; distinct l-diversity stops a class from sharing one
sensitive value. Neither stops a *skewed* class: 9 of 10 children in a class with the same case
type satisfy distinct 2-diversity and still tell the reader what the tenth child's case type
probably is. The models here are the ones ARX offers and a data protection officer asks for:

* entropy l-diversity (Machanavajjhala et al. 2007): every class's sensitive-value entropy is at
  least log(l), i.e. the class is "as mixed as l equally frequent values";
* recursive (c,l)-diversity (same paper): in every class, with counts sorted r1 >= r2 >= ... >= rm,
  r1 < c * (r_l + ... + r_m): the most frequent value does not dominate the tail;
* t-closeness (Li, Li, Venkatasubramanian 2007): the Earth Mover's Distance between each
  class's distribution of the sensitive value and the whole table's is at most t, with the
  ground distance of the attribute's kind: equal (categorical), ordered (ordinal: positions in
  the order), or hierarchical (categorical with a hierarchy: the height of the lowest common
  ancestor over the hierarchy's height);
* re-identification risk under the prosecutor model (the attacker knows the person is in the
  release): a record's risk is 1 / its class size; reported as the highest risk, the average
  (which is also the marketer risk: the share of records re-identified when every record is
  tried), and the share of records whose risk exceeds a threshold.

Each criterion is a small frozen dataclass with an ``evaluate`` that returns what was achieved
and whether it holds; :func:`evaluate_criteria` evaluates a declared list. The computations use
grouped counts (one pass per class), not per-class Python loops over rows, so 10^6 records take
seconds. The tests check every criterion against hand-worked examples from the papers and
against pycanon where pycanon implements the same definition.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd

__all__ = [
    "Criterion",
    "CriterionResult",
    "DistinctLDiversity",
    "EntropyLDiversity",
    "KAnonymity",
    "ProsecutorRisk",
    "RecursiveCLDiversity",
    "TCloseness",
    "class_counts",
    "evaluate_criteria",
]


@dataclass(frozen=True)
class CriterionResult:
    name: str
    parameters: dict[str, Any]
    achieved: dict[str, Any]
    holds: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: an unbounded value (a class that can never meet the criterion) is "inf"."""
        out = asdict(self)
        out["achieved"] = {
            k: "inf" if isinstance(v, float) and math.isinf(v) else v
            for k, v in self.achieved.items()
        }
        return out


class Criterion(Protocol):
    @property
    def name(self) -> str: ...

    def evaluate(
        self, data: pd.DataFrame, quasi_identifiers: Sequence[str], sensitive: str
    ) -> CriterionResult: ...


def class_counts(
    data: pd.DataFrame, quasi_identifiers: Sequence[str], sensitive: str
) -> pd.DataFrame:
    """Counts per (equivalence class, sensitive value): columns ``cls`` (class number),
    ``value``, ``n``. Classes are the distinct combinations of the quasi-identifiers."""
    if data.empty:
        return pd.DataFrame({"cls": [], "value": [], "n": []})
    cls = data.groupby(list(quasi_identifiers), dropna=False, sort=False).ngroup()
    counts = (
        pd.DataFrame({"cls": cls.to_numpy(), "value": data[sensitive].to_numpy()})
        .groupby(["cls", "value"], dropna=False, sort=False)
        .size()
        .rename("n")
        .reset_index()
    )
    return counts


def _round(x: float) -> float:
    return round(float(x), 6)


@dataclass(frozen=True)
class KAnonymity:
    k: int
    name: str = "k_anonymity"

    def evaluate(
        self, data: pd.DataFrame, quasi_identifiers: Sequence[str], sensitive: str
    ) -> CriterionResult:
        sizes = data.groupby(list(quasi_identifiers), dropna=False).size()
        smallest = int(sizes.min()) if len(sizes) else 0
        return CriterionResult(
            self.name, {"k": self.k}, {"smallest_class": smallest, "classes": len(sizes)},
            smallest >= self.k,
        )  # fmt: skip


@dataclass(frozen=True)
class DistinctLDiversity:
    l: int  # noqa: E741 (the papers' name)
    name: str = "distinct_l_diversity"

    def evaluate(
        self, data: pd.DataFrame, quasi_identifiers: Sequence[str], sensitive: str
    ) -> CriterionResult:
        counts = class_counts(data, quasi_identifiers, sensitive)
        fewest = int(counts.groupby("cls").size().min()) if len(counts) else 0
        return CriterionResult(
            self.name, {"l": self.l, "sensitive": sensitive}, {"fewest_distinct": fewest},
            fewest >= self.l,
        )  # fmt: skip


@dataclass(frozen=True)
class EntropyLDiversity:
    l: float  # noqa: E741
    name: str = "entropy_l_diversity"

    def evaluate(
        self, data: pd.DataFrame, quasi_identifiers: Sequence[str], sensitive: str
    ) -> CriterionResult:
        counts = class_counts(data, quasi_identifiers, sensitive)
        if counts.empty:
            return CriterionResult(self.name, {"l": self.l}, {"lowest_entropy_l": 0.0}, False)
        totals = counts.groupby("cls")["n"].transform("sum")
        p = counts["n"] / totals
        entropy = (-p * np.log(p)).groupby(counts["cls"]).sum()
        lowest = float(np.exp(entropy.min()))  # the l this table achieves: exp(min entropy)
        return CriterionResult(
            self.name,
            {"l": self.l, "sensitive": sensitive},
            {"lowest_entropy_l": _round(lowest)},
            bool(entropy.min() >= math.log(self.l) - 1e-12),
        )


@dataclass(frozen=True)
class RecursiveCLDiversity:
    c: float
    l: int  # noqa: E741
    name: str = "recursive_c_l_diversity"

    def evaluate(
        self, data: pd.DataFrame, quasi_identifiers: Sequence[str], sensitive: str
    ) -> CriterionResult:
        """Per class r1 / (r_l + ... + r_m): the criterion holds when it is below c in every
        class; a class with fewer than l distinct values can never satisfy it (inf)."""
        counts = class_counts(data, quasi_identifiers, sensitive)
        worst = 0.0
        for _, group in counts.groupby("cls", sort=False)["n"]:
            r = np.sort(group.to_numpy())[::-1]
            if len(r) < self.l:
                worst = math.inf
                break
            worst = max(worst, float(r[0] / r[self.l - 1 :].sum()))
        return CriterionResult(
            self.name,
            {"c": self.c, "l": self.l, "sensitive": sensitive},
            {"highest_ratio": worst if math.isinf(worst) else _round(worst)},
            bool(worst < self.c) and bool(len(counts)),
        )


Distance = Literal["equal", "ordered", "hierarchical"]


@dataclass(frozen=True)
class TCloseness:
    """t-closeness of one sensitive attribute, with the ground distance of its kind.

    ``order``: the attribute's values in order (``ordered``). ``hierarchy``: value -> its
    ancestors from the value's parent up to the root (``hierarchical``; every path the same
    length)."""

    t: float
    distance: Distance = "equal"
    order: tuple[str, ...] = ()
    hierarchy: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    name: str = "t_closeness"

    def evaluate(
        self, data: pd.DataFrame, quasi_identifiers: Sequence[str], sensitive: str
    ) -> CriterionResult:
        counts = class_counts(data, quasi_identifiers, sensitive)
        if counts.empty:
            return CriterionResult(self.name, {"t": self.t}, {"largest_emd": 1.0}, False)
        values = counts["value"].unique().tolist()
        index = {v: i for i, v in enumerate(values)}
        table = np.zeros((int(counts["cls"].max()) + 1, len(values)))
        table[counts["cls"].to_numpy(), counts["value"].map(index).to_numpy()] = counts["n"]
        overall = table.sum(axis=0) / table.sum()
        per_class = table / table.sum(axis=1, keepdims=True)
        largest = float(self.distances(per_class, overall, values).max())
        return CriterionResult(
            self.name,
            {"t": self.t, "distance": self.distance, "sensitive": sensitive},
            {"largest_emd": _round(largest)},
            largest <= self.t + 1e-12,
        )

    def distances(
        self, shares: np.ndarray, overall: np.ndarray, values: Sequence[Any]
    ) -> np.ndarray:
        """EMD of each row of ``shares`` (a class's distribution over ``values``, columns in
        ``values``' order) from ``overall``, with this criterion's ground distance. Used by
        the measurement above and by the search (:class:`anonymization.kanonymity.
        ClassCriteria`), which enforces it."""
        order = self._values(list(values))
        position = {v: i for i, v in enumerate(values)}
        columns = [position.get(v, -1) for v in order]
        present = np.array([c >= 0 for c in columns])
        full_shares = np.zeros((shares.shape[0], len(order)))
        full_overall = np.zeros(len(order))
        take = np.array([c for c in columns if c >= 0], dtype=np.int64)
        full_shares[:, present] = shares[:, take]
        full_overall[present] = overall[take]
        return self._emd(full_shares - full_overall, order)

    def _values(self, present: list[Any]) -> list[Any]:
        if self.distance == "ordered":
            unknown = set(present) - set(self.order)
            if unknown:
                raise ValueError(f"values outside the declared order: {sorted(map(str, unknown))}")
            return list(self.order)
        if self.distance == "hierarchical":
            unknown = set(present) - set(self.hierarchy)
            if unknown:
                raise ValueError(f"values outside the hierarchy: {sorted(map(str, unknown))}")
            return list(self.hierarchy)
        return sorted(present, key=str)

    def _emd(self, diff: np.ndarray, values: list[Any]) -> np.ndarray:
        if self.distance == "equal":
            return 0.5 * np.abs(diff).sum(axis=1)
        if self.distance == "ordered":
            m = len(values)
            return np.abs(np.cumsum(diff, axis=1)).sum(axis=1) / max(m - 1, 1)
        return self._hierarchical_emd(diff, values)

    def _hierarchical_emd(self, diff: np.ndarray, values: list[Any]) -> np.ndarray:
        """Li et al.'s hierarchical distance: over every inner node N, height(N) / H times
        min(positive extra, negative extra) of N's children, extra being the class's surplus
        (class share minus overall share) below that child."""
        heights = {len(path) for path in self.hierarchy.values()}
        if len(heights) != 1:
            raise ValueError("every value's path to the root must have the same length")
        height = heights.pop()
        total = np.zeros(diff.shape[0])
        # extra per node of the level below, starting with the leaves (the values themselves).
        below: dict[Any, np.ndarray] = {v: diff[:, i] for i, v in enumerate(values)}
        for level in range(height):
            children: dict[Any, list[Any]] = {}
            for value in values:
                path = (value, *self.hierarchy[value])
                children.setdefault(path[level + 1], [])
                if path[level] not in children[path[level + 1]]:
                    children[path[level + 1]].append(path[level])
            above: dict[Any, np.ndarray] = {}
            for node, kids in children.items():
                extras = np.stack([below[kid] for kid in kids])
                positive = np.where(extras > 0, extras, 0).sum(axis=0)
                negative = np.where(extras < 0, -extras, 0).sum(axis=0)
                total += (level + 1) / height * np.minimum(positive, negative)
                above[node] = extras.sum(axis=0)
            below = above
        return total


@dataclass(frozen=True)
class ProsecutorRisk:
    """Re-identification risk when the attacker knows the person is in the release: 1 / the
    size of their class. Holds when the highest risk is at most ``max_risk`` and the average
    at most ``average_risk``; ``threshold`` counts the records above it."""

    max_risk: float = 1.0
    average_risk: float = 1.0
    threshold: float = 0.2
    name: str = "prosecutor_risk"

    def evaluate(
        self, data: pd.DataFrame, quasi_identifiers: Sequence[str], sensitive: str
    ) -> CriterionResult:
        sizes = data.groupby(list(quasi_identifiers), dropna=False).size()
        if sizes.empty:
            return CriterionResult(self.name, asdict(self), {}, False)
        n = int(sizes.sum())
        highest = 1.0 / float(sizes.min())
        average = len(sizes) / n  # mean of 1/f over records = classes / records
        above = int(sizes[1.0 / sizes > self.threshold].sum())
        return CriterionResult(
            self.name,
            {
                "max_risk": self.max_risk,
                "average_risk": self.average_risk,
                "threshold": self.threshold,
            },
            {
                "highest": _round(highest),
                "average": _round(average),
                "marketer": _round(average),
                "records_above_threshold": above,
                "share_above_threshold": _round(above / n),
            },
            highest <= self.max_risk + 1e-12 and average <= self.average_risk + 1e-12,
        )


def evaluate_criteria(
    data: pd.DataFrame,
    quasi_identifiers: Sequence[str],
    sensitive: str,
    criteria: Sequence[Criterion],
) -> list[CriterionResult]:
    return [c.evaluate(data, quasi_identifiers, sensitive) for c in criteria]
