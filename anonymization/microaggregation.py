"""Microaggregation (MDAV) of numeric quasi-identifiers, for k-anonymity next to categorical ones.

Why
---
Generalisation along a hierarchy cuts a numeric quasi-identifier at fixed points: an age becomes
"05-09" for every child whose record needs coarsening, however many 7-year-olds there are.
Microaggregation groups records by their values instead: children whose ages (and admission
years) are close form a group of at least ``k``, and the group's values are released as the
range it covers. Dense parts of the data keep exact values; sparse parts get wider ranges.

What is released
----------------
Each numeric value is replaced by its group's range ``"min-max"`` (a single value when every
record of the group has the same one): a truthful interval, as ARX's interval aggregation
releases, never the group mean (a mean age of 9.4 is an age no child has). Intervals of two
groups of one categorical class may overlap; each record shows its own group's range, so every
released interval contains the record's original value.

How
---
1. The categorical quasi-identifiers are generalised full-domain, as by
   :func:`anonymization.kanonymity.anonymize`: one level of its hierarchy per column for the
   whole table; classes failing k, distinct l or the further
   :class:`~anonymization.kanonymity.ClassCriteria` are suppressed, at most ``max_suppression``
   of the records. Each node of this (small) lattice that stays within the limit is a candidate.
2. Within each categorical class, MDAV (Maximum Distance to Average Vector; Domingo-Ferrer &
   Mateo-Sanz 2002, "Practical data-oriented microaggregation for statistical disclosure
   control", IEEE TKDE 14(1); in the form of Domingo-Ferrer & Torra 2005, "Ordinal, continuous
   and heterogeneous k-anonymity through microaggregation", DMKD 11(2), which links it to
   k-anonymity) groups the records on the numeric quasi-identifiers: while at least 3k records
   remain, take the record farthest from the remaining records' mean and its k-1 nearest, then
   the record farthest from that one and its k-1 nearest; with 2k..3k-1 left, one group around
   the record farthest from the mean and the rest as another; fewer than 2k form one group.
   Every group has between k and 2k-1 records.
3. Groups whose sensitive values fail distinct l-diversity (or the further criteria) are merged
   into the group with the nearest mean in the same categorical class, the first failing group
   first, until all hold. The whole class meets them (step 1), so this always ends, and nothing
   beyond step 1 is suppressed.
4. The candidate with the lowest LM (below) is released. Candidates are tried in order of a lower
   bound, their LM as if no numeric value lost anything (categorical and suppression loss only),
   until the bound reaches the best LM found: the result is the best node of the lattice given
   MDAV's groups. It is not the categorical columns' own optimum: finer categories make smaller
   classes and wider numeric ranges (on 10,000 skewed synthetic children the categorical optimum,
   provinces, loses 0.106; island groups 0.074).

Distances are measured on each numeric column's dense rank scaled to [0, 1] (value ``v`` at
position ``r`` among the column's ``M`` distinct values becomes ``r / (M - 1)``) rather than on
z-scores: one step along an axis is then one step of the loss metric below, and an outlier does
not squeeze the other values together. For evenly spread integer columns such as ages and years
the two differ only by a factor per column; on the synthetic release data (10,000 and 100,000
children, integer or continuous ages and years) the LM of the two differs by 0.0001 at most.

Efficient exact MDAV
--------------------
Textbook MDAV costs O(n^2 / k) distance evaluations per class. Numeric quasi-identifiers in this
platform are integers with few distinct values (ages 0-17, admission years), so MDAV here works on
the class's *distinct points with their counts*: "the farthest record" is the farthest point
still holding records, "its k-1 nearest" are taken point by point in order of distance (all of
the centre's own duplicates first), taking part of the last point's count. This is MDAV exactly,
with ties broken by the points' lexicographic order (distances equal up to rounding noise are
ties); a step costs O(points), not O(records), and a centre holding k records is its own cluster
without sorting anything. The classes run in lockstep, as rows of one padded array (classes of
similar numbers of points together), so the Python loop turns once per MDAV step of the
largest class, not once per cluster; points that ran out are dropped as the rows thin out.
One numeric column uses the sorted form: MDAV on a line takes k records from each end per
iteration (the farthest record from the mean is an end, the farthest from it the other end, the
nearest ones the next in order), and only the last step looks at the mean; O(n log n) in all.
With two or more columns and more than :data:`MAX_POINTS` distinct points in a class
(continuous data), the class's points are first cut into blocks of at most that many along the
first principal axis and MDAV runs per block: the partition-then-microaggregate approach that
Solé, Muntés-Mulero & Nin 2012 ("Efficient microaggregation techniques for large numerical data
volumes", IJIS 11(4)) describe as the usual way to scale MDAV, at some cost in quality (on
100,000 synthetic children with continuous ages and admission dates, LM 0.0349 with blocks of
512 points against 0.0347 with 2048).

Which records of one point (equal numeric values, equal categorical class) go to which group is
free: MDAV does not see it, and the records are indistinguishable on the quasi-identifiers. They
are dealt so each sensitive value is spread evenly over the point's records, which makes groups
of duplicates l-diverse where the point allows and keeps merges rare.

Information loss
----------------
Iyengar's LM, as the full-domain search and local recoding report it, so the release step can
compare the three: per record and quasi-identifier, a categorical value costs what the
full-domain search charges for its level; a numeric interval ``[a, b]`` covering ``m`` of the
column's ``M`` distinct values costs ``(m - 1) / (M - 1)`` (LM's cost of a group of m values);
a suppressed record costs 1 per quasi-identifier. LM is the mean cost.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from anonymization.hierarchies import Hierarchy
from anonymization.kanonymity import (
    LOSS_METRIC,
    AnonymizationError,
    ClassCriteria,
    PrivacyReport,
    QuasiIdentifier,
    classes_meet,
    lowest_level_per_qi,
    prepare_quasi_identifier,
)

__all__ = ["MAX_POINTS", "MDAV_GENERALIZATION", "mdav", "microaggregate"]

#: How a microaggregated column is described in the report's ``generalization``.
MDAV_GENERALIZATION = "microaggregated interval (MDAV)"
#: Distinct points of one class (two or more numeric columns) above which MDAV runs in blocks.
MAX_POINTS = 512

_KEY_LIMIT = 2**62
# Distances (of values in [0, 1]) that differ by rounding only are ties, broken by the points'
# order.
_DECIMALS = 12
_TIE = 10.0**-_DECIMALS
# A clustering of weighted points: (cluster, point, count) triples, clusters numbered from 0.
_Triples = tuple[np.ndarray, np.ndarray, np.ndarray]


# --- MDAV --------------------------------------------------------------------------------------


def mdav(points: ArrayLike, k: int) -> np.ndarray:
    """MDAV groups of ``points`` (one row per record; a 1-D array is one column): a group number
    per record, groups of k to 2k-1 records. Distances are Euclidean on the values as given (no
    scaling); ties are broken by the points' lexicographic order."""
    data = np.asarray(points, dtype=np.float64)
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2:
        raise ValueError("points must be one row per record")
    if k < 1:
        raise ValueError("k must be >= 1")
    n = len(data)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if n < k:
        raise ValueError(f"MDAV needs at least k={k} records, got {n}")
    if not np.isfinite(data).all():
        raise ValueError("points must be finite (no NaN or infinity)")
    # One translation and one scale for all columns change no comparison of distances, and
    # bring the values to [0, 1], where the tolerance for rounding noise is meant to work.
    span = float(data.max() - data.min())
    data = (data - data.min()) / (span if span > 0 else 1.0)
    unique, inverse, counts = np.unique(data, axis=0, return_inverse=True, return_counts=True)
    bounds = np.array([0, len(unique)])
    cluster, point, count = _mdav_units(unique, counts.astype(np.int64), bounds, k)
    return _record_labels(inverse.reshape(-1), cluster, point, count)


