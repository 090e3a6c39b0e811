"""Consent by purpose in the dbt project: every output declares a purpose, every consented one
is built from the purpose's population, and the catalog serves each role only marts of its
purpose — read from the dbt manifest, so a model cannot drift from the declaration."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from lakehouse.reference.purposes import CONSENT_PURPOSES, PURPOSES
from metrics_api.catalog import PACKAGED_CATALOG, load_catalog
from orchestration.core.dbt import parse_manifest
from orchestration.core.served import population_members, release_inputs, served_marts

POPULATIONS = "model.merajut.int_purpose_populations"


@pytest.fixture(scope="module")
def manifest_path() -> Path:
    return parse_manifest()


@pytest.fixture(scope="module")
def nodes(manifest_path: Path) -> dict[str, Any]:
    return dict(json.loads(manifest_path.read_text(encoding="utf-8"))["nodes"])


def _upstream(nodes: dict[str, Any], unique_id: str) -> set[str]:
    seen: set[str] = set()
    stack = [unique_id]
    while stack:
        for parent in nodes.get(stack.pop(), {}).get("depends_on", {}).get("nodes", []):
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen


def test_every_output_declares_a_purpose(manifest_path: Path) -> None:
    outputs = [*served_marts(manifest_path), *release_inputs(manifest_path)]
    assert outputs
    undeclared = [m.name for m in outputs if m.purpose not in PURPOSES]
    assert undeclared == [], "set meta.purpose (lakehouse/reference/purposes.py) on these"


def test_a_consented_output_is_built_from_its_purposes_population(
    manifest_path: Path, nodes: dict[str, Any]
) -> None:
    members = population_members(manifest_path)
    assert members.unique_id == POPULATIONS
    consented = [
        m
        for m in [*served_marts(manifest_path), *release_inputs(manifest_path)]
        if m.purpose in CONSENT_PURPOSES
    ]
    assert {m.purpose for m in consented} == set(CONSENT_PURPOSES)
    for model in consented:
        assert POPULATIONS in _upstream(nodes, model.unique_id), model.name
        # ... and selects the purpose its meta declares, not another one.
        sql = nodes[model.unique_id]["raw_code"]
        assert re.findall(r"purpose = '(\w+)'", sql) == [model.purpose], model.name


def test_every_catalog_source_is_a_served_mart_of_the_purpose_it_serves(
    manifest_path: Path,
) -> None:
    marts = {m.name: m for m in served_marts(manifest_path)}
    for metric in load_catalog(PACKAGED_CATALOG).metrics.values():
        for role in metric.audiences:
            rule = metric.rule_for(role)
            assert rule is not None
            assert rule.source in marts, (metric.name, rule.source)
            assert marts[rule.source].purpose == rule.purpose, (metric.name, role)


def test_dbt_accepts_exactly_the_consent_purposes(nodes: dict[str, Any]) -> None:
    checks = [
        n
        for n in nodes.values()
        if n["resource_type"] == "test"
        and n.get("test_metadata", {}).get("name") == "accepted_values"
        and n["test_metadata"]["kwargs"].get("column_name") == "purpose"
    ]
    assert {c["attached_node"] for c in checks} == {
        "model.merajut.stg_consent__consents",
        "model.merajut.int_consents_resolved",
    }
    for check in checks:
        assert tuple(check["test_metadata"]["kwargs"]["values"]) == CONSENT_PURPOSES
