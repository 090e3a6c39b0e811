"""Metric values: correct numbers, small cells hidden, CSV = JSON, clear 422s, snapshot caching."""

from __future__ import annotations

import io
import itertools
import random
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
from fastapi import FastAPI

from lakehouse.reference.audiences import PERTURBED_AUDIENCES, audience_thresholds
from lakehouse.reference.regions import PROVINCES
from metrics_api.service import ResultCache
from tests.support.api_fixtures import publish_gold, role_cube

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

PublishGold = Callable[[str, pd.DataFrame, pd.DataFrame], Any]

Auth = Callable[[str], dict[str, str]]
PLACEMENT_METRICS = ("placements", "successful_placements", "placement_success_rate")
#: Each placement metric's counts -> the cube column they sum.
PLACEMENT_COUNTS = {
    "placements": {"value": "placements"},
    "successful_placements": {"value": "successful"},
    "placement_success_rate": {"numerator": "successful", "denominator": "placements"},
}
CUBE_DIMENSIONS = {
    "province": "province_code",
    "sex": "sex",
    "age_band": "age_band",
    "placement_type": "placement_type",
    "institution_type": "institution_type",
}


def _frame(body: dict[str, Any]) -> pd.DataFrame:
    """A JSON answer as the reader sees it: dimensions, then value/numerator/denominator."""
    rows = [
        {**r["dimensions"], "value": r["value"], "numerator": r["numerator"],
         "denominator": r["denominator"], "suppressed": r["suppressed"],
         "suppression_reason": r["suppression_reason"]}
        for r in body["rows"]
    ]  # fmt: skip
    columns = [*body["dimensions"], "value", "numerator", "denominator", "suppressed"]
    return pd.DataFrame(rows, columns=[*columns, "suppression_reason"])


def _expected(cube: pd.DataFrame, dims: list[str], measure: str) -> dict[tuple[str, ...], int]:
    frame = cube.copy()
    frame["year"] = frame["quarter_start"].dt.year.astype(str)
    columns = [CUBE_DIMENSIONS.get(d, d) for d in dims]
    if not columns:
        return {(): int(frame[measure].sum())}
    sums = frame.groupby(columns)[measure].sum()
    return {(k,) if isinstance(k, str) else tuple(k): int(v) for k, v in sums.items()}


