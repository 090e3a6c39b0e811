"""Planting data defects, and remembering exactly where they were planted.

Design choice: a defect is carried by an *extra* row made for it (a fresh, otherwise valid row
with one thing broken), never by mutating a row that other rows depend on. A quarantined row
therefore never orphans legitimate children, each defective row has exactly one defect, and
the manifest can say precisely which rows ingestion must reject and why. The only exception is
``duplicate_row``: an exact copy of a legitimate row, where the copy is the defect.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ingestion.synthetic.manifest import DEFECT_CODES, DefectRecord
from ingestion.synthetic.nik import corrupt_nik

if TYPE_CHECKING:
    from ingestion.synthetic.context import GenerationContext, KeySpace

Row = dict[str, Any]
#: Breaks one thing in a row, in place, and returns the name of the broken column.
Mutation = Callable[[Row, random.Random], str]


class DefectPlanter:
    """Decides how many rows get each defect and records every planted one."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.planted: list[DefectRecord] = []

    def how_many(self, base_rows: int) -> int:
        """Rows to plant for one (table, code): ``rate`` of the table, at least one.

        The floor of one keeps every code present in small test runs; a rate of 0 turns
        planting off entirely (a clean dataset).
        """
        if self.rate <= 0 or base_rows <= 0:
            return 0
        return max(1, round(base_rows * self.rate))

    def record(self, table: str, key: str, defect: str, column: str | None) -> None:
        if defect not in DEFECT_CODES:
            raise ValueError(f"unknown defect code {defect!r}")
        self.planted.append(DefectRecord(table, key, defect, column))


# -- mutations: small, composable ways to break one column ----------------------------------


def set_value(column: str, *values: Any) -> Mutation:
    """``column`` gets a value outside its domain (``malformed_value``)."""

    def mutate(row: Row, rng: random.Random) -> str:
        row[column] = rng.choice(values)
        return column

    return mutate


def set_null(column: str) -> Mutation:
    """A required ``column`` is NULL (``missing_required``)."""

    def mutate(row: Row, rng: random.Random) -> str:
        row[column] = None
        return column

    return mutate


def move_to_future(
    column: str, as_of: dt.date, *, timestamp: bool = False, then: Mapping[str, Any] | None = None
) -> Mutation:
    """``column`` lies 30-400 days after ``as_of``; ``then`` resets columns that would
    otherwise contradict it (a case opened in the future cannot be closed already)."""

    def mutate(row: Row, rng: random.Random) -> str:
        day = as_of + dt.timedelta(days=rng.randint(30, 400))
        row[column] = (
            dt.datetime.combine(day, dt.time(rng.randint(7, 18), rng.randint(0, 59)))
            if timestamp
            else day
        )
        row.update(then or {})
        return column

    return mutate


def point_to_missing(column: str, parent_keys: KeySpace) -> Mutation:
    """``column`` references a parent key that does not exist (``orphan_fk``)."""

    def mutate(row: Row, rng: random.Random) -> str:
        row[column] = parent_keys.missing(rng)
        return column

    return mutate


def break_nik(column: str) -> Mutation:
    """``column`` holds a structurally impossible NIK (``invalid_nik``)."""

    def mutate(row: Row, rng: random.Random) -> str:
        row[column] = corrupt_nik(str(row[column]), rng)
        return column

    return mutate


# -- planting -------------------------------------------------------------------------------


def plant_extra_rows(
    ctx: GenerationContext,
    table: str,
    keys: KeySpace,
    base_rows: int,
    factory: Callable[[str], Row],
    plan: Mapping[str, Sequence[Mutation]],
) -> None:
    """For each defect code in ``plan``, add ``rate * base_rows`` extra broken rows.

    ``factory(key)`` must return a complete, valid row for a fresh key; one mutation of the
    code (chosen at random) then breaks it.
    """
    for code, mutations in plan.items():
        for _ in range(ctx.defects.how_many(base_rows)):
            key = keys.next()
            row = factory(key)
            column = ctx.rng.choice(mutations)(row, ctx.rng)
            ctx.out.add(table, row)
            ctx.defects.record(table, key, code, column)


def plant_duplicates(
    ctx: GenerationContext, table: str, key_column: str, keys: KeySpace, legit_rows: int
) -> None:
    """Re-insert exact copies of ``rate * legit_rows`` legitimate rows (keys 1..legit_rows).

    The copies are read back from the database, so they are byte-identical to the originals
    whatever the backend does to types on the way in.
    """
    n = min(ctx.defects.how_many(legit_rows), legit_rows)
    if n == 0:
        return
    wanted = [keys.format(i) for i in sorted(ctx.rng.sample(range(1, legit_rows + 1), n))]
    rows = ctx.out.fetch(table, key_column, wanted)
    if len(rows) != n:
        raise RuntimeError(f"{table}: expected {n} rows to duplicate, found {len(rows)}")
    for row in rows:
        ctx.out.add(table, row)
        ctx.defects.record(table, str(row[key_column]), "duplicate_row", key_column)