def _record_labels(
    point_of_record: np.ndarray, cluster: np.ndarray, point: np.ndarray, count: np.ndarray
) -> np.ndarray:
    """A cluster per record: the records of each point, in their order, filled into the point's
    clusters in cluster order."""
    by_point = np.argsort(point_of_record, kind="stable")
    order = np.lexsort((cluster, point))
    labels = np.empty(len(point_of_record), dtype=np.int64)
    labels[by_point] = np.repeat(cluster[order], count[order])
    return labels


def _mdav_units(values: np.ndarray, counts: np.ndarray, bounds: np.ndarray, k: int) -> _Triples:
    """MDAV on each unit of weighted points: unit ``u`` holds the points ``bounds[u]`` to
    ``bounds[u + 1]`` of ``values`` (sorted lexicographically within the unit) with ``counts``
    records each. Returns (cluster, point, count) triples, the clusters numbered over all units,
    each unit's consecutively and the units in order."""
    members: list[np.ndarray] = []  # each unit's (or block's) point indices, ascending
    for start, stop in itertools.pairwise(bounds):
        if values.shape[1] > 1 and stop - start > MAX_POINTS:
            members.extend(start + b for b in _blocks(values[start:stop], counts[start:stop], k))
        else:
            members.append(np.arange(start, stop))
    sizes = np.array([len(m) for m in members], dtype=np.int64)
    unit_of = np.repeat(np.arange(len(members)), sizes)
    position = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    point_of = np.concatenate(members) if members else np.zeros(0, dtype=np.int64)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    if values.shape[1] == 1:
        for u, member in enumerate(members):
            cluster, point, count = _mdav_line(values[member, 0], counts[member], k)
            parts.append((np.full(len(cluster), u), member[point], count, cluster))
    else:
        # Units of similar size run together, padded to the largest (at most twice the others).
        bucket = np.ceil(np.log2(np.maximum(sizes, 1))).astype(np.int64)
        for b in np.unique(bucket):
            units = np.flatnonzero(bucket == b)
            row_of = np.full(len(members), -1)
            row_of[units] = np.arange(len(units))
            slots = np.flatnonzero(bucket[unit_of] == b)
            width = int(sizes[units].max())
            coords = np.zeros((len(units), width, values.shape[1]))
            held = np.zeros((len(units), width), dtype=np.int64)
            rows, cols = row_of[unit_of[slots]], position[slots]
            coords[rows, cols] = values[point_of[slots]]
            held[rows, cols] = counts[point_of[slots]]
            row, col, count, cluster = _mdav_batch(coords, held, k)
            slot = np.cumsum(sizes)[units[row]] - sizes[units[row]] + col
            parts.append((units[row], point_of[slot], count, cluster))
    unit = np.concatenate([p[0] for p in parts])
    point = np.concatenate([p[1] for p in parts])
    count = np.concatenate([p[2] for p in parts])
    cluster = np.concatenate([p[3] for p in parts])
    clusters_of_unit = np.zeros(len(members), dtype=np.int64)
    np.maximum.at(clusters_of_unit, unit, cluster + 1)
    offset = np.cumsum(clusters_of_unit) - clusters_of_unit
    return offset[unit] + cluster, point, count


