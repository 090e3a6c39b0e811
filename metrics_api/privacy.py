"""The one place the API turns protected cells into an answer.

The API does not decide privacy rules: the catalog declares them (threshold per audience,
which counts a metric is made of, how many dimensions an audience may combine), the publish
decides the pattern jointly over every table an audience may get
(:mod:`metrics_api.protected`, audited by the gate), and :func:`protected_answer` only shows
it: a cell is hidden in every column when any of its counts is, with the reason.

:func:`suppress_answer` is the per-table heuristic of :mod:`anonymization.small_cells` (no line
with exactly one hidden cell); it holds within one table only, which is why suppressed
audiences are no longer served through it. The admin path keeps its output shape (threshold 1
hides nothing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from anonymization.small_cells import suppress_cells
from metrics_api.protected import STATE_CHANGED, STATE_COMPLEMENTARY, STATE_PRIMARY

__all__ = ["protected_answer", "suppress_answer"]

_ALL = "__all__"


def suppress_answer(
    frame: pd.DataFrame,
    dimensions: Sequence[str],
    count_columns: Sequence[str],
    threshold: int,
    nested: Mapping[str, tuple[str, pd.Series]] | None = None,
) -> pd.DataFrame:
    """Hide small cells (primary) and the cells that would give them away (complementary).

    Returns a copy with every ``count_columns`` value NA in hidden rows, plus ``suppressed``
    (bool) and ``suppression_reason`` (str or None; names the count that triggered it when
    there are several). ``threshold <= 1`` (admin) hides nothing.
    """
    out = frame.copy()
    hidden = np.zeros(len(out), dtype=bool)
    reasons = np.full(len(out), None, dtype=object)
    if threshold > 1 and len(out):
        # A table without dimensions is one cell: only primary suppression applies. A constant
        # dimension lets suppress_cells handle it (a one-cell line has no margin to protect).
        dims = list(dimensions) or [_ALL]
        table = out.assign(**{_ALL: ""}) if not dimensions else out
        for column in count_columns:
            decided = suppress_cells(table, dims, column, threshold, nested=nested)
            mask = decided["suppressed"].to_numpy(dtype=bool)
            label = f" ({column})" if len(count_columns) > 1 else ""
            fresh = mask & ~hidden
            reasons[fresh] = [
                f"{r}{label}" for r in decided["suppression_reason"].to_numpy()[fresh]
            ]
            # Prefer a primary reason: it is the one that explains why the cell matters.
            primary = (
                mask
                & hidden
                & np.array(
                    [str(r).startswith("primary") for r in decided["suppression_reason"]],
                    dtype=bool,
                )
            )
            primary &= np.array([not str(r).startswith("primary") for r in reasons], dtype=bool)
            reasons[primary] = [
                f"{r}{label}" for r in decided["suppression_reason"].to_numpy()[primary]
            ]
            hidden |= mask
    return _hide(out, count_columns, hidden, reasons)


def protected_answer(
    cells: pd.DataFrame, count_columns: Sequence[str], threshold: int
) -> pd.DataFrame:
    """The cells of a protected table (:mod:`metrics_api.protected`) as an answer: each count
    with its ``<count>__state`` from the publish; a cell is hidden in every column when any of
    its counts is (a ratio shows neither count of a hidden cell), and says why, primary first.
    Nothing is decided here: the pattern is the one the publish gate audited."""
    out = cells.drop(columns=[f"{c}__state" for c in count_columns])
    states = {c: cells[f"{c}__state"].to_numpy(dtype=np.int64) for c in count_columns}
    hidden = np.zeros(len(out), dtype=bool)
    reasons = np.full(len(out), None, dtype=object)
    for wanted, reason in (
        (STATE_PRIMARY, f"primary: count 1..{threshold - 1}"),
        (STATE_CHANGED, f"changed: moved by 1..{threshold - 1} since an earlier release"),
        (STATE_COMPLEMENTARY, "complementary: protects a hidden cell across the published tables"),
    ):
        for column in count_columns:
            fresh = (states[column] == wanted) & ~hidden
            label = f" ({column})" if len(count_columns) > 1 else ""
            reasons[fresh] = f"{reason}{label}"
            hidden |= fresh
    return _hide(out, count_columns, hidden, reasons)


def _hide(
    out: pd.DataFrame, count_columns: Sequence[str], hidden: np.ndarray, reasons: np.ndarray
) -> pd.DataFrame:
    """The answer's shape: hidden counts NA, ``suppressed`` and ``suppression_reason``."""
    for column in count_columns:
        out[column] = out[column].astype("Int64").mask(hidden)
    out["suppressed"] = hidden
    out["suppression_reason"] = pd.Series(reasons, index=out.index, dtype=object)
    return out
