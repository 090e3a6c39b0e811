"""A real Superset, provisioned from ``dashboards/assets``, reading a real gold snapshot.

One Superset per module (setup takes ~40 s): installed into ``.superset-venv`` by
``dashboards/install_superset.sh`` when missing (CI starts from a clean clone), pointed at the
``pipeline_run`` lake through ``refresh_catalog``, provisioned with ``dashboards.provision``.
Chart data is compared with pandas over the snapshot's Parquet, so a chart that silently
aggregates something else (or reads another snapshot) fails here.
"""

from __future__ import annotations

import json
import math
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import yaml
from PIL import Image

from anonymization.redaction import scan_for_pii
from dashboards.bundle import load_dir, load_zip, normalize
from dashboards.duckdb_catalog import refresh_catalog, superset_uri
from dashboards.provision import ASSETS, provision
from dashboards.screenshot import dashboard_screenshot
from dashboards.superset_server import DEFAULT_VENV, REPO, SupersetServer
from lakehouse.layout import LakeLayout

MART = "gov_placement_outcomes_by_province_quarter"
DASHBOARD = yaml.safe_load(
    (ASSETS / "dashboards" / "placement_outcomes_government.yaml").read_text(encoding="utf-8")
)
CHARTS = {
    p.stem: yaml.safe_load(p.read_text(encoding="utf-8"))
    for p in sorted((ASSETS / "charts").glob("*.yaml"))
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def superset_venv() -> Path:
    # Idempotent and fast when the venv matches the lock; installs it on a clean clone.
    subprocess.run(
        ["bash", str(REPO / "dashboards" / "install_superset.sh")], check=True, timeout=1800
    )
    return DEFAULT_VENV


@pytest.fixture(scope="module")
def snapshot(pipeline_run: Any) -> Path:
    assert pipeline_run.returncode == 0, pipeline_run.stdout[-3000:]
    refresh_catalog(LakeLayout(pipeline_run.lake))
    return Path(pipeline_run.current_snapshot())


@pytest.fixture(scope="module")
def superset(
    superset_venv: Path, snapshot: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SupersetServer]:
    server = SupersetServer(
        home=tmp_path_factory.mktemp("superset"),
        port=_free_port(),
        admin_password="test-admin-pw",
        venv=superset_venv,
    )
    with server:
        gold = snapshot.parents[1]
        provision(
            server.url,
            server.admin_user,
            server.admin_password,
            superset_uri(gold / "superset.duckdb"),
        )
        yield server


@pytest.fixture(scope="module")
def api(superset: SupersetServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=superset.url, timeout=120) as client:
        resp = client.post(
            "/api/v1/security/login",
            json={
                "username": superset.admin_user,
                "password": superset.admin_password,
                "provider": "db",
                "refresh": False,
            },
        )
        resp.raise_for_status()
        client.headers["Authorization"] = f"Bearer {resp.json()['access_token']}"
        yield client


@pytest.fixture(scope="module")
def chart_ids(api: httpx.Client) -> dict[str, int]:
    """Committed chart file stem -> id in this Superset (matched by the fixed UUID)."""
    resp = api.get("/api/v1/chart/", params={"q": "(columns:!(id,uuid),page_size:100)"})
    resp.raise_for_status()
    by_uuid = {r["uuid"]: r["id"] for r in resp.json()["result"]}
    return {stem: by_uuid[c["uuid"]] for stem, c in CHARTS.items()}


@pytest.fixture(scope="module")
def chart_data(api: httpx.Client, chart_ids: dict[str, int]) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for stem, chart_id in chart_ids.items():
        resp = api.get(f"/api/v1/chart/{chart_id}/data/")
        assert resp.status_code == 200, f"{stem}: {resp.text[:1000]}"
        out[stem] = resp.json()["result"][0]["data"]
    return out


@pytest.fixture(scope="module")
def mart(snapshot: Path) -> pd.DataFrame:
    return pd.read_parquet(snapshot / f"{MART}.parquet")


def _num(value: Any) -> float | None:
    """Chart JSON and pandas disagree on null spelling (None, NaN, pd.NA); unify to None."""
    if value is None or value is pd.NA:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _sql_sum(series: pd.Series) -> float | None:
    # SQL SUM over only NULLs is NULL, not 0.
    return _num(series.sum(min_count=1))


def test_dashboard_exists_with_every_chart(api: httpx.Client, chart_ids: dict[str, int]) -> None:
    resp = api.get(f"/api/v1/dashboard/{DASHBOARD['slug']}")
    assert resp.status_code == 200, resp.text[:500]
    charts = api.get(f"/api/v1/dashboard/{DASHBOARD['slug']}/charts").json()["result"]
    assert {c["id"] for c in charts} == set(chart_ids.values())
    layout_uuids = {
        n["meta"]["uuid"]
        for n in DASHBOARD["position"].values()
        if isinstance(n, dict) and n.get("type") == "CHART"
    }
    assert layout_uuids == {c["uuid"] for c in CHARTS.values()}


def test_table_holds_every_cell_of_the_snapshot(
    chart_data: dict[str, list[dict[str, Any]]], mart: pd.DataFrame
) -> None:
    got = chart_data["outcomes_table"]
    assert len(got) == len(mart)
    key = lambda r: (r["province_code"], r["quarter"])  # noqa: E731
    expected = {key(r): r for r in mart.astype(object).where(mart.notna(), None).to_dict("records")}
    for row in got:
        want = expected[key(row)]
        assert row["province_name"] == want["province_name"]
        assert row["is_suppressed"] == want["is_suppressed"]
        assert row["suppression_reason"] == want["suppression_reason"]
        for col in ("placements", "successful", "success_rate"):
            assert _num(row[col]) == pytest.approx(_num(want[col]), nan_ok=True), (key(row), col)
        if want["is_suppressed"]:
            assert row["placements"] is None and row["successful"] is None


def test_big_number_is_sum_of_published_cells(
    chart_data: dict[str, list[dict[str, Any]]], mart: pd.DataFrame
) -> None:
    (row,) = chart_data["placements_total"]
    assert _num(row["published_placements"]) == _sql_sum(mart["placements"])


def test_bar_is_placements_by_province(
    chart_data: dict[str, list[dict[str, Any]]], mart: pd.DataFrame
) -> None:
    got = {
        r["province_name"]: _num(r["published_placements"])
        for r in chart_data["placements_by_province"]
    }
    want = {
        str(name): _sql_sum(group["placements"])
        for name, group in mart.groupby("province_name", observed=True)
    }
    assert got == want


def test_line_is_success_rate_by_quarter(
    chart_data: dict[str, list[dict[str, Any]]], mart: pd.DataFrame
) -> None:
    got = {
        pd.Timestamp(r["quarter_start"], unit="ms"): _num(r["published_success_rate"])
        for r in chart_data["success_rate_by_quarter"]
    }
    want: dict[pd.Timestamp, float | None] = {}
    for quarter, group in mart.groupby("quarter_start"):
        placements, successful = _sql_sum(group["placements"]), _sql_sum(group["successful"])
        want[pd.Timestamp(quarter)] = (
            None if not placements or successful is None else successful / placements
        )
    assert got.keys() == want.keys()
    for quarter, value in want.items():
        assert got[quarter] == pytest.approx(value), quarter


def test_chart_data_carries_no_identifiers(
    chart_data: dict[str, list[dict[str, Any]]], pipeline_run: Any
) -> None:
    identifiers = pipeline_run.source_identifiers()
    assert len(identifiers) > 100
    for stem, rows in chart_data.items():
        text = json.dumps(rows, ensure_ascii=False)
        assert scan_for_pii(text) == [], stem
        assert identifiers.find(text) == [], stem  # no name, NIK or phone from the sources


def test_export_matches_committed_assets(api: httpx.Client) -> None:
    dashboard_id = api.get(f"/api/v1/dashboard/{DASHBOARD['slug']}").json()["result"]["id"]
    resp = api.get("/api/v1/dashboard/export/", params={"q": f"!({dashboard_id})"})
    resp.raise_for_status()
    exported = normalize(load_zip(resp.content))
    committed = normalize(load_dir(ASSETS))
    assert sorted(exported) == sorted(committed)
    for key in committed:
        assert exported[key] == committed[key], f"{key} drifted from dashboards/assets"


def test_provisioning_twice_changes_nothing(
    superset: SupersetServer, api: httpx.Client, chart_ids: dict[str, int], snapshot: Path
) -> None:
    provision(
        superset.url,
        superset.admin_user,
        superset.admin_password,
        superset_uri(snapshot.parents[1] / "superset.duckdb"),
    )
    resp = api.get("/api/v1/chart/", params={"q": "(columns:!(id,uuid),page_size:100)"})
    assert sorted(r["id"] for r in resp.json()["result"]) == sorted(chart_ids.values())


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_dashboard_renders_in_headless_chromium(
    superset: SupersetServer, api: httpx.Client, tmp_path: Path
) -> None:
    assert CHROMIUM is not None, (
        "chromium is required: `make test` installs it (apt-get install chromium)"
    )
    capture = dashboard_screenshot(
        str(CHROMIUM),
        superset.url,
        superset.admin_user,
        superset.admin_password,
        f"/superset/dashboard/{DASHBOARD['slug']}/",
        tmp_path,
    )
    assert capture.charts == len(CHARTS)
    for chart in CHARTS.values():
        assert chart["slice_name"] in capture.text
    assert "error" not in capture.text.lower()
    with Image.open(capture.png) as image:
        gray = image.convert("L")
        # A blank or error page is one or two colours; a rendered dashboard has many, and
        # a real share of non-background pixels (bars, numbers, table text).
        assert len(gray.getcolors(maxcolors=1 << 16) or range(1 << 16)) > 50
        histogram = gray.histogram()
        assert max(histogram) / sum(histogram) < 0.9
