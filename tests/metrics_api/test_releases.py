"""Research releases: metadata for every key, record-level downloads for researchers only."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from lakehouse.audit_log import HashChainedLog
from lakehouse.settings import Settings
from metrics_api.keys import parse_key_id
from tests.support.api_fixtures import accept_agreement

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

Auth = Callable[[str], dict[str, str]]


def _release(lake: Path) -> Path:
    (path,) = sorted((lake / "releases").glob("research-*"))
    return path


def test_list_and_detail(client: TestClient, auth: Auth, lake: Path) -> None:
    release = _release(lake)
    listed = client.get("/v1/releases", headers=auth("business"))
    assert listed.status_code == 200
    (summary,) = listed.json()["releases"]
    manifest = json.loads((release / "manifest.json").read_text())
    assert summary["release_id"] == release.name and summary["rows"] == manifest["rows"]
    assert summary["all_checks_passed"] is True
    detail = client.get(f"/v1/releases/{release.name}", headers=auth("researcher")).json()
    assert detail["privacy_report"] == json.loads((release / "privacy_report.json").read_text())
    assert detail["privacy_report"]["k"] >= 5
    assert set(detail["data_dictionary"]) >= {"record_id", "age_years", "case_type"}
    assert detail["download_formats"] == ["csv", "parquet"]


def test_unknown_and_malformed_ids(client: TestClient, auth: Auth) -> None:
    missing = client.get("/v1/releases/research-20000101T000000000000Z", headers=auth("researcher"))
    assert missing.status_code == 404 and "no published release" in missing.json()["detail"]
    for bad in ("..", "research-..%2F..%2Fgold", "gold", "research-1"):
        response = client.get(f"/v1/releases/{bad}/download", headers=auth("researcher"))
        assert response.status_code in (404, 422), (bad, response.status_code)
        assert response.status_code != 200


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_researchers_download_the_exact_files_and_are_audited(
    client: TestClient,
    auth: Auth,
    lake: Path,
    keys: dict[str, str],
    settings: Settings,
    fmt: str,
) -> None:
    release = _release(lake)
    accept_agreement(settings, keys["researcher"], release.name)
    response = client.get(
        f"/v1/releases/{release.name}/download",
        params={"format": fmt},
        headers={**auth("researcher"), "X-Purpose": "DUA-2025-004"},
    )
    assert response.status_code == 200
    assert response.content == (release / f"data.{fmt}").read_bytes()
    assert release.name in response.headers["content-disposition"]
    (record,) = HashChainedLog(settings.api_audit_log).records()
    assert record["key_id"] == parse_key_id(keys["researcher"]) and record["role"] == "researcher"
    assert record["release_id"] == release.name and record["parameters"] == {"format": fmt}
    assert record["rows"] == json.loads((release / "manifest.json").read_text())["rows"]
    assert record["purpose"] == "DUA-2025-004" and record["outcome"] == "ok"


@pytest.mark.parametrize(
    "role", ["admin", "government", "government_32", "business", "community", "media"]
)
def test_only_researchers_may_download(
    client: TestClient, auth: Auth, lake: Path, settings: Settings, role: str
) -> None:
    release = _release(lake)
    response = client.get(f"/v1/releases/{release.name}/download", headers=auth(role))
    assert response.status_code == 403
    assert "researcher keys only" in response.json()["detail"]
    (record,) = HashChainedLog(settings.api_audit_log).records()
    assert record["outcome"] == "denied" and record["release_id"] == release.name


def test_a_release_that_failed_its_checks_is_never_served(
    client: TestClient, auth: Auth, lake: Path
) -> None:
    release = _release(lake)
    manifest_path = release / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["all_checks_passed"] = False
    manifest_path.write_text(json.dumps(manifest))
    assert client.get("/v1/releases", headers=auth("researcher")).json()["releases"] == []
    response = client.get(f"/v1/releases/{release.name}/download", headers=auth("researcher"))
    assert response.status_code == 404


def test_an_enclave_release_is_listed_with_its_tier_and_never_downloaded(
    client: TestClient, auth: Auth, lake: Path, settings: Settings
) -> None:
    """The enclave extract is record level and not generalised: the catalogue shows it (tier,
    not downloadable, no formats) and a download is refused for every key, researchers too,
    and audited."""
    from lakehouse.reference.release_tiers import TIERS
    from orchestration.release.build import ReleasePolicy, build_release
    from tests.support.api_fixtures import make_release_source

    enclave = build_release(
        make_release_source(5), lake / "releases", b"r" * 32, ReleasePolicy(tier=TIERS["enclave"])
    )
    assert enclave.path is not None
    release_id = enclave.manifest.release_id
    listed = {
        r["release_id"]: r
        for r in client.get("/v1/releases", headers=auth("researcher")).json()["releases"]
    }
    assert listed[release_id]["tier"] == "enclave" and listed[release_id]["downloadable"] is False
    assert listed[_release_named(lake, "licensed")]["tier"] == "licensed"
    detail = client.get(f"/v1/releases/{release_id}", headers=auth("researcher")).json()
    assert detail["download_formats"] == []
    for fmt in ("csv", "parquet"):
        response = client.get(
            f"/v1/releases/{release_id}/download", params={"format": fmt},
            headers=auth("researcher"),
        )  # fmt: skip
        assert response.status_code == 403 and "enclave" in response.json()["detail"]
    records = HashChainedLog(settings.api_audit_log).records()
    assert [r["outcome"] for r in records] == ["denied", "denied"]
    assert {r["release_id"] for r in records} == {release_id}


def _release_named(lake: Path, tier: str) -> str:
    for path in sorted((lake / "releases").glob("research-*")):
        if json.loads((path / "manifest.json").read_text()).get("tier") == tier:
            return path.name
    raise AssertionError(f"no {tier} release")
