"""Where metric answers are computed: the published gold snapshot, behind one interface.

Two stores answer the same engine-neutral :class:`AggregateQuery`, so the service layer
(catalog, scopes, suppression, caching) is the same in both modes:

* :class:`LakeSnapshotStore` reads the CURRENT snapshot's Parquet with DuckDB, through the
  gold reader (:class:`lakehouse.gold_snapshot.GoldSnapshots`: id, manifest and sha256 checked).
  It never opens chDB's warehouse path: chDB lets one process at a time hold it, and that
  process is the pipeline. It reads ``gold/CURRENT`` on every call (one small file), so a new
  publish is served at once.
* :class:`WarehouseSnapshotStore` reads the gated gold tables of a ClickHouse server
  (:mod:`lakehouse.gold_tables`), never the live marts that dbt rebuilds before the gate.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import duckdb
import pandas as pd

from lakehouse import gold_tables
from lakehouse.gold_snapshot import GoldSnapshots, Snapshot, SnapshotError
from lakehouse.warehouse import WarehouseTarget, connect
from metrics_api.errors import Unavailable

__all__ = [
    "AggregateQuery",
    "LakeSnapshotStore",
    "MetricStore",
    "Snapshot",
    "WarehouseSnapshotStore",
]


@dataclass(frozen=True)
class AggregateQuery:
    """One aggregation over one mart, in engine-neutral terms.

    ``group_by`` are (output name, mart column); ``grain`` buckets ``time_column`` into an
    output column named after the grain (labels ``2024``, ``2024-Q1``, ``2024-01``);
    ``counts`` are (output name, aggregate SQL from the catalog); ``date_from``/``date_to``
    bound the period start, both inclusive; ``equals`` are (mart column, value) filters.
    """

    mart: str
    time_column: str
    counts: tuple[tuple[str, str], ...]
    group_by: tuple[tuple[str, str], ...] = ()
    grain: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    equals: tuple[tuple[str, str], ...] = ()

    @property
    def output_dimensions(self) -> list[str]:
        names = [name for name, _ in self.group_by]
        return [*names, self.grain] if self.grain else names


class MetricStore(Protocol):
    """What the service needs from a backend (DuckDB over the lake, or ClickHouse)."""

    backend: str

    def current(self) -> Snapshot | None:
        """The live snapshot, or None if nothing has been published yet."""

    def snapshot(self, snapshot_id: str) -> Snapshot:
        """Another snapshot on disk by id (a candidate a reviewer previews); Unavailable if it
        cannot be read. Whether it may be served is the service's decision, not the store's."""

    def aggregate(self, snapshot: Snapshot, query: AggregateQuery) -> pd.DataFrame:
        """One row per combination of ``query.output_dimensions`` (as strings) with its counts
        (int64, zero when no rows match); dimension values are strings or None."""


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _bucket(column: str, grain: str) -> str:
    t = _quote(column)
    if grain == "year":
        return f"strftime({t}, '%Y')"
    if grain == "quarter":
        return f"strftime({t}, '%Y') || '-Q' || CAST(quarter({t}) AS VARCHAR)"
    if grain == "month":
        return f"strftime({t}, '%Y-%m')"
    raise ValueError(f"unknown grain {grain!r}")


class LakeSnapshotStore:
    """Reads the snapshot ``gold/CURRENT`` points to, through the gold reader."""

    backend = "lake"

    def __init__(self, gold: GoldSnapshots) -> None:
        self.gold = gold
        self._engine: duckdb.DuckDBPyConnection | None = None
        self._engine_lock = threading.Lock()

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own for one query, from one in-memory DuckDB per store.

        Opening a DuckDB database costs tens of milliseconds, more than the queries the API
        runs; a cursor of an open one costs a fraction of one and is safe in its own thread.
        """
        with self._engine_lock:
            if self._engine is None:
                self._engine = duckdb.connect()
            return self._engine.cursor()

    def current(self) -> Snapshot | None:
        try:
            return self.gold.open_current()
        except SnapshotError as exc:
            raise Unavailable(str(exc)) from exc

    def snapshot(self, snapshot_id: str) -> Snapshot:
        try:
            return self.gold.open(snapshot_id)
        except SnapshotError as exc:
            raise Unavailable(str(exc)) from exc

    def aggregate(self, snapshot: Snapshot, query: AggregateQuery) -> pd.DataFrame:
        try:
            path = self.gold.mart_file(snapshot, query.mart)
        except SnapshotError as exc:
            raise Unavailable(str(exc)) from exc
        select: list[str] = []
        for name, column in query.group_by:
            select.append(f"CAST({_quote(column)} AS VARCHAR) AS {_quote(name)}")
        if query.grain:
            select.append(f"{_bucket(query.time_column, query.grain)} AS {_quote(query.grain)}")
        dims = len(select)
        for name, expression in query.counts:
            # Catalog measures are validated count aggregates; coalesce gives 0 for no rows.
            select.append(f"CAST(coalesce({expression}, 0) AS BIGINT) AS {_quote(name)}")
        where: list[str] = []
        params: list[Any] = [str(path)]
        day = f"CAST({_quote(query.time_column)} AS DATE)"
        if query.date_from is not None:
            where.append(f"{day} >= ?")
            params.append(query.date_from)
        if query.date_to is not None:
            where.append(f"{day} <= ?")
            params.append(query.date_to)
        for column, value in query.equals:
            where.append(f"CAST({_quote(column)} AS VARCHAR) = ?")
            params.append(value)
        sql = f"SELECT {', '.join(select)} FROM read_parquet(?)"
        if where:
            sql += " WHERE " + " AND ".join(where)
        if dims:
            positions = ", ".join(str(i) for i in range(1, dims + 1))
            sql += f" GROUP BY {positions} ORDER BY {positions} NULLS LAST"
        con = self._cursor()
        try:
            frame = con.execute(sql, params).fetchdf()
        finally:
            con.close()
        # DuckDB gives VARCHAR as objects with None and a coalesced BIGINT as int64: converted
        # only where it did not (a copy of each column cost more than the query's grouping).
        for name in query.output_dimensions:
            column = frame[name]
            if column.dtype != object or column.hasnans:
                frame[name] = column.astype(object).where(column.notna(), None)
        for name, _ in query.counts:
            if frame[name].dtype != "int64":
                frame[name] = frame[name].astype("int64")
        return frame


