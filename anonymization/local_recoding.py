"""Local recoding: each cell of records generalised on its own, cuts along the hierarchies.

Why
---
Full-domain generalisation (:mod:`anonymization.kanonymity`) picks one level per
quasi-identifier for the whole table: one rare regency in Papua forces every child in Jawa to
province level or above, and the demo's release lost all geography that way. Local recoding
lets the dense parts of the table keep detail the sparse parts cannot.

How (Mondrian's top-down partitioning, with every cut inside the hierarchies)
----------------------------------------------------------------------------
Mondrian (LeFevre, DeWitt & Ramakrishnan, ICDE 2006) splits a partition in two at a median and
recurses while both halves stay k-anonymous. Its cells are boxes in the value order, so one cell
can hold regencies of four islands (a peer's Mondrian output did), which a reader cannot name
and which cuts across the geography the statistics office publishes. Here a cell's values of a
quasi-identifier are always a set of siblings in the hierarchy: regencies of one province,
provinces of one island group, ages of one five-year band, five-year bands of one ten-year band.

Each cell holds, per quasi-identifier, a level and the set of that level's values present in the
cell (all children of one parent). A set of one value moves down the hierarchy at once (the
cell's children of that value become its set: free, since it covers no more original values). A
set of two or more can be cut, in two ways, each tried on every quasi-identifier:

* a *binary cut* in the values' order (ages and years in numeric order, codes in code order) at
  the position that lowers the loss most while both sides meet the criteria: Mondrian's cut,
  restricted to one parent's children;
* a *multiway split*: every value whose records meet the criteria on their own becomes a cell;
  the others pool into one remainder cell (which must meet them too).

Of all allowed cuts the one that lowers the loss most (Iyengar's LM, the metric of the
full-domain search) is made; a cell no cut can improve is final. A released value is the single
value, or the parent when the set holds every child of it the data has (e.g. "32": all of Jawa
Barat's regencies), or the set itself joined by "|" ("3201|3204": Kabupaten Bogor or Kabupaten
Bandung; "5|6|7": aged 5, 6 or 7). Every released class is therefore a cell that met every
criterion, and no cut crosses a hierarchy boundary.

Records are not suppressed: the top cell holds everyone. The result is a greedy optimum (as
Mondrian is), not an exact one; the release step compares its loss with the full-domain
optimum's and publishes the lower. ``atoms`` keeps given groups of records whole (a public-use
file built from the licensed file's classes), ``lowest_levels`` stops the descent (no geography
below province in a public-use file).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from anonymization.hierarchies import SET_SEPARATOR, Hierarchy
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

_LEADING_NUMBER = re.compile(r"^(\d+)")


@dataclass
class _Cell:
    rows: np.ndarray  # record indices
    levels: tuple[int, ...]
    sets: tuple[np.ndarray, ...]  # per QI: the level's codes present, in the values' order


class _Levels:
    """Per quasi-identifier and level: each code's parent, its place in the values' order, how
    many original values it covers, and how many children its parent has in the data."""

    def __init__(self, qi: QuasiIdentifier) -> None:
        self.qi = qi
        base = qi.codes[0]
        n_base = len(qi.labels[0])
        self.n_base = n_base
        self.parent: list[np.ndarray] = []
        self.rank: list[np.ndarray] = []
        self.covered: list[np.ndarray] = []
        self.siblings: list[np.ndarray] = []
        for level in range(qi.height):
            n_codes = len(qi.labels[level])
            parent = np.zeros(n_codes, dtype=np.int64)
            if level + 1 < qi.height:
                parent[qi.codes[level]] = qi.codes[level + 1]
            self.parent.append(parent)
            keys = [_order_key(str(label)) for label in qi.labels[level]]
            order = sorted(range(n_codes), key=lambda i: keys[i])
            rank = np.empty(n_codes, dtype=np.int64)
            rank[order] = np.arange(n_codes)
            self.rank.append(rank)
            pairs = np.unique(qi.codes[level] * n_base + base)
            self.covered.append(np.bincount(pairs // n_base, minlength=n_codes))
            self.siblings.append(np.bincount(parent, minlength=n_codes)[parent])

    def cost(self, level: int, members: np.ndarray) -> float:
        """LM of one record whose value is the set ``members`` (codes at ``level``)."""
        return (int(self.covered[level][members].sum()) - 1) / max(self.n_base - 1, 1)

    def label(self, level: int, members: np.ndarray) -> str:
        labels = self.qi.labels
        if len(members) == 1:
            return str(labels[level][members[0]])
        if len(members) == self.siblings[level][members[0]] and level + 1 < self.qi.height:
            return str(labels[level + 1][self.parent[level][members[0]]])
        return SET_SEPARATOR.join(str(labels[level][m]) for m in members)

    def level_name(self, level: int, members: np.ndarray) -> str:
        h = self.qi.hierarchy
        if len(members) == 1:
            return h.level_name(level)
        if len(members) == self.siblings[level][members[0]] and level + 1 < self.qi.height:
            return h.level_name(level + 1)
        return f"{h.level_name(level)} set"


def _order_key(label: str) -> tuple[int, float, str]:
    match = _LEADING_NUMBER.match(label)
    return (0, float(match.group(1)), label) if match else (1, 0.0, label)


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
    ``atoms``: an atom label per record; every cell is a union of whole atoms (a cut that would
    split one is not made, a multiway split leaves it in the remainder). A public-use file whose
    classes are unions of the licensed file's classes cannot split those when both are held."""
    if k < 1 or l < 1:
        raise ValueError("k and l must be >= 1")
    n = len(df)
    if n == 0:
        raise AnonymizationError("no input rows: nothing to anonymise")
    qis = [prepare_quasi_identifier(name, h, df[name]) for name, h in quasi_identifiers.items()]
    lowest = lowest_level_per_qi(quasi_identifiers, lowest_levels)
    levels_of = [_Levels(qi) for qi in qis]
    codes, uniques = pd.factorize(df[sensitive], use_na_sentinel=False)
    sensitive_codes = codes.astype(np.int64)
    n_values = max(len(uniques), 1)
    values = list(uniques)
    overall = np.bincount(sensitive_codes, minlength=n_values) / n
    extra = criteria if criteria is not None and criteria.any else None

    def table_ok(table: np.ndarray) -> np.ndarray:
        """Which rows of ``table`` (counts per sensitive value) meet the criteria."""
        sizes = table.sum(axis=1)
        ok = (sizes >= k) & ((table > 0).sum(axis=1) >= l)
        if extra is not None and len(table):
            ok &= extra.class_ok(table, overall, values)
        return ok

    if not table_ok(np.bincount(sensitive_codes, minlength=n_values)[None, :])[0]:
        raise AnonymizationError(
            f"the whole table does not meet k={k}, l={l}: too few rows or sensitive values"
        )
    if atoms is not None and len(atoms) != n:
        raise ValueError("atoms: one label per record")
    atom = None if atoms is None else pd.factorize(pd.Series(atoms))[0].astype(np.int64)

    def settle(rows: np.ndarray, levels: list[int], sets: list[np.ndarray]) -> _Cell:
        """Move every single-valued set down the hierarchy while it stays single-valued, then
        one more step to the children present (free: the same original values covered)."""
        for j, qi in enumerate(qis):
            while len(sets[j]) == 1 and levels[j] > lowest[j]:
                lv = levels[j] - 1
                present = np.unique(qi.codes[lv][rows])
                levels[j] = lv
                sets[j] = present[np.argsort(levels_of[j].rank[lv][present])]
        return _Cell(rows, tuple(levels), tuple(sets))

    final: list[_Cell] = []
    top = [qi.height - 1 for qi in qis]
    stack = [settle(np.arange(n), top, [np.unique(qi.codes[-1]) for qi in qis])]
    min_split = 2 * k
    while stack:
        cell = stack.pop()
        rows = cell.rows
        if len(rows) < min_split:
            final.append(cell)
            continue
        best: tuple[float, list[tuple[np.ndarray, int, np.ndarray]]] | None = None
        sens = sensitive_codes[rows]
        for j, info in enumerate(levels_of):
            members = cell.sets[j]
            if len(members) < 2:
                continue
            level = cell.levels[j]
            lut = np.full(len(info.qi.labels[level]), -1, dtype=np.int64)
            lut[members] = np.arange(len(members))
            position = lut[info.qi.codes[level][rows]]
            cell_cost = info.cost(level, members)
            for option in (
                _binary_cut(position, sens, members, info, level, cell_cost, atom, rows,
                            n_values, table_ok),
                _multiway(position, sens, members, info, level, cell_cost, atom, rows,
                          n_values, table_ok),
            ):  # fmt: skip
                if (
                    option is not None
                    and option[0] > 1e-12
                    and (best is None or option[0] > best[0])
                ):
                    best = (option[0], [(part, j, subset) for part, subset in option[1]])
        if best is None:
            final.append(cell)
            continue
        for part, j, subset in best[1]:
            levels, sets = list(cell.levels), list(cell.sets)
            sets[j] = subset
            stack.append(settle(rows[part], levels, sets))
    released = _release(df, levels_of, final)
    return released, _report(levels_of, sensitive, k, l, n, final, released)


