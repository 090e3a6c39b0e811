"""Every table an audience may be served, suppressed as one problem at publish time.

Why: an audience that may ask for many breakdowns of the same counts (province, province ×
sex, sex × age band, each by quarter and by year) can add them all up. Suppressing each table
on its own leaves cells that the sum of all the others pins down (``bench/disclosure.py``
measured it). Here the whole declared set of tables is one suppression problem, solved with
the attacker's own test: for every sensitive count (1 .. threshold - 1) in every table, the
interval the LP attacker can prove from every visible count of every table, non-negativity and
the known inequalities between counts (successes never exceed placements) must be at least
``width`` wide.

The attacker's unknowns are the finest cells of the cube the tables are cut from, one per count.
They are told which finest cells are non-zero (a stronger attacker than any reader: the
protection holds a fortiori for one who does not know it). A served table's cell is a sum of
finest cells.

Method:

1. Blocks: the served grains nest in a coarser period (quarters and years in a year, months in
   a month), and no table adds periods of different blocks (a total over years is served as the
   sum of its year cells, hidden if one is), so each block is an independent problem.
2. Line cuts: where a cell of one table is the sum of cells of another (a province's year of its
   quarters, a province of its sexes), a hidden sensitive count needs a hidden partner in that
   line. The least-cost pattern that satisfies every line cut is an integer programme (HiGHS
   MILP, :func:`anonymization.joint_suppression.least_cost_cover`).
3. Repair against the attacker: for each sensitive count in turn, the attacker's two LPs (min
   and max, one warm-started HiGHS instance). While the interval is too narrow, the LP duals name
   the visible counts its bounds rest on (unless one of them is hidden the interval cannot
   widen), and the cheapest of them is hidden; the LP drops that row and restarts from its
   basis. The pattern only grows, so a count once proven stays proven, and the final pattern
   protects every sensitive count against the exact attacker.
4. Speed: every LP solution (and the truth) is a table consistent with everything visible; a
   count on which two of them differ by the width is proven without its own LPs.

Not optimal: step 3 repairs greedily along the duals, where the cutting-plane programme of
:func:`anonymization.joint_suppression.protect_jointly` re-optimises the whole pattern each
round (least cost, but minutes instead of seconds on a few thousand cells).

Earlier releases (``known``, ``changed``): a count the audience was already given with the
value it still has is known to the attacker whether or not it is shown again, so it is never
hidden (hiding it would only cost a complement elsewhere) and its equation stays in every LP. A
count whose value moved by 1 .. threshold - 1 since it was given is sensitive like a small one:
showing it again would show how many children came or went in between.

The result records every sensitive count's final interval; the publish gate re-checks them
with an independent solver path (:mod:`anonymization.disclosure_audit`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix

from anonymization.joint_suppression import AttackerLP, least_cost_cover

__all__ = [
    "CountRef",
    "ProtectedTables",
    "TableShape",
    "Witness",
    "cell_label",
    "cell_sums",
    "protect_tables",
    "shapes_by_key",
    "table_cells",
]

#: One count of one cell: (table key, the cell's dimension labels then its period, count name).
CountRef = tuple[str, tuple[str, ...], str]

_DUAL_TOLERANCE = 1e-9
_SLACK = 1e-7


@dataclass(frozen=True, order=True)
class TableShape:
    """A served table: its breakdown dimensions and the period column it is broken down by."""

    dims: tuple[str, ...]
    grain: str

    @property
    def key(self) -> str:
        """A stable name (``province,sex|quarter``), used as the table column of the output."""
        return f"{','.join(self.dims)}|{self.grain}"


@dataclass(frozen=True)
class Witness:
    """Tables of the finest cells of one block, each consistent with every count the final
    pattern shows (an LP solution the protector reached on its way).

    Why hand them on: whoever checks the pattern needs, for every hidden small count, two
    such tables that differ by the width on it. The protector has them already; the auditor
    re-checks each against its own equations (rebuilt from the mart) before it relies on one,
    so it trusts none of them, and solves its own LPs where one is missing or fails."""

    rows: np.ndarray  # rows of ``finest`` (the order the caller passed) that the tables cover
    tables: np.ndarray  # tables × counts × rows


@dataclass
class ProtectedTables:
    """Every cell of every served table, with its counts and whether it is hidden."""

    #: One row per cell: ``table`` (the shape's key), every dimension (NA where the table does
    #: not break down by it), ``period`` and ``grain``, the counts, ``suppressed`` and
    #: ``suppression_reason`` (primary / complementary).
    cells: pd.DataFrame
    sensitive: int
    repairs: int
    cuts: int
    lps: int
    #: (row in ``cells``, count) -> an interval the attacker cannot narrow: exact where the
    #: LPs were solved, else at least ``width`` wide (two consistent tables differ by that).
    intervals: dict[tuple[int, str], tuple[float, float]] = field(default_factory=dict)
    #: Per block, the tables that prove the intervals (see :class:`Witness`).
    witnesses: list[Witness] = field(default_factory=list)

    @property
    def hidden(self) -> int:
        """Counts hidden, over every count of every cell."""
        flags = [c for c in self.cells.columns if str(c).endswith("__hidden")]
        return int(self.cells[flags].to_numpy(dtype=bool).sum())


@dataclass
class _Block:
    """One independent problem: the cells of every table inside one block of periods."""

    members: list[np.ndarray]  # finest rows of each cell
    values: np.ndarray  # cells × counts
    lines: list[tuple[int, np.ndarray]]  # (parent cell, its child cells)
    n_finest: int
    finest_values: np.ndarray  # finest × counts


def _block_cells(
    block: pd.DataFrame,
    shapes: Sequence[TableShape],
    counts: Sequence[str],
    parents: Mapping[str, Sequence[str]],
) -> tuple[_Block, list[tuple[TableShape, tuple[object, ...]]]]:
    members: list[np.ndarray] = []
    labels: list[tuple[TableShape, tuple[object, ...]]] = []
    index: dict[TableShape, dict[tuple[object, ...], int]] = {}
    finest_values = block[list(counts)].to_numpy(dtype=float)
    for shape in shapes:
        keys = [*shape.dims, shape.grain]
        groups = block.groupby(keys, sort=True, dropna=False).indices
        index[shape] = {}
        for key, rows in groups.items():
            key_t = key if isinstance(key, tuple) else (key,)
            index[shape][key_t] = len(members)
            members.append(np.asarray(rows, dtype=np.int64))
            labels.append((shape, key_t))
    values = np.array([finest_values[m].sum(axis=0) for m in members]).reshape(
        len(members), len(counts)
    )
    lines: list[tuple[int, np.ndarray]] = []
    served = set(shapes)
    for child in shapes:
        # Parents one step up: one dimension fewer, or the next coarser period.
        ups = [
            TableShape(tuple(d for d in child.dims if d != gone), child.grain)
            for gone in child.dims
        ]
        ups += [TableShape(child.dims, coarser) for coarser in parents.get(child.grain, ())]
        for parent in ups:
            if parent not in served:
                continue
            positions = [child.dims.index(d) for d in parent.dims]
            grouped: dict[int, list[int]] = {}
            for key_t, cell in index[child].items():
                if parent.grain == child.grain:
                    up = (*[key_t[p] for p in positions], key_t[-1])
                    parent_cell = index[parent].get(up)
                else:
                    # A coarser period: the finest rows tell which one the cell lies in.
                    row = members[cell][0]
                    up = (*key_t[:-1], block[parent.grain].iloc[row])
                    parent_cell = index[parent].get(up)
                if parent_cell is not None:
                    grouped.setdefault(parent_cell, []).append(cell)
            lines.extend((p, np.array(c, dtype=np.int64)) for p, c in grouped.items())
    return _Block(members, values, lines, len(block), finest_values), labels


def _line_cuts(block: _Block, sensitive: np.ndarray, banned: np.ndarray) -> list[np.ndarray]:
    """Hide a partner in every line that holds a sensitive count: a sibling or the line's sum
    (of the same count). Pairs (cell, count) are numbered cell * counts + count."""
    n_counts = block.values.shape[1]
    cuts = []
    for parent, children in block.lines:
        for k in range(n_counts):
            pairs = children * n_counts + k
            for pair in pairs[sensitive[pairs]]:
                partners = [p for p in pairs if p != pair and not banned[p]]
                if not banned[parent * n_counts + k]:
                    partners.append(parent * n_counts + k)
                if partners:
                    cuts.append(np.unique(np.array(partners, dtype=np.int64)))
    return cuts


@dataclass(frozen=True)
class _System:
    """The attacker's LP for a pattern: columns per (count, non-zero finest cell)."""

    column: np.ndarray  # counts × finest -> column or -1 (known zero)
    a: csr_matrix
    lower: np.ndarray
    upper: np.ndarray
    owner: np.ndarray  # (cell, count) pair of each row, -1 for an inequality between counts


