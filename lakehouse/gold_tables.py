"""Gold in the warehouse: the one writer and the one reader of the ``gold`` database.

Live mart tables are rebuilt by every dbt run, before the publish gate has looked at them, so
readers must never query them. Instead the publish step copies each snapshot, in the same
warehouse session that read it for the gate, into immutable tables ``gold.<mart>__<id>``; only
when the gate has passed and a data steward has approved the snapshot (``lakehouse.signoff``) is
a row (snapshot id, manifest) added to ``gold._current``. Readers take
the newest row and query that snapshot's tables, so they switch snapshots atomically and never
see ungated data. ``gold.<mart>`` views follow the current snapshot for readers that need
stable names (Superset's ``clickhousedb://`` datasets). A rejected snapshot's tables are
dropped; the last few published ones are kept so in-flight readers can finish.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from lakehouse.gold_snapshot import (
    SNAPSHOT_ID_PATTERN,
    Snapshot,
    SnapshotError,
    SnapshotManifest,
    parse_manifest,
)

__all__ = [
    "CURRENT_TABLE",
    "GOLD_DATABASE",
    "drop_snapshot",
    "gold_table",
    "mark_current",
    "read_current",
    "stage_frames",
    "stage_snapshot",
]

GOLD_DATABASE = "gold"
CURRENT_TABLE = f"{GOLD_DATABASE}._current"
KEEP_SNAPSHOTS = 3
_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_SNAPSHOT_ID = re.compile(SNAPSHOT_ID_PATTERN)


def gold_table(mart: str, snapshot_id: str) -> str:
    """``gold.`<mart>__<id>``` after checking both names (they become SQL identifiers)."""
    if not _NAME.match(mart) or not _SNAPSHOT_ID.match(snapshot_id):
        raise ValueError(f"unsafe gold table name: {mart!r} / {snapshot_id!r}")
    return f"{GOLD_DATABASE}.`{mart}__{snapshot_id}`"


# -- writer -----------------------------------------------------------------------------------


def stage_snapshot(client: Any, snapshot_id: str, relations: Mapping[str, str]) -> None:
    """Copy each mart (``name -> database.table``) into its immutable snapshot table."""
    client.command(f"create database if not exists {GOLD_DATABASE}")
    client.command(
        f"create table if not exists {CURRENT_TABLE} (snapshot_id String, "
        "published_at DateTime64(6), manifest String) engine = MergeTree order by published_at"
    )
    for mart, relation in relations.items():
        table = gold_table(mart, snapshot_id)
        client.command(f"drop table if exists {table}")
        client.command(
            f"create table {table} engine = MergeTree order by tuple() as select * from {relation}"
        )


def _column_type(series: pd.Series) -> str:
    kind = series.dtype.kind
    if kind in "iu" and isinstance(series.dtype, pd.api.extensions.ExtensionDtype):
        return "Nullable(Int64)"  # pandas' Int64: hidden counts of a protected table are NA
    if kind in "iu":
        return "Int8" if series.dtype.itemsize == 1 else "Int64"
    if kind == "f":
        return "Nullable(Float64)"
    if kind == "M":
        return "DateTime"
    return "Nullable(String)"


def stage_frames(client: Any, snapshot_id: str, frames: Mapping[str, pd.DataFrame]) -> None:
    """Write marts computed at publish (the protected tables) into their snapshot tables, as
    :func:`stage_snapshot` copies the ones dbt built."""
    for mart, frame in frames.items():
        table = gold_table(mart, snapshot_id)
        types = {c: _column_type(frame[c]) for c in frame.columns}
        columns = ", ".join(f"`{c}` {t}" for c, t in types.items())
        client.command(f"drop table if exists {table}")
        client.command(f"create table {table} ({columns}) engine = MergeTree order by tuple()")
        out = frame.copy()
        for column, kind in types.items():
            if kind in ("Nullable(String)", "Nullable(Int64)"):
                values = out[column].astype(object)
                out[column] = values.where(values.notna(), None)
        client.insert_df(table, out)


def drop_snapshot(client: Any, snapshot_id: str, marts: Iterable[str]) -> None:
    for mart in marts:
        client.command(f"drop table if exists {gold_table(mart, snapshot_id)}")


def drop_withdrawn(client: Any, snapshot_ids: Iterable[str]) -> list[str]:
    """Drop every table of withdrawn snapshots at once (SYNC: no part file stays behind)."""
    wanted = {s for s in snapshot_ids if _SNAPSHOT_ID.match(s)}
    if not wanted:
        return []
    tables = client.query(
        f"select name from system.tables where database = '{GOLD_DATABASE}'"
    ).result_rows
    dropped = []
    for (name,) in tables:
        _, _, sid = name.rpartition("__")
        if sid in wanted and _NAME.match(name):
            client.command(f"drop table if exists {GOLD_DATABASE}.`{name}` sync")
            dropped.append(name)
    return dropped


def mark_current(client: Any, manifest: SnapshotManifest, keep: Iterable[str] = ()) -> None:
    """Make the published snapshot of ``manifest`` the one readers see, then drop snapshots
    older than the last few, except those in ``keep`` (candidates awaiting approval: their
    tables were copied when they were made, and are what goes live when they are approved)."""
    snapshot_id = manifest.snapshot_id
    for mart in manifest.marts:
        client.command(
            f"create or replace view {GOLD_DATABASE}.`{mart}` as "
            f"select * from {gold_table(mart, snapshot_id)}"
        )
    client.insert(
        CURRENT_TABLE,
        [[snapshot_id, datetime.now(UTC).replace(tzinfo=None), manifest.model_dump_json()]],
        column_names=["snapshot_id", "published_at", "manifest"],
    )
    rows = client.query(
        f"select snapshot_id from {CURRENT_TABLE} order by published_at desc"
    ).result_rows
    kept = {r[0] for r in rows[:KEEP_SNAPSHOTS]} | set(keep)
    tables = client.query(
        f"select name from system.tables where database = '{GOLD_DATABASE}' and name like '%\\\\_\\\\_%'"
    ).result_rows
    for (name,) in tables:
        # Only snapshot tables: a view of a mart whose own name holds "__" stays.
        _, _, sid = name.rpartition("__")
        if _SNAPSHOT_ID.match(sid) and sid not in kept and _NAME.match(name):
            client.command(f"drop table if exists {GOLD_DATABASE}.`{name}`")


# -- reader -----------------------------------------------------------------------------------


def read_current(client: Any) -> Snapshot | None:
    """The live snapshot as the warehouse records it (None before the first publish)."""
    exists = client.query(
        f"select count() from system.tables where database = '{GOLD_DATABASE}' and name = '_current'"
    ).result_rows[0][0]
    if not exists:
        return None
    rows = client.query(
        f"select snapshot_id, manifest from {CURRENT_TABLE} order by published_at desc limit 1"
    ).result_rows
    if not rows:
        return None
    snapshot_id, raw = str(rows[0][0]), rows[0][1]
    if not _SNAPSHOT_ID.match(snapshot_id):
        raise SnapshotError(f"{CURRENT_TABLE} does not hold a valid snapshot id")
    return Snapshot(snapshot_id, None, parse_manifest(raw, snapshot_id))
