"""Where metric answers are computed: the published gold snapshot, behind one interface.

Why an interface: the embedded default reads the gold snapshot's Parquet files with DuckDB;
production will read the ClickHouse server. Both answer the same engine-neutral
:class:`AggregateQuery`, so the service layer (catalog, scopes, suppression, caching) is the
same in both modes and a ClickHouse store only has to implement :class:`MetricStore`.

The embedded store never opens chDB's warehouse path: chDB lets one process at a time hold it,
and that process is the pipeline. It reads ``gold/CURRENT`` on every call (one small file) so a
new publish is served at once, and it checks each mart file's sha256 against the snapshot
manifest once per snapshot before answering from it.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pandas as pd

from metrics_api.errors import Unavailable

__all__ = [
    "AggregateQuery",
    "EmbeddedSnapshotStore",
    "MetricStore",
    "Snapshot",
]

_SNAPSHOT_ID = re.compile(r"^[0-9A-Za-z_.-]{1,64}$")


@dataclass(frozen=True)
class Snapshot:
    """A published gold snapshot: its id, its directory and its manifest (immutable)."""

    id: str
    path: Path
    manifest: dict[str, Any] = field(repr=False, hash=False, compare=False)

    def mart(self, name: str) -> dict[str, Any] | None:
        marts = self.manifest.get("marts") or {}
        entry = marts.get(name)
        return entry if isinstance(entry, dict) else None


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
    """What the service needs from a backend (embedded DuckDB today, ClickHouse later)."""

    backend: str

    def current(self) -> Snapshot | None:
        """The live snapshot, or None if nothing has been published yet."""

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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class EmbeddedSnapshotStore:
    """Reads ``<gold>/CURRENT`` and the Parquet files of the snapshot it points to."""

    backend = "embedded"

    def __init__(self, gold: Path) -> None:
        self.gold = gold
        self._manifests: dict[str, dict[str, Any]] = {}
        self._verified: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def current(self) -> Snapshot | None:
        pointer = self.gold / "CURRENT"
        try:
            snapshot_id = pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        if not snapshot_id:
            return None
        if not _SNAPSHOT_ID.match(snapshot_id):
            raise Unavailable("gold/CURRENT does not hold a valid snapshot id")
        path = self.gold / "snapshots" / snapshot_id
        with self._lock:
            manifest = self._manifests.get(snapshot_id)
        if manifest is None:
            try:
                manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise Unavailable(f"snapshot {snapshot_id} has no readable manifest") from exc
            if manifest.get("snapshot_id") != snapshot_id or manifest.get("published") is False:
                raise Unavailable(f"snapshot {snapshot_id}: manifest does not match CURRENT")
            with self._lock:  # published snapshots are immutable, so their manifests cache
                self._manifests[snapshot_id] = manifest
        return Snapshot(snapshot_id, path, manifest)

    def _mart_file(self, snapshot: Snapshot, mart: str) -> Path:
        entry = snapshot.mart(mart)
        if entry is None or not isinstance(entry.get("file"), str):
            raise Unavailable(f"snapshot {snapshot.id} does not publish mart {mart!r}")
        path = snapshot.path / Path(entry["file"]).name
        key = (snapshot.id, mart)
        with self._lock:
            verified = key in self._verified
        if not verified:
            if not path.exists() or _sha256(path) != entry.get("sha256"):
                raise Unavailable(f"snapshot {snapshot.id}: {mart} does not match its manifest")
            with self._lock:
                self._verified.add(key)
        return path

    def aggregate(self, snapshot: Snapshot, query: AggregateQuery) -> pd.DataFrame:
        path = self._mart_file(snapshot, query.mart)
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
        # One in-memory connection per query: cheap, and safe across the server's threads.
        con = duckdb.connect()
        try:
            frame = con.execute(sql, params).fetchdf()
        finally:
            con.close()
        for name in query.output_dimensions:
            frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
        for name, _ in query.counts:
            frame[name] = frame[name].astype("int64")
        return frame


_GOLD_TABLE = re.compile(r"^[A-Za-z0-9_]+$")


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
    """Server mode: the gated gold tables in ClickHouse (``gold.<mart>__<snapshot_id>``).

    The publish step copies each snapshot into immutable tables and only then adds a row to
    ``gold._current``; this store reads the newest row, so it never sees a mart that dbt has
    rebuilt but the gate has not passed. The aggregate is the embedded store's, in ClickHouse
    SQL: the catalog's measure expressions are used unchanged.
    """

    backend = "clickhouse"

    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()
        self._lock = threading.Lock()
        self._shared: Any = None

    def _client(self) -> Any:
        from urllib.parse import urlparse

        import clickhouse_connect

        parsed = urlparse(self.url)
        if parsed.scheme == "chdb":
            # One embedded engine per process: share one client, one query at a time.
            if self._shared is None:
                self._shared = clickhouse_connect.get_client(interface="chdb", path=parsed.path)
            return self._shared
        client = getattr(self._local, "client", None)
        if client is None:
            client = clickhouse_connect.get_client(
                interface=parsed.scheme,
                host=parsed.hostname or "localhost",
                port=parsed.port or 8123,
                username=parsed.username or "default",
                password=parsed.password or "",
            )
            self._local.client = client
        return client

    def _query_df(self, sql: str, parameters: dict[str, Any]) -> pd.DataFrame:
        try:
            with self._lock if self.url.startswith("chdb:") else _no_lock():
                return self._client().query_df(sql, parameters=parameters)
        except Exception as exc:  # the warehouse's own message says what failed
            raise Unavailable(f"warehouse query failed: {type(exc).__name__}") from exc

    def current(self) -> Snapshot | None:
        try:
            frame = self._query_df(
                "select snapshot_id, manifest from gold._current order by published_at desc limit 1",
                {},
            )
        except Unavailable:
            return None
        if frame.empty:
            return None
        snapshot_id = str(frame.iloc[0]["snapshot_id"])
        if not _SNAPSHOT_ID.match(snapshot_id):
            raise Unavailable("gold._current does not hold a valid snapshot id")
        manifest = json.loads(frame.iloc[0]["manifest"])
        return Snapshot(snapshot_id, Path("gold") / snapshot_id, manifest)

    def aggregate(self, snapshot: Snapshot, query: AggregateQuery) -> pd.DataFrame:
        if snapshot.mart(query.mart) is None or not _GOLD_TABLE.match(query.mart):
            raise Unavailable(f"snapshot {snapshot.id} does not publish mart {query.mart!r}")
        table = f"gold.`{query.mart}__{snapshot.id}`"
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


class _no_lock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None
