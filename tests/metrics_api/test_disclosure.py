"""Disclosure across answers: windows cannot cut periods, a cell is the same however it is
asked, and an LP attacker over every table of a dimension set recovers no hidden cell."""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pytest

from anonymization.disclosure_audit import LinearRelease, audit_intervals, release_from_answers
from metrics_api.disclosure import published_answer
from tests.support.api_fixtures import role_cube

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

Auth = Callable[[str], dict[str, str]]
NON_ADMIN = ["government", "business", "researcher", "community", "media"]


def _get(client: TestClient, auth: Auth, role: str, metric: str, **params: str) -> Any:
    response = client.get(f"/v1/metrics/{metric}", params=params, headers=auth(role))
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("role", [*NON_ADMIN, "admin"])
@pytest.mark.parametrize(
    ("params", "says"),
    [
        # The attack: yearly totals over windows that start one quarter apart.
        ({"grain": "year", "from": "2024-04-01", "to": "2024-12-31"}, "first day of a year"),
        ({"grain": "year", "from": "2024-07-01"}, "first day of a year"),
        ({"grain": "year", "to": "2024-09-30"}, "neither the first nor the last day of a year"),
        ({"grain": "quarter", "from": "2024-02-01"}, "first day of a quarter"),
        ({"grain": "quarter", "to": "2024-05-15"}, "last day of a quarter"),
        # A total without a grain adds up whole years.
        ({"from": "2024-04-01"}, "first day of a year"),
        ({"grain": "year", "from": "2024-01-01", "to": "2023-12-31"}, "is after"),
    ],
)
def test_windows_that_cut_a_period_are_refused_saying_what_is_allowed(
    client: TestClient, auth: Auth, role: str, params: dict[str, str], says: str
) -> None:
    response = client.get("/v1/metrics/placements", params=params, headers=auth(role))
    assert response.status_code == 422, response.text
    assert says in response.json()["detail"]


def test_a_window_may_name_the_last_period_by_its_first_or_last_day(
    client: TestClient, auth: Auth
) -> None:
    by_end = _get(client, auth, "business", "placements", grain="quarter", to="2024-06-30")
    by_start = _get(client, auth, "business", "placements", grain="quarter", to="2024-04-01")
    assert by_end["rows"] == by_start["rows"]
    assert by_end["filters"]["to"] == by_start["filters"]["to"] == "2024-06-30"


@pytest.mark.parametrize("role", ["government", "government_32", "business", "community"])
def test_a_cell_is_the_same_however_it_is_asked(client: TestClient, auth: Auth, role: str) -> None:
    """Dimension order, a filter, a window, CSV: one cell, one value (or hidden everywhere)."""
    whole = _get(client, auth, role, "placements", dimensions="province,placement_type,quarter")
    cells = {
        (r["dimensions"]["province"], r["dimensions"]["placement_type"], r["dimensions"]["quarter"]):
        (r["value"], r["suppressed"])
        for r in whole["rows"]
    }  # fmt: skip
    assert any(hidden for _, hidden in cells.values())
    reordered = _get(client, auth, role, "placements", dimensions="quarter,placement_type,province")
    for r in reordered["rows"]:
        d = r["dimensions"]
        assert cells[(d["province"], d["placement_type"], d["quarter"])] == (
            r["value"], r["suppressed"]
        )  # fmt: skip
    province = "32"
    filtered = _get(
        client, auth, role, "placements", dimensions="placement_type,quarter", province=province
    )
    windowed = _get(
        client, auth, role, "placements", dimensions="province,placement_type,quarter",
        **{"from": "2024-01-01", "to": "2024-06-30"},
    )  # fmt: skip
    for r in filtered["rows"]:
        d = r["dimensions"]
        assert cells[(province, d["placement_type"], d["quarter"])] == (r["value"], r["suppressed"])
    for r in windowed["rows"]:
        d = r["dimensions"]
        assert cells[(d["province"], d["placement_type"], d["quarter"])] == (
            r["value"], r["suppressed"]
        )  # fmt: skip
    response = client.get(
        "/v1/metrics/placements",
        params={"dimensions": "province,placement_type,quarter", "format": "csv"},
        headers=auth(role),
    )
    csv = pd.read_csv(io.StringIO(response.text), dtype={"province": str})
    for row in csv.itertuples():
        value = None if pd.isna(row.value) else int(row.value)
        assert cells[(row.province, row.placement_type, row.quarter)] == (value, row.suppressed)


def released_equations(
    client: TestClient,
    auth: Auth,
    role: str,
    dims: tuple[str, ...],
    cube: pd.DataFrame,
    *,
    margins: bool,
) -> tuple[LinearRelease, list[np.ndarray], int]:
    """Every visible count the role can get of ``dims`` × time (grains quarter, year and none,
    every whole-year window) and, with ``margins``, of every subset of ``dims`` too, as
    equations over the finest cells (dims × quarter); the targets are the hidden finest cells."""
    cells = cube[[*dims, "quarter", "quarter_start"]].drop_duplicates([*dims, "quarter"])
    cells = cells.rename(columns={"quarter_start": "period_start"}).reset_index(drop=True)
    cells["year"] = cells["quarter"].str[:4]
    keys = cells[[*dims, "quarter"]].itertuples(index=False, name=None)
    position = {key: i for i, key in enumerate(keys)}
    answers: list[dict[str, Any]] = []
    sizes = range(len(dims) + 1) if margins else [len(dims)]
    subsets = [s for n in sizes for s in itertools.combinations(dims, n)]
    for subset in subsets:
        for time in ("quarter", "year", None):
            names = [*subset, *([time] if time else [])]
            answers.append(_get(client, auth, role, "placements", dimensions=",".join(names)))
    for year in sorted(cells["year"].unique()):
        window = {"from": f"{year}-01-01", "to": f"{year}-12-31"}
        for subset in subsets:
            answers.append(
                _get(client, auth, role, "placements", dimensions=",".join(subset), **window)
            )
    release = release_from_answers(cells, [published_answer(a) for a in answers])
    finest = _get(client, auth, role, "placements", dimensions=",".join([*dims, "quarter"]))
    targets = [
        np.array([position[tuple(r["dimensions"][n] for n in [*dims, "quarter"])]])
        for r in finest["rows"]
        if r["suppressed"]
    ]
    return release, targets, len(answers)


@pytest.mark.parametrize("role", NON_ADMIN)
def test_the_quarter_window_attack_recovers_no_hidden_cell(
    client: TestClient, auth: Auth, cube: pd.DataFrame, role: str
) -> None:
    """The issue's attacker: yearly totals of a breakdown over every window the API accepts,
    the same breakdown by quarter and in total, solved exactly (LP). Windows of whole years
    and the year of each quarter as a suppression line leave no hidden quarter cell pinned to
    one value, nor to an interval narrower than 1.

    Tables of *other* dimension sets (the margins over province, or over placement type) are
    not part of this attack: they are suppressed one by one today, and together they still
    pin some cells down; ``bench/disclosure.py`` measures that, ``docs/disclosure-control.md``
    reports it."""
    dims = ("sex", "placement_type") if role == "media" else ("province", "placement_type")
    frame = role_cube(cube, role).rename(columns={"province_code": "province"})
    release, targets, asked = released_equations(client, auth, role, dims, frame, margins=False)
    assert asked >= 5 and len(targets) > 0
    intervals = audit_intervals(release, targets)
    exact = [i for i in intervals if i.exact()]
    assert exact == [], f"{len(exact)} of {len(targets)} hidden cells recovered exactly"
    assert min(i.width for i in intervals) >= 1
