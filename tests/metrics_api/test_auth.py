"""Who may call what: keys, roles, province scopes, and how keys are kept at rest."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from lakehouse.settings import Settings
from metrics_api.keys import KeyStore, KeyStoreError

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

Auth = Callable[[str], dict[str, str]]
ROLES = ("admin", "government", "business", "researcher", "community", "media")
CUBE_METRICS = ("placements", "successful_placements", "placement_success_rate")
COMPLIANCE_METRICS = ("children_in_care", "research_consent_coverage", "record_access_events")


def test_health_needs_no_key(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["snapshot_id"] == "20250101T000000000000Z"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-API-Key": ""},
        {"X-API-Key": "not-a-key"},
        {"X-API-Key": "mk_000000000000_" + "A" * 43},  # well-formed, unknown id
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer nonsense"},
    ],
)
def test_missing_or_bad_keys_get_401(client: TestClient, headers: dict[str, str]) -> None:
    for path in ("/v1/metrics", "/v1/metrics/placements", "/v1/releases"):
        response = client.get(path, headers=headers)
        assert response.status_code == 401, (path, response.text)
        assert "WWW-Authenticate" in response.headers
        assert response.json()["detail"]


def test_a_wrong_secret_for_a_real_key_id_gets_401(
    client: TestClient, keys: dict[str, str]
) -> None:
    real = keys["admin"]
    forged = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    assert client.get("/v1/metrics", headers={"X-API-Key": forged}).status_code == 401


def test_bearer_token_works_like_the_header(client: TestClient, keys: dict[str, str]) -> None:
    response = client.get("/v1/metrics", headers={"Authorization": f"Bearer {keys['business']}"})
    assert response.status_code == 200
    assert response.json()["role"] == "business"


def test_revoked_keys_get_401_from_the_next_request_on(
    client: TestClient, key_store: KeyStore, keys: dict[str, str]
) -> None:
    response = client.get("/v1/metrics/placements", headers={"X-API-Key": keys["revoked"]})
    assert response.status_code == 401 and "revoked" in response.json()["detail"]
    record, plaintext = key_store.create("short-lived", "community")
    headers = {"X-API-Key": plaintext}
    assert client.get("/v1/metrics/placements", headers=headers).status_code == 200
    key_store.revoke(record.id)  # the running app picks the change up without a restart
    assert client.get("/v1/metrics/placements", headers=headers).status_code == 401


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("metric", CUBE_METRICS + COMPLIANCE_METRICS)
def test_role_matrix(client: TestClient, auth: Auth, role: str, metric: str) -> None:
    allowed = metric in CUBE_METRICS or role in ("admin", "government")
    response = client.get(f"/v1/metrics/{metric}", params={"dimensions": "sex" if metric in CUBE_METRICS else "institution_type"}, headers=auth(role))  # fmt: skip
    assert response.status_code == (200 if allowed else 403), response.text
    listed = {m["name"] for m in client.get("/v1/metrics", headers=auth(role)).json()["metrics"]}
    assert (metric in listed) == allowed
    if not allowed:
        assert role in response.json()["detail"] and metric in response.json()["detail"]


@pytest.mark.parametrize(
    "params",
    [
        {"dimensions": "province"},
        {"dimensions": "sex,province,year"},
        {"province": "32"},
    ],
)
def test_media_sees_national_statistics_only(
    client: TestClient, auth: Auth, params: dict[str, str]
) -> None:
    response = client.get("/v1/metrics/placements", params=params, headers=auth("media"))
    assert response.status_code == 403
    assert "nationally only" in response.json()["detail"]
    catalog = client.get("/v1/metrics", headers=auth("media")).json()["metrics"]
    assert all("province" not in m["dimensions"] for m in catalog)


def test_a_province_scoped_key_sees_only_its_province(client: TestClient, auth: Auth) -> None:
    scoped = client.get(
        "/v1/metrics/placements",
        params={"dimensions": "province,year"},
        headers=auth("government_32"),
    )
    assert scoped.status_code == 200
    rows = scoped.json()["rows"]
    assert rows and {r["dimensions"]["province"] for r in rows} == {"32"}
    assert scoped.json()["filters"]["province"] == "32"
    # The same numbers as an unscoped government key filtering on its own province.
    explicit = client.get(
        "/v1/metrics/placements",
        params={"dimensions": "province,year", "province": "32"},
        headers=auth("government"),
    )
    assert explicit.json()["rows"] == rows
    # Without a province dimension the scope still applies: the total is province 32's.
    total = client.get("/v1/metrics/placements", headers=auth("government_32")).json()["rows"]
    admin_32 = client.get(
        "/v1/metrics/placements", params={"province": "32"}, headers=auth("admin")
    ).json()["rows"]
    assert total[0]["value"] == admin_32[0]["value"]
    # Compliance metrics are scoped too.
    care = client.get(
        "/v1/metrics/children_in_care",
        params={"dimensions": "province"},
        headers=auth("government_32"),
    ).json()["rows"]
    assert {r["dimensions"]["province"] for r in care} == {"32"}


def test_a_scoped_key_asking_for_another_province_gets_403(client: TestClient, auth: Auth) -> None:
    ok = client.get(
        "/v1/metrics/placements", params={"province": "32"}, headers=auth("government_32")
    )
    assert ok.status_code == 200
    for key, other in (("government_32", "33"), ("business_35", "32")):
        response = client.get(
            "/v1/metrics/placements", params={"province": other}, headers=auth(key)
        )
        assert response.status_code == 403
        assert f"may not query province {other}" in response.json()["detail"]


def test_keys_are_stored_hashed_and_private(
    settings: Settings, keys: dict[str, str], lake: Path
) -> None:
    path = settings.api_key_store
    text = path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for plaintext in keys.values():
        assert plaintext not in text
        secret = plaintext.split("_", 2)[2]  # after "mk_<id>_"; the secret may hold "_"
        assert secret not in text
    records = json.loads(text)["keys"]
    assert all(len(r["hash"]) == 64 for r in records)
    assert {r["role"] for r in records} >= set(ROLES)
    assert not path.is_relative_to(lake)  # keys never live in the lake's public zones


def test_a_different_pepper_invalidates_every_key(settings: Settings, keys: dict[str, str]) -> None:
    same = KeyStore(settings.api_key_store, bytes.fromhex("5e" * 32))
    other = KeyStore(settings.api_key_store, bytes.fromhex("77" * 32))
    assert same.authenticate(keys["admin"]) is not None
    assert other.authenticate(keys["admin"]) is None


@pytest.mark.parametrize(
    ("role", "province", "message"),
    [
        ("superuser", None, "unknown role"),
        ("government", "99", "unknown province"),
        ("government", "3", "unknown province"),
        ("media", "32", "national statistics only"),
    ],
)
def test_key_creation_refuses_bad_roles_and_scopes(
    key_store: KeyStore, role: str, province: str | None, message: str
) -> None:
    with pytest.raises(KeyStoreError, match=message):
        key_store.create("x", role, province)
