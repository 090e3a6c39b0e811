"""k-anonymity + distinct l-diversity by full-domain generalisation and suppression.

What it guarantees
------------------
In the released table every combination of quasi-identifier values (an
equivalence class) occurs at least ``k`` times and carries at least ``l``
distinct values of the sensitive attribute. Records in classes that would
violate this are removed (record suppression), at most ``max_suppression`` of
the input. k stops "this row is the only 7-year-old girl in Kab. X"; l stops
"all children in that class share the same (sensitive) case type".

How the node is chosen
----------------------
Full-domain generalisation: one level per quasi-identifier for the whole
column. The lattice of all level combinations is searched bottom-up; a node
that satisfies the constraints (after suppression within the limit) makes all
its more general nodes satisfying too (monotonicity; requires nested
hierarchies, which is verified on the data), so those are not evaluated for
satisfaction. Among satisfying nodes the one with the least information loss
is returned, exactly (not just among minimal nodes): the loss of any node is
bounded below by its generalisation loss over *all* records, so satisfying
nodes are visited in order of that bound until it exceeds the best loss found.

Information loss metric: LM, Iyengar's Loss Metric, in [0, 1]. Per record and
quasi-identifier, a value generalised to a group covering ``m`` of the ``M``
distinct original values costs ``(m - 1) / (M - 1)`` ("*" costs 1); a
suppressed record costs 1 for every quasi-identifier. LM is the mean cost.

Further criteria (:class:`ClassCriteria`): distinct l-diversity does not bound
skewed distributions, so the search can also require, of every released class,
entropy l-diversity, recursive (c,l)-diversity and t-closeness (equal distance,
against the input's distribution). Each is monotone under generalisation
(entropy is concave, the distance convex, in the mixture of merged classes), so
the pruning stays sound; the tests compare the chosen node with an exhaustive
search. k-anonymity does not protect against attackers with knowledge of
non-quasi-identifier columns. Columns that are not quasi-identifiers or the
sensitive attribute are passed through unchanged: drop direct identifiers first.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from anonymization.hierarchies import SUPPRESSED, Hierarchy
from anonymization.privacy_models import Distance, TCloseness

__all__ = [
    "LOSS_METRIC",
    "AnonymizationError",
    "ClassCriteria",
    "PrivacyReport",
    "anonymize",
    "classes_meet",
    "lowest_level_per_qi",
]

LOSS_METRIC = "loss_metric"
_KEY_LIMIT = 2**62
_INT32_LIMIT = 2**31
#: Up to this many cells a node's (class x sensitive value) counts are one dense bincount.
_DENSE_CELLS = 1 << 23

Node = tuple[int, ...]


class AnonymizationError(Exception):
    """No generalisation satisfies k/l within the suppression limit (or bad input)."""


@dataclass(frozen=True)
class PrivacyReport:
    """What was released and what it provably satisfies (JSON via :meth:`to_dict`)."""

    quasi_identifiers: list[str]
    sensitive_attribute: str
    k_required: int
    k: int
    l_required: int
    l: int  # noqa: E741 - the standard name of the l-diversity parameter
    generalization: dict[str, str]
    input_rows: int
    released_rows: int
    suppressed_rows: int
    suppression_limit: float
    information_loss: dict[str, Any] = field(default_factory=dict)
    equivalence_classes: int = 0
    lattice_nodes_evaluated: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Qi:
    """One quasi-identifier precomputed at every level (integer codes per record)."""

    name: str
    hierarchy: Hierarchy
    codes: list[np.ndarray]
    labels: list[np.ndarray]
    #: Per level, the LM cost of each code (what each record of it costs).
    code_loss: list[np.ndarray]
    mean_loss: list[float]

    @property
    def height(self) -> int:
        return len(self.codes)


@dataclass
class _Evaluation:
    node: Node
    satisfied: bool
    released: np.ndarray  # bool mask of records kept (empty when not satisfied)
    class_ok: np.ndarray
    sizes: np.ndarray
    distinct: np.ndarray
    suppressed: int
    loss: float = 1.0


def _prepare_qi(name: str, hierarchy: Hierarchy, column: pd.Series) -> _Qi:
    """Codes, labels and per-record loss of one quasi-identifier at every level.

    A hierarchy maps each value on its own, so it is applied to the column's distinct values
    (a few hundred) and the records take their codes by lookup: generalising a million strings
    per level cost more than the whole lattice search. Codes number the values in the order of
    their first record, as factorising the generalised column would."""
    raw_codes, raw_uniques = pd.factorize(column, use_na_sentinel=False)
    distinct = pd.Series(raw_uniques, dtype=column.dtype if len(raw_uniques) else object)
    per_unique: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    for level in range(hierarchy.height):
        level_codes, uniques = pd.factorize(hierarchy.generalize(distinct, level))
        per_unique.append(level_codes.astype(np.int64))
        labels.append(np.asarray(uniques, dtype=object))
    top = labels[-1]
    if len(column) and (len(top) != 1 or top[0] != SUPPRESSED):
        raise ValueError(f"hierarchy {hierarchy.name!r} for {name!r}: last level must be '*'")
    n_base = len(labels[0])
    codes: list[np.ndarray] = []
    code_loss: list[np.ndarray] = []
    mean_loss: list[float] = []
    for level in range(hierarchy.height):
        if level + 1 < hierarchy.height:
            _check_nesting(name, per_unique[level], per_unique[level + 1], len(labels[level]))
        # distinct original values covered by each generalised value
        pairs = pd.unique(per_unique[level] * n_base + per_unique[0])
        covered = np.bincount(pairs // n_base, minlength=len(labels[level]))
        cost = (covered - 1) / max(n_base - 1, 1)
        codes.append(per_unique[level][raw_codes])
        code_loss.append(cost)
        mean_loss.append(float(cost[codes[level]].mean()) if len(column) else 0.0)
    return _Qi(name, hierarchy, codes, labels, code_loss, mean_loss)


#: The precomputed columns of one quasi-identifier, shared with local recoding.
QuasiIdentifier = _Qi
prepare_quasi_identifier = _prepare_qi


def _check_nesting(name: str, lower: np.ndarray, upper: np.ndarray, n_lower: int) -> None:
    if len(lower) == 0:
        return
    pairs = pd.unique(lower * (int(upper.max()) + 1) + upper)
    if len(pairs) != n_lower:
        raise ValueError(
            f"hierarchy for {name!r} is not nested: a value at one level maps to several "
            "values one level up, so monotonic lattice pruning would be unsound"
        )


def _class_key(
    codes: Sequence[Sequence[np.ndarray]], cards: Sequence[int], node: Node
) -> tuple[np.ndarray, int]:
    """Each record's class for ``node`` as a mixed-radix number of its codes, and how many
    numbers there can be. In 32 bits where they fit (half the memory traffic of a million
    records), renumbered densely (factorised) only where the product of the levels'
    cardinalities would outgrow 64 bits: a factorisation costs as much as the rest of a node."""
    active = [(c[lv], card) for c, lv, card in zip(codes, node, cards, strict=True) if card > 1]
    n = len(codes[0][0])
    total = math.prod(card for _, card in active)
    dtype: type[np.signedinteger[Any]] = np.int32 if total < _INT32_LIMIT else np.int64
    key: np.ndarray = np.zeros(n, dtype=dtype)
    radix = 1
    for column, card in active:
        if radix * card >= _KEY_LIMIT:
            key = pd.factorize(key)[0].astype(np.int64)
            radix = int(key.max()) + 1
        np.add(key, column.astype(dtype, copy=False) * radix, out=key)
        radix *= card
    return key, radix


@dataclass(frozen=True)
class ClassCriteria:
    """Criteria on each class's distribution of the sensitive value, beyond distinct l, that
    the search enforces together with k and l (each monotone under generalisation, so the
    lattice pruning stays sound): entropy l-diversity, recursive (c,l)-diversity, and
    t-closeness with the equal ground distance against the input's distribution. Definitions
    and references: :mod:`anonymization.privacy_models` (which measures them independently)."""

    entropy_l: float | None = None
    recursive_c: float | None = None
    recursive_l: int | None = None
    t: float | None = None
    #: The ground distance of t-closeness: "equal" (categorical), "ordered" (``t_order``: the
    #: values in order) or "hierarchical" (``t_hierarchy``: value -> its ancestors up to the
    #: root). EMD is convex in the class's distribution under any ground distance, so a merged
    #: class is never farther than its worst part and the pruning stays sound.
    t_distance: Distance = "equal"
    t_order: tuple[str, ...] = ()
    t_hierarchy: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.recursive_c is None) != (self.recursive_l is None):
            raise ValueError("recursive (c,l)-diversity needs both c and l")
        if self.entropy_l is not None and self.entropy_l < 1:
            raise ValueError("entropy l must be >= 1")
        if self.t is not None and not 0 <= self.t <= 1:
            raise ValueError("t must be in [0, 1]")
        if self.t_distance == "ordered" and not self.t_order:
            raise ValueError("ordered t-closeness needs the values' order (t_order)")
        if self.t_distance == "hierarchical" and not self.t_hierarchy:
            raise ValueError("hierarchical t-closeness needs the values' hierarchy (t_hierarchy)")

    @property
    def closeness(self) -> TCloseness | None:
        if self.t is None:
            return None
        return TCloseness(self.t, self.t_distance, self.t_order, self.t_hierarchy)

    @property
    def any(self) -> bool:
        return self.entropy_l is not None or self.recursive_c is not None or self.t is not None

    def class_ok(self, table: np.ndarray, overall: np.ndarray, values: Sequence[Any]) -> np.ndarray:
        """Which classes (rows of ``table``: counts per sensitive value, columns in ``values``'
        order) meet every criterion."""
        sizes = table.sum(axis=1, keepdims=True)
        shares = table / np.maximum(sizes, 1)
        ok = np.ones(len(table), dtype=bool)
        if self.entropy_l is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                entropy = -np.where(shares > 0, shares * np.log(shares), 0.0).sum(axis=1)
            ok &= entropy >= np.log(self.entropy_l) - 1e-12
        if self.recursive_c is not None and self.recursive_l is not None:
            ordered = -np.sort(-table, axis=1)
            lv = self.recursive_l
            if ordered.shape[1] < lv:
                ok &= False
            else:
                tail = ordered[:, lv - 1 :].sum(axis=1)
                ok &= (tail > 0) & (ordered[:, 0] < self.recursive_c * tail)
        closeness = self.closeness
        if closeness is not None:
            ok &= closeness.distances(shares, overall, values) <= closeness.t + 1e-12
        return ok


def classes_meet(
    table: np.ndarray,
    k: int,
    l: int,  # noqa: E741 - the standard name of the l-diversity parameter
    criteria: ClassCriteria | None,
    overall: np.ndarray,
    values: Sequence[Any],
) -> np.ndarray:
    """Which classes (rows of ``table``: counts per sensitive value, columns in ``values``'
    order) meet k, distinct l and ``criteria`` (t-closeness against ``overall``). The one test
    of a class that local recoding, microaggregation and the release's intersection guard
    apply; the lattice search computes sizes and distinct values its own faster way."""
    ok = (table.sum(axis=1) >= k) & ((table > 0).sum(axis=1) >= l)
    if criteria is not None and criteria.any and len(table):
        ok &= criteria.class_ok(table, overall, values)
    return np.asarray(ok, dtype=bool)


class _Search:
    """Holds the precomputed columns and evaluates lattice nodes."""

    def __init__(
        self,
        qis: list[_Qi],
        sensitive: np.ndarray,
        values: Sequence[Any],
        k: int,
        l_req: int,
        criteria: ClassCriteria | None = None,
    ) -> None:
        self.qis = qis
        self.sensitive = sensitive
        self.values = list(values)
        self.n_sensitive = max(len(self.values), 1)
        self.k = k
        self.l_req = l_req
        self.n = len(sensitive)
        self.evaluated = 0
        self.criteria = criteria if criteria is not None and criteria.any else None
        #: Per quasi-identifier and level the codes in 32 bits (the class key's arithmetic).
        self.codes = [[c.astype(np.int32) for c in qi.codes] for qi in qis]
        #: LM in whole units per record and level ((covered - 1), of ``scale`` per value), and
        #: each level's total over all records: a node's loss is its level's total less the
        #: units of the few records it suppresses, exact in integers, in no gather of the
        #: million released ones.
        self.scale = [max(len(qi.labels[0]) - 1, 1) for qi in qis]
        self.units = [
            [np.rint(loss * scale).astype(np.int64) for loss in qi.code_loss]
            for qi, scale in zip(qis, self.scale, strict=True)
        ]
        self.unit_totals = [
            [
                int((units * np.bincount(codes, minlength=len(units))).sum())
                for units, codes in zip(per_level, qi.codes, strict=True)
            ]
            for qi, per_level in zip(qis, self.units, strict=True)
        ]
        self.overall = np.bincount(sensitive, minlength=self.n_sensitive) / max(self.n, 1)

    def lower_bound(self, node: Node) -> float:
        """LM of the node if nothing were suppressed: a lower bound of its LM."""
        return float(np.mean([qi.mean_loss[lv] for qi, lv in zip(self.qis, node, strict=True)]))

    def evaluate(self, node: Node, max_suppressed: int) -> _Evaluation:
        """Sizes, distinct sensitive values and the further criteria of every class of
        ``node``; the records kept and the loss only when the node satisfies. Classes are
        counted by one bincount over (class, sensitive value) cells when the cells are few
        enough (no hashing of a million keys), else after numbering the classes densely."""
        self.evaluated += 1
        cards = [len(qi.labels[lv]) for qi, lv in zip(self.qis, node, strict=True)]
        key, radix = _class_key(self.codes, cards, node)
        n_s = self.n_sensitive
        # A dense table no larger than a few cells per record: beyond, its reductions cost
        # more than hashing the keys.
        dense = min(_DENSE_CELLS, 4 * self.n + 4096)
        if radix * n_s <= dense:
            ids, m = key, radix
        else:
            factorized, uniques = pd.factorize(key)
            ids, m = factorized, len(uniques)
        if m * n_s <= dense:
            cell = ids * n_s + self.sensitive
            table = np.bincount(cell, minlength=m * n_s).reshape(m, n_s)
            sizes = np.bincount(ids, minlength=m)
            distinct = _nonzero_per_row(table)
        else:
            table = None
            sizes = np.bincount(ids, minlength=m)
            pairs = pd.unique(ids.astype(np.int64) * n_s + self.sensitive)
            distinct = np.bincount(pairs // n_s, minlength=m)
        class_ok = (sizes >= self.k) & (distinct >= self.l_req)
        if self.criteria is not None and class_ok.any():
            candidates = np.flatnonzero(class_ok)
            if table is None:
                table = np.bincount(
                    ids.astype(np.int64) * n_s + self.sensitive, minlength=m * n_s
                ).reshape(m, n_s)
            class_ok[candidates] = self.criteria.class_ok(
                table[candidates], self.overall, self.values
            )
        suppressed = int(sizes[~class_ok].sum())
        satisfied = suppressed <= max_suppressed
        released = class_ok[ids] if satisfied else np.zeros(0, dtype=bool)
        ev = _Evaluation(node, satisfied, released, class_ok, sizes, distinct, suppressed)
        if satisfied:
            ev.loss = self.loss(node, np.flatnonzero(~released))
        return ev

    def loss(self, node: Node, suppressed: np.ndarray) -> float:
        """LM of ``node`` with the records ``suppressed`` (their indices) removed."""
        if self.n == 0:
            return 0.0
        total = 0.0
        for qi, units, totals, scale, level in zip(
            self.qis, self.units, self.unit_totals, self.scale, node, strict=True
        ):
            kept = totals[level] - int(units[level][qi.codes[level][suppressed]].sum())
            total += kept / scale
        total += float(len(suppressed)) * len(self.qis)
        return total / (self.n * len(self.qis))


def _nonzero_per_row(table: np.ndarray) -> np.ndarray:
    """How many cells of each row are non-zero: eight 0/1 bytes read as one 64-bit word and
    multiplied by 0x0101...01 carry their sum into the top byte (a row-wise count_nonzero or
    a flatnonzero of a few million cells took a fifth of the search)."""
    m, width = table.shape
    padded = -(-width // 8) * 8
    present = np.zeros((m, padded), dtype=np.uint8)
    present[:, :width] = table > 0
    words = present.view(np.uint64)
    counts = (words * np.uint64(0x0101010101010101)) >> np.uint64(56)
    return (
        counts.sum(axis=1, dtype=np.int64) if counts.shape[1] > 1 else counts[:, 0].astype(np.int64)
    )


def _predecessors(node: Node) -> list[Node]:
    return [(*node[:i], lv - 1, *node[i + 1 :]) for i, lv in enumerate(node) if lv > 0]


def lowest_level_per_qi(
    quasi_identifiers: Mapping[str, Hierarchy], lowest_levels: Mapping[str, int] | None
) -> tuple[int, ...]:
    """The lowest level allowed per quasi-identifier, in order (0 where none is declared)."""
    lowest = dict(lowest_levels or {})
    unknown = set(lowest) - set(quasi_identifiers)
    if unknown:
        raise ValueError(f"lowest levels for columns that are not quasi-identifiers: {unknown}")
    for name, level in lowest.items():
        if not 0 <= level < quasi_identifiers[name].height:
            raise ValueError(f"lowest level {level} of {name!r} is not a level of its hierarchy")
    return tuple(lowest.get(name, 0) for name in quasi_identifiers)


def _validate(
    df: pd.DataFrame,
    quasi_identifiers: Mapping[str, Hierarchy],
    sensitive: str,
    k: int,
    l_req: int,
    max_suppression: float,
) -> None:
    if not quasi_identifiers:
        raise ValueError("at least one quasi-identifier is required")
    missing = [c for c in [*quasi_identifiers, sensitive] if c not in df.columns]
    if missing:
        raise ValueError(f"columns not in data: {missing}")
    if sensitive in quasi_identifiers:
        raise ValueError("the sensitive attribute cannot also be a quasi-identifier")
    if k < 1 or l_req < 1:
        raise ValueError("k and l must be >= 1")
    if not 0.0 <= max_suppression < 1.0:
        raise ValueError("max_suppression must be in [0, 1)")
    if len(df) == 0:
        raise AnonymizationError("no input rows: nothing to anonymise")


def anonymize(
    df: pd.DataFrame,
    quasi_identifiers: Mapping[str, Hierarchy],
    sensitive: str,
    k: int,
    l: int,  # noqa: E741 - the standard name of the l-diversity parameter
    max_suppression: float,
    criteria: ClassCriteria | None = None,
    lowest_levels: Mapping[str, int] | None = None,
    at_levels: Mapping[str, int] | None = None,
) -> tuple[pd.DataFrame, PrivacyReport]:
    """Generalise + suppress ``df`` to k-anonymity and distinct l-diversity.

    Returns the released rows (suppressed records removed, original index kept,
    quasi-identifiers as strings with "*" for fully generalised values) and a
    :class:`PrivacyReport`. Raises :class:`AnonymizationError` if no node of the
    lattice satisfies k and l with at most ``max_suppression`` suppressed rows.
    ``criteria``: further per-class criteria (entropy / recursive l-diversity, t-closeness)
    every released class must meet as well. ``lowest_levels``: per quasi-identifier the most
    detailed level a release may show (a public-use file shows no geography below province);
    the loss is still measured against the original values. ``at_levels``: no search, the
    one node given (every quasi-identifier's level): how a release keeps the scheme of an
    earlier release of its tier, so the two cannot be intersected.
    """
    _validate(df, quasi_identifiers, sensitive, k, l, max_suppression)
    n = len(df)
    qis = [_prepare_qi(name, h, df[name]) for name, h in quasi_identifiers.items()]
    lowest = lowest_level_per_qi(quasi_identifiers, lowest_levels)
    sens_codes, sens_uniques = pd.factorize(df[sensitive], use_na_sentinel=False)
    search = _Search(qis, sens_codes.astype(np.int64), list(sens_uniques), k, l, criteria)
    max_suppressed = int(np.floor(max_suppression * n + 1e-9))

    if at_levels is not None:
        node = tuple(at_levels[name] for name in quasi_identifiers)
        fixed = search.evaluate(node, max_suppressed)
        if not fixed.satisfied:
            raise AnonymizationError(
                f"the node {dict(at_levels)} does not satisfy k={k}, l={l}"
                f"{_describe(criteria)} with at most {max_suppression:.1%} suppressed rows"
            )
        return _release(df, qis, fixed), _report(
            qis, sensitive, k, l, max_suppression, n, fixed, search.evaluated
        )
    nodes = sorted(
        itertools.product(*(range(lo, qi.height) for lo, qi in zip(lowest, qis, strict=True))),
        key=lambda x: sum(x),
    )
    satisfied: set[Node] = set()
    implied: list[Node] = []

    def rank(ev: _Evaluation) -> tuple[float, int, Node]:
        return (round(ev.loss, 12), sum(ev.node), ev.node)

    # Only the best evaluation so far is kept: each holds a mask of every record.
    best: _Evaluation | None = None
    for node in nodes:
        if any(p in satisfied for p in _predecessors(node)):
            satisfied.add(node)  # monotonicity: no need to test, only maybe to score
            implied.append(node)
            continue
        ev = search.evaluate(node, max_suppressed)
        if ev.satisfied:
            satisfied.add(node)
            if best is None or rank(ev) < rank(best):
                best = ev
    if best is None:
        raise AnonymizationError(
            f"no generalisation satisfies k={k}, l={l}{_describe(criteria)} with at most {max_suppression:.1%} "
            f"suppressed rows ({max_suppressed} of {n}); the fully generalised table fails "
            "(too few rows or too few distinct sensitive values)"
        )
    for node in sorted(implied, key=search.lower_bound):
        if search.lower_bound(node) >= best.loss:
            break
        ev = search.evaluate(node, max_suppressed)
        if ev.satisfied and rank(ev) < rank(best):
            best = ev

    return _release(df, qis, best), _report(
        qis, sensitive, k, l, max_suppression, n, best, search.evaluated
    )


def _describe(criteria: ClassCriteria | None) -> str:
    if criteria is None or not criteria.any:
        return ""
    parts = []
    if criteria.entropy_l is not None:
        parts.append(f"entropy l={criteria.entropy_l}")
    if criteria.recursive_c is not None:
        parts.append(f"recursive (c={criteria.recursive_c}, l={criteria.recursive_l})")
    if criteria.t is not None:
        distance = "" if criteria.t_distance == "equal" else f" ({criteria.t_distance})"
        parts.append(f"t={criteria.t}{distance}")
    return ", " + ", ".join(parts)


def _release(df: pd.DataFrame, qis: list[_Qi], best: _Evaluation) -> pd.DataFrame:
    out = df.loc[best.released].copy()
    for qi, level in zip(qis, best.node, strict=True):
        out[qi.name] = pd.Series(
            qi.labels[level][qi.codes[level][best.released]], index=out.index, dtype=object
        )
    return out


def _report(
    qis: list[_Qi],
    sensitive: str,
    k: int,
    l_req: int,
    max_suppression: float,
    n: int,
    best: _Evaluation,
    evaluated: int,
) -> PrivacyReport:
    ok = best.class_ok
    released_rows = int(best.released.sum())
    return PrivacyReport(
        quasi_identifiers=[qi.name for qi in qis],
        sensitive_attribute=sensitive,
        k_required=k,
        k=int(best.sizes[ok].min()) if ok.any() else 0,
        l_required=l_req,
        l=int(best.distinct[ok].min()) if ok.any() else 0,
        generalization={
            qi.name: qi.hierarchy.level_name(level)
            for qi, level in zip(qis, best.node, strict=True)
        },
        input_rows=n,
        released_rows=released_rows,
        suppressed_rows=n - released_rows,
        suppression_limit=float(max_suppression),
        information_loss={"metric": LOSS_METRIC, "value": round(best.loss, 6)},
        equivalence_classes=int(ok.sum()),
        lattice_nodes_evaluated=evaluated,
    )
