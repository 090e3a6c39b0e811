"""Secondary cell suppression over linked tables, solved as an integer programme with the
LP attacker as its separation oracle (cutting planes, after Fischetti & Salazar-González).

Why not the line heuristic of :mod:`anonymization.small_cells`: it looks at one table at a time
and guarantees only that no line has exactly one hidden cell. An attacker who adds up every
table cut from the same cells (province × quarter, province × year, quarter, ...) can still
pin hidden cells down (``bench/disclosure.py`` measures it). Here the protection requirement is
the attacker's own: for every sensitive cell, the interval the LP attacker can prove from
*all* visible cells of *all* tables of the family must be at least ``width`` wide.

The method:

1. Master problem (HiGHS MILP via ``scipy.optimize.milp``): choose hidden cells of least cost,
   with every sensitive cell hidden and every cut below satisfied.
2. Separation: for the master's pattern, the attacker's two LPs per sensitive cell (min and
   max of its sum subject to every visible cell and non-negativity). If the interval is too
   narrow, the duals say which visible cells the bounds rest on: unless one of them is hidden,
   those dual solutions stay feasible with the same value, so the interval cannot widen. That
   gives the cut "hide at least one of these cells", valid for every protecting pattern.
3. Repeat until no sensitive cell is under-protected: the pattern is then protected against
   the exact attacker, and least-cost among the patterns the cuts allow.

Zero cells are never chosen as complements (hiding a structural zero protects little and
tells the reader nothing useful is there); the cells they cover are known to be zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import highspy
import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_matrix

__all__ = ["AttackerLP", "CellFamily", "JointSuppression", "least_cost_cover", "protect_jointly"]

_DUAL_TOLERANCE = 1e-9


@dataclass(frozen=True)
class CellFamily:
    """The cells of every table of a family, each the finest cells it adds up, with values."""

    n_finest: int
    cells: Sequence[np.ndarray]
    values: np.ndarray

    def __post_init__(self) -> None:
        if len(self.cells) != len(self.values):
            raise ValueError("one value per cell")
        if (np.asarray(self.values) < 0).any():
            raise ValueError("counts are never negative")


@dataclass
class JointSuppression:
    hidden: np.ndarray  # bool per cell of the family
    sensitive: np.ndarray  # bool per cell: 1 .. threshold - 1
    rounds: int
    cuts: int
    #: The attacker's interval of each sensitive cell under the final pattern.
    intervals: dict[int, tuple[float, float]] = field(default_factory=dict)

    @property
    def complementary(self) -> int:
        return int((self.hidden & ~self.sensitive).sum())


def _attacker(
    family: CellFamily, hidden: np.ndarray
) -> tuple[np.ndarray, csr_matrix, np.ndarray, np.ndarray]:
    """(column of each finest cell or -1 if known zero, A_eq over unknown finest cells, b_eq,
    family cell of each row) for the visible non-zero cells."""
    values = np.asarray(family.values, dtype=float)
    zero = np.zeros(family.n_finest, dtype=bool)
    for cell, value in zip(family.cells, values, strict=True):
        if value == 0:
            zero[cell] = True
    column = np.full(family.n_finest, -1, dtype=np.int64)
    unknown = np.flatnonzero(~zero)
    column[unknown] = np.arange(len(unknown))
    rows: list[int] = []
    cols: list[int] = []
    rhs: list[float] = []
    owner: list[int] = []
    for index, (cell, value) in enumerate(zip(family.cells, values, strict=True)):
        if hidden[index] or value == 0:
            continue
        free = column[cell]
        free = free[free >= 0]
        rows.extend([len(rhs)] * len(free))
        cols.extend(free.tolist())
        rhs.append(value)
        owner.append(index)
    a_eq = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(rhs), len(unknown)))
    return column, a_eq, np.array(rhs), np.array(owner, dtype=np.int64)


class AttackerLP:
    """The attacker's LP for one pattern: only the objective changes from one sensitive cell
    to the next, so each solve starts from the last optimal basis.

    ``per_sense``: keep two HiGHS instances, one per sense, so a maximum restarts from the
    last maximum, a minimum from the last minimum. Why: the maximum of one cell and the
    minimum of the next lie at opposite ends of the polytope, the maxima of neighbouring
    cells (callers go through them in table order) near each other; on a 10,000-children
    year block it took a third of the simplex iterations (20,297 against 63,827 for 80
    solves). The protector keeps one instance: its choice of complements follows the duals
    of the vertices it reaches, and a different path would publish a different pattern.

    Rows are ``row_lower <= A x <= row_upper`` (equal bounds: a visible count; an upper bound
    of 0 with no lower bound: a known inequality such as successes <= placements), x >= 0."""

    def __init__(
        self,
        a: csr_matrix,
        row_lower: np.ndarray,
        row_upper: np.ndarray | None = None,
        per_sense: bool = False,
    ) -> None:
        self.per_sense = per_sense
        self.n = a.shape[1]
        self.rows = len(row_lower)
        lp = highspy.HighsLp()
        lp.num_col_ = self.n
        lp.num_row_ = self.rows
        lp.col_cost_ = np.zeros(self.n)
        lp.col_lower_ = np.zeros(self.n)
        lp.col_upper_ = np.full(self.n, highspy.kHighsInf)
        lp.row_lower_ = np.asarray(row_lower, dtype=float)
        lp.row_upper_ = np.asarray(row_lower if row_upper is None else row_upper, dtype=float)
        csc = a.tocsc()
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
        lp.a_matrix_.index_ = csc.indices.astype(np.int32)
        lp.a_matrix_.value_ = csc.data.astype(float)
        self._lp = lp
        self._sides: dict[bool | None, highspy.Highs] = {}
        self._targets: dict[bool | None, np.ndarray] = {}
        self._released: list[np.ndarray] = []
        self._last = False

    def _key(self, maximize: bool) -> bool | None:
        return maximize if self.per_sense else None

    def _side(self, maximize: bool) -> highspy.Highs:
        """The instance of one sense (or the only one), built on first use with the rows
        released so far, set to ``maximize``."""
        key = self._key(maximize)
        if key not in self._sides:
            highs = highspy.Highs()
            highs.setOptionValue("output_flag", False)
            # Only the objective changes between solves: the last optimal basis stays primal
            # feasible, so primal simplex restarts from it (dual simplex would start over).
            highs.setOptionValue("presolve", "off")
            highs.setOptionValue("simplex_strategy", 4)
            highs.passModel(self._lp)
            for rows in self._released:
                _release(highs, rows)
            self._sides[key] = highs
            self._targets[key] = np.zeros(0, dtype=np.int32)
        highs = self._sides[key]
        sense = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
        highs.changeObjectiveSense(sense)
        return highs

    @property
    def highs(self) -> highspy.Highs:
        """The instance that solved last."""
        return self._sides[self._key(self._last)]

    def bound(self, target: np.ndarray, maximize: bool) -> tuple[float, np.ndarray]:
        """(min or max of the target's sum, duals of the rows); inf when unbounded."""
        target = np.asarray(target, dtype=np.int32)
        highs, key = self._side(maximize), self._key(maximize)
        if not np.array_equal(target, self._targets[key]):
            old = self._targets[key]
            if len(old):
                highs.changeColsCost(len(old), old, np.zeros(len(old)))
            highs.changeColsCost(len(target), target, np.ones(len(target)))
            self._targets[key] = target
        self._last = maximize
        return self._solve(highs, maximize)

    def _solve(self, highs: highspy.Highs, maximize: bool) -> tuple[float, np.ndarray]:
        highs.run()
        status = highs.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible:
            # The visible counts are consistent (the truth satisfies them): a warm start that
            # ends "infeasible" is numerical; solve once more from scratch.
            highs.clearSolver()
            highs.run()
            status = highs.getModelStatus()
        if (
            status
            in (
                highspy.HighsModelStatus.kUnbounded,
                highspy.HighsModelStatus.kUnboundedOrInfeasible,
            )
            and maximize
        ):
            return np.inf, np.zeros(self.rows)
        if status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"attacker LP failed: {highs.modelStatusToString(status)}")
        value = float(highs.getInfo().objective_function_value)
        return value, np.asarray(highs.getSolution().row_dual, dtype=float)

    def release(self, rows: np.ndarray) -> None:
        """Drop rows from the attacker's knowledge (their cells become hidden), keeping the
        bases, so the next solve restarts from where the last one of its sense ended."""
        rows = np.asarray(rows, dtype=np.int32)
        self._released.append(rows)
        for highs in self._sides.values():
            _release(highs, rows)

    def solution(self) -> np.ndarray:
        """The last optimal point: a table of finest cells consistent with everything visible."""
        return np.asarray(self.highs.getSolution().col_value, dtype=float)


