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
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import yaml
from fastapi.testclient import TestClient
from PIL import Image

from anonymization.redaction import scan_for_pii
from dashboards.bundle import load_dir, load_zip, normalize
from dashboards.duckdb_catalog import refresh_catalog, superset_uri
from dashboards.provision import ASSETS, provision
from dashboards.screenshot import dashboard_screenshot
from dashboards.superset_server import DEFAULT_VENV, REPO, SupersetServer
from lakehouse.layout import LakeLayout
from lakehouse.settings import ApiSettings, Settings
from metrics_api.keys import KeyStore
from metrics_api.main import create_app
from tests.support.processes import read_until

#: The government's protected family (the cells the API serves government keys) and the
#: unsuppressed cube it is cut from (the truth every chart is checked against).
FAMILY = "protected__metrics_placements_cube__t5_province_d2"
CUBE = "metrics_placements_cube"
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
def cube(snapshot: Path) -> pd.DataFrame:
    frame = pd.read_parquet(snapshot / f"{CUBE}.parquet")
    frame["year"] = pd.to_datetime(frame["quarter_start"]).dt.year.astype(str)
    return frame


@pytest.fixture(scope="module")
def family(snapshot: Path) -> pd.DataFrame:
    return pd.read_parquet(snapshot / f"{FAMILY}.parquet")


def _num(value: Any) -> float | None:
    """Chart JSON and pandas disagree on null spelling (None, NaN, pd.NA); unify to None."""
    if value is None or value is pd.NA:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _hidden(
    family: pd.DataFrame,
    table: str,
    counts: tuple[str, ...] = ("placements", "successful"),
    **where: str,
) -> bool:
    """Whether any of ``counts`` in the cells of ``table`` matching ``where`` is hidden."""
    cells = family[family["table"] == table]
    for column, value in where.items():
        cells = cells[cells[column] == value]
    assert len(cells), (table, where)
    return bool((cells[[f"{c}__state" for c in counts]] != 0).to_numpy().any())


def _quarter(timestamp_ms: Any) -> str:
    ts = pd.Timestamp(timestamp_ms, unit="ms")
    return f"{ts.year}-Q{ts.quarter}"


# Every chart against the unsuppressed cube: a government value is exact or absent, and it is
# absent only where the protected table hides a cell it would add up (never a partial sum).


def test_big_number_is_the_true_total(
    chart_data: dict[str, list[dict[str, Any]]], cube: pd.DataFrame, family: pd.DataFrame
) -> None:
    (row,) = chart_data["placements_total"]
    assert not _hidden(family, "|year", ("placements",))
    assert _num(row["placements"]) == int(cube["placements"].sum())


def test_bar_is_true_placements_by_province_or_nothing(
    chart_data: dict[str, list[dict[str, Any]]], cube: pd.DataFrame, family: pd.DataFrame
) -> None:
    got = {r["province_name"]: _num(r["placements"]) for r in chart_data["placements_by_province"]}
    names = family.dropna(subset=["province"]).groupby("province")["province_name"].first()
    truth = cube.groupby("province_code")["placements"].sum()
    truth = truth[truth > 0]
    assert set(got) == {names[code] for code in truth.index}
    shown = 0
    for code, total in truth.items():
        value = got[names[code]]
        if _hidden(family, "province|year", ("placements",), province=str(code)):
            assert value is None, code
        else:
            assert value == int(total), code
            shown += 1
    assert shown > 0


def test_line_is_the_true_success_rate_or_nothing(
    chart_data: dict[str, list[dict[str, Any]]], cube: pd.DataFrame, family: pd.DataFrame
) -> None:
    got = {
        _quarter(r["period_start"]): _num(r["success_rate"])
        for r in chart_data["success_rate_by_quarter"]
    }
    by_quarter = cube.groupby("quarter")[["placements", "successful"]].sum()
    assert set(got) == set(by_quarter.index)
    for quarter, row in by_quarter.iterrows():
        if _hidden(family, "|quarter", period=str(quarter)):
            assert got[quarter] is None, quarter
        else:
            assert got[quarter] == pytest.approx(row["successful"] / row["placements"]), quarter


