"""The release catalog serves each release by the access its tier declares: public-use files to
every key, licensed files to researchers who accepted the release's data-use agreement (a few
copies per key, while it is available), and keeps an entry and a citation for every release it
ever published, withdrawn and expired ones too. Every acceptance, copy and refusal is audited."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from lakehouse.audit_log import HashChainedLog
from lakehouse.layout import LakeLayout
from lakehouse.reference.release_tiers import TIERS
from lakehouse.settings import Settings
from lakehouse.withdrawals import withdraw_release
from metrics_api.errors import Forbidden
from metrics_api.keys import KeyStore, parse_key_id
from metrics_api.main import create_app
from metrics_api.release_access import AccessRecords, Agreement
from orchestration.release.build import ReleasePolicy, build_release
from tests.support.api_fixtures import make_release_source

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

Auth = Callable[[str], dict[str, str]]
PROJECT = "Placement stability in Java 2020-2025; ethics approval UI-FKM 123/2026"
IDENTIFIER = re.compile(
    r"^merajutasa:research/(public_use|licensed|enclave)/\d{8}T\d{12}Z\.[0-9a-f]{8}$"
)


def _licensed(lake: Path) -> str:
    (path,) = [
        p for p in sorted((lake / "releases").glob("research-*"))
        if json.loads((p / "manifest.json").read_text())["tier"] == "licensed"
    ]  # fmt: skip
    return path.name


def _public_use(lake: Path) -> str:
    built = build_release(
        make_release_source(6), lake / "releases", b"r" * 32,
        ReleasePolicy(tier=TIERS["public_use"]),
    )  # fmt: skip
    assert built.path is not None, built.manifest
    return built.manifest.release_id


def _accept(client: TestClient, headers: dict[str, str], release_id: str) -> dict[str, Any]:
    sha = client.get(f"/v1/releases/{release_id}/agreement", headers=headers).json()
    response = client.post(
        f"/v1/releases/{release_id}/agreement",
        json={"accept": True, "agreement_sha256": sha["agreement_sha256"], "project": PROJECT},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _download(client: TestClient, headers: dict[str, str], release_id: str) -> Any:
    return client.get(f"/v1/releases/{release_id}/download", headers=headers)


def _audit(settings: Settings) -> list[dict[str, Any]]:
    return HashChainedLog(settings.api_audit_log).records()


def test_every_entry_has_a_status_an_identifier_and_a_citation(
    client: TestClient, auth: Auth, lake: Path
) -> None:
    public = _public_use(lake)
    listed = client.get("/v1/releases", headers=auth("media")).json()["releases"]
    assert {r["release_id"] for r in listed} == {public, _licensed(lake)}
    identifiers = set()
    for entry in listed:
        assert entry["status"] == "available" and IDENTIFIER.match(entry["identifier"])
        assert entry["identifier"] in entry["citation"] and "[Data set]" in entry["citation"]
        identifiers.add(entry["identifier"])
        tier = TIERS[entry["tier"]]
        assert entry["access"] == tier.access
        assert entry["agreement_required"] is tier.terms.agreement
        assert entry["downloads_per_key"] == tier.terms.downloads_per_key
    assert len(identifiers) == 2
    by_tier = {r["tier"]: r for r in listed}
    assert by_tier["public_use"]["available_until"] is None
    until = datetime.fromisoformat(by_tier["licensed"]["available_until"])
    created = datetime.fromisoformat(by_tier["licensed"]["created_at"])
    assert until - created == timedelta(days=365)
    only = client.get("/v1/releases", params={"tier": "public_use"}, headers=auth("media"))
    assert [r["release_id"] for r in only.json()["releases"]] == [public]

    release_id = _licensed(lake)
    bibtex = client.get(
        f"/v1/releases/{release_id}/citation", params={"style": "bibtex"}, headers=auth("media")
    )
    assert bibtex.status_code == 200 and bibtex.headers["content-type"].startswith(
        "application/x-bibtex"
    )
    assert bibtex.text.startswith("@misc{merajutasa_") and by_tier["licensed"]["identifier"] in (
        bibtex.text
    )
    ris = client.get(
        f"/v1/releases/{release_id}/citation", params={"style": "ris"}, headers=auth("media")
    ).text.splitlines()
    assert ris[0] == "TY  - DATA" and ris[-1] == "ER  -"
    assert f"ID  - {by_tier['licensed']['identifier']}" in ris
    bad = client.get(
        f"/v1/releases/{release_id}/citation", params={"style": "apa"}, headers=auth("media")
    )
    assert bad.status_code == 422


@pytest.mark.parametrize("role", ["government", "business", "community", "media", "researcher"])
def test_a_public_use_file_is_open_to_every_key_without_an_agreement(
    client: TestClient, auth: Auth, lake: Path, settings: Settings, role: str
) -> None:
    public = _public_use(lake)
    response = _download(client, auth(role), public)
    assert response.status_code == 200
    assert response.content == (lake / "releases" / public / "data.csv").read_bytes()
    (record,) = _audit(settings)
    assert record["outcome"] == "ok" and record["role"] == role and record["release_id"] == public
    agreement = client.post(
        f"/v1/releases/{public}/agreement",
        json={"accept": True, "agreement_sha256": "0" * 64, "project": PROJECT},
        headers=auth(role),
    )
    assert agreement.status_code == 409 and "needs no agreement" in agreement.json()["detail"]


def test_a_licensed_file_needs_the_keys_acceptance_of_its_agreement_first(
    client: TestClient, auth: Auth, lake: Path, settings: Settings, key_store: KeyStore
) -> None:
    release_id = _licensed(lake)
    refused = _download(client, auth("researcher"), release_id)
    assert refused.status_code == 403
    assert f"/v1/releases/{release_id}/agreement" in refused.json()["detail"]

    terms = client.get(f"/v1/releases/{release_id}/agreement", headers=auth("researcher")).json()
    agreement = Agreement.packaged()
    assert terms["text"] == agreement.text and terms["agreement_sha256"] == agreement.sha256
    assert terms["required"] is True and terms["accepted"] is False
    assert "No re-identification" in terms["text"]

    wrong = client.post(
        f"/v1/releases/{release_id}/agreement",
        json={"accept": True, "agreement_sha256": "0" * 64, "project": PROJECT},
        headers=auth("researcher"),
    )
    assert wrong.status_code == 409 and "not the sha256" in wrong.json()["detail"]
    for body in (
        {"accept": False, "agreement_sha256": agreement.sha256, "project": PROJECT},
        {"accept": True, "agreement_sha256": agreement.sha256, "project": "x"},
        {"accept": True, "agreement_sha256": agreement.sha256},
    ):
        invalid = client.post(
            f"/v1/releases/{release_id}/agreement", json=body, headers=auth("researcher")
        )
        assert invalid.status_code == 422, body

    accepted = _accept(client, auth("researcher"), release_id)
    assert accepted["accepted"] is True and accepted["project"] == PROJECT
    downloaded = _download(client, auth("researcher"), release_id)
    assert downloaded.status_code == 200
    assert downloaded.content == (lake / "releases" / release_id / "data.csv").read_bytes()

    # Per key: another researcher's key has accepted nothing.
    other = key_store.create("second researcher", "researcher")[1]
    assert _download(client, {"X-API-Key": other}, release_id).status_code == 403

    records = _audit(settings)
    outcomes = [(r["outcome"], r["status"]) for r in records]
    assert outcomes == [
        ("denied", 403), ("refused", 409), ("agreement_accepted", 201), ("ok", 200),
        ("denied", 403),
    ]  # fmt: skip
    acceptance = records[2]
    assert acceptance["key_id"] == parse_key_id(auth("researcher")["X-API-Key"])
    assert acceptance["parameters"] == {"agreement_sha256": agreement.sha256, "project": PROJECT}


@pytest.mark.parametrize("role", ["admin", "government", "business", "community", "media"])
def test_only_the_tiers_roles_may_accept_or_download_a_licensed_file(
    client: TestClient, auth: Auth, lake: Path, settings: Settings, role: str
) -> None:
    release_id = _licensed(lake)
    body = {"accept": True, "agreement_sha256": Agreement.packaged().sha256, "project": PROJECT}
    accepted = client.post(f"/v1/releases/{release_id}/agreement", json=body, headers=auth(role))
    for response in (accepted, _download(client, auth(role), release_id)):
        assert response.status_code == 403
        assert "researcher keys only" in response.json()["detail"]
    assert [r["outcome"] for r in _audit(settings)] == ["denied", "denied"]


def test_a_key_takes_at_most_its_tiers_copies_and_the_count_survives_a_restart(
    client: TestClient, auth: Auth, lake: Path, settings: Settings
) -> None:
    release_id = _licensed(lake)
    _accept(client, auth("researcher"), release_id)
    allowed = TIERS["licensed"].terms.downloads_per_key
    assert allowed is not None
    for n in range(allowed):
        fmt = "csv" if n % 2 else "parquet"
        response = client.get(
            f"/v1/releases/{release_id}/download", params={"format": fmt},
            headers=auth("researcher"),
        )  # fmt: skip
        assert response.status_code == 200, (n, response.text)
    with _fresh_client(settings) as restarted:
        over = _download(restarted, auth("researcher"), release_id)
        assert over.status_code == 403 and "copies" in over.json()["detail"]
        status = restarted.get(
            f"/v1/releases/{release_id}/agreement", headers=auth("researcher")
        ).json()
        assert status["downloads_taken"] == allowed and status["accepted"] is True
    assert [r["outcome"] for r in _audit(settings)][-2:] == ["ok", "denied"]


def _fresh_client(settings: Settings) -> Any:
    from fastapi.testclient import TestClient

    return TestClient(create_app(settings))


def test_concurrent_downloads_never_take_more_copies_than_allowed(tmp_path: Path) -> None:
    records = AccessRecords(tmp_path / "access.sqlite")

    def take(_: int) -> bool:
        try:
            records.take_download("key", "research-x", 5)
        except Forbidden:
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        taken = list(pool.map(take, range(40)))
    assert sum(taken) == 5 and records.downloads("key", "research-x") == 5
    records.give_back_download("key", "research-x")
    assert records.downloads("key", "research-x") == 4
    records.close()
    assert (tmp_path / "access.sqlite").stat().st_mode & 0o777 == 0o600


def test_a_release_past_its_availability_is_listed_as_expired_and_not_handed_out(
    client: TestClient, auth: Auth, lake: Path, settings: Settings
) -> None:
    release_id = _licensed(lake)
    _accept(client, auth("researcher"), release_id)
    manifest_path = lake / "releases" / release_id / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["created_at"] = (datetime.now(UTC) - timedelta(days=366)).isoformat()
    manifest_path.write_text(json.dumps(manifest))
    (entry,) = client.get("/v1/releases", headers=auth("researcher")).json()["releases"]
    assert entry["status"] == "expired"
    detail = client.get(f"/v1/releases/{release_id}", headers=auth("researcher")).json()
    assert detail["status"] == "expired" and detail["download_formats"] == []
    gone = _download(client, auth("researcher"), release_id)
    assert gone.status_code == 410 and "availability ended" in gone.json()["detail"]
    assert _audit(settings)[-1]["outcome"] == "refused"


def test_a_withdrawn_release_keeps_its_entry_and_citation_and_hands_out_nothing(
    client: TestClient, auth: Auth, lake: Path, settings: Settings
) -> None:
    release_id = _licensed(lake)
    before = client.get(f"/v1/releases/{release_id}", headers=auth("researcher")).json()
    _accept(client, auth("researcher"), release_id)
    withdraw_release(
        LakeLayout(lake), release_id, "a disclosure risk found after publication", actor="DPO"
    )
    assert not (lake / "releases" / release_id).exists()  # the records are gone
    (entry,) = client.get("/v1/releases", headers=auth("media")).json()["releases"]
    assert entry["status"] == "withdrawn" and entry["reason"].startswith("a disclosure risk")
    assert entry["identifier"] == before["identifier"] and entry["rows"] == before["rows"]
    assert entry["tier"] == "licensed" and entry["created_at"] == before["created_at"]
    detail = client.get(f"/v1/releases/{release_id}", headers=auth("researcher")).json()
    assert detail["status"] == "withdrawn" and detail["data_dictionary"] == {}
    cited = client.get(f"/v1/releases/{release_id}/citation", headers=auth("media")).text
    assert before["identifier"] in cited and "Withdrawn." in cited
    for response in (
        _download(client, auth("researcher"), release_id),
        client.get(f"/v1/releases/{release_id}/agreement", headers=auth("researcher")),
        client.post(
            f"/v1/releases/{release_id}/tables", json={"dimensions": ["sex"]},
            headers=auth("researcher"),
        ),
    ):  # fmt: skip
        assert response.status_code == 410
        assert (
            "withdrawn" in response.json()["detail"]
            and before["identifier"] in (response.json()["detail"])
        )
    listed = client.get("/v1/releases", params={"status": "available"}, headers=auth("media"))
    assert listed.json()["releases"] == []


def test_a_crash_between_the_withdrawal_record_and_the_deletion_serves_nothing(
    client: TestClient, auth: Auth, lake: Path
) -> None:
    release_id = _licensed(lake)
    _accept(client, auth("researcher"), release_id)
    record = lake / "releases" / "withdrawn" / f"{release_id}.json"
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({"release_id": release_id, "withdrawn_at": "2026-12-01",
                                  "reason": "test"}))  # fmt: skip
    assert (lake / "releases" / release_id / "data.csv").exists()
    assert _download(client, auth("researcher"), release_id).status_code == 410


def test_the_catalog_is_paged_newest_first(client: TestClient, auth: Auth, lake: Path) -> None:
    for _ in range(3):
        _public_use(lake)
    seen: list[str] = []
    after = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"after": after} if after else {})}
        page = client.get("/v1/releases", params=params, headers=auth("media")).json()
        assert page["total"] == 4 and len(page["releases"]) <= 2
        seen += [r["release_id"] for r in page["releases"]]
        after = page["next_after"]
        if after is None:
            break
    assert seen == sorted(seen, reverse=True) and len(set(seen)) == 4
    for bad in ({"limit": 0}, {"limit": 201}, {"after": "../etc"}):
        assert client.get("/v1/releases", params=bad, headers=auth("media")).status_code == 422
