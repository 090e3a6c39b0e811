"""Media and community see only approved snapshots: every role is answered from CURRENT;
government and admin keys may preview a candidate awaiting approval by its id (audited,
marked as a candidate); any other role asking for it gets 403, whether it exists or not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from lakehouse.audit_log import HashChainedLog
from lakehouse.layout import LakeLayout
from lakehouse.settings import Settings
from lakehouse.signoff import SnapshotReviews
from tests.support.api_fixtures import SNAPSHOT_ID, PublishGold, make_cube

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

Auth = Callable[[str], dict[str, str]]
CANDIDATE = "20250201T000000000000Z"
PLACEMENTS = "/v1/metrics/placements"


def _candidate(candidate: PublishGold, compliance: pd.DataFrame) -> str:
    candidate(CANDIDATE, make_cube(seed=9), compliance)
    return CANDIDATE


def test_every_role_is_served_current_and_told_it_is_approved(
    client: TestClient, auth: Auth, candidate: PublishGold, compliance: pd.DataFrame
) -> None:
    _candidate(candidate, compliance)
    for role in ("admin", "government", "business", "researcher", "community", "media"):
        response = client.get(PLACEMENTS, headers=auth(role))
        assert response.status_code == 200, (role, response.text)
        assert response.headers["X-Snapshot-Id"] == SNAPSHOT_ID
        assert response.headers["X-Snapshot-Status"] == "approved"
        assert response.json()["snapshot_status"] == "approved"
        # Naming CURRENT explicitly is asking for the approved snapshot: served to everyone.
        named = client.get(PLACEMENTS, params={"snapshot": SNAPSHOT_ID}, headers=auth(role))
        assert named.status_code == 200 and named.headers["X-Snapshot-Id"] == SNAPSHOT_ID


def test_reviewers_preview_a_candidate_and_the_preview_is_audited(
    client: TestClient,
    auth: Auth,
    candidate: PublishGold,
    compliance: pd.DataFrame,
    settings: Settings,
) -> None:
    snapshot = _candidate(candidate, compliance)
    for role in ("admin", "government", "government_32"):
        params = {"snapshot": snapshot, "dimensions": "province"}
        response = client.get(PLACEMENTS, params=params, headers=auth(role))
        assert response.status_code == 200, (role, response.text)
        assert response.headers["X-Snapshot-Id"] == snapshot
        assert response.headers["X-Snapshot-Status"] == "candidate"
        assert response.json()["snapshot_status"] == "candidate"
    current = client.get(PLACEMENTS, params={"dimensions": "province"}, headers=auth("admin"))
    preview = client.get(
        PLACEMENTS, params={"dimensions": "province", "snapshot": snapshot}, headers=auth("admin")
    )
    assert current.json()["rows"] != preview.json()["rows"]  # another cube: other numbers
    records = HashChainedLog(settings.api_audit_log).records()
    previews = [r for r in records if r["outcome"] == "preview_ok"]
    assert len(previews) == 4 and {r["snapshot_id"] for r in previews} == {snapshot}
    assert {r["role"] for r in previews} == {"admin", "government"}


def test_media_and_community_get_403_for_a_candidate_audited(
    client: TestClient,
    auth: Auth,
    candidate: PublishGold,
    compliance: pd.DataFrame,
    settings: Settings,
) -> None:
    snapshot = _candidate(candidate, compliance)
    for role in ("media", "community", "business", "researcher"):
        for asked in (snapshot, "20990101T000000000000Z"):  # a candidate, or none at all
            response = client.get(PLACEMENTS, params={"snapshot": asked}, headers=auth(role))
            assert response.status_code == 403, (role, response.text)
            detail = response.json()["detail"]
            assert "approved snapshots only" in detail and SNAPSHOT_ID in detail
    denied = [
        r for r in HashChainedLog(settings.api_audit_log).records() if r["outcome"] == "denied"
    ]
    assert len(denied) == 8 and all(r["status"] == 403 and r["rows"] == 0 for r in denied)
    assert {r["role"] for r in denied} == {"media", "community", "business", "researcher"}
    assert {r["parameters"]["snapshot"] for r in denied} == {snapshot, "20990101T000000000000Z"}


def test_only_a_candidate_awaiting_approval_can_be_previewed(
    client: TestClient,
    auth: Auth,
    candidate: PublishGold,
    compliance: pd.DataFrame,
    lake: Path,
) -> None:
    snapshot = _candidate(candidate, compliance)
    unknown = client.get(
        PLACEMENTS, params={"snapshot": "20990101T000000000000Z"}, headers=auth("admin")
    )
    assert unknown.status_code == 404
    assert "not a candidate awaiting approval" in unknown.json()["detail"]
    bad = client.get(PLACEMENTS, params={"snapshot": "../CURRENT"}, headers=auth("admin"))
    assert bad.status_code == 422
    reviews = SnapshotReviews(LakeLayout(lake))
    review = reviews.read(snapshot)
    assert review is not None
    reviews.decided(review, "rejected", "a test steward", reason="numbers wrong")
    rejected = client.get(PLACEMENTS, params={"snapshot": snapshot}, headers=auth("government"))
    assert rejected.status_code == 404
