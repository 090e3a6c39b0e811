"""The disclosure ledger: every cell a role is served is recorded with its snapshot, and an
answer is refused when the role holds cells of a snapshot no audit saw together with it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from lakehouse.disclosure_ledger import ServedCells
from lakehouse.settings import Settings
from tests.support.api_fixtures import SNAPSHOT_ID, PublishGold

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

Auth = Callable[[str], dict[str, str]]
LATER = "20250201T000000000000Z"
FAMILY = "protected__metrics_placements_cube__t10_province_d2"


def _served(settings: Settings, role: str) -> pd.DataFrame:
    cells = ServedCells(settings.layout.served_ledger)
    try:
        return cells.served(role)
    finally:
        cells.close()


def _point_current(lake: Path, snapshot_id: str) -> None:
    (lake / "gold" / "CURRENT").write_text(snapshot_id + "\n", encoding="utf-8")


def test_every_served_cell_is_recorded_once_with_its_snapshot(
    client: TestClient, auth: Auth, settings: Settings, lake: Path
) -> None:
    body = client.get(
        "/v1/metrics/placements", params={"dimensions": "sex,year"}, headers=auth("business")
    ).json()
    served = _served(settings, "business")
    assert set(served["snapshot_id"]) == {SNAPSHOT_ID} and set(served["family"]) == {FAMILY}
    assert len(served) == len(body["rows"])  # one protected cell per row of a lookup
    family = pd.read_parquet(lake / "gold" / "snapshots" / SNAPSHOT_ID / f"{FAMILY}.parquet")
    cells = family.set_index("cell").loc[served["cell"]]
    assert set(cells["table"]) == {"sex|year"}
    # A total over years is the year cells it adds up; asked again, nothing new is written.
    client.get("/v1/metrics/placements", params={"dimensions": "sex"}, headers=auth("business"))
    client.get("/v1/metrics/placements", params={"dimensions": "sex"}, headers=auth("business"))
    assert len(_served(settings, "business")) == len(served)
    # Another role's cells are its own; the admin is served the exact mart, not a family.
    client.get("/v1/metrics/placements", params={"dimensions": "sex"}, headers=auth("government"))
    client.get("/v1/metrics/placements", params={"dimensions": "sex"}, headers=auth("admin"))
    assert len(_served(settings, "business")) == len(served)
    assert len(_served(settings, "government")) > 0 and _served(settings, "admin").empty


def test_an_answer_no_audit_covers_is_refused_and_one_that_is_covered_is_served(
    client: TestClient,
    auth: Auth,
    lake: Path,
    publish: PublishGold,
    cube: pd.DataFrame,
    compliance: pd.DataFrame,
) -> None:
    params = {"dimensions": "sex,year"}
    assert client.get("/v1/metrics/placements", params=params, headers=auth("business")).is_success
    # The publish ledger is lost, so the next snapshot is audited without the cells the
    # business role already holds: the API will not let it combine the two.
    shutil.rmtree(lake / "restricted" / "ledger" / "released")
    publish(LATER, cube, compliance)
    refused = client.get("/v1/metrics/placements", params=params, headers=auth("business"))
    assert refused.status_code == 403, refused.text
    detail = refused.json()["detail"]
    assert SNAPSHOT_ID in detail and "no audit ever saw them together" in detail
    # A role that holds nothing yet is served from the new snapshot.
    assert client.get("/v1/metrics/placements", params=params, headers=auth("community")).is_success
    # Back on the old snapshot the business role is served again: it covers what it holds.
    _point_current(lake, SNAPSHOT_ID)
    assert client.get("/v1/metrics/placements", params=params, headers=auth("business")).is_success


def test_a_snapshot_audited_with_the_ledger_is_served_and_so_is_a_rollback(
    client: TestClient,
    auth: Auth,
    lake: Path,
    publish: PublishGold,
    cube: pd.DataFrame,
    compliance: pd.DataFrame,
) -> None:
    params = {"dimensions": "sex,year"}
    first = client.get("/v1/metrics/placements", params=params, headers=auth("business"))
    publish(LATER, cube, compliance)
    later = client.get("/v1/metrics/placements", params=params, headers=auth("business"))
    assert later.status_code == 200 and later.json()["snapshot_id"] == LATER
    # The same data, protected against what was given: the same cells, the same values.
    assert later.json()["rows"] == first.json()["rows"]
    _point_current(lake, SNAPSHOT_ID)
    back = client.get("/v1/metrics/placements", params=params, headers=auth("business"))
    assert back.status_code == 200 and back.json()["snapshot_id"] == SNAPSHOT_ID


def test_an_answer_that_cannot_be_recorded_is_not_given(
    client: TestClient, auth: Auth, settings: Settings
) -> None:
    path = settings.layout.served_ledger
    path.parent.mkdir(parents=True, exist_ok=True)
    path.mkdir()  # a directory where the database should be: nothing can be written
    response = client.get(
        "/v1/metrics/placements", params={"dimensions": "sex"}, headers=auth("business")
    )
    assert response.status_code == 503, response.text
    assert "ledger" in response.json()["detail"]
