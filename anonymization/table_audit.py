"""The independent check of a set of protected tables, before anybody is served them.

:func:`anonymization.protected_tables.protect_tables` decides a pattern and records the
intervals it proved; this module trusts none of it. From the finest cells (re-derived by the
caller from the mart) it rebuilds every cell of every served table, checks that each published
cell is that sum (or hidden), that every small count is hidden, and then proves, with the
auditor's own solver path (:func:`anonymization.disclosure_audit.prove_widths`), that the
attacker who sees every visible cell, knows which finest cells are empty and knows the declared
inequalities between counts cannot narrow any hidden small count below ``width``.

Earlier releases (``released``: the values each count was given before): a count given with the
value it still has is known to the attacker even where it is hidden now; a count of an exact
table that moved by 1 .. threshold - 1 since it was given must be hidden and as wide as a small
one (its change is a count of children). Perturbed counts are not held to the second rule: the
noise of the two releases covers the change.

Perturbed tables (``key_sums``): each shown count must be exactly its cell-key perturbed value
(:func:`anonymization.cell_key.perturb` of the true sum and the cell's key), and the attacker is
still handed the *true* sums: the proof holds for one who could see through the noise.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from anonymization.cell_key import perturb
from anonymization.disclosure_audit import LinearRelease, prove_widths
from anonymization.protected_tables import CountRef, TableShape, Witness

__all__ = ["TableAudit", "audit_tables"]

_SLACK = 1e-7


@dataclass
class TableAudit:
    """What the check found; ``passed`` only if every list is empty."""

    cells: int = 0
    hidden_small: int = 0
    #: Published cells that are not the sum of their finest cells, missing or extra cells.
    mismatched: list[str] = field(default_factory=list)
    #: Small counts (1 .. threshold - 1) shown in the clear.
    shown_small: list[str] = field(default_factory=list)
    #: Hidden small counts the attacker bounds narrower than ``width``: (cell, low, high).
    narrow: list[tuple[str, float, float]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not (self.mismatched or self.shown_small or self.narrow)

    def summary(self) -> str:
        if self.passed:
            return (
                f"{self.cells} cells re-derived, every one of {self.hidden_small} hidden small "
                "counts at least as wide as required"
            )
        parts = []
        if self.mismatched:
            parts.append(
                f"{len(self.mismatched)} cells differ from the mart ({self.mismatched[0]})"
            )
        if self.shown_small:
            parts.append(f"{len(self.shown_small)} small counts shown ({self.shown_small[0]})")
        if self.narrow:
            cell, low, high = self.narrow[0]
            parts.append(f"{len(self.narrow)} hidden counts too narrow ({cell}: {low:g}..{high:g})")
        return "; ".join(parts)


def _key(values: Sequence[object]) -> tuple[str | None, ...]:
    return tuple(None if pd.isna(v) else str(v) for v in values)


def audit_tables(
    finest: pd.DataFrame,
    cells: pd.DataFrame,
    shapes: Sequence[TableShape],
    counts: Sequence[str],
    threshold: int,
    width: float,
    bounded_by: Mapping[str, str] | None = None,
    key_sums: Mapping[str, str] | None = None,
    released: Mapping[CountRef, Collection[int]] | None = None,
    witnesses: Sequence[Witness] = (),
) -> TableAudit:
    """Check ``cells`` (the format of :class:`~anonymization.protected_tables.ProtectedTables`:
    ``table``, dimensions, ``period``, counts and ``<count>__hidden``) against ``finest``.
    ``key_sums``: count -> the column of ``finest`` with its records' perturbation-key sums,
    for tables whose shown counts are perturbed. ``witnesses``: tables of finest cells (rows of
    ``finest``) offered as consistent with what is shown; each is checked before it counts
    (:func:`~anonymization.disclosure_audit.prove_widths`), so a wrong one only costs LPs."""
    counts = list(counts)
    finest = finest.reset_index(drop=True)
    n = len(finest)
    report = TableAudit()
    release = LinearRelease(len(counts) * n, [])
    for small, large in (bounded_by or {}).items():
        s, b = counts.index(small), counts.index(large)
        release.at_most.extend((s * n + f, b * n + f) for f in range(n))
    values = {c: finest[c].to_numpy(dtype=np.int64) for c in counts}
    keys = {c: finest[column].to_numpy(dtype=np.int64) for c, column in (key_sums or {}).items()}
    for k, count in enumerate(counts):
        for f in np.flatnonzero(values[count] == 0):
            release.add([k * n + f], 0)
    targets: list[np.ndarray] = []
    names: list[str] = []
    by_table = {key: part for key, part in cells.groupby("table", sort=False)}
    for shape in shapes:
        table = by_table.get(shape.key, cells.iloc[0:0])
        published = {
            _key([*(r[d] for d in shape.dims), r["period"]]): r for r in table.to_dict("records")
        }
        groups = finest.groupby([*shape.dims, shape.grain], dropna=False, sort=True).indices
        if len(published) != len(table) or len(groups) != len(table):
            report.mismatched.append(
                f"{shape.key}: {len(table)} published cells, {len(groups)} in the mart"
            )
        for key, members in groups.items():
            label = _key(key if isinstance(key, tuple) else (key,))
            name = f"{shape.key}={','.join(str(v) for v in label)}"
            row = published.get(label)
            if row is None:
                report.mismatched.append(f"{name} missing")
                continue
            report.cells += 1
            ref_label = tuple(str(v) for v in (key if isinstance(key, tuple) else (key,)))
            for k, count in enumerate(counts):
                truth = int(values[count][members].sum())
                expected = truth
                if count in keys and not 0 < truth < threshold:
                    expected = int(perturb([truth], [keys[count][members].sum()], threshold)[0])
                given = (released or {}).get((shape.key, ref_label, count), ())
                known = expected in given
                changed = (
                    not known
                    and count not in keys
                    and any(0 < abs(truth - int(v)) < threshold for v in given)
                )
                if bool(row[f"{count}__hidden"]):
                    if known:  # given before with this value: the attacker still has it
                        release.add(members + k * n, truth)
                    elif 0 < truth < threshold or changed:
                        targets.append(members + k * n)
                        names.append(f"{name} {count}")
                    continue
                if changed:
                    report.shown_small.append(f"{name} {count} (changed by less than {threshold})")
                if pd.isna(row[count]) or int(row[count]) != expected:
                    report.mismatched.append(f"{name} {count}")
                    continue
                if 0 < truth < threshold:
                    report.shown_small.append(f"{name} {count}")
                release.add(members + k * n, truth)
    report.hidden_small = len(targets)
    truth_point = np.concatenate([values[c].astype(float) for c in counts])
    candidates = [
        (
            np.concatenate(
                [k * n + np.asarray(w.rows, dtype=np.int64) for k in range(len(counts))]
            ),
            np.asarray(w.tables, dtype=float).reshape(len(w.tables), -1),
        )
        for w in witnesses
        if np.asarray(w.tables).ndim == 3
        and w.tables.shape[1:] == (len(counts), len(w.rows))
        and len(w.rows)
        and int(np.min(w.rows)) >= 0
        and int(np.max(w.rows)) < n
    ]
    intervals = prove_widths(release, targets, width, known=truth_point, candidates=candidates)
    report.narrow = [
        (name, i.low, i.high)
        for name, i in zip(names, intervals, strict=True)
        if i.width < width - _SLACK
    ]
    return report
