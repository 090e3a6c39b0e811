"""The API over the snapshot the real pipeline published (the shared ``pipeline_run``).

The fixture snapshot of the other tests has the published format by construction; this module
checks the other direction: the marts the pipeline actually publishes carry the columns the
catalog uses, the API's numbers are the marts' numbers, suppression holds on real data, and
the real research release downloads byte for byte. Nothing is written into the pipeline's
lake or home (keys and audit log go to tmp), so other pipeline tests are unaffected.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from lakehouse.audit_log import verify_log
from lakehouse.reference.audiences import audience_thresholds
from lakehouse.settings import ApiSettings, Settings
from metrics_api.catalog import PACKAGED_CATALOG, load_catalog
from metrics_api.keys import KeyStore
from metrics_api.main import create_app
from tests.support.api_fixtures import accept_agreement

PEPPER = "a7" * 32


@pytest.fixture
def served(
    pipeline_run: Any, tmp_path: Path
) -> tuple[TestClient, dict[str, dict[str, str]], Settings]:
    assert pipeline_run.returncode == 0, pipeline_run.stdout[-4000:]
    settings = Settings(
        home=tmp_path / "home",
        lake_root=pipeline_run.lake,
        api=ApiSettings(key_pepper=PEPPER, audit_log=tmp_path / "audit.jsonl"),
    )
    store = KeyStore(settings.api_key_store, settings.api_pepper())
    keys = {
        role: {"X-API-Key": store.create(role, role)[1]}
        for role in ("admin", "government", "community", "media", "researcher")
    }
    release_id = pipeline_run.manifest()["research_release"]
    accept_agreement(settings, keys["researcher"]["X-API-Key"], release_id)
    return TestClient(create_app(settings)), keys, settings


def _mart(pipeline_run: Any, name: str) -> pd.DataFrame:
    snapshot = pipeline_run.current_snapshot()
    return pd.read_parquet(snapshot / pipeline_run.manifest()["marts"][name]["file"])


def test_the_catalog_fits_the_published_marts(pipeline_run: Any) -> None:
    assert pipeline_run.returncode == 0, pipeline_run.stdout[-4000:]
    marts = pipeline_run.manifest()["marts"]
    for metric in load_catalog(PACKAGED_CATALOG).metrics.values():
        for source in metric.sources:
            assert source in marts, source
            columns = set(marts[source]["columns"])
            assert metric.columns_used <= columns, (metric.name, metric.columns_used - columns)


def test_admin_numbers_are_the_marts_numbers(pipeline_run: Any, served: Any) -> None:
    client, keys, _ = served
    manifest = pipeline_run.manifest()
    assert client.get("/health").json()["snapshot_id"] == manifest["snapshot_id"]
    cube = _mart(pipeline_run, "metrics_placements_cube")
    body = client.get(
        "/v1/metrics/placements", params={"dimensions": "province,quarter"}, headers=keys["admin"]
    ).json()
    assert body["snapshot_id"] == manifest["snapshot_id"]
    got = {
        (r["dimensions"]["province"], r["dimensions"]["quarter"]): r["value"] for r in body["rows"]
    }
    expected = cube.groupby(["province_code", "quarter"])["placements"].sum()
    assert got == {k: int(v) for k, v in expected.items()}
    rate = client.get("/v1/metrics/placement_success_rate", headers=keys["admin"]).json()
    (row,) = rate["rows"]
    assert row["numerator"] == int(cube["successful"].sum())
    assert row["denominator"] == int(cube["placements"].sum())

    compliance = _mart(pipeline_run, "compliance_consent_access_by_institution_month")
    care = client.get(
        "/v1/metrics/children_in_care", params={"dimensions": "province"}, headers=keys["admin"]
    ).json()
    compliance["month"] = pd.to_datetime(compliance["month_start"]).dt.strftime("%Y-%m")
    expected_care = compliance.groupby(["province_code", "month"])["children_in_care"].sum()
    got_care = {
        (r["dimensions"]["province"], r["dimensions"]["month"]): r["value"] for r in care["rows"]
    }
    assert got_care == {k: int(v) for k, v in expected_care.items()}


def test_no_small_or_recoverable_cell_on_real_data(pipeline_run: Any, served: Any) -> None:
    client, keys, settings = served
    rng = random.Random("real-snapshot")
    dimensions = ["province", "sex", "age_band", "placement_type", "institution_type"]
    hidden = 0
    for role in ("government", "community", "media"):
        threshold = audience_thresholds()[role]
        names = [d for d in dimensions if not (role == "media" and d == "province")]
        for _ in range(8):
            dims = [*rng.sample(names, rng.randint(1, 2)), rng.choice(["quarter", "year"])]
            for metric in ("placements", "placement_success_rate"):
                response = client.get(
                    f"/v1/metrics/{metric}",
                    params={"dimensions": ",".join(dims)},
                    headers=keys[role],
                )
                assert response.status_code == 200, response.text
                rows = response.json()["rows"]
                frame = pd.DataFrame(
                    [{**r["dimensions"], "value": r["value"], "numerator": r["numerator"],
                      "denominator": r["denominator"]} for r in rows]
                )  # fmt: skip
                counts = ["numerator", "denominator"] if metric.endswith("rate") else ["value"]
                for column in counts:
                    shown = pd.to_numeric(frame[column], errors="coerce")
                    assert not shown.between(1, threshold - 1).any(), (role, dims, column)
                hidden += sum(r["suppressed"] for r in rows)
    assert hidden > 0
    # What the answers give away together was proven at publish: the gate's disclosure
    # audit of every protected family of the real snapshot passed.
    checks = {c["name"]: c["passed"] for c in pipeline_run.manifest()["checks"]}
    disclosure = {n: ok for n, ok in checks.items() if n.startswith("disclosure:")}
    assert len(disclosure) == 6 and all(disclosure.values()), disclosure
    ok, message = verify_log(settings.api_audit_log)
    assert ok and "48 records" in message, message


def test_the_real_release_downloads_byte_for_byte(pipeline_run: Any, served: Any) -> None:
    client, keys, _ = served
    release_id = pipeline_run.manifest()["research_release"]
    listed = client.get("/v1/releases", headers=keys["government"]).json()["releases"]
    assert release_id in {r["release_id"] for r in listed}
    response = client.get(f"/v1/releases/{release_id}/download", headers=keys["researcher"])
    assert response.status_code == 200
    assert (
        response.content == (pipeline_run.lake / "releases" / release_id / "data.csv").read_bytes()
    )
    assert (
        client.get(f"/v1/releases/{release_id}/download", headers=keys["admin"]).status_code == 403
    )


def test_api_responses_hold_no_source_identifier(pipeline_run: Any, served: Any) -> None:
    """Every metric, at its finest dimensions, in JSON and CSV, plus the release endpoints:
    no name, NIK or phone number of the source databases appears in any response."""
    client, keys, _ = served
    identifiers = pipeline_run.source_identifiers()
    texts: list[tuple[str, str]] = []
    finest = {
        "placements": "province,quarter,sex,age_band,placement_type,institution_type",
        "successful_placements": "province,quarter,sex,age_band,placement_type,institution_type",
        "placement_success_rate": "province,quarter,sex,age_band",
        "children_in_care": "province,institution_type",
        "research_consent_coverage": "province,institution_type",
        "record_access_events": "province,institution_type",
    }
    catalog = client.get("/v1/metrics", headers=keys["admin"])
    texts.append(("/v1/metrics", catalog.text))
    for name in {m["name"] for m in catalog.json()["metrics"]}:
        for fmt in ("json", "csv"):
            response = client.get(
                f"/v1/metrics/{name}",
                params={"dimensions": finest.get(name, "province"), "format": fmt},
                headers=keys["admin"],
            )
            assert response.status_code == 200, (name, response.text)
            texts.append((f"{name}.{fmt}", response.text))
    release_id = pipeline_run.manifest()["research_release"]
    for path in (f"/v1/releases/{release_id}", f"/v1/releases/{release_id}/download"):
        response = client.get(path, headers=keys["researcher"])
        assert response.status_code == 200
        texts.append((path, response.text))
    assert len(texts) >= 14
    leaks = [(where, hit) for where, text in texts for hit in identifiers.find(text)[:1]]
    assert not leaks, leaks[:5]


SERVER_MODE_SCRIPT = """
import json, sys
from pathlib import Path
from fastapi.testclient import TestClient
from lakehouse.settings import ApiSettings, Settings
from metrics_api.main import create_app

