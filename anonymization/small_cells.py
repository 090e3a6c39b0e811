"""Small-cell suppression for published aggregate tables.

Why
---
A published count of 1 or 2 ("2 children with disabilities placed in
institution X in 2023") can identify children in a small community. Cells with
``0 < count < threshold`` are hidden (primary suppression). Hiding one cell is
not enough when row/column totals are published too: total minus the visible
cells gives the hidden value back. So for every line of the table along every
dimension (the cells that share all other dimension values, i.e. the cells
summed into one margin) a line with exactly one hidden cell gets a second one
(complementary suppression), repeated until no such line remains. The
complement is the smallest visible cell with count > 0 in that line, except
that a cell which also completes another line (one that already has a hidden
cell) is preferred over one that would open a new line: without that
refinement the greedy rule tends to cascade until whole tables are hidden.

Limits (read before relying on it)
----------------------------------
This is a simple, deterministic heuristic, NOT an optimal or audited cell
suppression solver (such as tau-Argus / sdcTable):

* it does not minimise the information lost and may hide more than necessary;
* it guarantees only that no margin line has exactly one hidden cell; an
  attacker solving the linear system of all margins can still bound hidden
  cells to intervals (e.g. two hidden cells whose margin difference is 1);
* it knows only the table it is given: linked tables (the same data cut by
  other dimensions, or other releases) are not protected jointly; hierarchical
  margins are protected only where the caller declares them as ``nested``
  lines (the quarters of one year, whose total the year table publishes);
* lines with a single cell are ignored (their margin *is* the cell); tables
  whose zero cells are left out should be completed with explicit zeros first,
  otherwise a margin line may look like it has only one cell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "singly_hidden_lines",
    "suppress_cells",
    "verify_no_recoverable_cells",
]


def _line_ids(df: pd.DataFrame, dimensions: Sequence[str], along: str) -> np.ndarray:
    """Id of the margin line each cell belongs to when summing over ``along``."""
    others = [d for d in dimensions if d != along]
    if not others:
        return np.zeros(len(df), dtype=np.int64)
    return df.groupby(others, sort=False, dropna=False).ngroup().to_numpy(dtype=np.int64)


def _nested_line_ids(
    df: pd.DataFrame, dimensions: Sequence[str], along: str, parent: pd.Series
) -> np.ndarray:
    """Id of the nested line of each cell: the cells along ``along`` that share every other
    dimension's value and the same ``parent`` (e.g. the quarters of one year)."""
    others = [df[d] for d in dimensions if d != along]
    return (
        pd.DataFrame({"parent": parent.to_numpy()}, index=df.index)
        .groupby([*others, "parent"], sort=False, dropna=False)
        .ngroup()
        .to_numpy(dtype=np.int64)
    )


def _all_lines(
    df: pd.DataFrame, dimensions: Sequence[str], nested: Mapping[str, tuple[str, pd.Series]]
) -> dict[str, np.ndarray]:
    lines = {d: _line_ids(df, dimensions, d) for d in dimensions}
    for name, (along, parent) in nested.items():
        if along not in dimensions:
            raise ValueError(f"nested line {name!r} runs along {along!r}, not a dimension")
        if name in lines:
            raise ValueError(f"nested line {name!r} has the name of a dimension")
        lines[name] = _nested_line_ids(df, dimensions, along, parent)
    return lines


def _validate(df: pd.DataFrame, dimensions: Sequence[str], count_column: str) -> None:
    missing = [c for c in [*dimensions, count_column] if c not in df.columns]
    if missing:
        raise ValueError(f"columns not in table: {missing}")
    if not dimensions:
        raise ValueError("at least one dimension is required")
    if df.duplicated(list(dimensions)).any():
        raise ValueError("the table must have one row per combination of dimensions")


def _with_na(column: pd.Series, mask: np.ndarray) -> pd.Series:
    """Set masked values to NA, keeping integers integer (nullable Int64)."""
    if pd.api.types.is_integer_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
        column = column.astype("Int64" if pd.api.types.is_integer_dtype(column.dtype) else object)
    return column.mask(mask)


def suppress_cells(
    df: pd.DataFrame,
    dimensions: list[str],
    count_column: str,
    threshold: int,
    dependent_columns: Sequence[str] = (),
    nested: Mapping[str, tuple[str, pd.Series]] | None = None,
) -> pd.DataFrame:
    """Primary + complementary suppression; returns a copy with two extra columns.

    ``suppressed`` (bool) and ``suppression_reason`` (str or None) are added;
    the count and every ``dependent_columns`` value (numerators, rates ...
    derived from the count) are NA in suppressed rows. ``nested`` declares
    further published margins: name -> (dimension, parent of each row), e.g.
    ``{"year": ("quarter", year_of_each_quarter)}``: the quarters of one year
    (with every other dimension fixed) are a line too.
    """
    _validate(df, dimensions, count_column)
    absent = [c for c in dependent_columns if c not in df.columns]
    if absent:
        raise ValueError(f"dependent columns not in table: {absent}")
    if df[count_column].isna().any():
        raise ValueError(f"{count_column!r} has missing values; cannot decide suppression")

    out = df.copy()
    counts = out[count_column].to_numpy(dtype=float)
    suppressed = np.zeros(len(out), dtype=bool)
    reasons = np.full(len(out), None, dtype=object)

    if threshold > 1 and len(out):
        primary = (counts > 0) & (counts < threshold)
        suppressed |= primary
        reasons[primary] = f"primary: count 1..{threshold - 1}"
        lines = _all_lines(out, dimensions, nested or {})
        changed = bool(primary.any())
        while changed:
            changed = False
            for d in lines:
                chosen = _complements(d, lines, suppressed, counts)
                if len(chosen):
                    suppressed[chosen] = True
                    reasons[chosen] = f"complementary: protects a suppressed cell in the {d} margin"
                    changed = True

    for column in [count_column, *dependent_columns]:
        out[column] = _with_na(out[column], suppressed)
    out["suppressed"] = suppressed
    out["suppression_reason"] = pd.Series(reasons, index=out.index, dtype=object)
    return out


