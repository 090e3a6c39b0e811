"""Frequency tables over an enclave release's records: the query service behind
``POST /v1/releases/{id}/tables`` (no HTTP here).

The enclave tier is never downloaded (``lakehouse.reference.release_tiers``): a researcher asks
for counts over its records, as a statistical agency's remote table builder answers them, and
only counts leave, each through the one output rule (:func:`anonymization.enclave_output.
protect_counts`). This module checks the question against the tier's :class:`QueryRules` and
the release's own columns, counts, and lays the answer out.

Which cells a table lists is decided without looking at the filtered records, so the layout
itself tells nothing the counts do not: a dimension that is also filtered lists the filter's
values as asked; any other dimension lists the values that at least ``threshold`` records of
the whole release hold (a rarer value's every cell would be hidden anyway, and listing it would
tell that it occurs at all). The table is the product of those lists.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from anonymization.enclave_output import hidden_reason, protect_counts
from lakehouse.reference.release_tiers import QueryRules
from lakehouse.research_release import (
    INTERNAL_COLUMNS,
    RECORD_KEY_COLUMN,
    Release,
    ResearchReleases,
)
from metrics_api.errors import BadRequest, Conflict

__all__ = [
    "LAYOUT_NOTE",
    "MAX_CELLS",
    "EnclaveRecords",
    "Table",
    "TableQuery",
    "checked_query",
    "frequency_table",
    "queryable_columns",
]

#: Cells one table may hold: a bound on the work and the answer's size, not a privacy rule
#: (regency x single year of age is some nine thousand).
MAX_CELLS = 10_000
#: What every answer says of its layout, for a reader who has not read this docstring.
LAYOUT_NOTE = (
    "Each dimension lists the values at least the threshold of the release's records hold (a "
    "filtered dimension: the values asked); every other value's cells would be hidden. Each "
    "count's noise is its own: a table's cells need not add up to the count of a table with "
    "fewer dimensions."
)


@dataclass(frozen=True)
class TableQuery:
    """A checked question: dimensions in the order asked, each filter's values sorted."""

    dimensions: tuple[str, ...]
    filters: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class Table:
    query: TableQuery
    #: One row per cell: the dimensions' values, ``count`` (nullable: missing where hidden).
    frame: pd.DataFrame
    threshold: int

    @property
    def hidden(self) -> int:
        return int(self.frame["count"].isna().sum())

    @property
    def reason(self) -> str:
        return hidden_reason(self.threshold)


def queryable_columns(dictionary: Mapping[str, object]) -> list[str]:
    """The release's columns a table may use: every column of its data dictionary but the
    record's pseudonym and its cell key."""
    return [c for c in dictionary if c not in INTERNAL_COLUMNS]


def _column(name: str, columns: Sequence[str]) -> str:
    if name in INTERNAL_COLUMNS:
        raise BadRequest(
            f"{name} is internal to the enclave (a record's pseudonym or cell key): never a "
            f"dimension or filter; queryable columns: {', '.join(columns)}"
        )
    if name not in columns:
        raise BadRequest(f"unknown column {name!r}; queryable columns: {', '.join(columns)}")
    return name


def checked_query(
    dimensions: Sequence[str],
    filters: Mapping[str, Sequence[str]],
    columns: Sequence[str],
    rules: QueryRules,
) -> TableQuery:
    """The question if the tier allows it, or :class:`BadRequest` saying what to change."""
    if not 1 <= len(dimensions) <= rules.max_dimensions:
        raise BadRequest(
            f"a table has 1 to {rules.max_dimensions} dimensions; {len(dimensions)} asked"
        )
    if len(set(dimensions)) != len(dimensions):
        raise BadRequest("each dimension once")
    if len(filters) > rules.max_filters:
        raise BadRequest(f"at most {rules.max_filters} filtered columns; {len(filters)} asked")
    for name in [*dimensions, *filters]:
        _column(name, columns)
    empty = [c for c, values in filters.items() if not values]
    if empty:
        raise BadRequest(f"a filter lists the values it keeps; none for {', '.join(empty)}")
    return TableQuery(
        tuple(dimensions), {c: tuple(sorted(set(filters[c]), key=_order)) for c in sorted(filters)}
    )


def _order(value: str) -> tuple[int, int, str]:
    """Codes and ages in numeric order ("2" before "10"), then other labels."""
    return (0, int(value), "") if value.isascii() and value.isdigit() else (1, 0, value)


def _listed(records: pd.DataFrame, query: TableQuery, column: str, threshold: int) -> list[str]:
    if column in query.filters:
        return list(query.filters[column])
    frequent = records[column].value_counts()
    return sorted((str(v) for v in frequent[frequent >= threshold].index), key=_order)


def frequency_table(records: pd.DataFrame, query: TableQuery, threshold: int) -> Table:
    """Each cell's count of records, protected; :class:`BadRequest` when the table would hold
    more than ``MAX_CELLS`` cells."""
    dims = list(query.dimensions)
    listed = [_listed(records, query, d, threshold) for d in dims]
    cells = math.prod(len(values) for values in listed)
    if cells > MAX_CELLS:
        sizes = " x ".join(f"{d} {len(v)}" for d, v in zip(dims, listed, strict=True))
        raise BadRequest(
            f"the table would hold {cells} cells ({sizes}), more than {MAX_CELLS}: ask fewer "
            "dimensions, or filter a dimension to the values you need"
        )
    keep = pd.Series(True, index=records.index)
    for column, values in query.filters.items():
        keep &= records[column].isin(values)
    chosen = records.loc[keep, [*dims, RECORD_KEY_COLUMN]]
    counted = (
        chosen.groupby(dims, sort=False)[RECORD_KEY_COLUMN]
        .agg(["size", "sum"])
        .reset_index()
        .rename(columns={"size": "n", "sum": "key_sum"})
    )
    frame = pd.DataFrame(list(itertools.product(*listed)), columns=dims)
    frame = frame.merge(counted, on=dims, how="left").fillna({"n": 0, "key_sum": 0})
    frame["count"] = protect_counts(frame["n"], frame["key_sum"], threshold).to_numpy()
    return Table(query, frame[[*dims, "count"]], threshold)


class EnclaveRecords:
    """The records of enclave releases, each read once (sha256-checked by the one reader) and
    kept for the next tables; at most ``size`` releases in memory, least recently asked out."""

    def __init__(self, releases: ResearchReleases, size: int = 2) -> None:
        self.releases = releases
        self.size = size
        self._frames: OrderedDict[str, pd.DataFrame] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, release: Release) -> pd.DataFrame:
        """The records; :class:`ReleaseError` for a file that does not match its manifest,
        :class:`Conflict` for a release built before records carried a cell key."""
        with self._lock:
            frame = self._frames.get(release.id)
            if frame is None:
                frame = pd.read_parquet(self.releases.data_file(release, "parquet"))
                if RECORD_KEY_COLUMN not in frame.columns:
                    raise Conflict(
                        f"release {release.id} was built before enclave records carried a cell "
                        "key and cannot be queried; query a later enclave release"
                    )
                self._frames[release.id] = frame
                while len(self._frames) > self.size:
                    self._frames.popitem(last=False)
            self._frames.move_to_end(release.id)
            return frame
