"""Community and media answers are cell-key perturbed, say so, and stay the same however and
however often they are asked; the perturbation table is published; exact audiences stay exact."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest

from anonymization.cell_key import MAX_NOISE, VARIANCE, perturbation_table
from tests.support.api_fixtures import role_cube

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

Auth = Callable[[str], dict[str, str]]


def _get(client: TestClient, auth: Auth, role: str, metric: str, **params: str) -> Any:
    response = client.get(f"/v1/metrics/{metric}", params=params, headers=auth(role))
    assert response.status_code == 200, response.text
    return response


def _rows(body: dict[str, Any]) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(r["dimensions"].values()): r for r in body["rows"]}


def _truth(cube: pd.DataFrame, role: str, by_year: bool) -> dict[tuple[str, ...], int]:
    """True placements of the role's population (its purpose's consented cube) by sex
    (and year)."""
    frame = role_cube(cube, role).assign(year=lambda f: f["quarter"].str[:4])
    keys = ["sex", "year"] if by_year else ["sex"]
    sums = frame.groupby(keys)["placements"].sum()
    return {k if isinstance(k, tuple) else (k,): int(v) for k, v in sums.items()}


@pytest.mark.parametrize("role", ["community", "media"])
def test_a_public_answer_is_marked_bounded_and_the_same_every_time(
    client: TestClient, auth: Auth, cube: pd.DataFrame, role: str
) -> None:
    first = _get(client, auth, role, "placements", dimensions="sex,year")
    body = first.json()
    assert first.headers["X-Perturbed"] == "cell-key"
    assert body["perturbation"]["max_abs_noise_per_cell"] == MAX_NOISE
    assert body["perturbation"]["noise_variance_per_cell"] == pytest.approx(VARIANCE)
    assert body["perturbation"]["noise_mean"] == 0
    truth = _truth(cube, role, by_year=True)
    shown = [r for r in body["rows"] if not r["suppressed"]]
    assert shown, "the fixture must show some cells"
    moved = 0
    for row in body["rows"]:
        if row["suppressed"]:
            assert not row["perturbed"] and row["max_abs_error"] is None
            continue
        true = truth[tuple(row["dimensions"].values())]
        assert row["perturbed"] and row["max_abs_error"] == MAX_NOISE
        assert abs(row["value"] - true) <= MAX_NOISE
        moved += row["value"] != true
    assert moved > 0
    # Asked again, in another order, through a window or as CSV: the same noise.
    for again in (
        _get(client, auth, role, "placements", dimensions="sex,year"),
        _get(client, auth, role, "placements", dimensions="year,sex"),
    ):
        rows = _rows(again.json())
        for key, row in _rows(body).items():
            assert rows.get(key, rows.get(key[::-1])) == row
    window = _rows(
        _get(
            client, auth, role, "placements", dimensions="sex,year", **{"from": "2024-01-01"}
        ).json()
    )
    for key, row in window.items():
        assert _rows(body)[key] == row
    csv = pd.read_csv(
        io.StringIO(
            _get(client, auth, role, "placements", dimensions="sex,year", format="csv").text
        )
    )
    assert csv["perturbed"].tolist() == [r["perturbed"] for r in body["rows"]]
    assert csv["value"].astype("Int64").tolist() == [
        pd.NA if r["value"] is None else r["value"] for r in body["rows"]
    ]


def test_a_total_over_years_adds_perturbed_years_and_says_how_far_it_may_be(
    client: TestClient, auth: Auth, cube: pd.DataFrame
) -> None:
    years = _get(client, auth, "community", "placements", dimensions="sex,year").json()
    total = _get(client, auth, "community", "placements", dimensions="sex").json()
    truth = _truth(cube, "community", by_year=False)
    for row in total["rows"]:
        if row["suppressed"]:
            continue
        (sex,) = row["dimensions"].values()
        parts = [r for r in years["rows"] if r["dimensions"]["sex"] == sex]
        assert row["value"] == sum(r["value"] for r in parts)
        assert row["max_abs_error"] == MAX_NOISE * len(parts)
        assert abs(row["value"] - truth[(sex,)]) <= row["max_abs_error"]


@pytest.mark.parametrize("role", ["government", "business", "researcher", "admin"])
def test_exact_audiences_stay_exact(client: TestClient, auth: Auth, role: str) -> None:
    response = _get(client, auth, role, "placements", dimensions="sex,year")
    body = response.json()
    assert body["perturbation"] is None and "X-Perturbed" not in response.headers
    assert not any(r["perturbed"] or r["max_abs_error"] is not None for r in body["rows"])


def test_the_perturbation_table_is_published_without_a_key(client: TestClient) -> None:
    summary = client.get("/v1/perturbation")
    assert summary.status_code == 200
    assert summary.json()["distribution"] == {
        "-2": 0.0625,
        "-1": 0.25,
        "0": 0.375,
        "1": 0.25,
        "2": 0.0625,
    }
    table = client.get("/v1/perturbation", params={"format": "csv"})
    assert table.status_code == 200 and table.headers["content-type"].startswith("text/csv")
    pd.testing.assert_frame_equal(pd.read_csv(io.StringIO(table.text)), perturbation_table())
