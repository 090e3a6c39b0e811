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
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["EarlierRelease", "IntersectionResult", "guard_intersections", "joint_class_stats"]

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
        if changed:
            current = released.loc[kept]
            own_ok = own_criteria(current)
            if not own_ok.all():
                kept.loc[current.index[~own_ok]] = False
        if int((~kept).sum()) > max_suppressed:
            return (
                released.loc[kept],
                _results(released, kept, quasi_identifiers, sensitive, earlier, k, l, suppressed_for),
                f"keeping every joint class with earlier releases at k would suppress "
                f"{int((~kept).sum())} records, over the limit of {max_suppressed}",
            )  # fmt: skip
    results = _results(released, kept, quasi_identifiers, sensitive, earlier, k, l, suppressed_for)
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
) -> list[IntersectionResult]:
    out = []
    current = released.loc[kept]
    for release_id, (classes, k_old, l_old) in earlier.items():
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
            )
        )
    return out
