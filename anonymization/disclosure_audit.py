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

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linprog
from scipy.sparse import csr_matrix, vstack
from scipy.sparse.csgraph import connected_components

from anonymization.joint_suppression import AttackerLP

__all__ = [
    "Interval",
    "LinearRelease",
    "PublishedAnswer",
    "answer_cells",
    "audit_intervals",
    "prove_widths",
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
    #: Known inequalities cell i <= cell j (successes never exceed placements of a cell).
    at_most: list[tuple[int, int]] = field(default_factory=list)

    def add(self, cells: Sequence[int] | np.ndarray, value: float) -> None:
        self.equations.append((np.asarray(cells, dtype=np.int64), float(value)))


@dataclass(frozen=True)
class _Reduced:
    """The equations over the cells still unknown once zeros and single cells are fixed."""

    column: np.ndarray  # cell id -> LP column, -1 when fixed
    fixed: np.ndarray  # value of each fixed cell (0 elsewhere)
    a_eq: csr_matrix
    b_eq: np.ndarray
    a_ub: csr_matrix
    b_ub: np.ndarray


def _inequalities(
    release: LinearRelease, column: np.ndarray, fixed: np.ndarray
) -> tuple[csr_matrix, np.ndarray]:
    """``x_i - x_j <= 0`` over the unknown cells, a known side moved to the right."""
    rows: list[int] = []
    cols: list[int] = []
    data: list[float] = []
    rhs: list[float] = []
    for small, large in release.at_most:
        a, b = column[small], column[large]
        if a < 0 and b < 0:
            continue
        if a >= 0:
            rows.append(len(rhs))
            cols.append(int(a))
            data.append(1.0)
        if b >= 0:
            rows.append(len(rhs))
            cols.append(int(b))
            data.append(-1.0)
        rhs.append((fixed[large] if b < 0 else 0.0) - (fixed[small] if a < 0 else 0.0))
    shape = (len(rhs), int((column >= 0).sum()))
    return csr_matrix((data, (rows, cols)), shape=shape), np.array(rhs)


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
    # The same count reaches an attacker through many answers: one row each is enough, and
    # repeated rows make every LP slower.
    seen: set[tuple[tuple[int, ...], float]] = set()
    for cells, value in release.equations:
        unknown = cells[column[cells] >= 0]
        if len(unknown) == 0:
            continue
        known = float(np.nansum(fixed[cells[column[cells] < 0]]))
        key = (tuple(np.sort(column[unknown]).tolist()), value - known)
        if key in seen:
            continue
        seen.add(key)
        rows.extend([len(rhs)] * len(unknown))
        cols.extend(column[unknown].tolist())
        rhs.append(value - known)
    a_eq = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(rhs), len(free)))
    values = np.nan_to_num(fixed)
    a_ub, b_ub = _inequalities(release, column, values)
    return _Reduced(column, values, a_eq, np.array(rhs), a_ub, b_ub)


def _linprog_rows(
    a_eq: csr_matrix, b_eq: np.ndarray, a_ub: csr_matrix, b_ub: np.ndarray
) -> dict[str, Any]:
    """``linprog``'s row arguments; an empty block is left out."""
    rows: dict[str, Any] = {}
    if len(b_eq):
        rows.update(A_eq=a_eq, b_eq=b_eq)
    if len(b_ub):
        rows.update(A_ub=a_ub, b_ub=b_ub)
    return rows


def audit_intervals(
    release: LinearRelease, targets: Sequence[Sequence[int] | np.ndarray]
) -> list[Interval]:
    """The tightest [low, high] of each target's sum (cells it adds up) given ``release``."""
    reduced = _reduce(release)
    column, fixed = reduced.column, reduced.fixed
    n_free = reduced.a_eq.shape[1]
    equations = _linprog_rows(reduced.a_eq, reduced.b_eq, reduced.a_ub, reduced.b_ub)
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


