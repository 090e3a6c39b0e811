"""Consent by purpose in the API: each role is answered from its purpose's population only,
and a mart published for another purpose is never used."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest

from tests.support.api_fixtures import CONSENTED, CUBE, SNAPSHOT_ID, role_cube

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

Auth = Callable[[str], dict[str, str]]


def _by_province(client: TestClient, auth: Auth, role: str) -> dict[str, int | None]:
    response = client.get(
        "/v1/metrics/placements", params={"dimensions": "province"}, headers=auth(role)
    )
    assert response.status_code == 200, response.text
    return {r["dimensions"]["province"]: r["value"] for r in response.json()["rows"]}


def _truth(cube: pd.DataFrame, role: str) -> dict[str, int]:
    sums = role_cube(cube, role).groupby("province_code")["placements"].sum()
    return {k: int(v) for k, v in sums.items()}


def test_the_fixture_populations_differ(cube: pd.DataFrame) -> None:
    totals = {r: int(role_cube(cube, r)["placements"].sum()) for r in ("government", "researcher")}
    totals |= {r: int(role_cube(cube, r)["placements"].sum()) for r in ("community", "media")}
    assert totals["government"] > totals["researcher"] > totals["community"] > totals["media"] > 0


@pytest.mark.parametrize("role", ["government", "business", "researcher"])
def test_an_exact_role_is_answered_from_its_own_population(
    client: TestClient, auth: Auth, cube: pd.DataFrame, role: str
) -> None:
    got = _by_province(client, auth, role)
    truth = _truth(cube, role)
    shown = {p: v for p, v in got.items() if v is not None}
    assert shown and all(v == truth[p] for p, v in shown.items()), (shown, truth)
    if role == "researcher":
        # Not the government's numbers: children without research consent are not counted.
        everyone = _truth(cube, "government")
        assert any(v != everyone[p] for p, v in shown.items())


@pytest.mark.parametrize(
    ("role", "purpose", "population"),
    [
        ("community", "community", "children_with_community_consent"),
        ("researcher", "research", "children_with_research_consent"),
        ("government", "service", "all_registered_children"),
    ],
)
def test_answers_and_the_metric_list_name_the_purpose_and_population(
    client: TestClient, auth: Auth, role: str, purpose: str, population: str
) -> None:
    body = client.get("/v1/metrics/placements", headers=auth(role)).json()
    assert (body["purpose"], body["population"]) == (purpose, population)
    listed = client.get("/v1/metrics", headers=auth(role)).json()["metrics"]
    assert {(m["purpose"], m["population"]) for m in listed} == {(purpose, population)}


@pytest.mark.parametrize("role", ["community", "media"])
def test_a_public_role_is_answered_from_its_consented_cube(
    client: TestClient, auth: Auth, cube: pd.DataFrame, role: str
) -> None:
    response = client.get("/v1/metrics/placements", headers=auth(role))
    (row,) = response.json()["rows"]
    truth = int(role_cube(cube, role)["placements"].sum())
    everyone = int(cube["placements"].sum())
    assert abs(row["value"] - truth) <= row["max_abs_error"] < everyone - truth


def test_the_manifest_names_every_outputs_purpose_and_population(lake: Path) -> None:
    manifest = json.loads((lake / "gold" / "snapshots" / SNAPSHOT_ID / "manifest.json").read_text())
    marts = manifest["marts"]
    assert marts[CUBE]["purpose"] == "service"
    assert marts[CUBE]["population"] == "all_registered_children"
    for purpose, name in CONSENTED.items():
        assert (marts[name]["purpose"], marts[name]["population"]) == (
            purpose,
            f"children_with_{purpose}_consent",
        )
    families = {n: e for n, e in marts.items() if n.startswith("protected__")}
    assert families
    for name, entry in families.items():
        source = name.removeprefix("protected__").split("__")[0]
        assert (entry["purpose"], entry["population"]) == (
            marts[source]["purpose"],
            marts[source]["population"],
        ), name
    assert all(e["purpose"] and e["population"] for e in marts.values())


def test_a_mart_published_for_another_purpose_is_never_served(
    client: TestClient, auth: Auth, lake: Path
) -> None:
    """Defence in depth behind the gate: a community cube the manifest records for another
    purpose (a wrong meta in dbt, a hand-edited manifest) answers nobody."""
    path = lake / "gold" / "snapshots" / SNAPSHOT_ID / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["marts"][CONSENTED["community"]]["purpose"] = "service"
    path.write_text(json.dumps(manifest))
    response = client.get("/v1/metrics/placements", headers=auth("community"))
    assert response.status_code == 503
    assert "published for purpose 'service', not 'community'" in response.json()["detail"]
    assert client.get("/v1/metrics/placements", headers=auth("government")).status_code == 200