@pytest.mark.parametrize(
    "dims", [[], ["province"], ["sex", "quarter"], ["province", "year", "placement_type"]]
)
def test_admin_gets_the_exact_unsuppressed_numbers(
    client: TestClient, auth: Auth, cube: pd.DataFrame, dims: list[str]
) -> None:
    for metric, measure in (("placements", "placements"), ("successful_placements", "successful")):
        response = client.get(
            f"/v1/metrics/{metric}", params={"dimensions": ",".join(dims)}, headers=auth("admin")
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["dimensions"] == dims and body["suppressed_cells"] == 0
        got = {tuple(r["dimensions"][d] for d in dims): r["value"] for r in body["rows"]}
        assert got == _expected(cube, dims, measure)
    rate = client.get(
        "/v1/metrics/placement_success_rate",
        params={"dimensions": ",".join(dims)},
        headers=auth("admin"),
    ).json()
    placements = _expected(cube, dims, "placements")
    successful = _expected(cube, dims, "successful")
    for row in rate["rows"]:
        key = tuple(row["dimensions"][d] for d in dims)
        assert row["denominator"] == placements[key] and row["numerator"] == successful[key]
        assert row["value"] == round(successful[key] / placements[key], 4)


def test_time_window_and_grain(client: TestClient, auth: Auth, cube: pd.DataFrame) -> None:
    body = client.get(
        "/v1/metrics/placements",
        params={"grain": "quarter", "from": "2024-01-01", "to": "2024-06-30"},
        headers=auth("admin"),
    ).json()
    assert body["dimensions"] == ["quarter"] and body["grain"] == "quarter"
    assert [r["dimensions"]["quarter"] for r in body["rows"]] == ["2024-Q1", "2024-Q2"]
    in_window = cube[cube["quarter_start"].between("2024-01-01", "2024-06-30")]
    assert sum(r["value"] for r in body["rows"]) == int(in_window["placements"].sum())
    assert body["filters"] == {"from": "2024-01-01", "to": "2024-06-30", "province": None}


def test_stock_metrics_are_always_broken_down_by_month(client: TestClient, auth: Auth) -> None:
    body = client.get(
        "/v1/metrics/children_in_care",
        params={"dimensions": "institution_type"},
        headers=auth("admin"),
    ).json()
    assert body["dimensions"] == ["institution_type", "month"]
    assert {r["dimensions"]["month"] for r in body["rows"]} == {
        f"2024-{m:02d}" for m in range(1, 13)
    }


def _check_answer(body: dict[str, Any], threshold: int) -> tuple[int, int]:
    """Every privacy property one non-admin answer must have on its own; returns (hidden,
    shown) cells. What answers give away together is the LP attacker's test
    (``test_joint_disclosure.py``): a line of one answer may hold a single hidden cell when its
    total is hidden in another table."""
    frame = _frame(body)
    counts = ["numerator", "denominator"] if body["kind"] == "ratio" else ["value"]
    for column in counts:
        values = pd.to_numeric(frame[column], errors="coerce")
        small = values.between(1, threshold - 1)
        assert not small.any(), f"{column} shows a count below {threshold}: {frame[small]}"
    # A row is hidden entirely or not at all, and says why.
    hidden = frame["suppressed"].astype(bool)
    for column in ["value", *counts]:
        assert frame[column].isna().equals(hidden), column
    assert frame.loc[hidden, "suppression_reason"].notna().all()
    assert frame.loc[~hidden, "suppression_reason"].isna().all()
    assert body["suppressed_cells"] == int(hidden.sum())
    return int(hidden.sum()), int((~hidden).sum())


def _true_counts(
    cube: pd.DataFrame, metric: str, params: dict[str, str]
) -> dict[tuple[str, ...], dict[str, int]]:
    """Every row's true counts of ``metric`` asked with ``params``, from ``cube``."""
    frame = cube.assign(year=cube["quarter_start"].dt.year.astype(str))
    if "from" in params:
        frame = frame[frame["quarter_start"] >= params["from"]]
    dims = [d for d in params["dimensions"].split(",") if d]
    counts = PLACEMENT_COUNTS[metric]
    sums = frame.groupby([CUBE_DIMENSIONS.get(d, d) for d in dims])[list(set(counts.values()))]
    return {
        (k,) if isinstance(k, str) else tuple(k): {n: int(row[c]) for n, c in counts.items()}
        for k, row in sums.sum().iterrows()
    }


@pytest.mark.parametrize("role", ["government", "business", "researcher", "community", "media"])
def test_no_small_or_recoverable_cell_for_any_non_admin_role(
    client: TestClient, auth: Auth, cube: pd.DataFrame, role: str
) -> None:
    threshold = audience_thresholds()[role]
    rng = random.Random(f"suppression-{role}")
    names = [d for d in CUBE_DIMENSIONS if not (role == "media" and d == "province")]
    hidden = shown = 0
    for _ in range(12):
        dims = rng.sample(names, rng.randint(1, 2))
        if rng.random() < 0.6:
            dims.insert(rng.randrange(len(dims) + 1), rng.choice(["quarter", "year"]))
        params = {"dimensions": ",".join(dims)}
        if rng.random() < 0.3:
            params["from"] = "2024-01-01"
        for metric in PLACEMENT_METRICS:
            response = client.get(f"/v1/metrics/{metric}", params=params, headers=auth(role))
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["threshold"] == threshold and body["dimensions"] == dims
            asked = params
            if "from" in params and ("quarter" in dims or "year" in dims):
                # A window is a slice of the whole table, suppressed as the whole table is.
                asked = {"dimensions": params["dimensions"]}
                whole = client.get(f"/v1/metrics/{metric}", params=asked, headers=auth(role)).json()
                cells = {tuple(r["dimensions"].values()): r for r in whole["rows"]}
                for row in body["rows"]:
                    assert row == cells[tuple(row["dimensions"].values())]
                body = whole
            h, s = _check_answer(body, threshold)
            hidden, shown = hidden + h, shown + s
            # Suppression hides numbers, it never changes one; perturbation (community, media)
            # moves each count by at most what its row says. True: of the role's population.
            truth = _true_counts(role_cube(cube, role), metric, asked)
            for row in body["rows"]:
                if row["suppressed"]:
                    continue
                true = truth[tuple(row["dimensions"].values())]
                assert row["perturbed"] is (role in PERTURBED_AUDIENCES)
                if not row["perturbed"]:
                    assert row["max_abs_error"] is None
                    assert all(row[field] == v for field, v in true.items()), (row, true)
                    continue
                for field, value in true.items():
                    assert abs(row[field] - value) <= row["max_abs_error"], (row, true)
    # The fixture must exercise both sides, or the checks above prove nothing.
    assert hidden > 0 and shown > 0


@pytest.mark.parametrize("role", ["government", "government_32"])
def test_compliance_metrics_are_suppressed_for_government(
    client: TestClient, auth: Auth, role: str
) -> None:
    hidden = 0
    for metric, dims in itertools.product(
        ("children_in_care", "research_consent_coverage", "record_access_events"),
        ("institution_type", "province", "province,institution_type", ""),
    ):
        response = client.get(
            f"/v1/metrics/{metric}", params={"dimensions": dims}, headers=auth(role)
        )
        assert response.status_code == 200, response.text
        hidden += _check_answer(response.json(), 5)[0]
    assert hidden > 0


def test_a_ratio_is_hidden_whenever_either_count_is_small(client: TestClient, auth: Auth) -> None:
    params = {"dimensions": "province,placement_type,year"}
    admin = client.get("/v1/metrics/placement_success_rate", params=params, headers=auth("admin"))
    gov = client.get(
        "/v1/metrics/placement_success_rate", params=params, headers=auth("government")
    )
    truth = {tuple(r["dimensions"].values()): r for r in admin.json()["rows"]}
    numerator_only = 0
    for row in gov.json()["rows"]:
        real = truth[tuple(row["dimensions"].values())]
        if 1 <= real["numerator"] < 5 or 1 <= real["denominator"] < 5:
            assert row["suppressed"] and row["value"] is None
            numerator_only += real["denominator"] >= 5
    assert numerator_only > 0  # the case that needs the numerator rule does occur


@pytest.mark.parametrize(
    ("metric", "role", "params"),
    [
        ("placements", "community", {"dimensions": "province,sex,year"}),
        ("placement_success_rate", "business", {"dimensions": "age_band,quarter"}),
        ("placement_success_rate", "admin", {"dimensions": "province,year"}),
        ("research_consent_coverage", "government", {"dimensions": "province"}),
        ("record_access_events", "admin", {"dimensions": ""}),
    ],
)
def test_csv_and_json_give_the_same_numbers(
    client: TestClient, auth: Auth, metric: str, role: str, params: dict[str, str]
) -> None:
    as_json = client.get(f"/v1/metrics/{metric}", params=params, headers=auth(role))
    as_csv = client.get(
        f"/v1/metrics/{metric}", params={**params, "format": "csv"}, headers=auth(role)
    )
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.headers["x-snapshot-id"] == as_json.json()["snapshot_id"]
    body = as_json.json()
    # Booleans as JSON writes them (and most CSV readers take), not Python's True/False.
    assert "True" not in as_csv.text and "False" not in as_csv.text
    table = pd.read_csv(io.StringIO(as_csv.text), dtype={d: str for d in body["dimensions"]})
    json_frame = _frame(body)
    assert list(table.columns[: len(body["dimensions"])]) == body["dimensions"]
    assert len(table) == len(json_frame) > 0
    value_columns = ["value", "numerator", "denominator"] if body["kind"] == "ratio" else ["value"]
    for column in [*body["dimensions"], *value_columns, "suppressed"]:
        left = table[column].tolist()
        right = json_frame[column].tolist()
        assert [None if pd.isna(v) else v for v in left] == [
            None if pd.isna(v) else v for v in right
        ], column


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("/v1/metrics/no_such_metric", {}, "unknown metric 'no_such_metric'; known metrics: children_in_care"),
        ("/v1/metrics/placements", {"dimensions": "province,colour"}, "unknown dimension 'colour' for metric 'placements'; allowed: province"),
        ("/v1/metrics/placements", {"dimensions": "sex,sex"}, "listed twice"),
        ("/v1/metrics/placements", {"dimensions": "quarter,year"}, "at most one time dimension"),
        ("/v1/metrics/placements", {"grain": "month"}, "grain 'month' is not available for metric 'placements'; available: quarter, year"),
        ("/v1/metrics/placements", {"dimensions": "quarter", "grain": "year"}, "contradicts"),
        ("/v1/metrics/children_in_care", {"dimensions": "year"}, "unknown dimension 'year'"),
        ("/v1/metrics/placements", {"from": "2025-01-01", "to": "2024-01-01"}, "is after"),
    ],
)  # fmt: skip
def test_bad_requests_get_422_with_a_clear_message(
    client: TestClient, auth: Auth, path: str, params: dict[str, str], message: str
) -> None:
    response = client.get(path, params=params, headers=auth("admin"))
    assert response.status_code == 422
    assert message in response.json()["detail"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "yesterday"}, "from"),
        ({"to": "2024-13-01"}, "to"),
        ({"province": "Jawa Barat"}, "province"),
        ({"grain": "week"}, "grain"),
        ({"format": "xml"}, "format"),
    ],
)
def test_malformed_parameters_get_422_naming_the_parameter(
    client: TestClient, auth: Auth, params: dict[str, str], field: str
) -> None:
    response = client.get("/v1/metrics/placements", params=params, headers=auth("admin"))
    assert response.status_code == 422
    body = response.json()
    assert [(e["location"], e["parameter"]) for e in body["errors"]] == [("query", field)]
    assert body["detail"].startswith(f"invalid request: {field}: ")
    assert params[field] not in body["detail"]  # what was sent is not echoed back
    if field in ("from", "to"):
        assert "YYYY-MM-DD" in body["detail"]


