"""Table-declaration and sampling helpers shared by the service generators."""

from __future__ import annotations

import itertools
import random
from bisect import bisect
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

T = TypeVar("T")

# Portable column types: the same declarations work on SQLite and PostgreSQL.
ID = sa.String(32)
CODE = sa.String(40)
NAME = sa.String(200)
LONG = sa.String(400)


def col(name: str, type_: sa.types.TypeEngine[Any]) -> sa.Column[Any]:
    """A nullable column: operational extracts are messy, and a NULL in a "required" column
    must be storable so that validation, not the source database, is what rejects it."""
    return sa.Column(name, type_, nullable=True)


def source_table(
    metadata: sa.MetaData,
    name: str,
    key_column: str,
    *columns: sa.Column[Any],
    indexed: Sequence[str] = (),
) -> sa.Table:
    """A source table with ``updated_at`` (the extraction watermark) and indexes.

    No primary key or foreign key constraints on purpose: duplicates and orphans must be
    insertable, as they are in the real extracts. The key, the watermark and the listed
    lookup columns are indexed instead.
    """
    table = sa.Table(
        name,
        metadata,
        *columns,
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    for column in (key_column, "updated_at", *indexed):
        sa.Index(f"ix_{name}_{column}", table.c[column])
    return table


class Weighted(Generic[T]):
    """A population with weights, sampled with a caller-supplied seeded ``Random``."""

    def __init__(self, items: Sequence[T], weights: Sequence[float]) -> None:
        if len(items) != len(weights) or not items:
            raise ValueError("items and weights must be non-empty and of equal length")
        self.items = list(items)
        self.cum_weights = list(itertools.accumulate(weights))
        self._total = self.cum_weights[-1]
        self._last = len(self.items) - 1

    @classmethod
    def of(cls, pairs: Sequence[tuple[T, float]]) -> Weighted[T]:
        return cls([p[0] for p in pairs], [p[1] for p in pairs])

    def pick(self, rng: random.Random) -> T:
        # bisect on one uniform draw: what ``rng.choices`` does, without its per-call overhead.
        return self.items[bisect(self.cum_weights, rng.random() * self._total, 0, self._last)]

    def sample(self, rng: random.Random, k: int) -> list[T]:
        return rng.choices(self.items, cum_weights=self.cum_weights, k=k)