Split = tuple[float, list[tuple[np.ndarray, np.ndarray]]]
TableOk = Callable[[np.ndarray], np.ndarray]


def _binary_cut(
    position: np.ndarray,
    sens: np.ndarray,
    members: np.ndarray,
    info: _Levels,
    level: int,
    cell_cost: float,
    atom: np.ndarray | None,
    rows: np.ndarray,
    n_values: int,
    table_ok: TableOk,
) -> Split | None:
    """The best cut of ``members`` into a left and a right part: in the values' order for an
    ordered attribute (ranges of ages), else the most frequent values from the rest (so a rare
    regency pools with the other rare ones, not with the largest one next to it in code order)."""
    m = len(members)
    table = np.bincount(position * n_values + sens, minlength=m * n_values).reshape(m, n_values)
    if not info.qi.hierarchy.ordered:
        order = np.argsort(-table.sum(axis=1), kind="stable")
        inverse = np.empty(m, dtype=np.int64)
        inverse[order] = np.arange(m)
        table, members, position = table[order], members[order], inverse[position]
    left = np.cumsum(table, axis=0)[:-1]
    right = table.sum(axis=0) - left
    ok = table_ok(left) & table_ok(right)
    if atom is not None:
        ok &= ~_cuts_through_atoms(position, atom[rows], m)
    if not ok.any():
        return None
    covered = info.covered[level][members]
    cum_cov = np.cumsum(covered)[:-1]
    scale = max(info.n_base - 1, 1)
    n_left = left.sum(axis=1)
    n_right = right.sum(axis=1)
    cost_left = (cum_cov - 1) / scale
    cost_right = (covered.sum() - cum_cov - 1) / scale
    gain = cell_cost * (n_left + n_right) - n_left * cost_left - n_right * cost_right
    gain = np.where(ok, gain, -np.inf)
    cut = int(np.argmax(gain)) + 1
    is_left = position < cut
    by_rank = info.rank[level]
    left_members = np.sort(members[:cut], kind="stable")
    right_members = np.sort(members[cut:], kind="stable")
    left_members = left_members[np.argsort(by_rank[left_members], kind="stable")]
    right_members = right_members[np.argsort(by_rank[right_members], kind="stable")]
    return float(gain[cut - 1]), [(is_left, left_members), (~is_left, right_members)]


