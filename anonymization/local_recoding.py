"""Local recoding: each cell of records generalised on its own, cuts along the hierarchies.

Why
---
Full-domain generalisation (:mod:`anonymization.kanonymity`) picks one level per
quasi-identifier for the whole table: one rare regency in Papua forces every child in Jawa to
province level or above, and the demo's release lost all geography that way. Local recoding
lets the dense parts of the table keep detail the sparse parts cannot.

How (top-down specialisation along the hierarchies)
---------------------------------------------------
Start with one cell holding every record, every quasi-identifier at its top level ("*"), and
require it to meet the criteria (k, distinct l, and :class:`~anonymization.kanonymity.
ClassCriteria`). Repeatedly take a cell and, for each quasi-identifier not yet at its original
values, try specialising it one level down the hierarchy: the cell splits into one child per
value of the lower level (a province cell into its regencies, never across provinces: the
hierarchy is nested, so a child cell's values always lie under its parent's value). Children
that meet the criteria become cells; the others are pooled into one remainder cell that keeps
the parent's value (e.g. "32": the province's children outside the regencies shown), which must
meet the criteria too, or the split is refused. Of the allowed splits the one that lowers the
loss most (Iyengar's LM, the metric of the full-domain search) is made; a cell no split can
improve is final. Every released class is therefore a cell that met every criterion, and a cut
never crosses a hierarchy boundary.

Records are not suppressed: the top cell holds everyone. The result is a greedy optimum (as
Mondrian is), not an exact one; the release step compares its loss with the full-domain
optimum's and publishes the lower.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from anonymization.hierarchies import Hierarchy
from anonymization.kanonymity import (
    LOSS_METRIC,
    AnonymizationError,
    ClassCriteria,
    PrivacyReport,
    QuasiIdentifier,
    lowest_level_per_qi,
    prepare_quasi_identifier,
)

__all__ = ["local_recode"]


@dataclass
class _Cell:
    rows: np.ndarray  # record indices
    levels: tuple[int, ...]


def local_recode(
    df: pd.DataFrame,
    quasi_identifiers: Mapping[str, Hierarchy],
    sensitive: str,
    k: int,
    l: int,  # noqa: E741 - the standard name of the l-diversity parameter
    criteria: ClassCriteria | None = None,
    lowest_levels: Mapping[str, int] | None = None,
    atoms: np.ndarray | None = None,
) -> tuple[pd.DataFrame, PrivacyReport]:
    """Locally recode ``df``; returns the released rows (all of them, original index) with the
    quasi-identifiers as strings, and a report in the full-domain search's shape.
    ``lowest_levels``: per quasi-identifier the most detailed level a cell may reach.
    ``atoms``: an atom label per record; every cell is a union of whole atoms (a split that
    would cut an atom leaves that atom in the remainder). A public-use file whose classes are
    unions of the licensed file's classes cannot split those when the two are held together."""
    if k < 1 or l < 1:
        raise ValueError("k and l must be >= 1")
    n = len(df)
    if n == 0:
        raise AnonymizationError("no input rows: nothing to anonymise")
    qis = [prepare_quasi_identifier(name, h, df[name]) for name, h in quasi_identifiers.items()]
    lowest = lowest_level_per_qi(quasi_identifiers, lowest_levels)
    codes, uniques = pd.factorize(df[sensitive], use_na_sentinel=False)
    sensitive_codes = codes.astype(np.int64)
    n_values = max(len(uniques), 1)
    overall = np.bincount(sensitive_codes, minlength=n_values) / n
    extra = criteria if criteria is not None and criteria.any else None

    def groups_ok(rows: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
        """Which groups (``group``: an id 0..n_groups-1 per record of ``rows``) meet the
        criteria."""
        table = np.bincount(
            group * n_values + sensitive_codes[rows], minlength=n_groups * n_values
        ).reshape(n_groups, n_values)
        sizes = table.sum(axis=1)
        ok = (sizes >= k) & ((table > 0).sum(axis=1) >= l)
        if extra is not None:
            ok &= extra.class_ok(table, overall, list(uniques))
        return ok

    top = tuple(qi.height - 1 for qi in qis)
    if not groups_ok(np.arange(n), np.zeros(n, dtype=np.int64), 1)[0]:
        raise AnonymizationError(
            f"the whole table does not meet k={k}, l={l}: too few rows or sensitive values"
        )
    if atoms is not None and len(atoms) != n:
        raise ValueError("atoms: one label per record")
    atom = None if atoms is None else pd.factorize(pd.Series(atoms))[0].astype(np.int64)
    final: list[_Cell] = []
    stack = [_Cell(np.arange(n), top)]
    while stack:
        cell = stack.pop()
        best: tuple[float, int, np.ndarray, np.ndarray, np.ndarray] | None = None
        for j, qi in enumerate(qis):
            level = cell.levels[j]
            if level <= lowest[j]:
                continue
            lower = qi.codes[level - 1][cell.rows]
            group_values, group = np.unique(lower, return_inverse=True)
            if len(group_values) < 2:
                continue  # one value below: no split (the final cell descends for free)
            if atom is not None:
                group = _keep_atoms_whole(atom[cell.rows], group, len(group_values))
                ok = groups_ok(cell.rows, group, len(group_values) + 1)
                ok[-1] = False  # the cut atoms: to the remainder
            else:
                ok = groups_ok(cell.rows, group, len(group_values))
            if not ok.any():
                continue
            kept = ok[group]
            rest = ~kept
            if rest.any():
                remainder = cell.rows[rest]
                if not groups_ok(remainder, np.zeros(len(remainder), dtype=np.int64), 1)[0]:
                    continue
            gain = float(
                qi.record_loss[level][cell.rows[kept]].sum()
                - qi.record_loss[level - 1][cell.rows[kept]].sum()
            )
            if gain > 0 and (best is None or gain > best[0]):
                best = (gain, j, group, ok, kept)
        if best is None:
            # A level whose values are all one below (no real split) can still come down for
            # free; otherwise the cell is final.
            final.append(_free_descent(cell, qis, lowest))
            continue
        _, j, group, ok, kept = best
        lower_levels = (*cell.levels[:j], cell.levels[j] - 1, *cell.levels[j + 1 :])
        for g in np.flatnonzero(ok):
            stack.append(_Cell(cell.rows[group == g], lower_levels))
        if (~kept).any():
            stack.append(_Cell(cell.rows[~kept], cell.levels))
    released = _release(df, qis, final)
    return released, _report(qis, sensitive, k, l, n, final, released)


def _keep_atoms_whole(atom: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """``group`` with the records of every atom that spans two groups moved to an extra group
    ``n_groups`` (which the caller sends to the remainder)."""
    pairs = np.unique(atom * (n_groups + 1) + group)
    groups_per_atom = np.bincount(pairs // (n_groups + 1), minlength=int(atom.max()) + 1)
    return np.where(groups_per_atom[atom] > 1, n_groups, group)


def _free_descent(cell: _Cell, qis: list[QuasiIdentifier], lowest: tuple[int, ...]) -> _Cell:
    """Lower every quasi-identifier whose lower level holds a single value in the cell: the
    class stays the same, the values get more precise (never below the lowest level)."""
    levels = list(cell.levels)
    for j, qi in enumerate(qis):
        while levels[j] > lowest[j] and len(np.unique(qi.codes[levels[j] - 1][cell.rows])) == 1:
            levels[j] -= 1
    return _Cell(cell.rows, tuple(levels))


def _release(df: pd.DataFrame, qis: list[QuasiIdentifier], cells: list[_Cell]) -> pd.DataFrame:
    out = df.copy()
    for j, qi in enumerate(qis):
        values = np.empty(len(df), dtype=object)
        for cell in cells:
            level = cell.levels[j]
            values[cell.rows] = qi.labels[level][qi.codes[level][cell.rows]]
        out[qi.name] = pd.Series(values, index=df.index, dtype=object)
    return out


def _report(
    qis: list[QuasiIdentifier],
    sensitive: str,
    k: int,
    l_req: int,
    n: int,
    cells: list[_Cell],
    released: pd.DataFrame,
) -> PrivacyReport:
    """k, l and the classes as the released table shows them (two cells may show the same
    values; their union is then one class)."""
    classes = released.groupby([qi.name for qi in qis], dropna=False)[sensitive]
    loss = 0.0
    share: dict[str, dict[str, float]] = {}
    for j, qi in enumerate(qis):
        by_level: dict[str, int] = {}
        for cell in cells:
            level = cell.levels[j]
            loss += float(qi.record_loss[level][cell.rows].sum())
            name = qi.hierarchy.level_name(level)
            by_level[name] = by_level.get(name, 0) + len(cell.rows)
        share[qi.name] = {name: round(count / n, 4) for name, count in by_level.items()}
    generalization = {
        name: "local: "
        + ", ".join(f"{lv} {s:.0%}" for lv, s in sorted(levels.items(), key=lambda x: -x[1]))
        for name, levels in share.items()
    }
    return PrivacyReport(
        quasi_identifiers=[qi.name for qi in qis],
        sensitive_attribute=sensitive,
        k_required=k,
        k=int(classes.size().min()),
        l_required=l_req,
        l=int(classes.nunique().min()),
        generalization=generalization,
        input_rows=n,
        released_rows=n,
        suppressed_rows=0,
        suppression_limit=0.0,
        information_loss={"metric": LOSS_METRIC, "value": round(loss / (n * len(qis)), 6)},
        equivalence_classes=int(classes.ngroups),
        lattice_nodes_evaluated=0,
    )
