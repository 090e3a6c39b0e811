"""Where generated rows go: buffered bulk inserts, through the DBAPI itself on SQLite.

Services hand over one row at a time so they never hold a whole table in memory (at 1,000,000
children the access log alone is five million rows); the sink batches them into
``executemany`` inserts. ``SqlSink`` works on any SQLAlchemy backend. ``SqliteSink``, the one
SQLite files get, stores exactly the same values but skips SQLAlchemy's per-row parameter
processing, which cost more than generating the rows did: it converts a batch column by column
(C-level ``map``) and hands tuples to ``sqlite3``'s ``executemany``. ``ForwardingSink`` sends
the converted batches to a writer process that owns the database (``generate`` with workers).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import marshal
import pickle
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from multiprocessing.connection import Connection
from operator import itemgetter
from typing import Any, Protocol

import sqlalchemy as sa

Row = dict[str, Any]
#: Turns one column of a batch into the values the database stores.
Converter = Callable[[list[Any]], list[Any]]


class RowSink(Protocol):
    """What a service generator writes to; a test can substitute an in-memory sink."""

    def add(self, table: str, row: Row) -> None: ...

    def fetch(self, table: str, key_column: str, keys: Sequence[str]) -> list[Row]:
        """Rows already written whose ``key_column`` is in ``keys``, ordered by key."""
        ...

    def count(self, table: str) -> int: ...


class BufferedSink(ABC):
    """Buffers rows per table and writes them one batch (one ``executemany``) at a time.

    Batches are cut at the same rows whatever the subclass does with them: a table's batch is
    written when it is full, when the table is fetched from, and at ``flush``, in table order.
    """

    def __init__(self, tables: Mapping[str, sa.Table], batch_size: int = 10_000) -> None:
        self._tables = dict(tables)
        self._batch_size = batch_size
        self._buffers: dict[str, list[Row]] = {name: [] for name in self._tables}
        self._written: dict[str, int] = dict.fromkeys(self._tables, 0)

    def add(self, table: str, row: Row) -> None:
        buffer = self._buffers[table]
        buffer.append(row)
        if len(buffer) >= self._batch_size:
            self._flush(table)

    def extend(self, table: str, rows: Iterable[Row]) -> None:
        for row in rows:
            self.add(table, row)

    def count(self, table: str) -> int:
        return self._written[table] + len(self._buffers[table])

    @property
    def counts(self) -> dict[str, int]:
        return {table: self.count(table) for table in self._tables}

    @abstractmethod
    def fetch(self, table: str, key_column: str, keys: Sequence[str]) -> list[Row]:
        """Rows already written whose ``key_column`` is in ``keys``, ordered by key."""

    def flush(self) -> None:
        for table in self._buffers:
            self._flush(table)

    def _flush(self, table: str) -> None:
        buffer = self._buffers[table]
        if buffer:
            self._write(table, buffer)
            self._written[table] += len(buffer)
            self._buffers[table] = []

    @abstractmethod
    def _write(self, table: str, rows: list[Row]) -> None:
        """Store one batch of ``table``."""


class SqlSink(BufferedSink):
    """Batches written with SQLAlchemy Core: any backend (PostgreSQL in the ingestion tests)."""

    def __init__(
        self, conn: sa.Connection, tables: Mapping[str, sa.Table], batch_size: int = 10_000
    ) -> None:
        super().__init__(tables, batch_size)
        self._conn = conn

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

    def _write(self, table: str, rows: list[Row]) -> None:
        self._conn.execute(self._tables[table].insert(), rows)


class SqliteRows:
    """How the rows of some tables are stored in SQLite: the ``INSERT`` and column converters.

    Each column of a batch is converted as SQLAlchemy's SQLite dialect would bind it (dates
    and timestamps as ISO text, booleans as 0/1), see :func:`column_converter`.
    """

    def __init__(self, tables: Mapping[str, sa.Table], dialect: sa.Dialect) -> None:
        quote = dialect.identifier_preparer.quote
        self._statements: dict[str, tuple[str, list[tuple[itemgetter[Any], Converter]]]] = {}
        for name, t in tables.items():
            columns = ", ".join(quote(c.name) for c in t.columns)
            marks = ", ".join("?" for _ in t.columns)
            self._statements[name] = (
                f"INSERT INTO {quote(name)} ({columns}) VALUES ({marks})",
                [(itemgetter(c.name), column_converter(c.type, dialect)) for c in t.columns],
            )

    def insert(self, table: str) -> str:
        return self._statements[table][0]

    def stored(self, table: str, rows: list[Row]) -> list[tuple[Any, ...]]:
        """``rows`` as the tuples ``sqlite3`` is given (in the table's column order)."""
        values = [convert(list(map(get, rows))) for get, convert in self._statements[table][1]]
        return list(zip(*values, strict=True))


class SqliteSink(SqlSink):
    """``SqlSink`` for SQLite: the same stored bytes, without SQLAlchemy's per-row work.

    Rows are written with the DBAPI connection under ``conn``, inside the transaction
    ``conn`` has open, so a service's inserts and index builds stay one transaction, as
    before.
    """

    def __init__(
        self, conn: sa.Connection, tables: Mapping[str, sa.Table], batch_size: int = 10_000
    ) -> None:
        if conn.dialect.name != "sqlite":
            raise ValueError(f"SqliteSink needs a SQLite connection, not {conn.dialect.name}")
        super().__init__(conn, tables, batch_size)
        dbapi = conn.connection.driver_connection
        if dbapi is None:  # pragma: no cover - an open connection always has one
            raise RuntimeError("the connection has no DBAPI connection")
        self._dbapi = dbapi
        self._rows = SqliteRows(self._tables, conn.dialect)

    def fetch(self, table: str, key_column: str, keys: Sequence[str]) -> list[Row]:
        """One scan of the table for all ``keys`` (they arrive as one JSON parameter).

        Indexes are built after the load, so each ``IN (...)`` chunk of the generic sink
        scanned the whole table: at a million children, over a hundred scans of the access log.
        """
        self._flush(table)
        t = self._tables[table]
        wanted: sa.Select[Any] = sa.select(sa.column("value")).select_from(
            sa.func.json_each(sa.literal(json.dumps(list(keys))))
        )
        query = sa.select(t).where(t.c[key_column].in_(wanted)).order_by(t.c[key_column])
        return [dict(r._mapping) for r in self._conn.execute(query)]

    def write_stored(self, table: str, stored: list[tuple[Any, ...]]) -> None:
        """Insert rows already converted by :class:`SqliteRows` (by another process)."""
        self._flush(table)
        self._dbapi.executemany(self._rows.insert(table), stored)
        self._written[table] += len(stored)

    def _write(self, table: str, rows: list[Row]) -> None:
        self._dbapi.executemany(self._rows.insert(table), self._rows.stored(table, rows))


class ForwardingSink(BufferedSink):
    """A sink whose SQLite database is written by another process (see ``generate``).

    The generating process only converts each batch to stored tuples and sends it through
    ``pipe`` (``marshal``: a fraction of what inserting costs); the writer inserts the batches
    in the order they were cut, which is the order ``SqliteSink`` would have inserted them,
    so the file is the same. ``fetch`` asks the writer and waits for the answer.
    """

    def __init__(
        self,
        pipe: Connection,
        tables: Mapping[str, sa.Table],
        dialect: sa.Dialect,
        batch_size: int = 10_000,
    ) -> None:
        super().__init__(tables, batch_size)
        self._pipe = pipe
        self._rows = SqliteRows(self._tables, dialect)

    def fetch(self, table: str, key_column: str, keys: Sequence[str]) -> list[Row]:
        self._flush(table)
        self._pipe.send(("fetch", table, key_column, list(keys)))
        kind, answer = self._pipe.recv()
        if kind != "rows":
            raise RuntimeError(f"the writer of {table} failed:\n{answer}")
        rows: list[Row] = answer
        return rows

    def _write(self, table: str, rows: list[Row]) -> None:
        stored = self._rows.stored(table, rows)
        try:
            payload = b"m" + marshal.dumps(stored)
        except ValueError:  # a value marshal does not know: pickle takes anything
            payload = b"p" + pickle.dumps(stored, protocol=pickle.HIGHEST_PROTOCOL)
        self._pipe.send(("rows", table, payload))


def load_stored(payload: bytes) -> list[tuple[Any, ...]]:
    """The batch a :class:`ForwardingSink` sent."""
    rows: list[tuple[Any, ...]] = (
        marshal.loads(payload[1:]) if payload[:1] == b"m" else pickle.loads(payload[1:])
    )
    return rows


_NONE = type(None)
#: SQLAlchemy's default SQLite storage formats, and the length of ``str(value)`` (the ISO form
#: with a space) when it is that format: with microseconds for a timestamp, always for a date.
_ISO: dict[str, int] = {
    "%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d.%(microsecond)06d": 26,
    "%(year)04d-%(month)02d-%(day)02d": 10,
}


def column_converter(type_: sa.types.TypeEngine[Any], dialect: sa.Dialect) -> Converter:
    """How one column's values are stored: exactly what SQLAlchemy's bind processor makes.

    The common cases run without a Python frame per value: ``str`` of a ``datetime`` (or a
    ``date``) is its ISO form with a space, which is SQLAlchemy's default SQLite storage
    format (``2024-05-01 08:30:00.000000``, ``2024-05-01``) when it has the format's length
    (a timestamp without microseconds, or with a time zone, does not); ``bool`` values are
    stored as 0/1 by ``sqlite3`` itself, as SQLAlchemy's ``int(value)`` would. Any other value
    goes through SQLAlchemy's own processor.
    """
    process = type_._cached_bind_processor(dialect)
    if process is None:
        return _unchanged
    width = 0
    if isinstance(type_, sa.Boolean):
        python_type: type = bool
    else:
        storage_format = getattr(type_.dialect_impl(dialect), "_storage_format", None)
        if storage_format not in _ISO:
            return functools.partial(_each, process)
        width = _ISO[storage_format]
        python_type = dt.date if width == 10 else dt.datetime

    def convert(values: list[Any]) -> list[Any]:
        kinds = set(map(type, values))
        nulls = _NONE in kinds
        kinds.discard(_NONE)
        if not kinds <= {python_type}:
            return _each(process, values)
        if not width:
            return values
        stored = list(map(str, values))
        if nulls or set(map(len, stored)) != {width}:
            # NULLs ("None") and values str() renders otherwise, one by one.
            return [
                s if len(s) == width else process(v) for s, v in zip(stored, values, strict=True)
            ]
        return stored

    return convert


def _each(process: Callable[[Any], Any], values: list[Any]) -> list[Any]:
    return list(map(process, values))


def _unchanged(values: list[Any]) -> list[Any]:
    return values
