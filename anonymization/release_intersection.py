"""Releases that cannot be combined: a new release checked against every earlier one.

The attack
----------
Each release is k-anonymous and l-diverse on its own, but a researcher may hold two of them:
two dates, or a public-use and a licensed file of the same children. Knowing a child's true
age, sex and regency, they find the child's class in each file; the child is in both, so the
child's case type lies in the intersection of the two classes' case types (the composition
attack of Ganta, Kasiviswanathan and Smith, KDD 2008), and where the two generalisations cut
differently (a regency and exact age in one file, a province and an age band in the other) the
records both classes could share can be fewer than k.

The defence
-----------
For every child in both releases we know both classes exactly: the earlier release's records
carry that release's own token of the child id, which the release key reproduces. The *joint
class* of a child is the pair (class in the new release, class in the earlier release); over
the children both releases hold, every joint class must have at least ``k`` children and ``l``
distinct sensitive values, k and l being the weaker of the two releases' (holding both cannot
be made safer than the weaker alone). Records of joint classes that fail are suppressed from
the new release within its suppression limit, the new release's own classes are re-checked
(a class that falls below k goes too), and the loop repeats until nothing changes; beyond the
limit the release is not published. Re-tokenisation per release stays: the records of two
releases still cannot be linked by id, only by the quasi-identifiers, which is what this bounds.

The difference of two releases
------------------------------
Children leave a population between two dates (their consent is withdrawn, they are erased, they
leave care) and others join. A researcher holding both files subtracts: where the classes of
both releases cover the same region of the quasi-identifiers, the region's count and case types
in the earlier file less those in the new one are the leavers' less the joiners'. One leaver in
a region is then one child's case type, to anyone who knows that child left. The regions an
attacker can subtract over are unions of classes of both files; the finest ones are the
connected pieces of the graph whose nodes are the two releases' classes and whose edges are the
children both hold (a child in class a of one file and class b of the other puts a and b in one
piece: their regions overlap). Pieces finer than the attacker's regions are the safe side: a
region's leavers are the sum of its pieces'. Every piece must hold no leaver or at least k of
them with l distinct case types, and the same for joiners. The new release's records of a piece
that fails are suppressed, all of them: the piece's children then read as leavers of the earlier
release's classes there, which are k-anonymous and l-diverse themselves. The loop above runs
until both the joint classes and the differences hold.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = [
    "Difference",
    "EarlierRelease",
    "IntersectionResult",
    "difference_pieces",
    "guard_intersections",
    "joint_class_stats",
]

#: Given the rows still released, which of them sit in classes that still meet the release's
#: own criteria (k, l and the further ones).
OwnCriteria = Callable[[pd.DataFrame], np.ndarray]


@dataclass(frozen=True)
class EarlierRelease:
    """An earlier release as the new one meets it: its records (``record_id`` and the
    quasi-identifiers) as published, its k and l, and that release's token of each child of
    the new release (indexed like the new release's rows)."""

    release_id: str
    records: pd.DataFrame
    k: int
    l: int  # noqa: E741
    tokens: pd.Series

    def classes(self, quasi_identifiers: Sequence[str]) -> pd.Series:
        """Each new record's class in this release (null where the child is not in it)."""
        labels = self.records[list(quasi_identifiers)].astype(str).agg("\x1f".join, axis=1)
        by_id = pd.Series(labels.to_numpy(), index=self.records["record_id"].to_numpy())
        return self.tokens.map(by_id)


@dataclass(frozen=True)
class IntersectionResult:
    earlier_release: str
    shared_records: int
    joint_classes: int
    smallest_joint_class: int
    fewest_distinct: int
    k_required: int
    l_required: int
    suppressed_for_it: int
    #: Children of the earlier release the new one does not hold, and the reverse.
    leavers: int = 0
    joiners: int = 0
    #: Pieces (regions both files can be subtracted over) and the fewest leavers or joiners
    #: any piece holds where it holds some (0: none anywhere).
    difference_pieces: int = 0
    smallest_difference: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def joint_class_stats(
    released: pd.DataFrame,
    quasi_identifiers: Sequence[str],
    sensitive: str,
    earlier_class: pd.Series,
) -> tuple[pd.Series, pd.Series]:
    """Per record held by both releases (``earlier_class`` not null, aligned with
    ``released``): its joint class's size and distinct sensitive values."""
    shared = earlier_class.notna()
    frame = released.loc[shared, [*quasi_identifiers, sensitive]].copy()
    frame["__earlier"] = earlier_class[shared].astype(str)
    keys = [*quasi_identifiers, "__earlier"]
    groups = frame.groupby(keys, dropna=False, sort=False)[sensitive]
    return groups.transform("size"), groups.transform("nunique")


@dataclass(frozen=True)
class Difference:
    """The two releases' pieces (see the module's docstring) as the new release meets them."""

    #: The piece of each new record (indexed like the new release's rows).
    piece: pd.Series
    pieces: int
    leavers: int
    joiners: int
    #: Per piece: leavers and joiners, and their distinct sensitive values.
    leaver_count: np.ndarray
    leaver_distinct: np.ndarray
    joiner_count: np.ndarray
    joiner_distinct: np.ndarray

    def failing(self, k: int, l: int) -> np.ndarray:  # noqa: E741
        """Pieces whose leavers or joiners are 1..k-1, or fewer than l distinct."""
        bad = np.zeros(self.pieces, dtype=bool)
        for count, distinct in (
            (self.leaver_count, self.leaver_distinct),
            (self.joiner_count, self.joiner_distinct),
        ):
            bad |= (count > 0) & ((count < k) | (distinct < l))
        return bad

    @property
    def smallest(self) -> int:
        counts = np.concatenate([self.leaver_count, self.joiner_count])
        counts = counts[counts > 0]
        return int(counts.min()) if len(counts) else 0


def _class_codes(frame: pd.DataFrame, quasi_identifiers: Sequence[str]) -> np.ndarray:
    return np.asarray(
        frame[list(quasi_identifiers)]
        .astype(str)
        .groupby(list(quasi_identifiers), sort=False)
        .ngroup()
    )


def _per_piece(piece: np.ndarray, values: pd.Series, pieces: int) -> tuple[np.ndarray, np.ndarray]:
    count = np.bincount(piece, minlength=pieces)
    codes = pd.factorize(values.astype(str))[0] if len(values) else np.zeros(0, dtype=np.int64)
    width = int(codes.max()) + 1 if len(codes) else 1
    pairs = np.unique(piece.astype(np.int64) * width + codes)
    distinct = np.bincount(pairs // width, minlength=pieces)
    return count, distinct


def difference_pieces(
    released: pd.DataFrame,
    quasi_identifiers: Sequence[str],
    sensitive: str,
    old: EarlierRelease,
) -> Difference:
    """The pieces of ``released`` (the new release's records still kept) and ``old``, and the
    leavers and joiners of each."""
    tokens = old.tokens.reindex(released.index)
    new_class = _class_codes(released, quasi_identifiers)
    old_class = _class_codes(old.records, quasi_identifiers)
    n_new = int(new_class.max()) + 1 if len(new_class) else 0
    n_old = int(old_class.max()) + 1 if len(old_class) else 0
    position = pd.Series(np.arange(len(old.records)), index=old.records["record_id"].to_numpy())
    found = tokens.map(position)
    shared = found.notna().to_numpy()
    old_rows = found[shared].to_numpy(dtype=np.int64)
    edges_from = new_class[shared]
    edges_to = n_new + old_class[old_rows]
    size = n_new + n_old
    graph = coo_matrix(
        (np.ones(len(edges_from), dtype=np.int8), (edges_from, edges_to)), shape=(size, size)
    )
    pieces, label = connected_components(graph, directed=False)
    new_piece = label[new_class] if len(new_class) else np.zeros(0, dtype=np.int64)
    old_piece = label[n_new + old_class] if len(old_class) else np.zeros(0, dtype=np.int64)
    held = np.zeros(len(old.records), dtype=bool)
    held[old_rows] = True
    if sensitive in old.records.columns:
        leaver_values = old.records[sensitive][~held]
    else:  # an earlier file without the sensitive column: count the leavers only
        leaver_values = pd.Series(np.arange((~held).sum()), dtype=object)
    joined = ~shared
    leaver_count, leaver_distinct = _per_piece(old_piece[~held], leaver_values, pieces)
    joiner_count, joiner_distinct = _per_piece(
        new_piece[joined], released[sensitive][joined], pieces
    )
    return Difference(
        piece=pd.Series(new_piece, index=released.index),
        pieces=int(pieces),
        leavers=int((~held).sum()),
        joiners=int(joined.sum()),
        leaver_count=leaver_count,
        leaver_distinct=leaver_distinct,
        joiner_count=joiner_count,
        joiner_distinct=joiner_distinct,
    )


def guard_intersections(
    released: pd.DataFrame,
    quasi_identifiers: Sequence[str],
    sensitive: str,
    releases: Sequence[EarlierRelease],
    k: int,
    l: int,  # noqa: E741 - the standard name of the l-diversity parameter
    max_suppressed: int,
    own_criteria: OwnCriteria,
) -> tuple[pd.DataFrame, list[IntersectionResult], str | None]:
    """Suppress records of ``released`` until every joint class with every earlier release
    holds; ``max_suppressed`` counts the records this may remove. Returns the records kept,
    one result per earlier release, and an error message when the limit would be exceeded
    (the caller then publishes nothing)."""
    earlier = {
        r.release_id: (r.classes(quasi_identifiers).reindex(released.index), r.k, r.l)
        for r in releases
    }
    kept = pd.Series(True, index=released.index)
    suppressed_for: dict[str, int] = dict.fromkeys(earlier, 0)
    changed = True
    while changed:
        changed = False
        for release_id, (classes, k_old, l_old) in earlier.items():
            current = released.loc[kept]
            size, distinct = joint_class_stats(
                current, quasi_identifiers, sensitive, classes.loc[kept]
            )
            bad = (size < min(k, k_old)) | (distinct < min(l, l_old))
            if bad.any():
                kept.loc[bad[bad].index] = False
                suppressed_for[release_id] += int(bad.sum())
                changed = True
        for old in releases:
            current = released.loc[kept]
            difference = difference_pieces(current, quasi_identifiers, sensitive, old)
            failing = difference.failing(min(k, old.k), min(l, old.l))
            drop = current.index[failing[difference.piece.to_numpy()]]
            if len(drop):  # a failing piece without new records is the earlier file's own
                kept.loc[drop] = False
                suppressed_for[old.release_id] += len(drop)
                changed = True
        if changed:
            current = released.loc[kept]
            own_ok = own_criteria(current)
            if not own_ok.all():
                kept.loc[current.index[~own_ok]] = False
        if int((~kept).sum()) > max_suppressed:
            return (
                released.loc[kept],
                _results(
                    released, kept, quasi_identifiers, sensitive, earlier, k, l,
                    suppressed_for, releases,
                ),
                f"keeping every joint class with earlier releases at k would suppress "
                f"{int((~kept).sum())} records, over the limit of {max_suppressed}",
            )  # fmt: skip
    results = _results(
        released, kept, quasi_identifiers, sensitive, earlier, k, l, suppressed_for, releases
    )
    return released.loc[kept], results, None


def _results(
    released: pd.DataFrame,
    kept: pd.Series,
    quasi_identifiers: Sequence[str],
    sensitive: str,
    earlier: Mapping[str, tuple[pd.Series, int, int]],
    k: int,
    l: int,  # noqa: E741
    suppressed_for: Mapping[str, int],
    releases: Sequence[EarlierRelease],
) -> list[IntersectionResult]:
    out = []
    current = released.loc[kept]
    by_id = {r.release_id: r for r in releases}
    for release_id, (classes, k_old, l_old) in earlier.items():
        difference = difference_pieces(current, quasi_identifiers, sensitive, by_id[release_id])
        shared = classes.loc[kept]
        size, distinct = joint_class_stats(current, quasi_identifiers, sensitive, shared)
        n_joint = (
            0
            if size.empty
            else int(
                current.loc[size.index, list(quasi_identifiers)]
                .assign(__e=shared[size.index].astype(str))
                .drop_duplicates()
                .shape[0]
            )
        )
        out.append(
            IntersectionResult(
                earlier_release=release_id,
                shared_records=len(size),
                joint_classes=n_joint,
                smallest_joint_class=int(size.min()) if len(size) else 0,
                fewest_distinct=int(distinct.min()) if len(distinct) else 0,
                k_required=min(k, k_old),
                l_required=min(l, l_old),
                suppressed_for_it=suppressed_for[release_id],
                leavers=difference.leavers,
                joiners=difference.joiners,
                difference_pieces=difference.pieces,
                smallest_difference=difference.smallest,
            )
        )
    return out
