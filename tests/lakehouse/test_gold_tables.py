"""Gold in the warehouse: staged snapshots are immutable, readers see only the marked one."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from lakehouse import gold_tables
from lakehouse.gold_snapshot import MartEntry, SnapshotError, SnapshotManifest

S1, S2, S3, S4 = (f"2026010{i}T000000000000Z" for i in range(1, 5))


def _manifest(snapshot_id: str, marts: list[str]) -> SnapshotManifest:
    entry = MartEntry(file="m.parquet", rows=2, columns={"n": "int64"}, sha256="0" * 64)
    return SnapshotManifest(
        snapshot_id=snapshot_id,
        created_at="2026-01-01T00:00:00+00:00",
        previous_snapshot_id=None,
        checks=[],
        checks_passed=["dbt_build"],
        all_checks_passed=True,
        published=True,
        marts={m: entry for m in marts},
    )


def _rows(client: Any, table: str) -> list[int]:
    return [r[0] for r in client.query(f"select n from {table} order by n").result_rows]


@pytest.fixture
def mart(chdb_client: Any, chdb_database: str) -> str:
    relation = f"{chdb_database}.m"
    chdb_client.command(f"create table {relation} (n Int64) engine = MergeTree order by n")
    chdb_client.insert_df(relation, pd.DataFrame({"n": [1, 2]}))
    yield relation
    chdb_client.command("drop database if exists gold")


def test_nothing_published_reads_as_none(chdb_client: Any) -> None:
    chdb_client.command("drop database if exists gold")
    assert gold_tables.read_current(chdb_client) is None


def test_a_staged_snapshot_is_a_copy_and_is_seen_only_once_marked(
    chdb_client: Any, mart: str
) -> None:
    gold_tables.stage_snapshot(chdb_client, S1, {"m": mart})
    assert gold_tables.read_current(chdb_client) is None  # staged, not yet published
    gold_tables.mark_current(chdb_client, _manifest(S1, ["m"]))
    current = gold_tables.read_current(chdb_client)
    assert current is not None and current.id == S1 and current.path is None
    assert current.manifest.marts["m"].rows == 2
    # The live mart changes (dbt rebuilds it); the snapshot's copy and the view do not.
    chdb_client.command(f"insert into {mart} values (3)")
    assert _rows(chdb_client, gold_tables.gold_table("m", S1)) == [1, 2]
    assert _rows(chdb_client, "gold.m") == [1, 2]
    # A rejected snapshot is dropped and never becomes current.
    gold_tables.stage_snapshot(chdb_client, S2, {"m": mart})
    gold_tables.drop_snapshot(chdb_client, S2, ["m"])
    assert gold_tables.read_current(chdb_client).id == S1  # type: ignore[union-attr]


def test_only_the_last_snapshots_are_kept(chdb_client: Any, mart: str) -> None:
    for snapshot_id in (S1, S2, S3, S4):
        gold_tables.stage_snapshot(chdb_client, snapshot_id, {"m": mart})
        gold_tables.mark_current(chdb_client, _manifest(snapshot_id, ["m"]))
    tables = {
        r[0]
        for r in chdb_client.query(
            "select name from system.tables where database = 'gold'"
        ).result_rows
    }
    assert {f"m__{s}" for s in (S2, S3, S4)} <= tables and f"m__{S1}" not in tables
    assert gold_tables.read_current(chdb_client).id == S4  # type: ignore[union-attr]


def test_unsafe_names_never_become_sql(chdb_client: Any) -> None:
    for mart, snapshot_id in (("m`; drop", S1), ("m", "x"), ("m", f"{S1}`")):
        with pytest.raises(ValueError, match="unsafe gold table name"):
            gold_tables.gold_table(mart, snapshot_id)


def test_a_tampered_current_row_is_refused(chdb_client: Any, mart: str) -> None:
    gold_tables.stage_snapshot(chdb_client, S1, {"m": mart})
    chdb_client.insert(
        gold_tables.CURRENT_TABLE,
        [["../../x", pd.Timestamp("2030-01-01"), "{}"]],
        column_names=["snapshot_id", "published_at", "manifest"],
    )
    with pytest.raises(SnapshotError, match="valid snapshot id"):
        gold_tables.read_current(chdb_client)