def _blocks(points: np.ndarray, counts: np.ndarray, k: int) -> list[np.ndarray]:
    """Cut the points into consecutive runs along the first principal axis (weighted by the
    counts), at most :data:`MAX_POINTS` points each; a run holding fewer than k records joins the
    previous one. Each run's point indices are returned in ascending order."""
    weights = counts / counts.sum()
    centred = points - weights @ points
    covariance = (centred * weights[:, None]).T @ centred
    _, vectors = np.linalg.eigh(covariance)
    order = np.argsort(centred @ vectors[:, -1], kind="stable")
    runs: list[np.ndarray] = []
    for run in np.array_split(order, -(-len(points) // MAX_POINTS)):
        if runs and counts[run].sum() < k:
            runs[-1] = np.concatenate([runs[-1], run])
        else:
            runs.append(run)
    if len(runs) > 1 and counts[runs[0]].sum() < k:
        runs[1] = np.concatenate([runs[0], runs[1]])
        runs.pop(0)
    return [np.sort(run) for run in runs]


def _mdav_batch(
    coords: np.ndarray, held: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MDAV, exactly (see the module docstring), on many sets of weighted points at once, in
    lockstep: set ``i`` has points ``coords[i]`` (sorted lexicographically) holding ``held[i]``
    records each (0 for padding). Returns (set, point, count, cluster) arrays, clusters numbered
    from 0 within each set in the order MDAV forms them."""
    ids = np.arange(len(held))  # the set each row of the working arrays is
    # The point each column of a row is: points that ran out are dropped from time to time,
    # the others keep their order.
    column = np.broadcast_to(np.arange(held.shape[1]), held.shape)
    held = held.copy()
    left = held.sum(axis=1)
    formed = np.zeros(len(held), dtype=np.int64)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def distances(centre: np.ndarray) -> np.ndarray:
        diff = coords - centre[:, None, :]
        return np.einsum("spd,spd->sp", diff, diff)

    def farthest(d: np.ndarray) -> np.ndarray:
        """Per set, the first of the equally farthest points that still hold records."""
        d = np.where(held > 0, d, -np.inf)
        return np.argmax(d >= d.max(axis=1, keepdims=True) - _TIE, axis=1)

    def take(centre: np.ndarray, need: np.ndarray) -> None:
        """Per set, a cluster of ``need`` records (none when 0): the centre point's, then the
        nearest points' in order of distance (ties in the points' order), the last in part."""
        rows = np.arange(len(held))
        own = held[rows, centre]
        # Where the centre holds enough records itself (duplicates), they are the cluster.
        pure = np.flatnonzero((need > 0) & (own >= need))
        parts.append((ids[pure], column[pure, centre[pure]], need[pure], formed[pure]))
        held[pure, centre[pure]] -= need[pure]
        mixed = np.flatnonzero(need > own)
        if len(mixed):
            near = held[mixed]
            diff = coords[mixed] - coords[mixed, centre[mixed]][:, None, :]
            d = np.einsum("spd,spd->sp", diff, diff).round(_DECIMALS)  # noise is not an order
            d[near == 0] = np.inf
            d[np.arange(len(mixed)), centre[mixed]] = -1.0  # the centre's own records first
            order = _nearest_first(d, int(need[mixed].max()))
            ordered = np.take_along_axis(near, order, axis=1)
            wanted = need[mixed, None]
            amount = np.clip(wanted - (np.cumsum(ordered, axis=1) - ordered), 0, ordered)
            row, col = np.nonzero(amount)
            point, count = order[row, col], amount[row, col]
            parts.append((ids[mixed[row]], column[mixed[row], point], count, formed[mixed[row]]))
            held[mixed[row], point] -= count
        formed[need > 0] += 1
        left[:] -= need

    while len(held):
        # 2k or more records: the record farthest from their mean and its k-1 nearest.
        many = left >= 3 * k
        mean = np.einsum("sp,spd->sd", held, coords) / np.maximum(left, 1)[:, None]
        centre = farthest(distances(mean))
        far = coords[np.arange(len(held)), centre]
        take(centre, np.where(left >= 2 * k, k, 0))
        # Then, with 3k or more at first, the record farthest from that one and its k-1
        # nearest; else (fewer than 2k now) the rest form one cluster.
        take(farthest(distances(far)), np.where(many, k, left))
        if not many.all():  # drop the finished sets
            ids, coords, held, left, formed, column = (
                ids[many], coords[many], held[many], left[many], formed[many], column[many]
            )  # fmt: skip
        alive = held > 0
        width = int(alive.sum(axis=1).max()) if len(held) else 0
        if width <= held.shape[1] // 2:  # drop the points that ran out
            keep = np.argsort(~alive, axis=1, kind="stable")[:, :width]
            coords = np.take_along_axis(coords, keep[:, :, None], axis=1)
            held = np.take_along_axis(held, keep, axis=1)
            column = np.take_along_axis(column, keep, axis=1)
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
        np.concatenate([p[3] for p in parts]),
    )


def _nearest_first(d: np.ndarray, most: int) -> np.ndarray:
    """Per row of distances (infinite for points without records), the first ``most`` column
    indices in order of distance, ties in column order. Enough for a cluster of up to ``most``
    records: these points either all hold records (one or more each) or are all that do."""
    width = d.shape[1]
    if width <= max(4 * most, 64):
        return np.argsort(d, axis=1, kind="stable")[:, :most]
    front = np.argpartition(d, most - 1, axis=1)[:, :most]
    near = np.take_along_axis(d, front, axis=1)
    order = np.take_along_axis(front, np.lexsort((front, near), axis=-1), axis=1)
    # Where other points are as near as the farthest of these, which of them come first is
    # decided by a stable sort of the whole row.
    tied = np.flatnonzero((d <= near.max(axis=1, keepdims=True)).sum(axis=1) > most)
    if len(tied):
        order[tied] = np.argsort(d[tied], axis=1, kind="stable")[:, :most]
    return order


def _mdav_line(values: np.ndarray, counts: np.ndarray, k: int) -> _Triples:
    """MDAV on one column, sorted form: ``values`` ascending and distinct, ``counts`` records
    each. Returns the same groups as the general form (ties go to the lower end there too)."""
    n = int(counts.sum())
    ends = np.concatenate([[0], np.cumsum(counts)])  # record positions where each point starts
    rounds = (n - 3 * k) // (2 * k) + 1 if n >= 3 * k else 0
    lo, hi = rounds * k, n - rounds * k
    cuts = [*range(0, lo + 1, k), *range(hi, n + 1, k)] if rounds else [0, n]
    if hi - lo >= 2 * k:
        weighted = np.concatenate([[0.0], np.cumsum(counts * values)])

        def prefix(pos: int) -> float:  # sum of the values of the first `pos` records
            j = int(np.searchsorted(ends, pos, side="right")) - 1
            return float(weighted[j] + (pos - ends[j]) * (values[j] if j < len(values) else 0.0))

        mean = (prefix(hi) - prefix(lo)) / (hi - lo)
        low = values[np.searchsorted(ends, lo, side="right") - 1]
        high = values[np.searchsorted(ends, hi - 1, side="right") - 1]
        cuts.append(lo + k if (low - mean) ** 2 >= (high - mean) ** 2 - _TIE else hi - k)
    cuts = sorted(set(cuts) | {lo, hi})
    bounds = np.union1d(np.asarray(cuts, dtype=np.int64), ends)
    starts, stops = bounds[:-1], bounds[1:]
    cluster = np.searchsorted(np.asarray(cuts[:-1]), starts, side="right") - 1
    point = np.searchsorted(ends[:-1], starts, side="right") - 1
    return cluster.astype(np.int64), point.astype(np.int64), (stops - starts).astype(np.int64)


# --- the transformation ------------------------------------------------------------------------


@dataclass
class _Node:
    """A node of the categorical lattice that meets the criteria within the suppression limit."""

    levels: tuple[int, ...]
    bound: float  # LM if no numeric value lost anything: a lower bound of the node's LM
    kept: np.ndarray  # records released (the others are in failing classes: suppressed)
    class_of: np.ndarray  # categorical class of each kept record


@dataclass
class _Outcome:
    node: _Node
    cluster: np.ndarray  # final cluster of each kept record
    loss: float


def microaggregate(
    df: pd.DataFrame,
    quasi_identifiers: Mapping[str, Hierarchy],
    numeric: Sequence[str],
    sensitive: str,
    k: int,
    l: int,  # noqa: E741 - the standard name of the l-diversity parameter
    max_suppression: float,
    criteria: ClassCriteria | None = None,
    lowest_levels: Mapping[str, int] | None = None,
) -> tuple[pd.DataFrame, PrivacyReport]:
    """k-anonymity and distinct l-diversity with the ``numeric`` quasi-identifiers
    microaggregated (MDAV) within classes of the others, generalised full-domain.

    ``quasi_identifiers``: the hierarchies of the categorical quasi-identifiers; a numeric one may
    be listed too (its hierarchy is not used) or only in ``numeric``. Returns the released rows
    (suppressed ones removed, original index kept, quasi-identifiers as strings: numeric ones as
    ``"min-max"`` of the record's cluster) and a report in the full-domain search's shape, LM
    included. ``criteria``: further per-class criteria every released class meets as well.
    ``lowest_levels``: per categorical quasi-identifier the most detailed level allowed.
    Raises :class:`AnonymizationError` when no generalisation of the categorical
    quasi-identifiers meets the criteria within ``max_suppression``, ``ValueError`` on bad input
    (k or l below 1, a numeric column that is not numeric or has missing values).
    """
    numeric = list(numeric)
    names = [*quasi_identifiers, *(c for c in numeric if c not in quasi_identifiers)]
    categorical = [c for c in names if c not in numeric]
    _validate(df, names, numeric, sensitive, k, l, max_suppression)
    n = len(df)
    frame = df.reset_index(drop=True)
    codes, uniques = pd.factorize(frame[sensitive], use_na_sentinel=False)
    sensitive_codes = codes.astype(np.int64)
    n_values = max(len(uniques), 1)
    overall = np.bincount(sensitive_codes, minlength=n_values) / n
    values = list(uniques)

    def class_ok(table: np.ndarray) -> np.ndarray:
        return classes_meet(table, k, l, criteria, overall, values)

    qis = [prepare_quasi_identifier(c, quasi_identifiers[c], frame[c]) for c in categorical]
    limit = int(np.floor(max_suppression * n + 1e-9))
    lowest = lowest_level_per_qi(
        {c: quasi_identifiers[c] for c in categorical},
        {c: lv for c, lv in (lowest_levels or {}).items() if c in categorical},
    )
    nodes = _nodes(qis, sensitive_codes, n_values, class_ok, limit, len(names), lowest)
    first = next(nodes, None)
    if first is None:
        raise AnonymizationError(
            f"no generalisation of {categorical or 'nothing'} meets k={k}, l={l}"
            f"{_describe(criteria)} with at most {max_suppression:.1%} suppressed rows "
            f"({limit} of {n}): too few rows or too few distinct sensitive values"
        )
    columns = [_NumericColumn.of(frame[name]) for name in numeric]
    point_of = _combine([column.rank for column in columns])
    scaled = np.column_stack([column.scaled() for column in columns])
    point_values = np.zeros((int(point_of.max()) + 1, len(columns)))
    point_values[point_of] = scaled
    point_ranks = np.zeros((len(point_values), len(columns)), dtype=np.int64)
    point_ranks[point_of] = np.column_stack([column.rank for column in columns])
    spans = np.array([max(len(column.distinct) - 1, 1) for column in columns], dtype=np.float64)

    best: _Outcome | None = None
    for node in itertools.chain([first], nodes):  # by the bound: stop when it cannot win
        if best is not None and node.bound >= best.loss - 1e-12:
            break
        cluster, triples = _clusters(
            point_values, point_of[node.kept], node.class_of, sensitive_codes[node.kept],
            n_values, k, class_ok,
        )  # fmt: skip
        t_cluster, t_point, t_count = triples
        lo = np.full((int(cluster.max()) + 1, len(columns)), np.iinfo(np.int64).max)
        hi = np.zeros_like(lo)
        np.minimum.at(lo, t_cluster, point_ranks[t_point])
        np.maximum.at(hi, t_cluster, point_ranks[t_point])
        numeric_loss = float((t_count[:, None] * (hi - lo)[t_cluster] / spans).sum())
        loss = node.bound + numeric_loss / (n * len(names))
        if best is None or loss < best.loss - 1e-12:
            best = _Outcome(node, cluster, loss)
    assert best is not None

    node, kept = best.node, best.node.kept
    out = df.iloc[kept].copy()
    generalization: dict[str, str] = {}
    for qi, level in zip(qis, node.levels, strict=True):
        out[qi.name] = pd.Series(
            qi.labels[level][qi.codes[level][kept]], index=out.index, dtype=object
        )
        generalization[qi.name] = qi.hierarchy.level_name(level)
    for name, column in zip(numeric, columns, strict=True):
        out[name] = pd.Series(column.intervals(kept, best.cluster), index=out.index, dtype=object)
        generalization[name] = MDAV_GENERALIZATION
    return out, _report(
        out,
        names,
        sensitive,
        k,
        l,
        max_suppression,
        n,
        generalization,
        best.loss,
        math.prod(qi.height for qi in qis),
    )


def _nodes(
    qis: list[QuasiIdentifier],
    sensitive: np.ndarray,
    n_values: int,
    class_ok: Callable[[np.ndarray], np.ndarray],
    limit: int,
    n_names: int,
    lowest: tuple[int, ...],
) -> Iterator[_Node]:
    """The nodes of the categorical lattice whose classes meet the criteria once the failing
    ones are suppressed, within ``limit`` suppressed records; in order of their lower bound
    (then the sum of levels, then the levels)."""
    n = len(sensitive)

    def classes(levels: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Each record's class and whether the class meets the criteria."""
        if not qis:
            ids = np.zeros(n, dtype=np.int64)
        else:
            ids = _combine([qi.codes[lv] for qi, lv in zip(qis, levels, strict=True)], False)
        m = int(ids.max()) + 1
        table = np.bincount(ids * n_values + sensitive, minlength=m * n_values)
        return ids, class_ok(table.reshape(m, n_values))[ids]

    bounds: list[tuple[float, int, tuple[int, ...]]] = []
    for levels in itertools.product(
        *(range(lo, qi.height) for lo, qi in zip(lowest, qis, strict=True))
    ):
        _, kept = classes(levels)
        suppressed = n - int(kept.sum())
        if suppressed > limit:
            continue
        loss = sum(
            float(qi.code_loss[lv][qi.codes[lv][kept]].sum())
            for qi, lv in zip(qis, levels, strict=True)
        )
        bound = (loss + suppressed * n_names) / (n * n_names)
        bounds.append((bound, sum(levels), levels))
    for bound, _, levels in sorted(bounds):
        ids, kept = classes(levels)
        rows = np.flatnonzero(kept)
        class_of = np.unique(ids[rows], return_inverse=True)[1].reshape(-1).astype(np.int64)
        yield _Node(levels, bound, rows, class_of)


def _validate(
    df: pd.DataFrame,
    names: list[str],
    numeric: list[str],
    sensitive: str,
    k: int,
    l_req: int,
    max_suppression: float,
) -> None:
    if k < 1 or l_req < 1:
        raise ValueError("k and l must be >= 1")
    if not numeric:
        raise ValueError("at least one numeric quasi-identifier is required (else use anonymize)")
    if len(set(numeric)) != len(numeric):
        raise ValueError(f"numeric quasi-identifiers repeated: {numeric}")
    missing = [c for c in [*names, sensitive] if c not in df.columns]
    if missing:
        raise ValueError(f"columns not in data: {missing}")
    if sensitive in names:
        raise ValueError("the sensitive attribute cannot also be a quasi-identifier")
    if not 0.0 <= max_suppression < 1.0:
        raise ValueError("max_suppression must be in [0, 1)")
    for name in numeric:
        column = df[name]
        kind = column.dtype
        if (
            not pd.api.types.is_numeric_dtype(kind)
            or pd.api.types.is_bool_dtype(kind)
            or pd.api.types.is_complex_dtype(kind)
        ):
            raise ValueError(
                f"numeric quasi-identifier {name!r} is not numeric (dtype {kind}): convert it, "
                "or generalise it with a hierarchy instead"
            )
        missing_values = int(column.isna().sum())
        if missing_values:
            raise ValueError(
                f"numeric quasi-identifier {name!r} has {missing_values} missing values: "
                "microaggregation needs a value for every record (drop or impute them first)"
            )
        if not np.isfinite(column.to_numpy(dtype=np.float64)).all():
            raise ValueError(f"numeric quasi-identifier {name!r} has infinite values")
    if len(df) == 0:
        raise AnonymizationError("no input rows: nothing to anonymise")


def _describe(criteria: ClassCriteria | None) -> str:
    if criteria is None or not criteria.any:
        return ""
    return "".join(f", {name}={value}" for name, value in asdict(criteria).items() if value)


@dataclass(frozen=True)
class _NumericColumn:
    """A numeric quasi-identifier: its distinct values (sorted) and each record's position
    among them."""

    distinct: np.ndarray
    rank: np.ndarray

    @classmethod
    def of(cls, column: pd.Series) -> _NumericColumn:
        kind = np.int64 if pd.api.types.is_integer_dtype(column.dtype) else np.float64
        distinct, rank = np.unique(column.to_numpy(dtype=kind), return_inverse=True)
        return cls(distinct, rank.reshape(-1).astype(np.int64))

    def scaled(self) -> np.ndarray:
        """The rank scaled to [0, 1]: one step between neighbouring values is one LM step."""
        return self.rank / max(len(self.distinct) - 1, 1)

    def intervals(self, kept: np.ndarray, cluster: np.ndarray) -> np.ndarray:
        """Each kept record's released range: "min-max" of its cluster's values, or the one
        value."""
        ranks = pd.Series(self.rank[kept]).groupby(cluster).agg(["min", "max"])
        lo, hi = ranks["min"].to_numpy(), ranks["max"].to_numpy()
        width = len(self.distinct)
        ranges, which = np.unique(lo * width + hi, return_inverse=True)
        text = np.array(
            [self._range(int(r) // width, int(r) % width) for r in ranges], dtype=object
        )
        return text[which.reshape(-1)][ranks.index.get_indexer(cluster)]

    def _range(self, lo: int, hi: int) -> str:
        low, high = _number(self.distinct[lo]), _number(self.distinct[hi])
        return low if lo == hi else f"{low}-{high}"


def _combine(codes: Sequence[np.ndarray], ordered: bool = True) -> np.ndarray:
    """One code per record for the combination of several non-negative integer codes: numbered
    0.. in the lexicographic order of the codes (the first most significant) while the product
    of their ranges fits in int64, else in the order of the partial keys; in order of appearance
    when not ``ordered`` (faster)."""
    key = np.zeros(len(codes[0]) if codes else 0, dtype=np.int64)
    radix = 1
    for code in reversed(codes):
        card = int(code.max()) + 1 if len(code) else 1
        if radix * card >= _KEY_LIMIT:
            key = _dense(key, ordered)
            radix = int(key.max()) + 1
        key = key + code.astype(np.int64) * radix
        radix *= card
    return _dense(key, ordered)


def _dense(key: np.ndarray, ordered: bool) -> np.ndarray:
    if ordered:
        return np.unique(key, return_inverse=True)[1].reshape(-1).astype(np.int64)
    return pd.factorize(key)[0].astype(np.int64)


def _clusters(
    point_values: np.ndarray,
    point_of: np.ndarray,
    class_of: np.ndarray,
    sensitive: np.ndarray,
    n_values: int,
    k: int,
    class_ok: Callable[[np.ndarray], np.ndarray],
) -> tuple[np.ndarray, _Triples]:
    """MDAV within each class, then merges for the criteria: the final cluster of each record
    and the (cluster, point, count) triples. ``point_of``: each record's distinct point (numbered
    in lexicographic order; ``point_values`` its scaled values)."""
    n = len(point_of)
    n_points = len(point_values)
    # The records of one (class, point) in an order that spreads each sensitive value evenly.
    pair = class_of * n_points + point_of
    group_codes, group_sizes = np.unique(
        pair * n_values + sensitive, return_inverse=True, return_counts=True
    )[1:]
    by_group = np.argsort(group_codes, kind="stable")
    rank = np.empty(n, dtype=np.float64)
    rank[by_group] = np.arange(n) - np.repeat(np.cumsum(group_sizes) - group_sizes, group_sizes)
    spread = (rank + 0.5) / group_sizes[group_codes]
    order = np.lexsort((sensitive, spread, pair))  # records by (class, point), then spread
    pairs, pair_counts = np.unique(pair, return_counts=True)
    pair_class = pairs // n_points
    pair_point = pairs % n_points
    class_starts = np.flatnonzero(np.r_[True, pair_class[1:] != pair_class[:-1]])

    cluster, member, amount = _mdav_units(
        point_values[pair_point], pair_counts, np.r_[class_starts, len(pairs)], k
    )
    n_clusters = int(cluster.max()) + 1
    # Triples sorted by (pair, cluster) line up with the records sorted by pair.
    by_pair = np.lexsort((cluster, member))
    labels = np.empty(n, dtype=np.int64)
    labels[order] = np.repeat(cluster[by_pair], amount[by_pair])
    sizes = np.bincount(cluster, weights=amount, minlength=n_clusters)
    centroids = (
        np.column_stack(
            [
                np.bincount(cluster, weights=amount * point_values[pair_point[member], j])
                for j in range(point_values.shape[1])
            ]
        )
        / sizes[:, None]
    )
    table = np.bincount(labels * n_values + sensitive, minlength=n_clusters * n_values)
    cluster_class = np.zeros(n_clusters, dtype=np.int64)
    cluster_class[cluster] = pair_class[member]
    target = _merge(cluster_class, centroids, table.reshape(n_clusters, n_values), class_ok)
    return target[labels], (target[cluster], pair_point[member], amount)


def _merge(
    cluster_class: np.ndarray,
    centroids: np.ndarray,
    table: np.ndarray,
    class_ok: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """The final cluster of each cluster: each cluster failing the criteria merges into the
    cluster with the nearest mean in its class, the first failing one first, until all hold.
    (A whole class meets them, so this ends.) ``cluster_class``: each cluster's class, a class's
    clusters consecutive."""
    target = np.arange(len(centroids))
    ok = class_ok(table)
    if ok.all():
        return target
    bounds = np.flatnonzero(np.r_[True, cluster_class[1:] != cluster_class[:-1], True])
    for start, stop in itertools.pairwise(bounds):
        if not ok[start:stop].all():
            target[start:stop] = start + _merge_class(
                centroids[start:stop].copy(), table[start:stop].copy(), class_ok
            )
    return target


def _merge_class(
    centroids: np.ndarray, table: np.ndarray, class_ok: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """Merges within one class: each cluster's final cluster (positions within the class)."""
    q = len(centroids)
    parent = np.arange(q)
    alive = np.ones(q, dtype=bool)
    sizes = table.sum(axis=1).astype(np.float64)
    good = class_ok(table)
    while True:
        bad = np.flatnonzero(alive & ~good)
        if not len(bad):
            break
        i = int(bad[0])
        others = np.flatnonzero(alive)
        others = others[others != i]
        if not len(others):
            raise RuntimeError("a class that meets the criteria as a whole failed them")
        diff = centroids[others] - centroids[i]
        j = int(others[np.argmin(np.einsum("ij,ij->i", diff, diff))])
        centroids[j] = (centroids[j] * sizes[j] + centroids[i] * sizes[i]) / (sizes[j] + sizes[i])
        sizes[j] += sizes[i]
        table[j] += table[i]
        alive[i] = False
        parent[i] = j
        good[j] = class_ok(table[j : j + 1])[0]
    root = parent
    while (root != root[root]).any():
        root = root[root]
    return root


def _number(value: Any) -> str:
    number = float(value)
    if number.is_integer() and abs(number) < 2**53:
        return str(int(value)) if isinstance(value, int | np.integer) else str(int(number))
    return repr(number)


def _report(
    released: pd.DataFrame,
    names: list[str],
    sensitive: str,
    k: int,
    l_req: int,
    max_suppression: float,
    n: int,
    generalization: dict[str, str],
    loss: float,
    nodes_evaluated: int,
) -> PrivacyReport:
    """k, l and the classes as the released table shows them (two clusters may show the same
    values; their union is then one class)."""
    classes = released.groupby(names, dropna=False)[sensitive]
    sizes = classes.size()
    return PrivacyReport(
        quasi_identifiers=names,
        sensitive_attribute=sensitive,
        k_required=k,
        k=int(sizes.min()) if len(sizes) else 0,
        l_required=l_req,
        l=int(classes.nunique(dropna=False).min()) if len(sizes) else 0,
        generalization={name: generalization[name] for name in names},
        input_rows=n,
        released_rows=len(released),
        suppressed_rows=n - len(released),
        suppression_limit=float(max_suppression),
        information_loss={"metric": LOSS_METRIC, "value": round(loss, 6)},
        equivalence_classes=int(classes.ngroups),
        lattice_nodes_evaluated=nodes_evaluated,
    )
