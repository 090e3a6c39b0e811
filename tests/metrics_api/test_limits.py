"""Per-key limits: requests per minute and distinct queries per snapshot, 429s, audit, restarts.

The apps here are the fixtures' (a real published snapshot, real keys, the real audit log and
budget file); only the catalog's limits are small, and the requests-per-minute clock is a
test clock, so time moves when a test says so.
"""

from __future__ import annotations

import itertools
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
from fastapi import FastAPI

from lakehouse.audit_log import HashChainedLog, verify_log
from lakehouse.reference.audiences import ROLES
from lakehouse.settings import Settings
from metrics_api.errors import TooManyRequests
from metrics_api.keys import parse_key_id
from metrics_api.limits import QueryBudget, RequestRateLimiter, query_fingerprint
from metrics_api.main import budget_path, create_app
from tests.metrics_api.catalogs import UNREACHED, with_catalog, write_catalog
from tests.support.api_fixtures import SNAPSHOT_ID, accept_agreement

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

Auth = Callable[[str], dict[str, str]]
PublishGold = Callable[[str, pd.DataFrame, pd.DataFrame], Any]
METRIC = "/v1/metrics/placements"
RETRY_AFTER_BUDGET = 1234


class Clock:
    """Monotonic seconds that move only when the test moves them."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


Limits = dict[str, tuple[int | None, int | None]]
MakeApp = Callable[..., FastAPI]


@pytest.fixture
def make_app(settings: Settings, tmp_path: Path, clock: Clock) -> MakeApp:
    """An app over the test lake whose catalog has ``limits`` (other roles: never reached)."""

    def _make(limits: Limits) -> FastAPI:
        every: Limits = {r: (None, None) if r == "admin" else (UNREACHED, UNREACHED) for r in ROLES}
        every.update(limits)
        catalog = write_catalog(tmp_path / "limits.yml", every, retry_after=RETRY_AFTER_BUDGET)
        return create_app(with_catalog(settings, catalog), clock=clock)

    return _make


@pytest.fixture
def connect() -> Iterator[Callable[[FastAPI], TestClient]]:
    from fastapi.testclient import TestClient

    clients: list[TestClient] = []

    def _connect(app: FastAPI) -> TestClient:
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield _connect
    for client in clients:
        client.__exit__(None, None, None)


def _records(settings: Settings) -> list[dict[str, Any]]:
    return HashChainedLog(settings.api_audit_log).records()


def _query(client: TestClient, headers: dict[str, str], **params: str) -> Any:
    return client.get(METRIC, params=params, headers=headers)


# -- requests per minute ----------------------------------------------------------------------


def test_over_the_requests_per_minute_a_429_with_retry_after_is_audited_then_time_frees_it(
    make_app: MakeApp,
    connect: Callable[[FastAPI], TestClient],
    auth: Auth,
    keys: dict[str, str],
    settings: Settings,
    clock: Clock,
) -> None:
    client = connect(make_app({"community": (3, UNREACHED)}))
    headers = {**auth("community"), "X-Purpose": "community report"}
    for _ in range(3):  # at 0 s, 10 s, 20 s
        assert _query(client, headers, dimensions="sex").status_code == 200
        clock.now += 10
    refused = _query(client, headers, dimensions="sex", format="csv")  # at 30 s
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "30"  # the request at 0 s leaves the window at 60 s
    body = refused.json()
    assert body["limit"] == "requests_per_minute" and body["retry_after"] == 30
    assert body["resets"] == "in 30 s"
    assert "3 data requests per minute" in body["detail"]
    assert "rows" not in body

    record = _records(settings)[-1]
    assert record["outcome"] == "rate_limited" and record["status"] == 429
    assert record["key_id"] == parse_key_id(keys["community"]) and record["role"] == "community"
    assert record["metric"] == "placements" and record["rows"] == 0
    assert record["parameters"] == {"dimensions": "sex", "format": "csv"}
    assert record["purpose"] == "community report"
    assert [r["outcome"] for r in _records(settings)] == ["ok", "ok", "ok", "rate_limited"]
    assert verify_log(settings.api_audit_log)[0]

    # Other keys have their own window; the refused request did not take a place.
    assert _query(client, auth("government"), dimensions="sex").status_code == 200
    clock.now += 29  # 59 s: still full
    assert _query(client, headers, dimensions="sex").status_code == 429
    clock.now += 1  # 60 s: the first request has left the window
    assert _query(client, headers, dimensions="sex").status_code == 200
    assert _query(client, headers, dimensions="sex").status_code == 429


def test_downloads_share_the_key_window_and_are_audited_when_refused(
    make_app: MakeApp,
    keys: dict[str, str],
    connect: Callable[[FastAPI], TestClient],
    auth: Auth,
    lake: Path,
    settings: Settings,
) -> None:
    (release,) = (lake / "releases").glob("research-*")
    accept_agreement(settings, keys["researcher"], release.name)
    client = connect(make_app({"researcher": (2, UNREACHED)}))
    assert _query(client, auth("researcher")).status_code == 200
    download = f"/v1/releases/{release.name}/download"
    assert client.get(download, headers=auth("researcher")).status_code == 200
    refused = client.get(download, params={"format": "parquet"}, headers=auth("researcher"))
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) == 60
    assert refused.json()["limit"] == "requests_per_minute"
    record = _records(settings)[-1]
    assert record["outcome"] == "rate_limited" and record["release_id"] == release.name
    assert record["parameters"] == {"format": "parquet"}
    # Metadata is not data: listing and reading a release's dictionary are not limited.
    assert client.get("/v1/releases", headers=auth("researcher")).status_code == 200
    assert client.get("/v1/metrics", headers=auth("researcher")).status_code == 200


def test_a_refusal_that_cannot_be_audited_is_a_503(
    make_app: MakeApp, connect: Callable[[FastAPI], TestClient], auth: Auth, settings: Settings
) -> None:
    client = connect(make_app({"media": (1, UNREACHED)}))
    assert _query(client, auth("media")).status_code == 200
    log = settings.api_audit_log
    log.unlink()
    log.mkdir()  # the log path is unusable: appending fails
    response = _query(client, auth("media"))
    assert response.status_code == 503 and "audit log" in response.json()["detail"]


# -- distinct queries per snapshot --------------------------------------------------------------


def test_n_distinct_queries_then_429_and_repeats_in_any_spelling_are_still_answered(
    make_app: MakeApp,
    connect: Callable[[FastAPI], TestClient],
    auth: Auth,
    keys: dict[str, str],
    settings: Settings,
) -> None:
    client = connect(make_app({"business": (UNREACHED, 3)}))
    key = auth("business")
    first = _query(client, key, dimensions="sex,province")
    assert first.status_code == 200
    assert _query(client, key, dimensions="age_band").status_code == 200
    assert _query(client, key, dimensions="sex", grain="year").status_code == 200

    refused = _query(client, key, dimensions="placement_type", **{"from": "2024-01-01"})
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == str(RETRY_AFTER_BUDGET)
    body = refused.json()
    assert body["limit"] == "distinct_queries_per_snapshot"
    assert body["retry_after"] == RETRY_AFTER_BUDGET
    assert body["resets"] == "when a new gold snapshot is published"
    assert "3 distinct queries per snapshot" in body["detail"] and SNAPSHOT_ID in body["detail"]
    record = _records(settings)[-1]
    assert record["outcome"] == "budget_exhausted" and record["status"] == 429
    assert record["snapshot_id"] == SNAPSHOT_ID and record["metric"] == "placements"
    assert record["key_id"] == parse_key_id(keys["business"])
    assert record["parameters"] == {"dimensions": "placement_type", "from": "2024-01-01"}

    # Repeats are free: the same dimensions in another order, CSV instead of JSON, the grain
    # as a dimension instead of `grain=`, stray spaces.
    again = _query(client, key, dimensions="province,sex")
    assert again.status_code == 200

    def cells(response: Any) -> dict[tuple[str, str], Any]:
        return {(r["dimensions"]["province"], r["dimensions"]["sex"]): r["value"]
                for r in response.json()["rows"]}  # fmt: skip

    assert cells(again) == cells(first)
    assert _query(client, key, dimensions="province, sex", format="csv").status_code == 200
    assert _query(client, key, dimensions="year,sex").status_code == 200
    assert _query(client, key, dimensions="age_band", junk="ignored").status_code == 200
    # Another metric with the same breakdown is another query.
    other = client.get("/v1/metrics/successful_placements", params={"dimensions": "sex,province"}, headers=key)  # fmt: skip
    assert other.status_code == 429
    # Another key of the same role has its own budget.
    assert _query(client, auth("business_35"), dimensions="sex").status_code == 200

    listed = client.get("/v1/metrics", headers=key).json()
    assert listed["limits"] == {
        "requests_per_minute": UNREACHED,
        "distinct_queries_per_snapshot": 3,
        "distinct_queries_used": 3,
    }


def test_requests_that_get_no_answer_cost_no_budget(
    make_app: MakeApp, connect: Callable[[FastAPI], TestClient], auth: Auth
) -> None:
    client = connect(make_app({"government": (UNREACHED, 2)}))
    key = auth("government_32")
    assert _query(client, key, dimensions="colour").status_code == 422  # unknown dimension
    assert _query(client, key, dimensions="sex", format="xml").status_code == 422  # bad format
    assert _query(client, key, **{"from": "2025-01-01", "to": "2024-01-01"}).status_code == 422
    assert _query(client, key, province="35").status_code == 403  # outside the key's scope
    # Wider than the role may combine (the key's province counts as one dimension).
    assert _query(client, key, dimensions="sex,age_band").status_code == 403
    listed = client.get("/v1/metrics", headers=key).json()
    assert listed["limits"]["distinct_queries_used"] == 0
    # A scoped key's own province, named or not, is one query.
    assert _query(client, key, dimensions="sex").status_code == 200
    assert _query(client, key, dimensions="sex", province="32").status_code == 200
    assert _query(client, key, dimensions="age_band").status_code == 200
    assert _query(client, key, dimensions="institution_type").status_code == 429


def test_a_new_snapshot_starts_a_new_budget(
    make_app: MakeApp,
    connect: Callable[[FastAPI], TestClient],
    auth: Auth,
    publish: PublishGold,
    cube: pd.DataFrame,
    compliance: pd.DataFrame,
    settings: Settings,
) -> None:
    client = connect(make_app({"media": (UNREACHED, 2)}))
    key = auth("media")
    assert _query(client, key, dimensions="sex").status_code == 200
    assert _query(client, key, dimensions="age_band").status_code == 200
    assert _query(client, key, dimensions="placement_type").status_code == 429

    publish("20250201T000000000000Z", cube, compliance)
    fresh = _query(client, key, dimensions="placement_type")
    assert fresh.status_code == 200 and fresh.json()["snapshot_id"] == "20250201T000000000000Z"
    # On the new snapshot an old question is a new query: its numbers may have changed.
    assert _query(client, key, dimensions="sex").status_code == 200
    assert _query(client, key, dimensions="age_band").status_code == 429
    assert _records(settings)[-1]["snapshot_id"] == "20250201T000000000000Z"
    listed = client.get("/v1/metrics", headers=key).json()
    assert listed["snapshot_id"] == "20250201T000000000000Z"
    assert listed["limits"]["distinct_queries_used"] == 2


def test_the_budget_survives_a_restart_of_the_api(
    make_app: MakeApp,
    connect: Callable[[FastAPI], TestClient],
    auth: Auth,
    settings: Settings,
) -> None:
    limits: Limits = {"community": (UNREACHED, 2)}
    client = connect(make_app(limits))
    key = auth("community")
    assert _query(client, key, dimensions="sex").status_code == 200
    assert _query(client, key, dimensions="age_band").status_code == 200
    assert _query(client, key, dimensions="province").status_code == 429

    restarted = connect(make_app(limits))  # a new app (process state gone) over the same files
    assert _query(restarted, key, dimensions="province").status_code == 429
    assert _query(restarted, key, dimensions="age_band").status_code == 200  # a repeat
    assert restarted.get("/v1/metrics", headers=key).json()["limits"]["distinct_queries_used"] == 2

    path = budget_path(settings)
    assert path.parent == settings.api_key_store.parent  # the restricted home, not the lake
    assert not path.is_relative_to(settings.layout.root)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_admin_unlimited_when_configured_so(
    make_app: MakeApp, connect: Callable[[FastAPI], TestClient], auth: Auth, settings: Settings
) -> None:
    client = connect(make_app({"admin": (None, None), "government": (2, 2)}))
    names = ["sex", "age_band", "province", "placement_type", "institution_type"]
    breakdowns = [c for n in (1, 2, 3) for c in itertools.combinations(names, n)]
    assert len(breakdowns) > 20
    for dims in breakdowns:  # no clock movement: all in the same instant
        assert _query(client, auth("admin"), dimensions=",".join(dims)).status_code == 200
    listed = client.get("/v1/metrics", headers=auth("admin")).json()["limits"]
    assert listed == {
        "requests_per_minute": None,
        "distinct_queries_per_snapshot": None,
        "distinct_queries_used": None,
    }
    # The limited role beside it is limited.
    assert _query(client, auth("government"), dimensions="sex").status_code == 200
    assert _query(client, auth("government"), dimensions="age_band").status_code == 200
    assert _query(client, auth("government"), dimensions="province").status_code == 429


def test_the_openapi_document_describes_the_429_and_the_limits(make_app: MakeApp) -> None:
    document = make_app({"media": (7, 70)}).openapi()
    for path in ("/v1/metrics/{name}", "/v1/releases/{release_id}/download"):
        assert "Retry-After" in document["paths"][path]["get"]["responses"]["429"]["headers"]
    assert "| media | 7 | 70 |" in document["info"]["description"]
    assert "| admin | unlimited | unlimited |" in document["info"]["description"]


# -- the limiter on its own ----------------------------------------------------------------------


def test_the_fingerprint_ignores_order_format_and_spelling_of_the_grain() -> None:
    base = query_fingerprint("placements", dimensions="sex,province", date_from="2024-01-01")
    assert base == query_fingerprint(
        "placements", dimensions=" province , sex,", date_from="2024-01-01"
    )
    assert query_fingerprint("placements", dimensions="sex", grain="year") == query_fingerprint(
        "placements", dimensions="year,sex"
    )
    assert query_fingerprint("placements", scope="32") == query_fingerprint(
        "placements", province="32", scope="32"
    )
    different = [
        query_fingerprint("successful_placements", dimensions="sex,province", date_from="2024-01-01"),
        query_fingerprint("placements", dimensions="sex", date_from="2024-01-01"),
        query_fingerprint("placements", dimensions="sex,province", date_to="2024-01-01"),
        query_fingerprint("placements", dimensions="sex,province", date_from="2024-01-02"),
        query_fingerprint("placements", dimensions="sex,province", province="32",
                          date_from="2024-01-01"),
    ]  # fmt: skip
    assert len({base, *different}) == 6


def test_the_rate_limiter_is_exact_under_threads_and_bounded_in_keys() -> None:
    clock = Clock()
    limiter = RequestRateLimiter(clock, max_keys=3)
    admitted: list[int] = []
    refused: list[int] = []

    def worker() -> None:
        for _ in range(20):
            try:
                limiter.hit("k", "community", 25)
                admitted.append(1)
            except TooManyRequests:
                refused.append(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(admitted) == 25 and len(refused) == 8 * 20 - 25
    for n in range(10):
        limiter.hit(f"other-{n}", "community", 25)
    assert len(limiter._hits) == 3  # least recently seen keys dropped


def test_the_budget_is_exact_under_threads(tmp_path: Path) -> None:
    budget = QueryBudget(tmp_path / "budget.sqlite")
    admitted: list[str] = []
    refused: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        for i in range(10):
            fingerprint = f"q{n}-{i}"
            try:
                ticket = budget.admit("k", "community", "s1", fingerprint, 17, retry_after=60)
            except TooManyRequests:
                with lock:
                    refused.append(fingerprint)
                continue
            ticket.settle("s1")
            with lock:
                admitted.append(fingerprint)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(admitted) == 17 and budget.used("k", "s1") == 17
    # Every answered query is still answered, from memory or (a new process) from the file.
    for fresh in (budget, QueryBudget(tmp_path / "budget.sqlite")):
        for fingerprint in admitted:
            fresh.admit("k", "community", "s1", fingerprint, 17, retry_after=60).settle("s1")
        with pytest.raises(TooManyRequests):
            fresh.admit("k", "community", "s1", refused[0], 17, retry_after=60)


def test_the_budget_keeps_only_recent_snapshots_and_charges_what_was_answered(
    tmp_path: Path,
) -> None:
    budget = QueryBudget(tmp_path / "budget.sqlite", keep_snapshots=2)

    def ask(snapshot: str, fingerprint: str, answered_from: str | None = None) -> None:
        budget.admit("k", "media", snapshot, fingerprint, 5, retry_after=60).settle(
            answered_from or snapshot
        )

    ask("s1", "a")
    ask("s2", "a")
    assert (budget.used("k", "s1"), budget.used("k", "s2")) == (1, 1)  # a rollback keeps s1's
    ask("s3", "a")
    assert budget.used("k", "s1") == 0 and budget.used("k", "s2") == 1  # s1's rows dropped
    # A publish between admission and answer: the snapshot answered from is charged.
    ask("s3", "b", answered_from="s4")
    assert (budget.used("k", "s3"), budget.used("k", "s4")) == (1, 1)
    # A refunded admission leaves nothing behind.
    budget.admit("k", "media", "s4", "c", 5, retry_after=60).refund()
    assert budget.used("k", "s4") == 1