def test_answers_are_cached_per_snapshot_and_a_new_publish_is_served_at_once(
    client: TestClient,
    app: FastAPI,
    auth: Auth,
    publish: PublishGold,
    cube: pd.DataFrame,
    compliance: pd.DataFrame,
) -> None:
    cache: ResultCache = app.state.context.service.cache
    params = {"dimensions": "province"}

    def ask() -> dict[str, Any]:
        response = client.get("/v1/metrics/placements", params=params, headers=auth("government"))
        assert response.status_code == 200
        return response.json()

    first = ask()
    misses, hits = cache.misses, cache.hits
    assert ask() == first
    assert (cache.misses, cache.hits) == (misses, hits + 1)  # served from the cache
    # Another role's answer is a different entry, never the government's.
    client.get("/v1/metrics/placements", params=params, headers=auth("community"))
    assert cache.misses == misses + 1

    bigger = cube.copy()
    bigger["placements"] = bigger["placements"] * 3
    publish("20250201T000000000000Z", bigger, compliance)
    second = ask()
    assert second["snapshot_id"] == "20250201T000000000000Z"
    assert sum(r["value"] or 0 for r in second["rows"]) > sum(
        r["value"] or 0 for r in first["rows"]
    )
    assert client.get("/health").json()["snapshot_id"] == "20250201T000000000000Z"
    # Rolling CURRENT back serves the old snapshot's answer again.
    gold = app.state.context.settings.layout.gold
    (gold / "CURRENT").write_text("20250101T000000000000Z\n")
    assert ask() == first


