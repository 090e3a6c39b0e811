"""The audit log: every data-returning request recorded, hash-chained, tampering detected."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from lakehouse.audit_log import HashChainedLog, record_hash, verify_log
from lakehouse.settings import Settings
from metrics_api.keys import parse_key_id

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

Auth = Callable[[str], dict[str, str]]
RunCli = Callable[[list[str], dict[str, str]], tuple[int, str]]


def _records(settings: Settings) -> list[dict]:
    return HashChainedLog(settings.api_audit_log).records()


def test_data_requests_are_recorded_with_who_what_when_and_rows(
    client: TestClient, auth: Auth, keys: dict[str, str], settings: Settings
) -> None:
    client.get("/health")
    client.get("/v1/metrics", headers=auth("government"))  # the catalog is not data
    response = client.get(
        "/v1/metrics/placements",
        params={"dimensions": "province,year", "from": "2024-01-01"},
        headers={**auth("government_32"), "X-Purpose": "quarterly report DS-17"},
    )
    assert response.status_code == 200
    records = _records(settings)
    assert len(records) == 1
    record = records[0]
    assert record["key_id"] == parse_key_id(keys["government_32"])
    assert record["role"] == "government" and record["province_scope"] == "32"
    assert record["path"] == "/v1/metrics/placements" and record["metric"] == "placements"
    assert record["parameters"]["dimensions"] == "province,year"
    assert record["parameters"]["from"] == "2024-01-01"
    assert record["rows"] == response.json()["row_count"] > 0
    assert record["snapshot_id"] == response.json()["snapshot_id"]
    assert record["purpose"] == "quarterly report DS-17"
    assert record["outcome"] == "ok" and record["at"]
    # No key material in the log, only the public key id.
    assert keys["government_32"] not in settings.api_audit_log.read_text()


def test_refusals_are_recorded_but_bad_keys_and_bad_input_are_not(
    client: TestClient, auth: Auth, settings: Settings
) -> None:
    client.get("/v1/metrics/placements", headers={"X-API-Key": "junk"})  # 401: no identity
    client.get("/v1/metrics/placements", params={"dimensions": "x"}, headers=auth("admin"))  # 422
    assert _records(settings) == []
    denied = client.get("/v1/metrics/placements", params={"province": "35"}, headers=auth("government_32"))  # fmt: skip
    assert denied.status_code == 403
    (record,) = _records(settings)
    assert record["outcome"] == "denied" and record["status"] == 403 and record["rows"] == 0
    assert record["parameters"]["province"] == "35"


def test_the_chain_verifies_and_a_tampered_line_is_detected(
    client: TestClient, auth: Auth, settings: Settings
) -> None:
    for role in ("admin", "government", "business", "community", "media"):
        assert client.get("/v1/metrics/placements", headers=auth(role)).status_code == 200
    log = settings.api_audit_log
    ok, message = verify_log(log)
    assert ok, message
    assert "5 records" in message
    lines = log.read_text().splitlines()

    # Changing what a record says (fewer rows returned) breaks its hash.
    edited = json.loads(lines[2])
    edited["rows"] = 0
    log.write_text("\n".join([*lines[:2], json.dumps(edited), *lines[3:]]) + "\n")
    ok, message = verify_log(log)
    assert not ok and message.startswith("line 3")

    # Deleting a record breaks the chain at the next one.
    log.write_text("\n".join([*lines[:1], *lines[2:]]) + "\n")
    ok, message = verify_log(log)
    assert not ok and message.startswith("line 2")

    # Recomputing the edited record's own hash does not help: the next line's prev_hash differs.
    edited["hash"] = record_hash(edited)
    log.write_text("\n".join([*lines[:2], json.dumps(edited), *lines[3:]]) + "\n")
    ok, message = verify_log(log)
    assert not ok and message.startswith("line 4")


def test_the_cli_verifies_the_chain(
    client: TestClient, auth: Auth, settings: Settings, run_cli: RunCli
) -> None:
    client.get("/v1/metrics/placements", headers=auth("admin"))
    client.get("/v1/metrics/placements", headers=auth("media"))
    env = {
        "MERAJUT_HOME": str(settings.home),
        "MERAJUT_LAKE_ROOT": str(settings.lake_root),
        "MERAJUT_API_KEY_PEPPER": "5e" * 32,
    }
    code, output = run_cli(["audit", "verify", "--log", "api"], env)
    assert code == 0, output
    assert "ok" in output and "2 records" in output
    log = settings.api_audit_log
    log.write_text(log.read_text().replace('"role":"media"', '"role":"admin"'))
    code, output = run_cli(["audit", "verify", "--log", "api"], env)
    assert code == 1 and "broken" in output and "line 2" in output


def test_no_data_leaves_without_an_audit_record(
    client: TestClient, auth: Auth, settings: Settings
) -> None:
    log = settings.api_audit_log
    log.parent.mkdir(parents=True, exist_ok=True)
    log.mkdir()  # the log path is unusable: appending fails
    response = client.get("/v1/metrics/placements", headers=auth("admin"))
    assert response.status_code == 503
    assert "audit log" in response.json()["detail"] and "rows" not in response.json()


def test_the_audit_log_lives_in_the_restricted_zone(settings: Settings) -> None:
    assert settings.api_audit_log.is_relative_to(settings.layout.root / "restricted")
