"""The DuckDB catalog Superset reads: follows CURRENT, exposes stakeholder marts only, and
never a file that does not match its snapshot's manifest."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dashboards.duckdb_catalog import refresh_catalog, superset_uri
from lakehouse.checks import CheckOutcome
from lakehouse.gold_snapshot import MartOrigin, SnapshotError, publish_snapshot
from lakehouse.layout import LakeLayout

ORIGINS = {
    "m": MartOrigin(relation="marts.m", audience=("government",)),
    "cube": MartOrigin(relation="marts.cube", audience=("metrics_api",)),
    "internal": MartOrigin(relation="marts.internal", audience=("admin",)),
}


def _publish(layout: LakeLayout, snapshot_id: str, rows: int) -> Path:
    frames = {
        "m": pd.DataFrame({"province_code": ["11"] * rows}),
        "cube": pd.DataFrame({"cell": [1] * rows}),
        "internal": pd.DataFrame({"cell": [2] * rows}),
    }
    result = publish_snapshot(
        layout.gold, snapshot_id, frames, ORIGINS, [CheckOutcome("dbt_build", True, "test")]
    )
    assert result.published
    return result.path


def _views_and_count(catalog: Path) -> tuple[set[str], int, str]:
    con = duckdb.connect(str(catalog), read_only=True)
    try:
        views = {
            r[0]
            for r in con.execute(
                "select view_name from duckdb_views() where schema_name = 'gold'"
            ).fetchall()
        }
        row = con.execute("select count(*) from gold.m").fetchone()
        snapshot = con.execute("select snapshot_id from gold._snapshot").fetchone()
        assert row is not None and snapshot is not None
        return views, int(row[0]), str(snapshot[0])
    finally:
        con.close()


def test_catalog_follows_current(tmp_path: Path) -> None:
    layout = LakeLayout(tmp_path / "lake")
    _publish(layout, "20260101T000000000000Z", 3)
    catalog = refresh_catalog(layout)
    assert catalog == layout.superset_catalog.resolve()
    assert _views_and_count(catalog)[1:] == (3, "20260101T000000000000Z")
    _publish(layout, "20260102T000000000000Z", 5)
    refresh_catalog(layout)
    assert _views_and_count(catalog)[1:] == (5, "20260102T000000000000Z")
    # Only the catalog itself is left behind: no temp or WAL files.
    assert sorted(p.name for p in layout.gold.iterdir()) == [
        "CURRENT",
        "snapshots",
        "superset.duckdb",
    ]


def test_only_stakeholder_marts_are_exposed(tmp_path: Path) -> None:
    layout = LakeLayout(tmp_path / "lake")
    _publish(layout, "20260101T000000000000Z", 3)
    views, _, _ = _views_and_count(refresh_catalog(layout))
    assert views == {"m", "_snapshot"}  # not the API's cube, not the admin's mart


def test_catalog_needs_a_published_snapshot(tmp_path: Path) -> None:
    layout = LakeLayout(tmp_path / "lake")
    with pytest.raises(SnapshotError, match="no snapshot published"):
        refresh_catalog(layout)
    layout.gold.mkdir(parents=True)
    (layout.gold / "CURRENT").write_text("../../etc\n")
    with pytest.raises(SnapshotError, match="valid snapshot id"):
        refresh_catalog(layout)


def test_an_altered_mart_file_is_never_exposed(tmp_path: Path) -> None:
    layout = LakeLayout(tmp_path / "lake")
    _publish(layout, "20260101T000000000000Z", 3)
    catalog = refresh_catalog(layout)
    snapshot = _publish(layout, "20260102T000000000000Z", 5)
    pd.DataFrame({"province_code": ["11"] * 9}).to_parquet(snapshot / "m.parquet")
    with pytest.raises(SnapshotError, match="does not match its manifest"):
        refresh_catalog(layout)
    # The catalog still serves the previous snapshot: a failed refresh replaces nothing.
    assert _views_and_count(catalog)[1:] == (3, "20260101T000000000000Z")


def test_superset_uri_is_absolute_and_read_only(tmp_path: Path) -> None:
    uri = superset_uri(tmp_path / "superset.duckdb")
    assert uri == f"duckdb:///{tmp_path.resolve()}/superset.duckdb?access_mode=read_only"
    assert uri.startswith("duckdb:////")
