"""Property-based conformance: no request the OpenAPI document allows makes the API fail.

Schemathesis generates requests for every operation from the app's own OpenAPI document
(valid ones, and invalid ones in negative mode) and sends them in-process over ASGI, with an
admin key and with a province-scoped key. Any 5xx fails the test.

Random metric names and release ids would only ever meet the 422/404 paths, so each operation
is also driven with its path parameter fixed to every real metric (once more with a valid
breakdown) and to the real release id: the generated dates, grains, provinces and formats
then reach the query, suppression and file code.

Why not ``@schema.parametrize()`` with ``schemathesis.pytest.from_fixture``: schemathesis
4.32's lazy loader reads ``request.node._nodeid``, which pytest 9 no longer has, so the
strategies are driven with Hypothesis' ``@given`` directly (schemathesis' Python API).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from lakehouse.reference.release_tiers import TIERS
from metrics_api.catalog import PACKAGED_CATALOG, load_catalog
from orchestration.release.build import ReleasePolicy, build_release
from tests.support.api_fixtures import make_release_source

Auth = Callable[[str], dict[str, str]]
OPERATIONS = {
    "health",
    "list_metrics",
    "query_metric",
    "list_releases",
    "get_release",
    "cite_release",
    "get_release_agreement",
    "accept_release_agreement",
    "download_release",
    "query_release_table",
    "perturbation_table",
}


def _variants(
    operation_id: str, release_id: str, enclave_id: str, researcher: dict[str, str]
) -> list[dict[str, Any]]:
    """Keyword arguments for ``as_strategy``: generated freely, then with real path values
    (the enclave's tables and the licensed file's agreement with a researcher key too, the
    only role they answer)."""
    variants: list[dict[str, Any]] = [{}]
    if operation_id == "query_metric":
        for metric in load_catalog(PACKAGED_CATALOG).metrics.values():
            variants.append({"path_parameters": {"name": metric.name}})
            breakdown = ",".join(list(metric.dimensions)[:2])
            variants.append(
                {"path_parameters": {"name": metric.name}, "query": {"dimensions": breakdown}}
            )
    elif operation_id in ("get_release", "cite_release", "download_release"):
        variants.append({"path_parameters": {"release_id": release_id}})
    elif operation_id in ("get_release_agreement", "accept_release_agreement"):
        variants.append({"path_parameters": {"release_id": release_id}})
        variants.append({"path_parameters": {"release_id": release_id}, "headers": researcher})
    elif operation_id == "query_release_table":
        variants.append({"path_parameters": {"release_id": enclave_id}})
        variants.append({"path_parameters": {"release_id": enclave_id}, "headers": researcher})
    return variants


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("key", ["admin", "government_32"])
def test_no_server_errors(
    app: FastAPI, auth: Auth, lake: Path, key: str, mode: GenerationMode
) -> None:
    (release,) = (lake / "releases").glob("research-*")
    enclave = build_release(
        make_release_source(5), lake / "releases", b"r" * 32, ReleasePolicy(tier=TIERS["enclave"])
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.definition.raw["operationId"] for op in operations} == OPERATIONS
    statuses: list[int] = []
    for operation in operations:
        operation_id = operation.definition.raw["operationId"]
        if mode == GenerationMode.NEGATIVE and not operation.definition.raw.get("parameters"):
            continue  # nothing to make invalid (health, list_*)
        variants = _variants(
            operation_id, release.name, enclave.manifest.release_id, auth("researcher")
        )
        for variant in variants:
            kwargs = {"headers": auth(key), **variant}
            strategy = operation.as_strategy(generation_mode=mode, **kwargs)

            @given(case=strategy)
            @settings(
                max_examples=12,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            def run(case: schemathesis.Case) -> None:
                response = case.call_and_validate(checks=[not_a_server_error])
                statuses.append(response.status_code)

            run()
    assert all(status < 500 for status in statuses)
    if mode == GenerationMode.POSITIVE:
        # Valid requests reached the data code, not only the validation layer.
        assert statuses.count(200) > 50
    else:
        assert 422 in statuses


def test_the_openapi_document_names_every_operation(app: FastAPI) -> None:
    document = app.openapi()
    operation_ids = {
        op["operationId"] for path in document["paths"].values() for op in path.values()
    }
    assert operation_ids == OPERATIONS
    schemes = document["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} == {"apiKey", "http"}
