"""The cached-answer path (an ASGI middleware before the routes) must answer exactly as the
route does: the same status, bytes, headers and audit records, over a sequence of requests
that mixes repeats it takes with everything it must leave to the route."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from lakehouse.audit_log import HashChainedLog, verify_log
from lakehouse.settings import ApiSettings, Settings
from metrics_api.api import cached_answers
from metrics_api.api.cached_answers import CachedAnswers
from metrics_api.keys import KeyStore
from metrics_api.main import create_app
from tests.support.api_fixtures import PEPPER, SNAPSHOT_ID

METRIC = "/v1/metrics/placements"
#: Headers that carry meaning (the date and length follow from the rest).
_HEADERS = (
    "content-type", "etag", "x-snapshot-id", "cache-control", "content-disposition",
    "x-perturbed", "www-authenticate", "retry-after", "x-snapshot-status",
)  # fmt: skip
#: Fields of an audit record that differ between two logs however alike the requests.
_CHAIN = ("seq", "at", "prev_hash", "hash")


def _settings(root: Path, lake_template: Path) -> Settings:
    lake = Path(shutil.copytree(lake_template, root / "lake"))
    return Settings(home=root / "home", lake_root=lake, api=ApiSettings(key_pepper=PEPPER))


@pytest.fixture
def twins(tmp_path: Path, lake_template: Path) -> Iterator[tuple[TestClient, TestClient, dict]]:
    """Two apps over copies of one lake with the same keys: one with the cached-answer path,
    one without it (its middleware taken out before the app first runs)."""
    fast, plain = (
        _settings(tmp_path / "fast", lake_template),
        _settings(tmp_path / "plain", lake_template),
    )
    store = KeyStore(fast.api_key_store, fast.api_pepper())
    keys = {
        "government": store.create("ministry", "government")[1],
        "government_32": store.create("Dinsos Jawa Barat", "government", "32")[1],
        "admin": store.create("operator", "admin")[1],
        "community": store.create("newsletter", "community")[1],
    }
    record, keys["revoked"] = store.create("former partner", "business")
    store.revoke(record.id)
    plain.api_key_store.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(fast.api_key_store, plain.api_key_store)
    without: FastAPI = create_app(plain)
    without.user_middleware = [m for m in without.user_middleware if m.cls is not CachedAnswers]
    with TestClient(create_app(fast)) as a, TestClient(without) as b:
        yield a, b, {"keys": keys, "logs": (fast.api_audit_log, plain.api_audit_log)}


def _requests(keys: dict[str, str]) -> list[tuple[str, dict[str, str], dict[str, str]]]:
    gov, scoped = {"X-API-Key": keys["government"]}, {"X-API-Key": keys["government_32"]}
    admin, community = {"X-API-Key": keys["admin"]}, {"X-API-Key": keys["community"]}
    by_province = {"dimensions": "province,quarter"}
    return [
        (METRIC, gov, by_province),  # new: the route charges it
        (METRIC, gov, by_province),  # a repeat
        (METRIC, {**gov, "X-Purpose": "quarterly report"}, {**by_province, "format": "csv"}),
        (METRIC, gov, {"dimensions": "quarter,province", "format": "csv"}),  # same query
        (METRIC, {"Authorization": f"Bearer {keys['government']}"}, by_province),
        (METRIC, scoped, {"province": "35"}),  # another province: 403, audited
        (METRIC, scoped, {"province": "35"}),
        (METRIC, scoped, {"province": "32", "dimensions": "quarter"}),
        (METRIC, scoped, {"province": "32", "dimensions": "quarter"}),
        (METRIC, admin, {"dimensions": "sex", "from": "2024-01-01", "to": "2024-12-31"}),
        (METRIC, admin, {"dimensions": "sex", "from": "2024-01-01", "to": "2024-12-31"}),
        (METRIC, admin, {"dimensions": "nonsense"}),  # unknown dimension, no budget: 422
        (METRIC, admin, {"dimensions": "nonsense"}),
        (METRIC, community, {"dimensions": "sex"}),
        (METRIC, community, {"dimensions": "sex"}),  # perturbed, repeated
        (METRIC, gov, {"dimensions": "sex", "from": "2024-1-1"}),  # not ISO: the route's 422
        (METRIC, gov, {"dimensions": "sex", "from": "2024-13-01"}),
        (METRIC, gov, {"dimensions": "sex", "grain": "week"}),
        (METRIC, gov, {"dimensions": "sex", "unknown": "1"}),
        (METRIC, gov, {"province": "3"}),
        (METRIC, {}, by_province),  # no key
        (METRIC, {"X-API-Key": keys["revoked"]}, by_province),
        (METRIC, {"X-API-Key": keys["government"] + "x"}, by_province),
        ("/v1/metrics/no_such_metric", gov, {}),
        ("/v1/metrics/no_such_metric", gov, {}),
        (METRIC, {**gov, "X-Purpose": "x" * 201}, by_province),  # too long: the route's 422
        (METRIC, gov, {**by_province, "snapshot": SNAPSHOT_ID}),  # not a candidate: 404
        (METRIC, community, {"dimensions": "sex", "snapshot": SNAPSHOT_ID}),  # no previews: 403
    ]


def _comparable(response: Any) -> tuple[int, bytes, dict[str, str]]:
    headers = {h: response.headers[h] for h in _HEADERS if h in response.headers}
    return response.status_code, response.content, headers


def test_the_cached_path_answers_byte_for_byte_as_the_route(
    twins: tuple[TestClient, TestClient, dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, plain, state = twins
    admitted: list[bool] = []
    admit = CachedAnswers._admit

    def spy(scope: Any) -> Any:
        result = admit(scope)
        admitted.append(result is not None)
        return result

    monkeypatch.setattr(cached_answers.CachedAnswers, "_admit", staticmethod(spy))
    for path, headers, params in _requests(state["keys"]):
        a = fast.get(path, headers=headers, params=params)
        b = plain.get(path, headers=headers, params=params)
        assert _comparable(a) == _comparable(b), (path, params, a.text[:200], b.text[:200])
        if a.status_code == 200 and "etag" in a.headers:  # and the "you have it" answer
            again = {**headers, "If-None-Match": a.headers["etag"]}
            a304, b304 = (c.get(path, headers=again, params=params) for c in (fast, plain))
            assert a304.status_code == 304 and _comparable(a304) == _comparable(b304)
    # The repeats went the short way; the new queries and every malformed request did not.
    assert sum(admitted) >= 12, admitted
    assert not all(admitted)

    logs = [HashChainedLog(path).records() for path in state["logs"]]
    assert len(logs[0]) == len(logs[1]) > 20
    for x, y in zip(*logs, strict=True):
        assert {k: v for k, v in x.items() if k not in _CHAIN} == {
            k: v for k, v in y.items() if k not in _CHAIN
        }
    assert all(verify_log(path)[0] for path in state["logs"])


def test_the_cached_path_takes_only_the_strict_form_of_each_parameter() -> None:
    strict = cached_answers._strict_query
    assert strict(b"dimensions=province,quarter&from=2024-01-01&format=csv") == {
        "dimensions": "province,quarter", "from": "2024-01-01", "format": "csv",
    }  # fmt: skip
    assert strict(b"") == {}
    for raw in (
        b"dimensions=sex&dimensions=province",  # given twice
        b"dimensions=",  # empty
        b"from=2024-1-1", b"to=2024-02-30", b"province=3", b"province=321", b"grain=week",
        b"format=xml", b"snapshot=20260101T000000000000Z", b"dimensions=" + b"a" * 201,
    ):  # fmt: skip
        assert strict(raw) is None, raw