def test_table_holds_every_cell_true_or_hidden(
    chart_data: dict[str, list[dict[str, Any]]], cube: pd.DataFrame, family: pd.DataFrame
) -> None:
    got = chart_data["outcomes_table"]
    cells = family[family["table"] == "province|quarter"]
    assert len(got) == len(cells)
    truth = cube.groupby(["province_code", "quarter"])[["placements", "successful"]].sum()
    hidden = 0
    for row in got:
        want = truth.loc[(row["province_code"], row["period"])]
        is_hidden = _hidden(
            family, "province|quarter", province=row["province_code"], period=row["period"]
        )
        assert row["is_suppressed"] == is_hidden
        if is_hidden:
            hidden += 1
            assert row["suppression_reason"]
            assert row["success_rate"] is None
            for column in ("placements", "successful"):
                state = cells[
                    (cells["province"] == row["province_code"]) & (cells["period"] == row["period"])
                ][f"{column}__state"].iloc[0]
                assert (row[column] is None) == (state != 0), (row, column)
        else:
            assert (row["placements"], row["successful"]) == (
                want["placements"],
                want["successful"],
            )
            assert row["suppression_reason"] is None
    assert 0 < hidden < len(got)


def test_every_dataset_is_cut_from_the_protected_family() -> None:
    """The government's dashboards read only the cells its API keys are served: a table
    suppressed on its own would let both channels be combined against each other."""
    for path in sorted((ASSETS / "datasets").rglob("*.yaml")):
        dataset = yaml.safe_load(path.read_text(encoding="utf-8"))
        sql = dataset["sql"] or ""
        assert f"from gold.{FAMILY}" in sql and "join" not in sql.lower(), path.name
        assert 'where "table" = \'' in sql, path.name  # one table, never a mix of tables


def test_an_api_key_of_the_dashboards_audience_gets_the_same_cells(
    chart_data: dict[str, list[dict[str, Any]]],
    pipeline_run: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Two channels, one set of cells: a government key asking the API for placements by
    province and quarter gets exactly what the dashboard's table shows, hidden where it is."""
    settings = Settings(
        home=tmp_path_factory.mktemp("api-home"),
        lake_root=pipeline_run.lake,
        api=ApiSettings(key_pepper="5e" * 32),
    )
    key = KeyStore(settings.api_key_store, settings.api_pepper()).create("check", "government")[1]
    with TestClient(create_app(settings)) as client:
        for metric, column in (
            ("placements", "placements"),
            ("successful_placements", "successful"),
        ):
            body = client.get(
                f"/v1/metrics/{metric}",
                params={"dimensions": "province,quarter"},
                headers={"X-API-Key": key},
            ).json()
            served = {
                (r["dimensions"]["province"], r["dimensions"]["quarter"]): r["value"]
                for r in body["rows"]
            }
            shown = chart_data["outcomes_table"]
            assert len(served) == len(shown)
            for row in shown:
                value = served[(row["province_code"], row["period"])]
                assert value == _num(row[column]), (metric, row)


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


def test_sigterm_to_the_server_command_stops_the_superset_it_started(
    superset_venv: Path, tmp_path: Path
) -> None:
    """``python -m dashboards.superset_server`` runs Superset in its own session: a SIGTERM
    to the command must not leave Superset answering on its port."""
    port = _free_port()
    wrapper = subprocess.Popen(
        [sys.executable, "-m", "tests.support.foreground", sys.executable, "-m",
         "dashboards.superset_server", "--home", str(tmp_path / "superset"), "--port",
         str(port), "--venv", str(superset_venv)],
        cwd=REPO, env={**os.environ, "SUPERSET_ADMIN_PASSWORD": "test-admin-pw"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        read_until(wrapper.stdout, "superset at", timeout=600)
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code == 200
        wrapper.send_signal(signal.SIGTERM)
        assert wrapper.wait(timeout=90) == 128 + signal.SIGTERM
    finally:
        if wrapper.poll() is None:
            wrapper.kill()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
