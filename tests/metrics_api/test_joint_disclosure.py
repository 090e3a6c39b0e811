"""The acceptance attack of issue #8: everything one role can get, solved at once.

An attacker of each suppressed role asks a thousand random questions of the placement metrics
(any metric, any breakdown the role may combine, quarter / year / total, any window of whole
periods, any province filter), taking a fresh key of the same role whenever a limit answers
429, and solves every visible count as one linear system over the finest cells, with both
counts in it and successes never above placements. No hidden count that is small may be
bounded narrower than half the role's threshold; no small count may be shown; every shown
count is the true one (summed from the fixture's cells of the role's population: its
purpose's consented cube for researcher, community and media), or for a perturbed role
(community, media) within the ``max_abs_error`` its row states. A breakdown wider than the role's bound is
refused. The attacker of a perturbed role is handed the *true* value of every count it was
shown: the proof holds for one who could see through the noise. The same cells, asked again
in any dimension order, window or grain spelling, with another key or through Superset, get
the same value.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pytest

from anonymization.disclosure_audit import (
    LinearRelease,
    PublishedAnswer,
    answer_cells,
    prove_widths,
)
from dashboards.provision import ASSETS
from lakehouse.reference.audiences import PERTURBED_AUDIENCES, audience_thresholds
from metrics_api.catalog import PACKAGED_CATALOG, load_catalog
from metrics_api.disclosure import published_answer
from metrics_api.keys import KeyStore
from metrics_api.protected import families
from tests.support.api_fixtures import PROVINCES, SNAPSHOT_ID, role_cube

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

QUERIES = 1000
DIMENSIONS = ("province", "sex", "age_band", "placement_type", "institution_type")
COLUMNS = {"province": "province_code"}
COUNTS = {
    "placements": {"value": "placements"},
    "successful_placements": {"value": "successful"},
    "placement_success_rate": {"numerator": "successful", "denominator": "placements"},
}
QUARTERS = [date(y, m, 1) for y in (2023, 2024) for m in (1, 4, 7, 10)]
YEARS = [date(2023, 1, 1), date(2024, 1, 1)]


def _last_day(start: date, grain: str) -> date:
    months = 3 if grain == "quarter" else 12
    month = start.month - 1 + months
    following = date(start.year + month // 12, month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


def random_query(rng: random.Random, role: str, bound: int) -> tuple[str, dict[str, str], bool]:
    """(metric, parameters, whether the role may ask it): mostly within the role's bound on
    combined dimensions, one in twenty beyond it."""
    names = [d for d in DIMENSIONS if not (role == "media" and d == "province")]
    wide = rng.random() < 0.05
    dims = rng.sample(names, bound + 1 if wide else rng.choice([0, 1, 1, 2, 2]))
    params: dict[str, str] = {}
    if role != "media" and "province" not in dims and rng.random() < 0.25:
        params["province"] = rng.choice(list(PROVINCES))
        if len(dims) == bound and not wide:
            dims.pop()
    grain = rng.choice(["quarter", "year", None])
    if grain and rng.random() < 0.5:
        dims.insert(rng.randrange(len(dims) + 1), grain)
    elif grain:
        params["grain"] = grain
    if rng.random() < 0.4:
        periods = QUARTERS if grain == "quarter" else YEARS
        i, j = sorted(rng.sample(range(len(periods)), 2)) if rng.random() < 0.7 else (0, 0)
        params["from"] = periods[i].isoformat()
        params["to"] = _last_day(periods[j], grain or "year").isoformat()
    params["dimensions"] = ",".join(dims)
    breadth = len([d for d in dims if d in DIMENSIONS]) + ("province" in params)
    return rng.choice(list(COUNTS)), params, breadth <= bound


@dataclass
class Attacker:
    """Keys of one role: a new one whenever a limit says 429 (limits are not the protection)."""

    client: TestClient
    key_store: KeyStore
    role: str
    keys: list[str] = field(default_factory=list)

    def ask(self, metric: str, params: dict[str, str]) -> Any:
        if not self.keys:
            self._new_key()
        while True:
            response = self.client.get(
                f"/v1/metrics/{metric}", params=params, headers={"X-API-Key": self.keys[-1]}
            )
            if response.status_code != 429:
                return response
            self._new_key()

    def _new_key(self) -> None:
        self.keys.append(self.key_store.create(f"attacker {len(self.keys)}", self.role)[1])


def _finest_cells(cube: pd.DataFrame, role: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The unknowns: every non-empty cell of the role's dimensions × quarter, once per count
    (the attacker knows which cells are empty), and their true values."""
    names = [d for d in DIMENSIONS if not (role == "media" and d == "province")]
    frame = cube.rename(columns={v: k for k, v in COLUMNS.items()})
    cells = frame.groupby([*names, "quarter"], as_index=False).agg(
        period_start=("quarter_start", "first"),
        placements=("placements", "sum"),
        successful=("successful", "sum"),
    )
    cells["year"] = cells["quarter"].str[:4]
    both = pd.concat(
        [cells.assign(count="placements"), cells.assign(count="successful")], ignore_index=True
    )
    truth = np.concatenate([cells["placements"], cells["successful"]]).astype(float)
    return both.drop(columns=["placements", "successful"]), truth


