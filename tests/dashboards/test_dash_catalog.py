"""Fast checks of the DuckDB catalog, the bundle templating and the drift normalizer.

No Superset and no pipeline: a tiny hand-made gold directory stands in for a snapshot.
"""

from __future__ import annotations

import json
import zipfile
from io import BytesIO
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dashboards.bundle import load_dir, normalize
from dashboards.duckdb_catalog import refresh_catalog, superset_uri
from dashboards.provision import ASSETS, build_bundle, render


def _publish(gold: Path, snapshot_id: str, rows: int) -> None:
    snap = gold / "snapshots" / snapshot_id
    snap.mkdir(parents=True)
    pd.DataFrame({"province_code": ["11"] * rows}).to_parquet(snap / "m.parquet")
    pd.DataFrame({"cell": [1] * rows}).to_parquet(snap / "cube.parquet")
    manifest = {
        "marts": {
            "m": {"file": "m.parquet", "rows": rows, "audience": ["government"]},
            "cube": {"file": "cube.parquet", "rows": rows, "audience": ["metrics_api"]},
        }
    }
    (snap / "manifest.json").write_text(json.dumps(manifest))
    (gold / "CURRENT").write_text(snapshot_id + "\n")


def _count(catalog: Path) -> int:
    con = duckdb.connect(str(catalog), read_only=True)
    try:
        row = con.execute("select count(*) from gold.m").fetchone()
        assert row is not None
        return int(row[0])
    finally:
        con.close()


def test_catalog_follows_current(tmp_path: Path) -> None:
    gold = tmp_path / "gold"
    _publish(gold, "s1", 3)
    catalog = refresh_catalog(gold)
    assert catalog == gold.resolve() / "superset.duckdb"
    assert _count(catalog) == 3
    _publish(gold, "s2", 5)
    refresh_catalog(gold)
    assert _count(catalog) == 5
    # Only the catalog itself is left behind: no temp or WAL files.
    assert sorted(p.name for p in gold.iterdir()) == ["CURRENT", "snapshots", "superset.duckdb"]


def test_catalog_needs_a_published_snapshot(tmp_path: Path) -> None:
    (tmp_path / "CURRENT").write_text("\n")
    with pytest.raises(FileNotFoundError):
        refresh_catalog(tmp_path)


def test_superset_uri_is_absolute_and_read_only(tmp_path: Path) -> None:
    uri = superset_uri(tmp_path / "superset.duckdb")
    assert uri == f"duckdb:///{tmp_path.resolve()}/superset.duckdb?access_mode=read_only"
    assert uri.startswith("duckdb:////")


def test_bundle_templates_the_database_uri() -> None:
    bundle = build_bundle({"MERAJUT_SUPERSET_DB_URI": "duckdb:////lake/gold/superset.duckdb"})
    with zipfile.ZipFile(BytesIO(bundle)) as zf:
        names = zf.namelist()
        db = zf.read("merajut_dashboards/databases/merajut_gold.yaml").decode()
    assert all(n.startswith("merajut_dashboards/") for n in names)
    assert "merajut_dashboards/metadata.yaml" in names
    assert "sqlalchemy_uri: 'duckdb:////lake/gold/superset.duckdb'" in db
    assert "{{" not in db


def test_missing_template_value_is_an_error() -> None:
    with pytest.raises(KeyError, match="MERAJUT_SUPERSET_DB_URI"):
        render("uri: {{ env.MERAJUT_SUPERSET_DB_URI }}", {})


def test_committed_assets_are_linked_by_uuid() -> None:
    assets = normalize(load_dir(ASSETS))
    databases = {k.split(":", 1)[1] for k in assets if k.startswith("databases:")}
    datasets = {k.split(":", 1)[1]: v for k, v in assets.items() if k.startswith("datasets:")}
    charts = {k.split(":", 1)[1]: v for k, v in assets.items() if k.startswith("charts:")}
    (dashboard,) = [v for k, v in assets.items() if k.startswith("dashboards:")]
    assert all(d["database_uuid"] in databases for d in datasets.values())
    assert all(c["dataset_uuid"] in datasets for c in charts.values())
    layout = [n for n in dashboard["position"].values() if isinstance(n, dict)]
    in_layout = {n["meta"]["uuid"] for n in layout if n.get("type") == "CHART"}
    assert in_layout == set(charts)
    # Saved metrics the charts name must exist on their dataset.
    for chart in charts.values():
        metric_names = {m["metric_name"] for m in datasets[chart["dataset_uuid"]]["metrics"]}
        params = chart["params"]
        used = set(params.get("metrics", [])) | (
            {params["metric"]} if "metric" in params else set()
        )
        assert used <= metric_names, chart["slice_name"]


def test_only_stakeholder_marts_are_exposed(tmp_path: Path) -> None:
    gold = tmp_path / "gold"
    _publish(gold, "s1", 3)
    con = duckdb.connect(str(refresh_catalog(gold)), read_only=True)
    try:
        views = {
            r[0]
            for r in con.execute(
                "select view_name from duckdb_views() where schema_name = 'gold'"
            ).fetchall()
        }
    finally:
        con.close()
    assert "m" in views and "cube" not in views