def test_a_snapshot_whose_file_does_not_match_its_manifest_is_refused(
    client: TestClient, auth: Auth, lake: Any
) -> None:
    snapshot = lake / "gold" / "snapshots" / "20250101T000000000000Z"
    parquet = snapshot / "metrics_placements_cube.parquet"
    parquet.write_bytes(parquet.read_bytes()[:-10] + b"0123456789")
    response = client.get("/v1/metrics/placements", headers=auth("admin"))
    assert response.status_code == 503
    assert "does not match its manifest" in response.json()["detail"]


def test_no_snapshot_yet_is_a_clear_503(client: TestClient, auth: Auth, lake: Any) -> None:
    (lake / "gold" / "CURRENT").unlink()
    response = client.get("/v1/metrics/placements", headers=auth("admin"))
    assert response.status_code == 503 and "no gold snapshot" in response.json()["detail"]
    assert client.get("/health").status_code == 503


def test_an_answer_carries_its_etag_and_a_current_one_is_a_304_audited(
    client: TestClient,
    app: FastAPI,
    auth: Auth,
    publish: PublishGold,
    cube: pd.DataFrame,
    compliance: pd.DataFrame,
) -> None:
    """The ETag is the answer's hash, per format; If-None-Match with it gives 304 and no
    body, audited like any answer; a publish that changes the numbers changes the ETag. The
    second ask is served from the prepared bytes (the same bytes, not serialised again)."""
    from lakehouse.audit_log import HashChainedLog

    settings = app.state.context.settings
    params = {"dimensions": "province"}
    first = client.get("/v1/metrics/placements", params=params, headers=auth("government"))
    etag = first.headers["etag"]
    assert first.status_code == 200 and etag.startswith('"') and len(etag) == 42
    assert first.headers["cache-control"] == "private, no-cache"
    bodies: ResultCache = app.state.context.service.bodies
    hits = bodies.hits
    again = client.get("/v1/metrics/placements", params=params, headers=auth("government"))
    assert again.content == first.content and again.headers["etag"] == etag
    assert bodies.hits == hits + 1
    csv = client.get(
        "/v1/metrics/placements", params={**params, "format": "csv"}, headers=auth("government")
    )
    assert csv.headers["etag"] != etag  # another representation, another tag

    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        unchanged = client.get(
            "/v1/metrics/placements",
            params=params,
            headers={**auth("government"), "If-None-Match": header},
        )
        assert unchanged.status_code == 304 and unchanged.content == b"", header
        assert unchanged.headers["etag"] == etag
    stale = client.get(
        "/v1/metrics/placements",
        params=params,
        headers={**auth("government"), "If-None-Match": '"not-this-one"'},
    )
    assert stale.status_code == 200 and stale.content == first.content
    records = HashChainedLog(settings.api_audit_log).records()
    assert [r["outcome"] for r in records[-5:]] == ["not_modified"] * 4 + ["ok"]
    assert [r["status"] for r in records[-5:]] == [304] * 4 + [200]

    bigger = cube.copy()
    bigger["placements"] = bigger["placements"] * 3
    publish("20250201T000000000000Z", bigger, compliance)
    changed = client.get(
        "/v1/metrics/placements",
        params=params,
        headers={**auth("government"), "If-None-Match": etag},
    )
    assert changed.status_code == 200 and changed.headers["etag"] != etag