class _Component:
    """The attacker of one connected part of the unknowns (no equation links it to the
    others): one warm-started HiGHS instance, and the feasible points seen so far.

    Every point is checked against the rows before it is kept, so a width proven by two
    points does not rest on the solver, nor on whoever handed a point in: the points
    themselves are the proof."""

    def __init__(self, reduced: _Reduced, columns: np.ndarray, known: np.ndarray | None) -> None:
        self.columns = columns
        local = np.full(reduced.a_eq.shape[1], -1, dtype=np.int64)
        local[columns] = np.arange(len(columns))
        self.local = local
        a_eq, a_ub = reduced.a_eq[:, columns], reduced.a_ub[:, columns]
        eq, ub = np.flatnonzero(a_eq.getnnz(axis=1)), np.flatnonzero(a_ub.getnnz(axis=1))
        self.a_eq, self.b_eq = a_eq[eq].tocsr(), reduced.b_eq[eq]
        self.a_ub, self.b_ub = a_ub[ub].tocsr(), reduced.b_ub[ub]
        self._attacker: AttackerLP | None = None
        self.base = None if known is None else known[columns]
        # Checked points, one per column (most of them handed in, checked at once), and the
        # few the LPs add one by one.
        self.stack = np.zeros((len(columns), 0))
        self.extra: list[np.ndarray] = []
        if self.base is not None:
            self.extra.append(self.base)

    @property
    def attacker(self) -> AttackerLP:
        """Built on first use: a component whose every target the points prove needs none."""
        if self._attacker is None:
            rows = vstack([self.a_eq, self.a_ub]).tocsr()
            lower = np.concatenate([self.b_eq, np.full(len(self.b_ub), -np.inf)])
            upper = np.concatenate([self.b_eq, self.b_ub])
            self._attacker = AttackerLP(rows, lower, upper, per_sense=True)
        return self._attacker

    def _feasible_columns(self, points: np.ndarray) -> np.ndarray:
        """Which columns of ``points`` (component columns × points) satisfy every row."""
        scale = 1e-6 * max(1.0, float(np.abs(self.b_eq).max(initial=0.0)))
        ok = (points >= -scale).all(axis=0)
        if len(self.b_eq):
            ok &= (np.abs(self.a_eq @ points - self.b_eq[:, None]) <= scale).all(axis=0)
        if len(self.b_ub):
            ok &= (self.a_ub @ points <= self.b_ub[:, None] + scale).all(axis=0)
        return np.asarray(ok, dtype=bool)

    def _feasible(self, point: np.ndarray) -> bool:
        return bool(self._feasible_columns(point[:, None])[0])

    def offer(self, cells: np.ndarray, values: np.ndarray) -> int:
        """Points handed in: ``values`` (points × len(cells)) on LP columns ``cells``, the
        known table elsewhere. Each is checked here; returns how many were kept."""
        if self.base is None:
            return 0
        where = self.local[cells]
        inside = where >= 0
        if not inside.any() or not len(values):
            return 0
        kept = [self.stack]
        for start in range(0, len(values), 256):  # a bounded copy at a time
            points = np.repeat(self.base[:, None], len(values[start : start + 256]), axis=1)
            points[where[inside], :] = values[start : start + 256, inside].T
            kept.append(points[:, self._feasible_columns(points)])
        before = self.stack.shape[1]
        self.stack = np.concatenate(kept, axis=1)
        return self.stack.shape[1] - before

    def _seen(self, where: np.ndarray) -> list[float]:
        seen = self.stack[where].sum(axis=0).tolist() if self.stack.shape[1] else []
        return seen + [float(p[where].sum()) for p in self.extra]

    def bounds(self, unknown: np.ndarray, width: float) -> tuple[float, float]:
        """(low, high) of the sum over ``unknown`` (this component's columns): exact, or an
        inner interval already ``width`` wide."""
        where = self.local[unknown]
        seen = self._seen(where)
        if seen and max(seen) - min(seen) >= width:
            return min(seen), max(seen)
        target = np.unique(where)
        low: float | None = None
        for maximize in (False, True):
            try:
                value, _ = self.attacker.bound(target, maximize=maximize)
            except RuntimeError as exc:
                raise RuntimeError(f"the released equations are inconsistent: {exc}") from exc
            if not np.isfinite(value):
                return (low if low is not None else min(seen, default=0.0)), np.inf
            point = self.attacker.solution()
            if self._feasible(point):
                self.extra.append(point)
                seen.append(float(point[where].sum()))
            if not maximize:
                low = value
                if seen and max(seen) - min(seen) >= width:
                    return min(seen), max(seen)
                continue
            assert low is not None
            if seen and max(seen) - min(seen) >= width:
                return min(seen), max(seen)
            if value - low < width:
                return low, value  # narrow: the failure is reported with the solver's bounds
            # The solver claims a wide interval its points do not show (one failed the
            # check): report what the checked points prove, never more.
            return min(seen, default=low), max(seen, default=low)
        raise AssertionError("unreachable")  # pragma: no cover