def _system(block: _Block, hidden: np.ndarray, bounded_by: Sequence[tuple[int, int]]) -> _System:
    n_counts = block.values.shape[1]
    column = np.full((n_counts, block.n_finest), -1, dtype=np.int64)
    free = block.finest_values.T > 0
    column[free] = np.arange(int(free.sum()))
    rows: list[int] = []
    cols: list[int] = []
    lower: list[float] = []
    upper: list[float] = []
    owner: list[int] = []
    for cell, finest in enumerate(block.members):
        for k in range(n_counts):
            if hidden[cell * n_counts + k]:
                continue
            unknown = column[k, finest]
            unknown = unknown[unknown >= 0]
            if len(unknown) == 0:
                continue
            rows.extend([len(lower)] * len(unknown))
            cols.extend(unknown.tolist())
            lower.append(block.values[cell, k])
            upper.append(block.values[cell, k])
            owner.append(cell * n_counts + k)
    data = [1.0] * len(rows)
    for small, large in bounded_by:
        for f in np.flatnonzero((column[small] >= 0) & (column[large] >= 0)):
            rows.extend([len(lower)] * 2)
            cols.extend([int(column[small, f]), int(column[large, f])])
            data.extend([1.0, -1.0])
            lower.append(-np.inf)
            upper.append(0.0)
            owner.append(-1)
    a = csr_matrix((data, (rows, cols)), shape=(len(lower), int(free.sum())))
    return _System(column, a, np.array(lower), np.array(upper), np.array(owner, dtype=np.int64))


