"""A JSON answer's rows are written from the frame's columns, not through ``MetricRow``
(metrics_api/api/answer_bodies.py): every kind of answer must still be exactly what the
response model writes, byte for byte, and valid against it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from metrics_api.models import MetricResult

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

Auth = Callable[[str], dict[str, str]]

CASES = [
    # exact counts with province names, no suppression
    ("placements", "admin", {"dimensions": "province,quarter,sex"}),
    # suppressed cells (null values with a reason), a province-scoped key
    ("placements", "government", {"dimensions": "province,sex"}),
    ("placements", "government_32", {"dimensions": "province,year", "province": "32"}),
    # perturbed counts with their error bound
    ("placements", "community", {"dimensions": "province,sex,year"}),
    ("placements", "media", {"dimensions": "year"}),
    # a ratio: value, numerator, denominator (a share, or null where the denominator is 0)
    ("placement_success_rate", "business", {"dimensions": "age_band,quarter"}),
    ("placement_success_rate", "admin", {"dimensions": "province,year"}),
    ("research_consent_coverage", "government", {"dimensions": "province"}),
    # periods, partial ones, a window, a total with no breakdown
    ("placements", "government", {"grain": "quarter", "from": "2024-01-01", "to": "2024-06-30"}),
    ("placements", "admin", {"dimensions": "quarter"}),
    ("record_access_events", "admin", {"dimensions": ""}),
]


@pytest.mark.parametrize(("metric", "role", "params"), CASES)
def test_a_json_answer_is_what_the_response_model_writes(
    client: TestClient, auth: Auth, metric: str, role: str, params: dict[str, str]
) -> None:
    response = client.get(f"/v1/metrics/{metric}", params=params, headers=auth(role))
    assert response.status_code == 200, response.text
    parsed = MetricResult.model_validate_json(response.content)  # strict types, every field
    assert parsed.model_dump_json(by_alias=True).encode() == response.content
    assert parsed.row_count == len(parsed.rows) > 0
    for row in parsed.rows:
        assert (row.value is None) == row.suppressed
        assert row.perturbed == (parsed.perturbation is not None and not row.suppressed)
        assert (row.max_abs_error is not None) == row.perturbed
        if parsed.kind != "ratio":
            assert row.numerator is None and row.denominator is None
        if "province" in parsed.dimensions and row.dimensions["province"]:
            assert row.labels is not None and row.labels["province"]