def prove_widths(
    release: LinearRelease,
    targets: Sequence[Sequence[int] | np.ndarray],
    width: float,
    known: np.ndarray | None = None,
    candidates: Sequence[tuple[np.ndarray, np.ndarray]] = (),
) -> list[Interval]:
    """For each target, an interval the attacker cannot narrow that is at least ``width``
    wide, or, where there is none, the exact (narrower) one.

    Cheaper than :func:`audit_intervals` for a check, and as sound: the unknowns split into
    parts no equation links (each solved alone); every LP solution is a table consistent with
    the release, so two of them that differ by ``width`` on a target prove it without its own
    LPs. ``known``, a table the caller knows to be consistent (the truth), is checked and used
    as one more such point. ``candidates``: (cells, tables × len(cells)) offered as more such
    tables (``known`` elsewhere), e.g. the protector's LP solutions; each is checked against
    the release part by part and only kept where it satisfies it, so nothing is taken on
    trust (and nothing is used without ``known``)."""
    reduced = _reduce(release)
    n_free = reduced.a_eq.shape[1]
    point = None
    if known is not None:
        full = np.asarray(known, dtype=float)
        point = full[reduced.column >= 0]  # in the order of the LP columns
        fixed = reduced.column < 0
        consistent = (
            bool(np.allclose(full[fixed], reduced.fixed[fixed]))
            and bool((point >= 0).all())
            and (not len(reduced.b_eq) or bool(np.allclose(reduced.a_eq @ point, reduced.b_eq)))
            and (not len(reduced.b_ub) or bool((reduced.a_ub @ point <= reduced.b_ub + 1e-9).all()))
        )
        if not consistent:
            raise ValueError("the known table does not satisfy the release")
    # Two unknowns are linked when a row holds both.
    graph = csr_matrix((n_free, n_free))
    for rows in (reduced.a_eq, reduced.a_ub):
        if rows.shape[0]:
            graph = graph + abs(rows).T @ abs(rows)
    _, label = connected_components(graph, directed=False)
    offered = []
    for cells, tables in candidates:
        cells = np.asarray(cells, dtype=np.int64)
        free = reduced.column[cells] >= 0
        offered.append((reduced.column[cells[free]], np.asarray(tables, dtype=float)[:, free]))
    unknowns = []
    last: dict[int, int] = {}  # the last target of each part: its points are freed after it
    for i, target in enumerate(targets):
        cells = np.asarray(target, dtype=np.int64)
        unknowns.append((cells, reduced.column[cells[reduced.column[cells] >= 0]]))
        last.update((int(part), i) for part in np.unique(label[unknowns[-1][1]]))
    parts: dict[int, _Component] = {}
    out: list[Interval] = []
    for i, (cells, unknown) in enumerate(unknowns):
        low = high = float(reduced.fixed[cells[reduced.column[cells] < 0]].sum())
        for part in np.unique(label[unknown]).tolist():
            if part not in parts:
                parts[part] = _Component(reduced, np.flatnonzero(label == part), point)
                for columns, tables in offered:
                    parts[part].offer(columns, tables)
            lo, hi = parts[part].bounds(unknown[label[unknown] == part], width)
            low, high = low + lo, high + hi
            if last[part] == i:
                del parts[part]
        out.append(Interval(low, high))
    return out


@dataclass(frozen=True)
class PublishedAnswer:
    """One answer as its reader got it: the window it covers (whole periods, inclusive days)
    and its rows, each the dimension values it fixes and its count (None when hidden)."""

    rows: Sequence[tuple[Mapping[str, str], float | None]]
    date_from: date | None = None
    date_to: date | None = None


def answer_cells(
    cells: pd.DataFrame, answers: Iterable[PublishedAnswer]
) -> Iterator[tuple[np.ndarray, float | None]]:
    """Every row of ``answers`` as (the finest cells it adds up, its count or None when
    hidden); ``cells`` has one row per finest cell: a column per dimension label an answer may
    fix (``province``, ``quarter``, ``year``, ...) and ``period_start``."""
    starts = pd.to_datetime(cells["period_start"]).dt.date.to_numpy()
    columns = {name: cells[name].astype(str).to_numpy() for name in cells.columns}
    for answer in answers:
        window = np.ones(len(cells), dtype=bool)
        if answer.date_from is not None:
            window &= starts >= answer.date_from
        if answer.date_to is not None:
            window &= starts <= answer.date_to
        for fixed, value in answer.rows:
            match = window.copy()
            for name, label in fixed.items():
                match &= columns[name] == str(label)
            yield np.flatnonzero(match), value


def release_from_answers(cells: pd.DataFrame, answers: Iterable[PublishedAnswer]) -> LinearRelease:
    """Equations over the finest cells (see :func:`answer_cells`) from every visible count
    of ``answers``."""
    release = LinearRelease(len(cells), [])
    for where, value in answer_cells(cells, answers):
        if value is not None:
            release.add(where, value)
    return release