def _target(system: _System, block: _Block, pair: int, n_counts: int) -> np.ndarray:
    cell, k = divmod(pair, n_counts)
    target = system.column[k, block.members[cell]]
    return np.unique(target[target >= 0])


class _Points:
    """Feasible points the attacker's LPs visited (and the truth), and each pending target's
    lowest and highest value among them: when two points differ by the protection width, the
    target is protected without solving its own LPs (the attacker's interval contains both)."""

    def __init__(self, targets: Sequence[np.ndarray], n_columns: int) -> None:
        rows = (
            np.concatenate([np.full(len(t), i) for i, t in enumerate(targets)]) if targets else []
        )
        cols = np.concatenate(targets) if targets else []
        self.matrix = csr_matrix(
            (np.ones(len(rows)), (rows, cols)), shape=(len(targets), n_columns)
        )
        self.low = np.full(len(targets), np.inf)
        self.high = np.full(len(targets), -np.inf)
        self.points: list[np.ndarray] = []
        # Which point gives each target its lowest and highest value: the witnesses.
        self.low_at = np.full(len(targets), -1, dtype=np.int64)
        self.high_at = np.full(len(targets), -1, dtype=np.int64)

    def absorb(self, point: np.ndarray) -> None:
        values = self.matrix @ point
        index = len(self.points)
        self.points.append(point)
        self.low_at[values < self.low] = index
        self.high_at[values > self.high] = index
        np.minimum(self.low, values, out=self.low)
        np.maximum(self.high, values, out=self.high)

    def extremes(self, skip_first: bool) -> np.ndarray:
        """The points that give some target its lowest or highest value (rows), without the
        first (the truth, which every checker has) when ``skip_first``."""
        used = np.unique(np.concatenate([self.low_at, self.high_at]))
        used = used[used >= (1 if skip_first else 0)]
        if not len(used):
            return np.zeros((0, self.matrix.shape[1]))
        return np.stack([self.points[i] for i in used])

    def spread(self, i: int) -> float:
        return float(self.high[i] - self.low[i])

    def interval(self, i: int) -> tuple[float, float]:
        return float(self.low[i]), float(self.high[i])