#: The family and table a Superset dataset reads (tests/dashboards checks every dataset has one).
_DATASET = re.compile(
    r"from gold\.(?P<family>protected__\w+)\s+where \"table\" = '(?P<table>[^']+)'"
)


def superset_answers(lake: Path, role: str) -> list[PublishedAnswer]:
    """Every Superset dataset of ``role``'s audience, as the cells a chart can read: each row of
    the family table the dataset selects (its counts as shown; hidden ones are NA)."""
    out = []
    for path in sorted((ASSETS / "datasets").rglob("*.yaml")):
        match = _DATASET.search(path.read_text(encoding="utf-8"))
        assert match, path
        frame = pd.read_parquet(
            lake / "gold" / "snapshots" / SNAPSHOT_ID / f"{match['family']}.parquet"
        )
        roles = {f.name: f.roles for f in families(load_catalog(PACKAGED_CATALOG))}
        if role not in roles[match["family"]]:
            continue
        dims, grain = match["table"].split("|")
        table = frame[frame["table"] == match["table"]]
        for count in ("placements", "successful"):
            rows = []
            for r in table.to_dict("records"):
                cell = {d: str(r[d]) for d in dims.split(",") if d}
                cell[grain] = str(r["period"])
                cell["count"] = count
                shown = r[f"{count}__state"] == 0
                rows.append((cell, float(r[count]) if shown else None))
            out.append(PublishedAnswer(rows=rows))
    return out


@pytest.mark.parametrize("role", ["government", "business", "researcher", "community", "media"])
def test_a_thousand_random_queries_pin_no_hidden_small_count(
    client: TestClient, key_store: KeyStore, cube: pd.DataFrame, lake: Path, role: str
) -> None:
    threshold = audience_thresholds()[role]
    bound = 2
    rng = random.Random(f"joint-{role}")
    attacker = Attacker(client, key_store, role)
    cells, truth = _finest_cells(role_cube(cube, role), role)
    bodies = []
    refused = 0
    for _ in range(QUERIES):
        metric, params, allowed = random_query(rng, role, bound)
        response = attacker.ask(metric, params)
        if not allowed:
            assert response.status_code == 403, (params, response.text)
            assert f"at most {bound} dimensions" in response.json()["detail"]
            refused += 1
            continue
        assert response.status_code == 200, (params, response.text)
        bodies.append((metric, response.json()))
    assert refused > 0

    n = len(cells) // 2
    release = LinearRelease(len(cells), [], [(n + i, i) for i in range(n)])
    perturbed = role in PERTURBED_AUDIENCES
    moved = 0
    # The targets: every hidden count of every answer whose true value is small.
    targets: dict[tuple[int, ...], float] = {}
    # The same cells asked again (another dimension order, window, grain spelling, key or
    # channel) get the same value: repeating or averaging gains nothing.
    given: dict[tuple[int, ...], float] = {}
    for metric, body in bodies:
        assert body["perturbation"] is not None if perturbed else body["perturbation"] is None
        fields = list(COUNTS[metric])
        found = answer_cells(cells, [published_answer(body, COUNTS[metric])])
        for i, (cells_of_row, value) in enumerate(found):
            row = body["rows"][i // len(fields)]
            where = tuple(cells_of_row)
            true = float(truth[cells_of_row].sum())
            if value is not None:
                assert given.setdefault(where, value) == value, (where, given[where], value)
            if value is None:
                if 1 <= true < threshold:
                    targets[where] = true
                continue
            # Shown: never small, and the true count (suppression hides, never changes), or
            # within the bound a perturbed row states.
            assert not 1 <= value < threshold, (where, value, true)
            assert row["perturbed"] is perturbed
            if perturbed:
                assert abs(value - true) <= row["max_abs_error"], (where, value, true, row)
                moved += value != true
            else:
                assert value == true, (where, value, true)
            release.add(cells_of_row, true)
    assert moved > 0 if perturbed else moved == 0
    # The audience's Superset datasets are read too: the same cells, or the proof is void.
    charts = superset_answers(lake, role)
    assert bool(charts) is (role == "government")  # the dashboards' all-children t=5 family
    for cells_of_row, value in answer_cells(cells, charts):
        true = float(truth[cells_of_row].sum())
        where = tuple(cells_of_row)
        if value is not None:
            assert given.setdefault(where, value) == value, ("superset", where, given[where])
        assert value is None or value == true
        if value is not None:
            release.add(cells_of_row, true)
        elif 1 <= true < threshold:
            targets[tuple(cells_of_row)] = true
    assert len(targets) > 20, "the fixture must hide small counts, or this proves nothing"
    intervals = prove_widths(release, [np.array(t) for t in targets], threshold / 2, truth)
    narrow = [
        (t, i)
        for t, i in zip(targets, intervals, strict=True)
        if i.width < threshold / 2 - 1e-6  # the LP's own rounding
    ]
    assert narrow == [], f"{len(narrow)} of {len(targets)} hidden small counts too narrow"
