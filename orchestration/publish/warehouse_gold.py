"""Gold in the warehouse: what server-mode readers (the metrics API on ClickHouse) query.

Live mart tables are rebuilt by every dbt run, before the gate has looked at them, so readers
must never query them. Instead each gated snapshot is copied, in the same warehouse session
that read it for the gate, into immutable tables ``gold.<mart>__<snapshot_id>``; only when the
gate passes is a row added to ``gold._current`` (snapshot id, manifest). Readers take the
newest row and query that snapshot's tables, so they switch snapshots atomically and never see
ungated data. ``gold.<mart>`` views follow the current snapshot for readers that need stable
names. A rejected snapshot's tables are dropped; the last few published ones are kept so
in-flight readers can finish.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

GOLD_DATABASE = "gold"
CURRENT_TABLE = f"{GOLD_DATABASE}._current"
KEEP_SNAPSHOTS = 3
_NAME = re.compile(r"^[A-Za-z0-9_]+$")


def gold_table(mart: str, snapshot_id: str) -> str:
    if not _NAME.match(mart) or not _NAME.match(snapshot_id):
        raise ValueError(f"unsafe gold table name: {mart!r} / {snapshot_id!r}")
    return f"{GOLD_DATABASE}.`{mart}__{snapshot_id}`"


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


def drop_snapshot(client: Any, snapshot_id: str, marts: Iterable[str]) -> None:
    for mart in marts:
        client.command(f"drop table if exists {gold_table(mart, snapshot_id)}")


def mark_current(client: Any, snapshot_id: str, manifest: Mapping[str, Any]) -> None:
    """Make ``snapshot_id`` the one readers see, then drop snapshots older than the last few.

    Readers that want stable names (Superset's ``clickhousedb://`` datasets, SQL clients) get
    ``gold.<mart>`` views re-pointed at this snapshot's tables."""
    for mart in manifest.get("marts", {}):
        client.command(
            f"create or replace view {GOLD_DATABASE}.`{mart}` as "
            f"select * from {gold_table(mart, snapshot_id)}"
        )
    client.insert(
        CURRENT_TABLE,
        [[snapshot_id, _now(), json.dumps(manifest, sort_keys=True, default=str)]],
        column_names=["snapshot_id", "published_at", "manifest"],
    )
    rows = client.query(
        f"select snapshot_id from {CURRENT_TABLE} order by published_at desc"
    ).result_rows
    keep = {r[0] for r in rows[:KEEP_SNAPSHOTS]}
    tables = client.query(
        f"select name from system.tables where database = '{GOLD_DATABASE}' and name like '%\\\\_\\\\_%'"
    ).result_rows
    for (name,) in tables:
        _, _, sid = name.rpartition("__")
        if sid and sid not in keep and _NAME.match(name):
            client.command(f"drop table if exists {GOLD_DATABASE}.`{name}`")


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC).replace(tzinfo=None)