@dataclass
class _Solved:
    hidden: np.ndarray  # cells × counts
    sensitive: np.ndarray  # cells × counts
    intervals: dict[tuple[int, int], tuple[float, float]]
    repairs: int = 0
    cuts: int = 0
    lps: int = 0
    #: Witness tables (see :class:`Witness`): tables × counts × finest rows of the block.
    witnesses: np.ndarray | None = None


def _solve_block(
    block: _Block,
    threshold: int,
    width: float,
    bounded_by: Sequence[tuple[int, int]],
    max_repairs: int,
    known: np.ndarray | None = None,
    changed: np.ndarray | None = None,
    kept: np.ndarray | None = None,
) -> _Solved:
    values = block.values
    n_counts = values.shape[1]
    sensitive = ((values >= 1) & (values < threshold)).reshape(-1)
    banned = (values <= 0).reshape(-1)
    if changed is not None:
        sensitive |= changed
    if known is not None:
        clash = np.flatnonzero(known & sensitive)
        if len(clash):
            raise RuntimeError(
                f"{len(clash)} counts the audience was already given are sensitive now "
                "(the threshold rose since): they cannot be protected any more"
            )
        banned |= known  # already given: never a complement, always an equation
    hidden = sensitive.copy()
    if kept is not None:
        hidden |= kept & ~banned
    intervals: dict[tuple[int, int], tuple[float, float]] = {}
    if not sensitive.any():
        return _Solved(hidden.reshape(values.shape), sensitive.reshape(values.shape), intervals)
    cost = values.reshape(-1) + 1.0
    cuts = _line_cuts(block, sensitive, banned)
    pending = [int(p) for p in np.flatnonzero(sensitive)]
    lps = 0
    fixed = (values <= 0).reshape(-1)
    for given in (known, kept):
        if given is not None:
            fixed = fixed | given
    if fixed.all() and (changed is None or not changed.any()):
        # Nothing moved since the last release: every count is either shown as it was or
        # hidden as it was, so the pattern is that release's, which its gate proved; there is
        # nothing left to choose (the gate's audit proves it again all the same).
        return _Solved(hidden.reshape(values.shape), sensitive.reshape(values.shape), intervals)
    # The least-cost pattern that satisfies every line (HiGHS MILP) ...
    hidden = least_cost_cover(len(cost), cost, hidden, banned, cuts)
    system = _system(block, hidden, bounded_by)
    attacker = AttackerLP(system.a, system.lower, system.upper)
    row_of = {int(o): r for r, o in enumerate(system.owner) if o >= 0}
    targets = [_target(system, block, pair, n_counts) for pair in pending]
    points = _Points(targets, system.a.shape[1])
    points.absorb(block.finest_values.T[block.finest_values.T > 0])  # the truth is one
    repairs = 0
    # ... then every sensitive count in turn, until the attacker's interval is wide enough:
    # while it is not, the LP duals name the visible cells its bounds rest on, and the
    # cheapest of them is hidden too. The pattern only grows, so a count once proven stays
    # proven; the last pattern protects every one.
    for i, pair in enumerate(pending):
        cell, k = divmod(pair, n_counts)
        while True:
            if points.spread(i) >= width - _SLACK:
                # Two tables consistent with everything visible differ by >= width here.
                intervals[(cell, k)] = points.interval(i)
                break
            low, low_duals = attacker.bound(targets[i], maximize=False)
            points.absorb(attacker.solution())
            lps += 1
            if points.spread(i) >= width - _SLACK:
                continue
            high, high_duals = attacker.bound(targets[i], maximize=True)
            lps += 1
            if not np.isfinite(high):
                intervals[(cell, k)] = (low, high)
                break
            points.absorb(attacker.solution())
            if high - low >= width - _SLACK:
                intervals[(cell, k)] = (low, high)
                break
            support = (np.abs(low_duals) > _DUAL_TOLERANCE) | (np.abs(high_duals) > _DUAL_TOLERANCE)
            cut = np.unique(system.owner[support])
            cut = cut[(cut >= 0)]
            cut = cut[~hidden[cut] & ~banned[cut]]
            if len(cut) == 0:
                raise RuntimeError(
                    "a sensitive count cannot be protected: no visible cell bounds it"
                )
            cuts.append(cut)
            chosen = int(cut[np.argmin(cost[cut])])
            hidden[chosen] = True
            attacker.release(np.array([row_of[chosen]]))
            repairs += 1
            if repairs > max_repairs:
                raise RuntimeError(f"no protected pattern within {max_repairs} repairs")
    extremes = points.extremes(skip_first=True)
    tables = np.zeros((len(extremes), n_counts, block.n_finest))
    free = system.column >= 0
    for t, point in enumerate(extremes):
        tables[t][free] = point[system.column[free]]
    return _Solved(
        hidden.reshape(values.shape), sensitive.reshape(values.shape), intervals,
        repairs, len(cuts), lps, tables,
    )  # fmt: skip