def test_provinces_come_with_their_names(client: TestClient, auth: Auth) -> None:
    params = {"dimensions": "province"}
    body = client.get("/v1/metrics/placements", params=params, headers=auth("admin")).json()
    names = {p.code: p.name for p in PROVINCES}
    assert body["rows"]
    for row in body["rows"]:
        code = row["dimensions"]["province"]
        assert row["labels"] == ({"province": names[code]} if code else None)
    as_csv = client.get(
        "/v1/metrics/placements", params={**params, "format": "csv"}, headers=auth("admin")
    )
    table = pd.read_csv(io.StringIO(as_csv.text), dtype={"province": str})
    assert list(table.columns[:1]) == ["province"] and table.columns[-1] == "province_name"
    assert all(
        names[c] == n for c, n in zip(table["province"], table["province_name"], strict=True)
    )
    national = client.get(
        "/v1/metrics/placements", params={"dimensions": "sex"}, headers=auth("admin")
    ).json()
    assert all(row["labels"] is None for row in national["rows"])


def test_a_period_still_in_progress_on_the_reporting_date_is_marked_partial(
    client: TestClient, auth: Auth, lake: Path, cube: pd.DataFrame, compliance: pd.DataFrame
) -> None:
    """The last quarter had begun six weeks before the reporting date: its rows say partial
    (JSON and CSV), every earlier quarter's say complete, and the answer states the date."""
    publish_gold(lake, "20250201T000000000000Z", cube, compliance, date(2024, 11, 15))
    params = {"dimensions": "quarter"}
    body = client.get("/v1/metrics/placements", params=params, headers=auth("admin")).json()
    assert body["snapshot_id"] == "20250201T000000000000Z"
    assert body["reporting_date"] == "2024-11-15"
    flags = {row["dimensions"]["quarter"]: row["partial_period"] for row in body["rows"]}
    assert flags.pop("2024-Q4") is True and flags and not any(flags.values())
    as_csv = client.get(
        "/v1/metrics/placements", params={**params, "format": "csv"}, headers=auth("admin")
    )
    table = pd.read_csv(io.StringIO(as_csv.text))
    assert dict(zip(table["quarter"], table["partial_period"], strict=True))["2024-Q4"]
    total = client.get("/v1/metrics/placements", params={"dimensions": "province"},
                       headers=auth("admin")).json()  # fmt: skip
    assert all(row["partial_period"] is None for row in total["rows"])