def _ch_bucket(column: str, grain: str) -> str:
    t = f"`{column}`"
    if grain == "year":
        return f"toString(toYear({t}))"
    if grain == "quarter":
        return f"concat(toString(toYear({t})), '-Q', toString(toQuarter({t})))"
    if grain == "month":
        return f"formatDateTime({t}, '%Y-%m')"
    raise ValueError(f"unknown grain {grain!r}")


class WarehouseSnapshotStore:
    """Server mode: the gated gold tables in the warehouse (``gold.<mart>__<snapshot_id>``).

    The publish step copies each snapshot into immutable tables and only then adds a row to
    ``gold._current``; this store reads the newest row, so it never sees a mart that dbt has
    rebuilt but the gate has not passed. The aggregate is the embedded store's, in ClickHouse
    SQL: the catalog's measure expressions are used unchanged.
    """

    backend = "warehouse"

    def __init__(self, target: WarehouseTarget, gold: GoldSnapshots | None = None) -> None:
        self.target = target
        #: The lake's gold folder: the manifests of candidates (only CURRENT's is in the
        #: warehouse, in ``gold._current``); their tables were copied when they were made.
        self.gold = gold
        self._local = threading.local()
        self._lock = threading.Lock()
        self._shared: Any = None

    def _client(self) -> Any:
        if self.target.embedded:
            # One embedded engine per process: share one client, one query at a time.
            if self._shared is None:
                self._shared = connect(self.target)
            return self._shared
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = connect(self.target)
        return client

    def _locked(self) -> Any:
        return self._lock if self.target.embedded else contextlib.nullcontext()

    def _query_df(self, sql: str, parameters: dict[str, Any]) -> pd.DataFrame:
        try:
            with self._locked():
                return self._client().query_df(sql, parameters=parameters)
        except Exception as exc:  # the warehouse's own message says what failed
            raise Unavailable(f"warehouse query failed: {type(exc).__name__}") from exc

    def current(self) -> Snapshot | None:
        try:
            with self._locked():
                return gold_tables.read_current(self._client())
        except SnapshotError as exc:
            raise Unavailable(str(exc)) from exc
        except Exception as exc:
            raise Unavailable(f"warehouse query failed: {type(exc).__name__}") from exc

    def snapshot(self, snapshot_id: str) -> Snapshot:
        if self.gold is None:
            raise Unavailable("this server reads no lake: only CURRENT can be served")
        try:
            manifest = self.gold.open(snapshot_id).manifest
        except SnapshotError as exc:
            raise Unavailable(str(exc)) from exc
        return Snapshot(snapshot_id, None, manifest)

    def aggregate(self, snapshot: Snapshot, query: AggregateQuery) -> pd.DataFrame:
        if snapshot.mart(query.mart) is None:
            raise Unavailable(f"snapshot {snapshot.id} does not publish mart {query.mart!r}")
        table = gold_tables.gold_table(query.mart, snapshot.id)
        select: list[str] = []
        for name, column in query.group_by:
            select.append(f"toString(`{column}`) AS `{name}`")
        if query.grain:
            select.append(f"{_ch_bucket(query.time_column, query.grain)} AS `{query.grain}`")
        for name, expression in query.counts:
            select.append(f"toInt64(coalesce({expression}, 0)) AS `{name}`")
        where: list[str] = []
        params: dict[str, Any] = {}
        day = f"toDate(`{query.time_column}`)"
        if query.date_from is not None:
            where.append(f"{day} >= {{date_from:Date}}")
            params["date_from"] = query.date_from
        if query.date_to is not None:
            where.append(f"{day} <= {{date_to:Date}}")
            params["date_to"] = query.date_to
        for i, (column, value) in enumerate(query.equals):
            where.append(f"toString(`{column}`) = {{eq{i}:String}}")
            params[f"eq{i}"] = value
        sql = f"SELECT {', '.join(select)} FROM {table}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        dims = query.output_dimensions
        if dims:
            names = ", ".join(f"`{d}`" for d in dims)
            sql += f" GROUP BY {names} ORDER BY {', '.join(f'`{d}` NULLS LAST' for d in dims)}"
        frame = self._query_df(sql, params)
        for name in dims:
            frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
        for name, _ in query.counts:
            frame[name] = frame[name].astype("int64")
        return frame
