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
1. The categorical quasi-identifiers are generalised by the full-domain search
   (:func:`anonymization.kanonymity.anonymize` over those columns only), with the same k, l,
   suppression limit and :class:`~anonymization.kanonymity.ClassCriteria`: every categorical
   class then has at least k records and meets the criteria, and the records the search suppresses
   are the only ones suppressed.
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
   into the group with the nearest mean in the same categorical class until all hold. The whole
   class meets them (step 1), so this always ends; a class that could not (only when there is no
   categorical quasi-identifier and the whole table fails) is suppressed within the limit, or
   :class:`~anonymization.kanonymity.AnonymizationError` is raised.

Distances are measured on each numeric column's dense rank scaled to [0, 1] (value ``v`` at
position ``r`` among the column's ``M`` distinct values becomes ``r / (M - 1)``), not on z-scores:
one step along an axis is then one step of the loss metric below, so MDAV's compact groups are
the cheap ones. (For evenly spread integer columns such as ages and years the two scalings differ
only by a factor per column.)

Efficient exact MDAV
--------------------
Textbook MDAV costs O(n^2 / k) distance evaluations per class. Numeric quasi-identifiers in this
platform are integers with few distinct values (ages 0-17, admission years), so MDAV here works on
the class's *distinct points with their counts*: "the farthest record" is the farthest point
still holding records, "its k-1 nearest" are taken point by point in order of distance (all of
the centre's own duplicates first), taking part of the last point's count. This is MDAV exactly,
with ties broken by the points' lexicographic order; a step costs O(points), not O(records).
One numeric column uses the sorted form: MDAV on a line takes k records from each end per
iteration (the farthest record from the mean is an end, the farthest from it the other end, the
nearest ones the next in order), and only the last step looks at the mean; O(n log n) in all.
With two or more columns and more than :data:`MAX_POINTS` distinct points in a class
(continuous data), the class's points are first cut into blocks of at most that many along the
first principal axis and MDAV runs per block: the partition-then-microaggregate approach that
Solé, Muntés-Mulero & Nin 2012 ("Efficient microaggregation techniques for large numerical data
volumes", IJIS 11(4)) describe as the usual way to scale MDAV, at some cost in quality.

Which records of one point (equal numeric values, equal categorical class) go to which group is
free: MDAV does not see it, and the records look identical in the release. They are dealt so each
sensitive value is spread evenly over the point's records, which makes groups of duplicates
l-diverse where the point allows and keeps merges rare.

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
from collections.abc import Callable, Mapping, Sequence
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
    anonymize,
    prepare_quasi_identifier,
)

__all__ = ["MAX_POINTS", "MDAV_GENERALIZATION", "mdav", "microaggregate"]

#: How a microaggregated column is described in the report's ``generalization``.
MDAV_GENERALIZATION = "microaggregated interval (MDAV)"
#: Distinct points of one class (two or more numeric columns) above which MDAV runs in blocks.
MAX_POINTS = 2048

_KEY_LIMIT = 2**62
# Distances that differ by rounding only are ties (broken by the points' order).
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
    unique, inverse, counts = np.unique(data, axis=0, return_inverse=True, return_counts=True)
    cluster, point, count = _cluster_points(unique, counts.astype(np.int64), k)
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


def _cluster_points(points: np.ndarray, counts: np.ndarray, k: int) -> _Triples:
    """MDAV on distinct ``points`` (sorted lexicographically) holding ``counts`` records each."""
    if points.shape[1] == 1:
        return _mdav_line(points[:, 0], counts, k)
    if len(points) <= MAX_POINTS:
        return _mdav_points(points, counts, k)
    clusters: list[np.ndarray] = []
    members: list[np.ndarray] = []
    sizes: list[np.ndarray] = []
    offset = 0
    for block in _blocks(points, counts, k):
        cluster, point, count = _mdav_points(points[block], counts[block], k)
        clusters.append(cluster + offset)
        members.append(block[point])
        sizes.append(count)
        offset += int(cluster.max()) + 1
    return np.concatenate(clusters), np.concatenate(members), np.concatenate(sizes)


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


def _mdav_points(points: np.ndarray, counts: np.ndarray, k: int) -> _Triples:
    """MDAV on weighted points, exactly (see the module docstring). The points still holding
    records are kept compacted in their original order, so a stable sort breaks ties by it."""
    alive = np.arange(len(points))
    coords = points.copy()
    held = counts.copy()
    left = int(held.sum())
    out_cluster: list[int] = []
    out_point: list[np.ndarray] = []
    out_count: list[np.ndarray] = []

    def farthest(centre: np.ndarray) -> int:  # position among the alive points
        diff = coords - centre
        d = np.einsum("ij,ij->i", diff, diff)
        return int(np.argmax(d >= d.max() - _TIE))  # the first of equally far ones

    def take(centre: int, need: int) -> None:
        nonlocal alive, coords, held, left
        diff = coords - coords[centre]
        d = np.einsum("ij,ij->i", diff, diff).round(_DECIMALS)  # rounding noise is no order
        order = np.argsort(d, kind="stable")
        running = np.cumsum(held[order])
        last = int(running.searchsorted(need))
        chosen = order[: last + 1]
        amounts = held[chosen]
        amounts[-1] -= running[last] - need
        out_cluster.append(len(out_cluster))
        out_point.append(alive[chosen])
        out_count.append(amounts)
        held[chosen] -= amounts
        left -= need
        if last or not held[chosen[0]]:  # some point ran out: drop it
            keep = held > 0
            alive, coords, held = alive[keep], coords[keep], held[keep]

    while left >= 3 * k:
        r = farthest(held @ coords / left)
        centre = coords[r].copy()
        take(r, k)
        take(farthest(centre), k)
    if left >= 2 * k:
        take(farthest(held @ coords / left), k)
    if left:
        take(0, left)
    cluster_ids = np.repeat(np.asarray(out_cluster, dtype=np.int64), [len(p) for p in out_point])
    return cluster_ids, np.concatenate(out_point), np.concatenate(out_count)


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
        cuts.append(lo + k if (low - mean) ** 2 >= (high - mean) ** 2 else hi - k)
    cuts = sorted(set(cuts) | {lo, hi})
    bounds = np.union1d(np.asarray(cuts, dtype=np.int64), ends)
    starts, stops = bounds[:-1], bounds[1:]
    cluster = np.searchsorted(np.asarray(cuts[:-1]), starts, side="right") - 1
    point = np.searchsorted(ends[:-1], starts, side="right") - 1
    return cluster.astype(np.int64), point.astype(np.int64), (stops - starts).astype(np.int64)


# --- the transformation ------------------------------------------------------------------------


def microaggregate(
    df: pd.DataFrame,
    quasi_identifiers: Mapping[str, Hierarchy],
    numeric: Sequence[str],
    sensitive: str,
    k: int,
    l: int,  # noqa: E741 - the standard name of the l-diversity parameter
    max_suppression: float,
    criteria: ClassCriteria | None = None,
) -> tuple[pd.DataFrame, PrivacyReport]:
    """k-anonymity and distinct l-diversity with the ``numeric`` quasi-identifiers
    microaggregated (MDAV) and the others generalised by the full-domain search.

    ``quasi_identifiers``: the hierarchies of the categorical quasi-identifiers; a numeric one may
    be listed too (its hierarchy is not used) or only in ``numeric``. Returns the released rows
    (suppressed ones removed, original index kept, quasi-identifiers as strings: numeric ones as
    ``"min-max"`` of the record's group) and a report in the full-domain search's shape, LM
    included. Raises :class:`AnonymizationError` when the criteria cannot be met within
    ``max_suppression``, ``ValueError`` on bad input (k or l below 1, a numeric column that is
    not numeric or has missing values).
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
    extra = criteria if criteria is not None and criteria.any else None

    def class_ok(table: np.ndarray) -> np.ndarray:
        ok = (table.sum(axis=1) >= k) & ((table > 0).sum(axis=1) >= l)
        if extra is not None:
            ok &= extra.class_ok(table, overall)
        return np.asarray(ok, dtype=bool)

    # 1. categorical classes by the full-domain search
    category_loss = np.zeros(n)
    generalization: dict[str, str] = {}
    nodes_evaluated = 0
    if categorical:
        hierarchies = {c: quasi_identifiers[c] for c in categorical}
        try:
            classes, cat_report = anonymize(
                frame[[*categorical, sensitive]], hierarchies, sensitive, k, l,
                max_suppression, criteria,
            )  # fmt: skip
        except AnonymizationError as exc:
            raise AnonymizationError(f"categorical quasi-identifiers {categorical}: {exc}") from exc
        kept = classes.index.to_numpy()
        class_of = _combine([pd.factorize(classes[c])[0] for c in categorical])
        for name in categorical:
            generalization[name] = cat_report.generalization[name]
            qi = prepare_quasi_identifier(name, hierarchies[name], frame[name])
            level = _level(qi.hierarchy, generalization[name])
            if not (qi.labels[level][qi.codes[level][kept]] == classes[name].to_numpy()).all():
                raise RuntimeError(f"level of {name!r} does not reproduce the search's output")
            category_loss += qi.record_loss[level]
        nodes_evaluated = cat_report.lattice_nodes_evaluated
    else:
        kept = np.arange(n)
        class_of = np.zeros(n, dtype=np.int64)
    for name in numeric:
        generalization[name] = MDAV_GENERALIZATION

    # 2. MDAV per class, 3. merges for l and the criteria
    columns = [_NumericColumn.of(frame[name]) for name in numeric]
    point_of = _combine([column.rank[kept] for column in columns])
    scaled = np.column_stack([column.scaled()[kept] for column in columns])
    cluster, centroids = _clusters(scaled, point_of, class_of, sensitive_codes[kept], n_values, k)
    table = np.bincount(
        cluster * n_values + sensitive_codes[kept], minlength=len(centroids) * n_values
    ).reshape(len(centroids), n_values)
    cluster, failed = _merge(cluster, class_of, centroids, table, class_ok)
    rows = np.flatnonzero(~failed)  # positions among the categorical step's released rows
    kept, cluster = kept[rows], cluster[rows]
    suppressed = n - len(kept)
    limit = int(np.floor(max_suppression * n + 1e-9))
    if suppressed > limit:
        raise AnonymizationError(
            f"microaggregation cannot meet k={k}, l={l}{_describe(criteria)} with at most "
            f"{max_suppression:.1%} suppressed rows ({limit} of {n}): {suppressed} records are "
            "in classes that fail even as a whole (too few rows or sensitive values)"
        )

    # release and loss
    out = df.iloc[kept].copy()
    for name in categorical:
        out[name] = classes[name].to_numpy()[rows]
    loss = float(category_loss[kept].sum()) + suppressed * len(names)
    for name, column in zip(numeric, columns, strict=True):
        labels, cost = column.intervals(kept, cluster)
        out[name] = pd.Series(labels, index=out.index, dtype=object)
        loss += float(cost.sum())
    return out, _report(
        out, names, sensitive, k, l, max_suppression, n, generalization, loss, nodes_evaluated
    )


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


def _level(hierarchy: Hierarchy, name: str) -> int:
    levels = [hierarchy.level_name(i) for i in range(hierarchy.height)]
    if levels.count(name) != 1:
        raise ValueError(f"hierarchy {hierarchy.name!r}: level names must be distinct: {levels}")
    return levels.index(name)


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

    def intervals(self, kept: np.ndarray, cluster: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each kept record's released range ("min-max" of its cluster's values, or the one
        value) and its LM cost: (distinct values within the range - 1) / (distinct values - 1)."""
        ranks = pd.Series(self.rank[kept]).groupby(cluster).agg(["min", "max"])
        lo, hi = ranks["min"].to_numpy(), ranks["max"].to_numpy()
        text = np.array(
            [
                _number(self.distinct[a]) if a == b else
                f"{_number(self.distinct[a])}-{_number(self.distinct[b])}"
                for a, b in zip(lo, hi, strict=True)
            ],
            dtype=object,
        )  # fmt: skip
        cost = (hi - lo) / max(len(self.distinct) - 1, 1)
        position = ranks.index.get_indexer(cluster)
        return text[position], cost[position]


def _combine(codes: Sequence[np.ndarray]) -> np.ndarray:
    """One code per record for the combination of several non-negative integer codes, ordered
    lexicographically by them (the first most significant) while the product of their ranges
    fits in int64."""
    key = np.zeros(len(codes[0]) if codes else 0, dtype=np.int64)
    radix = 1
    for code in reversed(codes):
        card = int(code.max()) + 1 if len(code) else 1
        if radix * card >= _KEY_LIMIT:
            key = np.unique(key, return_inverse=True)[1].reshape(-1).astype(np.int64)
            radix = int(key.max()) + 1
        key = key + code.astype(np.int64) * radix
        radix *= card
    return np.unique(key, return_inverse=True)[1].reshape(-1).astype(np.int64)


def _clusters(
    scaled: np.ndarray,
    point_of: np.ndarray,
    class_of: np.ndarray,
    sensitive: np.ndarray,
    n_values: int,
    k: int,
) -> tuple[np.ndarray, np.ndarray]:
    """MDAV within each class: a cluster per record (numbered over all classes, each class's
    clusters consecutive) and each cluster's mean (scaled values). ``point_of``: each record's
    distinct point, numbered in lexicographic order."""
    n = len(scaled)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros((0, scaled.shape[1]))
    n_points = int(point_of.max()) + 1
    point_values = np.zeros((n_points, scaled.shape[1]))
    point_values[point_of] = scaled
    # The records of one (class, point) in an order that spreads each sensitive value evenly.
    group = (class_of * n_points + point_of) * n_values + sensitive
    group_codes, group_sizes = np.unique(group, return_inverse=True, return_counts=True)[1:]
    by_group = np.argsort(group_codes, kind="stable")
    rank = np.empty(n, dtype=np.float64)
    starts = np.concatenate([[0], np.cumsum(group_sizes)[:-1]])
    rank[by_group] = np.arange(n) - np.repeat(starts, group_sizes)
    spread = (rank + 0.5) / group_sizes[group_codes]
    pair = class_of * n_points + point_of
    order = np.lexsort((sensitive, spread, pair))  # records by (class, point), then spread
    pairs, pair_counts = np.unique(pair, return_counts=True)
    pair_class = pairs // n_points
    pair_point = pairs % n_points
    class_starts = np.flatnonzero(np.r_[True, pair_class[1:] != pair_class[:-1]])
    class_stops = np.r_[class_starts[1:], len(pairs)]

    clusters: list[np.ndarray] = []
    members: list[np.ndarray] = []
    sizes: list[np.ndarray] = []
    offset = 0
    for start, stop in zip(class_starts, class_stops, strict=True):
        counts = pair_counts[start:stop]
        total = int(counts.sum())
        if total < 2 * k:  # one group: no need to run MDAV
            cluster = np.zeros(stop - start, dtype=np.int64)
            point, count = np.arange(stop - start), counts
        else:
            cluster, point, count = _cluster_points(point_values[pair_point[start:stop]], counts, k)
        clusters.append(cluster + offset)
        members.append(point + start)
        sizes.append(count)
        offset += int(cluster.max()) + 1
    cluster_ids = np.concatenate(clusters)
    pair_ids = np.concatenate(members)
    amounts = np.concatenate(sizes)
    # Triples sorted by (pair, cluster) line up with the records sorted by pair.
    ordered = np.lexsort((cluster_ids, pair_ids))
    labels = np.empty(n, dtype=np.int64)
    labels[order] = np.repeat(cluster_ids[ordered], amounts[ordered])
    weight = np.bincount(labels, minlength=offset).astype(np.float64)
    centroids = (
        np.column_stack(
            [
                np.bincount(labels, weights=scaled[:, j], minlength=offset)
                for j in range(scaled.shape[1])
            ]
        )
        / weight[:, None]
    )
    return labels, centroids


def _merge(
    cluster: np.ndarray,
    class_of: np.ndarray,
    centroids: np.ndarray,
    table: np.ndarray,
    class_ok: Callable[[np.ndarray], np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Merge each cluster failing the criteria into the cluster with the nearest mean of its
    class, the first failing cluster first, until all hold. Returns the merged cluster per record
    and which records are in classes that fail as a whole (to be suppressed)."""
    q = len(centroids)
    target = np.arange(q)
    ok = class_ok(table) if q else np.zeros(0, dtype=bool)
    failed_class: list[int] = []
    if q and not ok.all():
        cluster_class = np.zeros(q, dtype=np.int64)
        cluster_class[cluster] = class_of
        bounds = np.flatnonzero(np.r_[True, cluster_class[1:] != cluster_class[:-1], True])
        for start, stop in itertools.pairwise(bounds):
            if ok[start:stop].all():
                continue
            # target[start:stop] is a view: the class's merges are written into it
            if not _merge_class(
                centroids[start:stop].copy(), table[start:stop].copy(), class_ok,
                target[start:stop],
            ):  # fmt: skip
                failed_class.append(int(cluster_class[start]))
    failed = np.isin(class_of, failed_class)
    return target[cluster], failed


def _merge_class(
    centroids: np.ndarray,
    table: np.ndarray,
    class_ok: Callable[[np.ndarray], np.ndarray],
    target: np.ndarray,
) -> bool:
    """Merges within one class; ``target`` (the class's slice of the global cluster ids) is
    rewritten to each cluster's final cluster. False when one cluster is left and it fails."""
    q = len(centroids)
    base = target.copy()
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
            return False
        diff = centroids[others] - centroids[i]
        j = int(others[np.argmin(np.einsum("ij,ij->i", diff, diff))])
        centroids[j] = (centroids[j] * sizes[j] + centroids[i] * sizes[i]) / (sizes[j] + sizes[i])
        sizes[j] += sizes[i]
        table[j] += table[i]
        alive[i] = False
        parent[i] = j
        good[j] = class_ok(table[j : j + 1])[0]
    root = parent.copy()
    while (root != root[root]).any():
        root = root[root]
    target[:] = base[root]
    return True


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
        information_loss={"metric": LOSS_METRIC, "value": round(loss / (n * len(names)), 6)},
        equivalence_classes=int(classes.ngroups),
        lattice_nodes_evaluated=nodes_evaluated,
    )
