"""Fast checks of the bundle: its templating and the drift normalizer (no Superset)."""

from __future__ import annotations

import zipfile
from io import BytesIO

import pytest

from dashboards.bundle import load_dir, normalize
from dashboards.provision import ASSETS, build_bundle, render


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


def test_a_provisioning_run_waiting_for_superset_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing listens on the port: the run says it waits (not a silent minute), then fails
    with what it waited for."""
    import socket

    import httpx

    import dashboards.provision as provision

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(provision, "SAY_EVERY_S", 1.0)
    said: list[str] = []
    with (
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=1) as client,
        pytest.raises(SystemExit, match="not healthy after 3s"),
    ):
        provision.wait_until_healthy(client, 3, said.append)
    assert len(said) >= 2 and all("waiting for Superset" in m for m in said), said