def _release(highs: highspy.Highs, rows: np.ndarray) -> None:
    inf = np.full(len(rows), highspy.kHighsInf)
    highs.changeRowsBounds(len(rows), rows, -inf, inf)  # type: ignore[attr-defined]


def least_cost_cover(
    n: int, cost: np.ndarray, forced: np.ndarray, banned: np.ndarray, cuts: list[np.ndarray]
) -> np.ndarray:
    """The least-cost set of hidden cells (HiGHS MILP) that contains ``forced``, avoids
    ``banned`` and hides at least one cell of every cut."""
    lower = forced.astype(float)
    upper = np.where(banned & ~forced, 0.0, 1.0)
    constraints = []
    if cuts:
        rows = np.concatenate([np.full(len(c), i) for i, c in enumerate(cuts)])
        cols = np.concatenate(cuts)
        matrix = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(cuts), n))
        constraints.append(LinearConstraint(matrix, lb=np.ones(len(cuts)), ub=np.inf))
    result = milp(
        cost, integrality=np.ones(n), bounds=Bounds(lower, upper), constraints=constraints
    )
    if result.status != 0 or result.x is None:
        raise RuntimeError(f"no suppression pattern satisfies the protection: {result.message}")
    return np.asarray(result.x) > 0.5


def protect_jointly(
    family: CellFamily,
    threshold: int,
    width: float,
    cost: np.ndarray | None = None,
    max_rounds: int = 200,
) -> JointSuppression:
    """Hide the sensitive cells (1 .. threshold - 1) and the least-cost complements so that
    the LP attacker bounds no sensitive cell to an interval narrower than ``width``.

    ``cost`` per cell defaults to its value plus one (information lost, counted in children,
    and a small price per hidden cell so that ties hide fewer cells).
    """
    values = np.asarray(family.values, dtype=float)
    n = len(values)
    sensitive = (values >= 1) & (values < threshold)
    if threshold <= 1 or not sensitive.any():
        return JointSuppression(np.zeros(n, dtype=bool), sensitive, 0, 0)
    costs = values + 1.0 if cost is None else np.asarray(cost, dtype=float)
    zero = values == 0
    cuts: list[np.ndarray] = []
    seen: set[bytes] = set()
    for rounds in range(1, max_rounds + 1):
        hidden = least_cost_cover(n, costs, sensitive, zero, cuts)
        column, a_eq, b_eq, owner = _attacker(family, hidden)
        attacker = AttackerLP(a_eq, b_eq)
        intervals: dict[int, tuple[float, float]] = {}
        fresh = 0
        for s in np.flatnonzero(sensitive):
            target = column[family.cells[s]]
            target = np.unique(target[target >= 0])
            low, low_duals = attacker.bound(target, maximize=False)
            high, high_duals = attacker.bound(target, maximize=True)
            intervals[int(s)] = (low, high)
            if high - low >= width - 1e-9:
                continue
            support = (np.abs(low_duals) > _DUAL_TOLERANCE) | (np.abs(high_duals) > _DUAL_TOLERANCE)
            cut = np.unique(owner[support])
            if len(cut) == 0:
                raise RuntimeError(f"cell {s} cannot be protected: no visible cell bounds it")
            key = cut.tobytes()
            if key not in seen:
                seen.add(key)
                cuts.append(cut)
                fresh += 1
        if fresh == 0:
            if any(h - lo < width - 1e-9 for lo, h in intervals.values()):
                raise RuntimeError("cutting planes stalled before the protection was reached")
            return JointSuppression(hidden, sensitive, rounds, len(cuts), intervals)
    raise RuntimeError(f"no protected pattern within {max_rounds} rounds ({len(cuts)} cuts)")