def _cuts_through_atoms(position: np.ndarray, atom: np.ndarray, m: int) -> np.ndarray:
    """For each cut 1..m-1: whether some atom has records on both sides."""
    frame = pd.DataFrame({"atom": atom, "position": position})
    span = frame.groupby("atom")["position"].agg(["min", "max"])
    span = span[span["max"] > span["min"]]
    through = np.zeros(m + 1, dtype=np.int64)
    np.add.at(through, span["min"].to_numpy() + 1, 1)
    np.add.at(through, span["max"].to_numpy() + 1, -1)
    return np.cumsum(through)[1:m] > 0


def _multiway(
    position: np.ndarray,
    sens: np.ndarray,
    members: np.ndarray,
    info: _Levels,
    level: int,
    cell_cost: float,
    atom: np.ndarray | None,
    rows: np.ndarray,
    n_values: int,
    table_ok: TableOk,
) -> Split | None:
    """Every member that meets the criteria on its own a cell, the others one remainder."""
    m = len(members)
    group = position
    if atom is not None:  # an atom spread over two members goes to the remainder whole
        pairs = np.unique(atom[rows] * (m + 1) + position)
        spread = np.bincount(pairs // (m + 1), minlength=int(atom[rows].max()) + 1) > 1
        group = np.where(spread[atom[rows]], m, position)
    table = np.bincount(group * n_values + sens, minlength=(m + 1) * n_values).reshape(
        m + 1, n_values
    )
    ok = table_ok(table)
    ok[m] = False
    if not ok.any():
        return None
    kept = ok[group]
    rest = ~kept
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    gain = 0.0
    for g in np.flatnonzero(ok):
        part = group == g
        parts.append((part, members[g : g + 1]))
        gain += int(part.sum()) * (cell_cost - info.cost(level, members[g : g + 1]))
    if rest.any():
        if not table_ok(table[~ok].sum(axis=0, keepdims=True))[0]:
            return None
        present = np.unique(position[rest])
        gain += int(rest.sum()) * (cell_cost - info.cost(level, members[present]))
        parts.append((rest, members[present]))
    if len(parts) < 2:
        return None
    return gain, parts


def _release(df: pd.DataFrame, levels_of: list[_Levels], cells: list[_Cell]) -> pd.DataFrame:
    out = df.copy()
    for j, info in enumerate(levels_of):
        values = np.empty(len(df), dtype=object)
        for cell in cells:
            values[cell.rows] = info.label(cell.levels[j], cell.sets[j])
        out[info.qi.name] = pd.Series(values, index=df.index, dtype=object)
    return out


def _report(
    levels_of: list[_Levels],
    sensitive: str,
    k: int,
    l_req: int,
    n: int,
    cells: list[_Cell],
    released: pd.DataFrame,
) -> PrivacyReport:
    """k, l and the classes as the released table shows them (two cells may show the same
    values; their union is then one class)."""
    names = [info.qi.name for info in levels_of]
    classes = released.groupby(names, dropna=False)[sensitive]
    loss = 0.0
    share: dict[str, dict[str, float]] = {}
    for j, info in enumerate(levels_of):
        by_level: dict[str, int] = {}
        for cell in cells:
            level, members = cell.levels[j], cell.sets[j]
            loss += info.cost(level, members) * len(cell.rows)
            name = info.level_name(level, members)
            by_level[name] = by_level.get(name, 0) + len(cell.rows)
        share[names[j]] = {name: round(count / n, 4) for name, count in by_level.items()}
    generalization = {
        name: "local: "
        + ", ".join(f"{lv} {s:.0%}" for lv, s in sorted(levels.items(), key=lambda x: -x[1]))
        for name, levels in share.items()
    }
    return PrivacyReport(
        quasi_identifiers=names,
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
        information_loss={"metric": LOSS_METRIC, "value": round(loss / (n * len(levels_of)), 6)},
        equivalence_classes=int(classes.ngroups),
        lattice_nodes_evaluated=0,
    )
