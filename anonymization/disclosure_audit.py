"""The attacker who solves everything an audience was given: bounds on each hidden cell by LP.

Why: suppression rules (primary, complementary, nested lines) are claims; this module checks
them the way an attacker would. Every published count is a linear equation over the finest
cells of the cube it was cut from (a province-year total is the sum of that province's
quarters, a sex total the sum over ages, ...). Given all the equations an audience can collect
across answers, tables and channels, and that counts are never negative, the tightest interval
for a hidden cell is the minimum and the maximum of its sum subject to those equations: two
linear programmes (HiGHS, through ``scipy.optimize.linprog``). Integrality is relaxed, which
only widens intervals by less than one: a cell whose LP interval is narrower than the
protection width is unprotected whatever an integer solver would add.

The cube's cells are the unknowns; an equation is (indices of the cells it adds up, value).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from scipy.optimize import linprog
from scipy.sparse import csr_matrix

__all__ = [
    "Interval",
    "LinearRelease",
    "PublishedAnswer",
    "audit_intervals",
    "release_from_answers",
]


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    @property
    def width(self) -> float:
        return self.high - self.low

    def exact(self, tolerance: float = 1e-6) -> bool:
        return self.width <= tolerance


@dataclass
class LinearRelease:
    """Everything released, as equations over ``n_cells`` non-negative unknowns."""

    n_cells: int
    equations: list[tuple[np.ndarray, float]]

    def add(self, cells: Sequence[int] | np.ndarray, value: float) -> None:
        self.equations.append((np.asarray(cells, dtype=np.int64), float(value)))


@dataclass(frozen=True)
class _Reduced:
    """The equations over the cells still unknown once zeros and single cells are fixed."""

    column: np.ndarray  # cell id -> LP column, -1 when fixed
    fixed: np.ndarray  # value of each fixed cell (0 elsewhere)
    a_eq: csr_matrix
    b_eq: np.ndarray


def _reduce(release: LinearRelease) -> _Reduced:
    """Fix the cells that released zeros and single-cell equations determine, so the LPs only
    carry the cells still unknown."""
    fixed = np.full(release.n_cells, np.nan)
    for cells, value in release.equations:
        if value == 0:
            fixed[cells] = 0.0
        elif len(cells) == 1:
            fixed[cells[0]] = value
    free = np.flatnonzero(np.isnan(fixed))
    column = np.full(release.n_cells, -1, dtype=np.int64)
    column[free] = np.arange(len(free))
    rows: list[int] = []
    cols: list[int] = []
    rhs: list[float] = []
    for cells, value in release.equations:
        unknown = cells[column[cells] >= 0]
        if len(unknown) == 0:
            continue
        known = float(np.nansum(fixed[cells[column[cells] < 0]]))
        rows.extend([len(rhs)] * len(unknown))
        cols.extend(column[unknown].tolist())
        rhs.append(value - known)
    a_eq = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(rhs), len(free)))
    return _Reduced(column, np.nan_to_num(fixed), a_eq, np.array(rhs))


def audit_intervals(
    release: LinearRelease, targets: Sequence[Sequence[int] | np.ndarray]
) -> list[Interval]:
    """The tightest [low, high] of each target's sum (cells it adds up) given ``release``."""
    reduced = _reduce(release)
    column, fixed = reduced.column, reduced.fixed
    n_free = reduced.a_eq.shape[1]
    equations = {"A_eq": reduced.a_eq, "b_eq": reduced.b_eq} if len(reduced.b_eq) else {}
    out: list[Interval] = []
    for target in targets:
        cells = np.asarray(target, dtype=np.int64)
        base = float(fixed[cells[column[cells] < 0]].sum())
        unknown = column[cells[column[cells] >= 0]]
        if len(unknown) == 0:
            out.append(Interval(base, base))
            continue
        objective = np.zeros(n_free)
        np.add.at(objective, unknown, 1.0)
        bounds = []
        for sign in (1.0, -1.0):
            result = linprog(sign * objective, bounds=(0, None), method="highs", **equations)
            if result.status == 3:  # unbounded: no equation limits the cell from above
                bounds.append(np.inf if sign < 0 else 0.0)
                continue
            if result.status != 0:
                raise RuntimeError(f"the released equations are inconsistent: {result.message}")
            bounds.append(sign * float(result.fun))
        out.append(Interval(base + bounds[0], base + bounds[1]))
    return out


@dataclass(frozen=True)
class PublishedAnswer:
    """One answer as its reader got it: the window it covers (whole periods, inclusive days)
    and its rows, each the dimension values it fixes and its count (None when hidden)."""

    rows: Sequence[tuple[Mapping[str, str], float | None]]
    date_from: date | None = None
    date_to: date | None = None


def release_from_answers(cells: pd.DataFrame, answers: Iterable[PublishedAnswer]) -> LinearRelease:
    """Equations over the finest cells (one row of ``cells`` each: a column per dimension
    label an answer may fix, e.g. ``province``, ``quarter``, ``year``, and ``period_start``)
    from every visible count of ``answers``."""
    release = LinearRelease(len(cells), [])
    starts = pd.to_datetime(cells["period_start"]).dt.date.to_numpy()
    columns = {name: cells[name].astype(str).to_numpy() for name in cells.columns}
    for answer in answers:
        window = np.ones(len(cells), dtype=bool)
        if answer.date_from is not None:
            window &= starts >= answer.date_from
        if answer.date_to is not None:
            window &= starts <= answer.date_to
        for fixed, value in answer.rows:
            if value is None:
                continue
            match = window.copy()
            for name, label in fixed.items():
                match &= columns[name] == str(label)
            release.add(np.flatnonzero(match), value)
    return release