def _pairs(
    labels: Sequence[tuple[TableShape, tuple[object, ...]]],
    counts: Sequence[str],
    refs: Collection[CountRef],
) -> np.ndarray | None:
    """The (cell, count) pairs of one block that ``refs`` name, as a flat mask."""
    if not refs:
        return None
    wanted = set(refs)
    mask = np.zeros(len(labels) * len(counts), dtype=bool)
    for cell, (shape, key_t) in enumerate(labels):
        label = tuple(str(v) for v in key_t)
        for k, name in enumerate(counts):
            if (shape.key, label, name) in wanted:
                mask[cell * len(counts) + k] = True
    return mask


def protect_tables(
    finest: pd.DataFrame,
    shapes: Sequence[TableShape],
    counts: Sequence[str],
    threshold: int,
    width: float,
    *,
    block: str,
    parents: Mapping[str, Sequence[str]] | None = None,
    bounded_by: Mapping[str, str] | None = None,
    max_repairs: int = 100_000,
    known: Collection[CountRef] = (),
    changed: Collection[CountRef] = (),
    kept: Collection[CountRef] = (),
) -> ProtectedTables:
    """Suppress every table of ``shapes`` jointly.

    ``finest``: one row per non-empty finest cell, a column per dimension, per period grain
    (each shape's grain and ``block``) and per count. ``parents`` maps a grain to the coarser
    grains it adds up to within the block (``{"quarter": ["year"]}``); ``bounded_by`` maps a
    count to the count it never exceeds (``{"successful": "placements"}``). ``known``: counts
    earlier releases gave with the value they still have (never hidden); ``changed``: counts
    that moved by 1 .. threshold - 1 since one was given (protected like small ones);
    ``kept``: counts the last release hid that still hold the same value (hidden again).
    """
    if threshold <= 1:
        raise ValueError("a threshold of 1 suppresses nothing: serve the exact tables")
    counts = list(counts)
    pairs = [(counts.index(s), counts.index(b)) for s, b in (bounded_by or {}).items()]
    dims = sorted({d for s in shapes for d in s.dims}, key=list(finest.columns).index)
    frames: list[pd.DataFrame] = []
    totals = dict(sensitive=0, repairs=0, cuts=0, lps=0)
    intervals: dict[tuple[int, str], tuple[float, float]] = {}
    witnesses: list[Witness] = []
    offset = 0
    for _, part in finest.groupby(block, sort=True):
        rows = part.index.to_numpy()
        part = part.reset_index(drop=True)
        cells, labels = _block_cells(part, shapes, counts, parents or {})
        known_pairs = _pairs(labels, counts, known)
        changed_pairs = _pairs(labels, counts, changed)
        solved = _solve_block(
            cells, threshold, width, pairs, max_repairs, known_pairs, changed_pairs,
            _pairs(labels, counts, kept),
        )  # fmt: skip
        totals["sensitive"] += int(solved.sensitive.sum())
        totals["repairs"] += solved.repairs
        totals["cuts"] += solved.cuts
        totals["lps"] += solved.lps
        for (cell, k), interval in solved.intervals.items():
            intervals[(offset + cell, counts[k])] = interval
        if solved.witnesses is not None and len(solved.witnesses):
            witnesses.append(Witness(finest.index.get_indexer(rows), solved.witnesses))
        offset += len(labels)
        records = []
        rows = zip(labels, cells.values, solved.hidden, solved.sensitive, strict=True)
        for (shape, key_t), row_values, hidden, sensitive in rows:
            record: dict[str, object] = {
                "table": shape.key,
                "grain": shape.grain,
                "period": key_t[-1],
            }
            record.update(dict(zip(shape.dims, key_t[:-1], strict=True)))
            for k, name in enumerate(counts):
                record[name] = int(row_values[k])
                record[f"{name}__hidden"] = bool(hidden[k])
                small = 1 <= row_values[k] < threshold
                record[f"{name}__reason"] = (
                    f"primary: below {threshold}" if sensitive[k] and small
                    else f"changed: by 1..{threshold - 1} since released" if sensitive[k]
                    else "complementary" if hidden[k] else None
                )  # fmt: skip
            records.append(record)
        frames.append(pd.DataFrame.from_records(records))
    flags = [f"{name}__{what}" for name in counts for what in ("hidden", "reason")]
    columns = ["table", *dims, "grain", "period", *counts, *flags]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    out = out.reindex(columns=columns)
    for name in dims:
        out[name] = out[name].astype("string")
    out["period"] = out["period"].astype("string")
    for name in counts:
        out[name] = out[name].astype("Int64")
    return ProtectedTables(out, intervals=intervals, witnesses=witnesses, **totals)


