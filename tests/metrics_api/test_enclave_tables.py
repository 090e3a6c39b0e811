"""Enclave releases are queried as frequency tables: only output-checked, perturbed counts
leave, every request is audited, and each key's different tables are budgeted per release.

The enclave release is built by the pipeline's own ``build_release`` into the test lake (which
also holds the fixture's licensed file); every expected number is recounted here from the
release's data file with plain pandas, never with the service's code.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest

from anonymization.cell_key import MAX_NOISE, METHOD
from lakehouse.audit_log import HashChainedLog
from lakehouse.reference.release_tiers import TIERS
from lakehouse.settings import Settings
from metrics_api.keys import KeyStore, parse_key_id
from orchestration.release.build import ReleasePolicy, build_release
from tests.support.api_fixtures import accept_agreement, make_release_source

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

Auth = Callable[[str], dict[str, str]]
RULES = TIERS["enclave"].queries
assert RULES is not None
T = RULES.threshold


@pytest.fixture
def enclave(lake: Path, settings: Settings, keys: dict[str, str]) -> str:
    """An enclave release whose data-use agreement the researcher key has accepted."""
    result = build_release(
        make_release_source(11, children=900), lake / "releases", b"r" * 32,
        ReleasePolicy(tier=TIERS["enclave"]),
    )  # fmt: skip
    assert result.path is not None, result.manifest
    accept_agreement(settings, keys["researcher"], result.manifest.release_id)
    return result.manifest.release_id


@pytest.fixture
def records(lake: Path, enclave: str) -> pd.DataFrame:
    return pd.read_parquet(lake / "releases" / enclave / "data.parquet")


def _ask(client: TestClient, headers: dict[str, str], release_id: str, dimensions: list[str],
         filters: dict[str, list[str]] | None = None) -> Any:  # fmt: skip
    return client.post(
        f"/v1/releases/{release_id}/tables",
        json={"dimensions": dimensions, "filters": filters or {}},
        headers=headers,
    )


def _cells(body: dict[str, Any]) -> dict[tuple[str, ...], int | None]:
    dims = body["dimensions"]
    return {tuple(c["dimensions"][d] for d in dims): c["count"] for c in body["cells"]}


def _true_counts(
    records: pd.DataFrame, dims: list[str], filters: dict[str, list[str]] | None = None
) -> pd.Series:
    chosen = records
    for column, values in (filters or {}).items():
        chosen = chosen[chosen[column].isin(values)]
    return chosen.groupby(dims).size()


def test_every_count_is_checked_against_an_independent_recount(
    client: TestClient, auth: Auth, enclave: str, records: pd.DataFrame
) -> None:
    """Shown counts are within the noise of the truth and never below the threshold; every
    true count below it, zero included, is hidden with one reason; and the noise is really
    there (some shown count differs from its true count)."""
    moved = 0
    hidden_small = hidden_zero = shown = 0
    for dims, filters in (
        (["regency_code", "sex"], None),
        (["regency_code", "sex", "case_type"], None),
        (["age_years", "regency_code"], {"disability": ["none"]}),
        (["case_type", "institution_type"], {"sex": ["F"], "regency_code": ["3201", "3507"]}),
        (["admission_year", "sex"], None),
        (["age_years", "regency_code", "disability"], None),
    ):
        response = _ask(client, auth("researcher"), enclave, dims, filters)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["release_id"] == enclave and body["tier"] == "enclave"
        assert body["method"] == METHOD and body["threshold"] == T
        assert body["max_abs_noise"] == MAX_NOISE
        truth = _true_counts(records, dims, filters)
        assert len(body["cells"]) == body["row_count"]
        for cell in body["cells"]:
            key = tuple(cell["dimensions"][d] for d in dims)
            true = int(truth.get(key if len(dims) > 1 else key[0], 0))
            if cell["count"] is None:
                assert true < T, (dims, key, true)
                assert cell["suppressed"] and cell["suppression_reason"] == (
                    f"fewer than {T} children (0 included): not shown"
                )
                hidden_zero += true == 0
                hidden_small += true > 0
            else:
                assert true >= T and not cell["suppressed"], (dims, key, true)
                assert cell["count"] >= T and abs(cell["count"] - true) <= MAX_NOISE
                shown += 1
                moved += cell["count"] != true
        # Every cell of a count at least T is listed: no shown count is left out of a table.
        listed = {tuple(c["dimensions"][d] for d in dims) for c in body["cells"]}
        big = truth[truth >= T]
        assert {k if isinstance(k, tuple) else (k,) for k in big.index} <= listed
        assert body["suppressed_cells"] == sum(c["suppressed"] for c in body["cells"])
    assert shown > 20 and hidden_small > 20 and hidden_zero > 5  # the fixture reaches every case
    assert moved > shown // 4  # perturbed: about 5 in 8 counts move


def test_the_same_cell_gives_the_same_number_however_it_is_asked(
    client: TestClient, auth: Auth, enclave: str, records: pd.DataFrame
) -> None:
    """Asked twice, with the dimensions in another order, or reached through a filter instead
    of a dimension: the same records, the same number (averaging draws nothing new); and a
    repeat costs no budget."""
    headers = auth("researcher")
    first = _ask(client, headers, enclave, ["regency_code", "sex"]).json()
    again = _ask(client, headers, enclave, ["regency_code", "sex"]).json()
    swapped = _ask(client, headers, enclave, ["sex", "regency_code"]).json()
    assert again["cells"] == first["cells"] and again["budget_used"] == first["budget_used"] == 1
    assert swapped["budget_used"] == 1  # the same table: the set of dimensions counts
    by_cell = _cells(first)
    assert {(r, s): v for (s, r), v in _cells(swapped).items()} == by_cell
    shown = [(r, s) for (r, s), v in by_cell.items() if v is not None]
    assert shown
    for regency, sex in shown:
        by_filter = _ask(client, headers, enclave, ["sex"], {"regency_code": [regency]}).json()
        assert _cells(by_filter)[(sex,)] == by_cell[(regency, sex)]
        by_both = _ask(client, headers, enclave, ["regency_code"],
                       {"sex": [sex], "regency_code": [regency]}).json()  # fmt: skip
        assert _cells(by_both) == {(regency,): by_cell[(regency, sex)]}
    truth = _true_counts(records, ["regency_code", "sex"])
    assert any(by_cell[k] != truth[k] for k in shown)


def test_another_enclave_release_of_the_same_children_gives_the_same_numbers(
    client: TestClient, auth: Auth, enclave: str, lake: Path, records: pd.DataFrame,
    settings: Settings, keys: dict[str, str],
) -> None:  # fmt: skip
    """The record keys come from the child id, not the release's token: a second enclave
    release of the same children (new record ids, new row order) answers every table with the
    same numbers, so two releases are not two draws of noise to average."""
    later = build_release(
        make_release_source(11, children=900), lake / "releases", b"r" * 32,
        ReleasePolicy(tier=TIERS["enclave"]),
    )  # fmt: skip
    assert later.path is not None
    second = later.manifest.release_id
    accept_agreement(settings, keys["researcher"], second)
    assert not set(pd.read_parquet(later.path / "data.parquet")["record_id"]) & set(
        records["record_id"]
    )
    headers = auth("researcher")
    for dims in (["regency_code", "sex"], ["case_type", "age_years"]):
        one = _ask(client, headers, enclave, dims).json()
        two = _ask(client, headers, second, dims).json()
        assert two["cells"] == one["cells"] and two["release_id"] == second
        assert any(c["count"] is not None for c in one["cells"])


@pytest.mark.parametrize(
    ("dimensions", "filters", "message"),
    [
        (["record_id"], {}, "record_id is internal"),
        (["sex"], {"record_key": ["1"]}, "record_key is internal"),
        (["record_key"], {}, "record_key is internal"),
        (["child_id"], {}, "unknown column 'child_id'"),
        (["sex", "age_years", "regency_code", "case_type"], {}, "1 to 3 dimensions; 4 asked"),
        ([], {}, "1 to 3 dimensions; 0 asked"),
        (["sex", "sex"], {}, "each dimension once"),
        (["sex"], {"age_years": ["1"], "case_type": ["neglect"], "disability": ["none"]},
         "at most 2 filtered columns; 3 asked"),
        (["sex"], {"age_years": []}, "none for age_years"),
        (["regency_code", "age_years"], {"regency_code": [str(i) for i in range(1000)]},
         "more than 10000"),
    ],
)  # fmt: skip
def test_a_question_the_tier_does_not_allow_is_refused_audited_and_free(
    client: TestClient, auth: Auth, enclave: str, settings: Settings,
    dimensions: list[str], filters: dict[str, list[str]], message: str,
) -> None:  # fmt: skip
    response = _ask(client, auth("researcher"), enclave, dimensions, filters)
    assert response.status_code == 422 and message in response.json()["detail"]
    (record,) = HashChainedLog(settings.api_audit_log).records()
    assert (record["outcome"], record["status"], record["rows"]) == ("refused", 422, 0)
    assert record["parameters"] == {"dimensions": dimensions, "filters": filters}
    assert record["release_id"] == enclave
    ok = _ask(client, auth("researcher"), enclave, ["sex"]).json()
    assert ok["budget_used"] == 1  # the refusal took no place in the budget


@pytest.mark.parametrize(
    "role", ["admin", "government", "government_32", "business", "community", "media"]
)
def test_only_researchers_may_query_and_refusals_are_audited(
    client: TestClient, auth: Auth, enclave: str, settings: Settings, role: str
) -> None:
    response = _ask(client, {**auth(role), "X-Purpose": "curious"}, enclave, ["sex"])
    assert response.status_code == 403 and "researcher keys only" in response.json()["detail"]
    (record,) = HashChainedLog(settings.api_audit_log).records()
    assert (record["outcome"], record["status"]) == ("denied", 403)
    assert record["role"] == role.removesuffix("_32")
    assert record["release_id"] == enclave and record["purpose"] == "curious"
    assert record["parameters"] == {"dimensions": ["sex"], "filters": {}}


def test_a_downloadable_release_is_refused_with_where_to_download_it(
    client: TestClient, auth: Auth, lake: Path, settings: Settings
) -> None:
    (licensed,) = [p.name for p in (lake / "releases").glob("research-*")]
    response = _ask(client, auth("researcher"), licensed, ["sex"])
    assert response.status_code == 409
    assert f"/v1/releases/{licensed}/download" in response.json()["detail"]
    (record,) = HashChainedLog(settings.api_audit_log).records()
    assert (record["outcome"], record["status"], record["release_id"]) == (
        "refused", 409, licensed,
    )  # fmt: skip


def test_a_successful_table_is_audited_with_its_question_and_cell_count(
    client: TestClient, auth: Auth, enclave: str, settings: Settings, keys: dict[str, str]
) -> None:
    filters = {"sex": ["F", "M"], "disability": ["none"]}
    response = _ask(client, {**auth("researcher"), "X-Purpose": "DUA-2026-017"}, enclave,
                    ["case_type", "regency_code"], filters)  # fmt: skip
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    (record,) = HashChainedLog(settings.api_audit_log).records()
    assert record["key_id"] == parse_key_id(keys["researcher"])
    assert (record["outcome"], record["status"], record["method"]) == ("ok", 200, "POST")
    assert record["parameters"] == {"dimensions": ["case_type", "regency_code"],
                                    "filters": filters}  # fmt: skip
    assert record["rows"] == len(response.json()["cells"]) > 0
    assert record["purpose"] == "DUA-2026-017" and record["release_id"] == enclave


def test_no_table_leaves_without_an_audit_record(
    client: TestClient, auth: Auth, enclave: str, settings: Settings
) -> None:
    log = settings.api_audit_log
    log.parent.mkdir(parents=True, exist_ok=True)
    log.mkdir()  # the log path is unusable: appending fails
    response = _ask(client, auth("researcher"), enclave, ["sex"])
    assert response.status_code == 503
    assert "audit log" in response.json()["detail"] and "cells" not in response.json()


def test_the_budget_of_different_tables_per_release_is_enforced_and_audited(
    client: TestClient, auth: Auth, enclave: str, settings: Settings, key_store: KeyStore
) -> None:
    """The tier's budget of different tables per key and release: the next different table is
    a 429 (audited), a table already answered is still served, and another key has its own."""
    headers = auth("researcher")
    questions = itertools.product(["sex", "case_type"], range(18), range(2015, 2025))
    for n, (dimension, age, year) in enumerate(itertools.islice(questions, RULES.budget), 1):
        filters = {"age_years": [str(age)], "admission_year": [str(year)]}
        response = _ask(client, headers, enclave, [dimension], filters)
        assert response.status_code == 200 and response.json()["budget_used"] == n
    over = _ask(client, headers, enclave, ["regency_code"])
    assert over.status_code == 429
    body = over.json()
    assert body["limit"] == "distinct_queries_per_release"
    assert "never for this release" in body["resets"]
    assert int(over.headers["retry-after"]) >= 1
    records = HashChainedLog(settings.api_audit_log).records()
    assert len(records) == RULES.budget + 1
    assert (records[-1]["outcome"], records[-1]["status"]) == ("budget_exhausted", 429)
    assert records[-1]["parameters"] == {"dimensions": ["regency_code"], "filters": {}}
    repeat = _ask(client, headers, enclave, ["sex"], {"age_years": ["0"],
                                                      "admission_year": ["2015"]})  # fmt: skip
    assert repeat.status_code == 200
    _, second = key_store.create("second researcher", "researcher")
    assert _ask(client, {"X-API-Key": second}, enclave, ["sex"]).status_code == 403
    accept_agreement(settings, second, enclave)  # its own agreement, its own budget
    other = _ask(client, {"X-API-Key": second}, enclave, ["regency_code"])
    assert other.status_code == 200 and other.json()["budget_used"] == 1


def test_the_detail_of_an_enclave_release_says_how_to_query_it(
    client: TestClient, auth: Auth, enclave: str, lake: Path
) -> None:
    detail = client.get(f"/v1/releases/{enclave}", headers=auth("business")).json()
    assert detail["download_formats"] == [] and detail["downloadable"] is False
    query = detail["query"]
    assert query["endpoint"] == f"POST /v1/releases/{enclave}/tables"
    assert set(query["columns"]) == {
        "age_years", "sex", "regency_code", "disability", "admission_year", "case_type",
        "institution_type",
    }  # fmt: skip
    assert (query["threshold"], query["max_dimensions"], query["max_filters"]) == (T, 3, 2)
    assert query["budget"] == RULES.budget and query["max_abs_noise"] == MAX_NOISE
    assert "record_key" in detail["data_dictionary"]  # described, as internal
    (licensed,) = [p.name for p in (lake / "releases").glob("research-*") if p.name != enclave]
    file = client.get(f"/v1/releases/{licensed}", headers=auth("business")).json()
    assert file["query"] is None and file["download_formats"] == ["csv", "parquet"]


def test_no_question_on_real_columns_makes_the_service_fail(
    client: TestClient, auth: Auth, enclave: str, records: pd.DataFrame
) -> None:
    """Generated questions over the release's own columns (and the internal ones), with
    generated filter values (unicode digits, empty strings, values that occur and values that
    do not): answered or refused, never a 5xx; an answer lists no count below the threshold.
    (The schemathesis test fuzzes the body's shape; it rarely names a real column.)"""
    from hypothesis import HealthCheck, example, given, settings
    from hypothesis import strategies as st

    columns = list(records.columns)
    queryable = [c for c in columns if c not in ("record_id", "record_key")]
    known = st.sampled_from(sorted(set(records["age_years"]) | set(records["regency_code"])))
    values = st.lists(st.one_of(known, st.text(max_size=6)), max_size=4)
    headers = auth("researcher")
    statuses: list[int] = []

    @given(
        dims=st.one_of(
            st.lists(st.sampled_from(queryable), min_size=1, max_size=3, unique=True),
            st.lists(st.sampled_from(columns), max_size=4),
        ),
        filters=st.one_of(
            st.dictionaries(st.sampled_from(queryable), values, max_size=2),
            st.dictionaries(st.sampled_from(columns), values, max_size=3),
        ),
    )
    @example(dims=["age_years"], filters={"age_years": ["\u00b2", "3", ""]})  # "²".isdigit()
    @settings(max_examples=120, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def run(dims: list[str], filters: dict[str, list[str]]) -> None:
        response = _ask(client, headers, enclave, dims, filters)
        statuses.append(response.status_code)
        assert response.status_code in (200, 422, 429), response.text
        if response.status_code == 200:
            counts = [c["count"] for c in response.json()["cells"] if c["count"] is not None]
            assert all(n >= T for n in counts)

    run()
    assert statuses.count(200) > 20 and 422 in statuses


def test_the_docs_state_the_tiers_query_rules() -> None:
    """The numbers the docs give a researcher are the tier's (declared once)."""
    repo = Path(__file__).resolve().parents[2]
    docs = (repo / "docs" / "research-releases.md").read_text(encoding="utf-8")
    section = docs.split("## Querying the enclave", 1)[1].split("\n## ", 1)[0]
    assert f"below the threshold ({T})" in section
    assert f"1 to {RULES.max_dimensions} `dimensions` and up to {RULES.max_filters}" in section
    assert f"{RULES.budget} different tables of a release" in section
    readme = (repo / "metrics_api" / "README.md").read_text(encoding="utf-8")
    assert f"`QueryRules.budget` ({RULES.budget})" in readme
    assert f"counts below {T}, zero included, hidden" in readme
