"""Where generated rows go: buffered bulk inserts through SQLAlchemy Core.

Services hand over one row at a time so they never hold a whole table in memory (at 100,000
children the access log alone is half a million rows); the sink batches them into
``executemany`` inserts, which is what makes the generator fast on any backend.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import sqlalchemy as sa

Row = dict[str, Any]


class RowSink(Protocol):
    """What a service generator writes to; a test can substitute an in-memory sink."""

    def add(self, table: str, row: Row) -> None: ...

    def fetch(self, table: str, key_column: str, keys: Sequence[str]) -> list[Row]:
        """Rows already written whose ``key_column`` is in ``keys``, ordered by key."""
        ...

    def count(self, table: str) -> int: ...


class SqlSink:
    """Buffers rows per table and flushes them with one ``executemany`` per batch."""

    def __init__(
        self, conn: sa.Connection, tables: Mapping[str, sa.Table], batch_size: int = 10_000
    ) -> None:
        self._conn = conn
        self._tables = dict(tables)
        self._batch_size = batch_size
        self._buffers: dict[str, list[Row]] = {name: [] for name in self._tables}
        self._counts: dict[str, int] = dict.fromkeys(self._tables, 0)

    def add(self, table: str, row: Row) -> None:
        buffer = self._buffers[table]
        buffer.append(row)
        self._counts[table] += 1
        if len(buffer) >= self._batch_size:
            self._flush(table)

    def extend(self, table: str, rows: Iterable[Row]) -> None:
        for row in rows:
            self.add(table, row)

    def count(self, table: str) -> int:
        return self._counts[table]

    @property
    def counts(self) -> dict[str, int]:
        return dict(self._counts)

    def fetch(self, table: str, key_column: str, keys: Sequence[str]) -> list[Row]:
        self._flush(table)
        t = self._tables[table]
        out: list[Row] = []
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            query = sa.select(t).where(t.c[key_column].in_(chunk)).order_by(t.c[key_column])
            out.extend(dict(r._mapping) for r in self._conn.execute(query))
        out.sort(key=lambda r: str(r[key_column]))
        return out

    def flush(self) -> None:
        for table in self._buffers:
            self._flush(table)

    def _flush(self, table: str) -> None:
        buffer = self._buffers[table]
        if buffer:
            self._conn.execute(self._tables[table].insert(), buffer)
            self._buffers[table] = []