def table_cells(
    finest: pd.DataFrame, shapes: Sequence[TableShape], columns: Sequence[str]
) -> pd.DataFrame:
    """Every cell of every table of ``shapes`` with ``columns`` of ``finest`` summed:
    ``table``, ``label`` (the cell's dimension labels then its period, as strings) and the sums,
    before any protection (what the tables would hold)."""
    parts = []
    for shape in shapes:
        sums = finest.groupby([*shape.dims, shape.grain], dropna=False, sort=True)[
            list(columns)
        ].sum()
        labels = [
            tuple(str(v) for v in (key if isinstance(key, tuple) else (key,))) for key in sums.index
        ]
        parts.append(
            pd.DataFrame(
                {"table": shape.key, "label": labels, **{c: sums[c].to_numpy() for c in columns}}
            )
        )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def cell_sums(
    finest: pd.DataFrame, cells: pd.DataFrame, shapes: Sequence[TableShape], columns: Sequence[str]
) -> pd.DataFrame:
    """``columns`` of ``finest`` summed over each row of ``cells`` (``table``, dimensions,
    ``period``: the format of :attr:`ProtectedTables.cells`), aligned with ``cells``' index.
    For sums that are not counts (a cell's perturbation record keys): they add up the same way,
    but are not part of the suppression problem."""
    every = table_cells(finest, shapes, columns).set_index(["table", "label"])
    keys = [
        (row["table"], cell_label(row, shapes_by_key(shapes)[row["table"]]))
        for row in cells[["table", *{d for s in shapes for d in s.dims}, "period"]].to_dict(
            "records"
        )
    ]
    return pd.DataFrame(
        every.loc[keys, list(columns)].to_numpy(dtype="int64"),
        index=cells.index,
        columns=list(columns),
    )


def shapes_by_key(shapes: Sequence[TableShape]) -> dict[str, TableShape]:
    return {s.key: s for s in shapes}


def cell_label(row: Mapping[str, object], shape: TableShape) -> tuple[str, ...]:
    """A published cell's label: its dimension values (in the shape's order), then its period."""
    return tuple(str(row[d]) for d in (*shape.dims, "period"))