lake, home, keys = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3])
requests = json.loads(sys.argv[4])
out = {}
for mode in ("lake", "warehouse"):
    api = ApiSettings(
        key_pepper=sys.argv[5], audit_log=home / f"audit-{mode}.jsonl", gold_source=mode
    )
    settings = Settings(home=home, lake_root=lake, api=api)
    client = TestClient(create_app(settings))
    health = client.get("/health").json()
    answers = []
    for role, path, params in requests:
        r = client.get(path, params=params, headers={"X-API-Key": keys[role]})
        answers.append([r.status_code, r.json()])
    out[mode] = {"health": health, "answers": answers}
print(json.dumps(out))
"""


def test_server_mode_reads_the_gated_gold_tables_with_the_same_answers(
    pipeline_run: Any, tmp_path: Path
) -> None:
    """Reading the warehouse's gold tables (a ClickHouse server in production; here the embedded
    engine through the same client) answers exactly as reading the snapshot's Parquet in the
    lake, for the same snapshot."""
    import json
    import subprocess
    import sys

    home = tmp_path / "home"
    store = KeyStore(Settings(home=home).api_key_store, bytes.fromhex(PEPPER))
    keys = {role: store.create(role, role, province="32" if role == "government" else None)[1]
            for role in ("admin", "government", "community")}  # fmt: skip
    requests = [
        ["admin", "/v1/metrics/placements", {"dimensions": "province,quarter"}],
        [
            "government",
            "/v1/metrics/placements",
            {"dimensions": "quarter,sex", "from": "2024-01-01"},
        ],
        ["community", "/v1/metrics/placement_success_rate", {"dimensions": "province,year"}],
        ["admin", "/v1/metrics/children_in_care", {"dimensions": "institution_type"}],
        [
            "government",
            "/v1/metrics/record_access_events",
            {"dimensions": "province", "to": "2026-06-01"},
        ],
    ]
    proc = subprocess.run(
        [sys.executable, "-c", SERVER_MODE_SCRIPT, str(pipeline_run.lake), str(home),
         json.dumps(keys), json.dumps(requests), PEPPER],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    embedded, server = result["lake"], result["warehouse"]
    assert embedded["health"]["backend"] == "lake" and server["health"]["backend"] == "warehouse"
    assert server["health"]["snapshot_id"] == embedded["health"]["snapshot_id"]
    for (e_status, e_body), (s_status, s_body) in zip(
        embedded["answers"], server["answers"], strict=True
    ):
        assert e_status == s_status == 200, (e_body, s_body)
        assert s_body["rows"] == e_body["rows"]
        assert s_body["snapshot_id"] == e_body["snapshot_id"]
    assert any(row["suppressed"] for _, body in server["answers"] for row in body["rows"])