def _complements(
    along: str, lines: dict[str, np.ndarray], suppressed: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """The complement for the first line along ``along`` with exactly one hidden cell.

    Per offending line the choice is, in order of preference: a cell with
    count > 0 (hiding a structural zero protects little); a cell whose lines
    along the OTHER dimensions need it least - it completes a line that already
    has one hidden cell rather than opening a new one, which avoids the cascade
    that hides whole tables; then the smallest count; then table order.
    """
    line = lines[along]
    n_lines = int(line.max()) + 1
    hidden = np.bincount(line, weights=suppressed.astype(float), minlength=n_lines)
    size = np.bincount(line, minlength=n_lines)
    offending = (hidden == 1) & (size >= 2)
    if not offending.any():
        return np.empty(0, dtype=np.int64)
    # One line at a time: each choice changes the costs of the next ones.
    first = int(np.flatnonzero(offending)[0])
    rows = np.flatnonzero((line == first) & ~suppressed)
    cost = np.zeros(len(rows), dtype=np.int64)
    for other, other_line in lines.items():
        if other == along:
            continue
        m = int(other_line.max()) + 1
        o_hidden = np.bincount(other_line, weights=suppressed.astype(float), minlength=m)
        o_size = np.bincount(other_line, minlength=m)
        cross = other_line[rows]
        cost += ((o_hidden[cross] == 0) & (o_size[cross] >= 2)).astype(np.int64)  # opens one
        cost -= (o_hidden[cross] == 1).astype(np.int64)  # closes one
    # lexsort: the last key is the primary one
    order = np.lexsort((rows, counts[rows], cost, counts[rows] <= 0))
    return rows[order[:1]]


def singly_hidden_lines(
    df: pd.DataFrame,
    hidden: np.ndarray,
    dimensions: Sequence[str],
    min_line_size: int = 2,
    nested: Mapping[str, tuple[str, pd.Series]] | None = None,
) -> list[tuple[str, Any]]:
    """(dimension, line key) of every margin line along a dimension with exactly one hidden
    cell: its total minus the visible cells gives the hidden value back.

    A line is the cells that share every other dimension's value. Lines of fewer than
    ``min_line_size`` cells are skipped (with the default 2, a one-cell line, whose margin *is*
    the cell, which no complement can protect); the publish gate passes 1 and fails on them.
    """
    found: list[tuple[str, Any]] = []
    for d in dimensions:
        others = [x for x in dimensions if x != d]
        if others:
            grouped = pd.DataFrame({"hidden": hidden}, index=df.index).groupby(
                [df[o] for o in others], sort=False, dropna=False
            )["hidden"]
            stats = grouped.agg(["sum", "size"])
        else:
            stats = pd.DataFrame({"sum": [int(hidden.sum())], "size": [len(df)]}, index=["all"])
        bad = stats[(stats["sum"] == 1) & (stats["size"] >= min_line_size)]
        found.extend((d, key) for key in bad.index)
    for name, (along, parent) in (nested or {}).items():
        ids = _nested_line_ids(df, dimensions, along, parent)
        sums = np.bincount(ids, weights=hidden.astype(float))
        sizes = np.bincount(ids)
        for line in np.flatnonzero((sums == 1) & (sizes >= min_line_size)):
            first = int(np.flatnonzero(ids == line)[0])
            key = tuple(df[d].iloc[first] for d in dimensions if d != along)
            found.append((name, (*key, parent.iloc[first])))
    return found


def verify_no_recoverable_cells(
    df: pd.DataFrame,
    dimensions: Sequence[str],
    count_column: str,
    threshold: int | None = None,
    nested: Mapping[str, tuple[str, pd.Series]] | None = None,
) -> list[str]:
    """Independent check of a table as published; returns problems (empty = OK).

    Uses only what a reader sees: a cell is hidden iff its count is NA (the
    ``suppressed`` column is not trusted). Checks that no margin line along any
    dimension has exactly one hidden cell and, if ``threshold`` is given, that
    no visible count lies in ``1..threshold-1``.
    """
    missing = [c for c in [*dimensions, count_column] if c not in df.columns]
    if missing:
        return [f"columns not in table: {missing}"]
    problems: list[str] = []
    hidden = df[count_column].isna().to_numpy()
    if threshold is not None and threshold > 1:
        values = pd.to_numeric(df[count_column], errors="coerce")
        small = (~hidden) & (values > 0).to_numpy() & (values < threshold).to_numpy()
        for pos in np.flatnonzero(small):
            cell = ", ".join(f"{d}={df[d].iloc[pos]!r}" for d in dimensions)
            problems.append(f"published count {values.iloc[pos]} below {threshold} at {cell}")
    for d, key in singly_hidden_lines(df, hidden, dimensions, nested=nested):
        problems.append(f"{d} margin: line {key!r} has exactly one suppressed cell (recoverable)")
    return problems
