"""The metric catalog: required metrics, audience rules, and a strict loader."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from lakehouse.reference.audiences import ROLES, audience_thresholds
from lakehouse.reference.purposes import purpose_of
from metrics_api.catalog import PACKAGED_CATALOG, CatalogError, load_catalog, parse_catalog

CUBE = "metrics_placements_cube"
COMPLIANCE = "compliance_consent_access_by_institution_month"


def _raw() -> dict[str, Any]:
    return yaml.safe_load(PACKAGED_CATALOG.read_text(encoding="utf-8"))


def test_required_metrics_are_defined_on_the_right_marts() -> None:
    catalog = load_catalog(PACKAGED_CATALOG)
    expected = {
        "placements": (CUBE, "count"),
        "successful_placements": (CUBE, "count"),
        "placement_success_rate": (CUBE, "ratio"),
        "children_in_care": (COMPLIANCE, "count"),
        "research_consent_coverage": (COMPLIANCE, "ratio"),
        "record_access_events": (COMPLIANCE, "count"),
    }
    for name, (source, kind) in expected.items():
        metric = catalog.metrics[name]
        assert (metric.source, metric.kind) == (source, kind), name
    rate = catalog.metrics["placement_success_rate"]
    assert rate.count_expressions == {
        "numerator": "sum(successful)",
        "denominator": "sum(placements)",
    }
    assert catalog.metrics["placements"].time.grains == ("quarter", "year")
    assert catalog.metrics["children_in_care"].time.grains == ("month",)
    assert set(catalog.metrics["placements"].dimension_names) >= {
        "province", "quarter", "year", "sex", "age_band", "placement_type", "institution_type",
    }  # fmt: skip


def test_audience_rules() -> None:
    catalog = load_catalog(PACKAGED_CATALOG)
    defaults = audience_thresholds()
    for metric in catalog.metrics.values():
        for role in ROLES:
            rule = metric.rule_for(role)
            if rule is not None:
                assert rule.threshold >= defaults[role], (metric.name, role)
    for name in ("children_in_care", "research_consent_coverage", "record_access_events"):
        assert {r for r in ROLES if catalog.metrics[name].rule_for(r)} == {"admin", "government"}
    for name in ("placements", "successful_placements", "placement_success_rate"):
        assert {r for r in ROLES if catalog.metrics[name].rule_for(r)} == set(ROLES)
        media = catalog.metrics[name].rule_for("media")
        assert media is not None and media.finest_geography == "national"
        community = catalog.metrics[name].rule_for("community")
        assert community is not None and community.finest_geography == "province"
        assert community.threshold == 11


def test_consent_purpose_roles_are_answered_from_their_consented_cube_only() -> None:
    catalog = load_catalog(PACKAGED_CATALOG)
    for name in ("placements", "successful_placements", "placement_success_rate"):
        metric = catalog.metrics[name]
        sources = {}
        for role in ROLES:
            rule = metric.rule_for(role)
            assert rule is not None and rule.purpose == purpose_of(role).name
            sources[role] = rule.source
        assert sources == {
            "admin": CUBE,
            "government": CUBE,
            "business": CUBE,
            "researcher": f"{CUBE}_research",
            "community": f"{CUBE}_community",
            "media": f"{CUBE}_media",
        }
    for name in ("children_in_care", "research_consent_coverage", "record_access_events"):
        rule = catalog.metrics[name].rule_for("government")
        assert rule is not None and (rule.source, rule.purpose) == (COMPLIANCE, "service")


@pytest.mark.parametrize(
    ("consented", "message"),
    [
        ({}, "audience researcher is served for the research purpose"),
        ({"research": f"{CUBE}_research", "media": f"{CUBE}_media"}, "consented_sources.community"),
        ({"research": CUBE, "community": "c", "media": "m"}, "cannot be a consented source"),
        ({"research": "x", "community": "x", "media": "m"}, "a mart of its own"),
        ({"research": "r", "community": "c", "media": "m; drop"}, "identifier"),
        ({"research": "r", "community": "c", "media": "m", "service": "s"}, "consented_sources"),
    ],
)
def test_a_consent_purpose_audience_needs_its_consented_mart(
    consented: dict[str, str], message: str
) -> None:
    with pytest.raises(CatalogError, match=message):
        parse_catalog(_mutated(["metrics", "placements", "consented_sources"], consented))


def test_catalog_columns_exist_in_the_published_marts(lake: Path) -> None:
    current = (lake / "gold" / "CURRENT").read_text().strip()
    manifest = json.loads((lake / "gold" / "snapshots" / current / "manifest.json").read_text())
    for metric in load_catalog(PACKAGED_CATALOG).metrics.values():
        for source in metric.sources:
            columns = set(manifest["marts"][source]["columns"])
            assert metric.columns_used <= columns, (metric.name, metric.columns_used - columns)


def _mutated(path: list[str], value: Any) -> dict[str, Any]:
    raw = copy.deepcopy(_raw())
    node = raw
    for part in path[:-1]:
        node[part] = copy.deepcopy(node[part])  # YAML aliases share objects: copy on the way
        node = node[part]
    node[path[-1]] = value
    return raw


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["metrics", "placements", "audiences", "media", "threshold"], 3, "never loosen"),
        (["metrics", "placements", "audiences", "journalist"], {}, "journalist"),
        (["metrics", "placements", "measure"], "sum(placements); drop table x", "measure"),
        (["metrics", "placements", "measure"], "(select 1)", "measure"),
        (["metrics", "placement_success_rate", "denominator"], None, "ratio metric"),
        (["metrics", "placements", "dimensions", "year"], {"column": "quarter_start"}, "reserved"),
        (["metrics", "placements", "time", "grains"], ["week"], "grains"),
        (["metrics", "placements", "dimensions", "sex", "column"], "sex; --", "identifier"),
        (["version"], 2, "version"),
    ],
)
def test_the_loader_refuses_unsafe_or_broken_catalogs(
    path: list[str], value: Any, message: str
) -> None:
    with pytest.raises(CatalogError, match=message):
        parse_catalog(_mutated(path, value))


def test_an_explicit_stricter_threshold_is_applied() -> None:
    catalog = parse_catalog(
        _mutated(["metrics", "placements", "audiences", "government"], {"threshold": 20})
    )
    rule = catalog.metrics["placements"].rule_for("government")
    assert rule is not None and rule.threshold == 20


def test_the_packaged_limits() -> None:
    limits = load_catalog(PACKAGED_CATALOG).limits
    assert set(limits.roles) == set(ROLES)
    admin = limits.for_role("admin")
    assert admin.requests_per_minute is None and admin.distinct_queries_per_snapshot is None
    public = [limits.for_role(r) for r in ("community", "media")]
    others = [limits.for_role(r) for r in ("government", "business", "researcher")]
    for field in ("requests_per_minute", "distinct_queries_per_snapshot"):
        loosest_public = max(getattr(rule, field) for rule in public)
        assert all(getattr(rule, field) > loosest_public for rule in others), field
    assert limits.budget_retry_after_seconds > 0


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["limits"], None, "needs a `limits:` mapping"),
        (["limits", "roles", "journalist"], {"requests_per_minute": 1, "distinct_queries_per_snapshot": 1}, "journalist"),
        (["limits", "roles", "media", "requests_per_minute"], 0, "greater than 0"),
        (["limits", "roles", "media", "requests_per_minute"], -5, "greater than 0"),
        (["limits", "roles", "media", "requests_per_minute"], "10", "valid integer"),
        (["limits", "roles", "media", "requests_per_minute"], 10.0, "valid integer"),
        (["limits", "roles", "media", "requests_per_minute"], True, "valid integer"),
        (["limits", "roles", "government", "distinct_queries_per_snapshot"], None, "role government may not be unlimited"),
        (["limits", "roles", "community"], {"requests_per_minute": 5}, "distinct_queries_per_snapshot"),
        (["limits", "roles", "admin"], {"requests_per_minute": None}, "distinct_queries_per_snapshot"),
        (["limits", "roles", "media", "burst"], 5, "burst"),
        (["limits", "budget_retry_after_seconds"], 0, "greater than 0"),
        (["limits", "per_minute"], 5, "per_minute"),
    ],
)  # fmt: skip
def test_the_loader_refuses_bad_limits(path: list[str], value: Any, message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        parse_catalog(_mutated(path, value))


@pytest.mark.parametrize("role", ROLES)
def test_a_role_left_out_of_the_limits_is_refused(role: str) -> None:
    raw = copy.deepcopy(_raw())
    del raw["limits"]["roles"][role]
    with pytest.raises(CatalogError, match=f"missing: {role}"):
        parse_catalog(raw)


def test_admin_may_have_limits_too() -> None:
    limited = {"requests_per_minute": 600, "distinct_queries_per_snapshot": 10_000}
    catalog = parse_catalog(_mutated(["limits", "roles", "admin"], limited))
    assert catalog.limits.for_role("admin").requests_per_minute == 600


def test_the_readme_states_the_packaged_limits() -> None:
    readme = (PACKAGED_CATALOG.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Limits per key", 1)[1].split("\n## ", 1)[0]
    limits = load_catalog(PACKAGED_CATALOG).limits
    for role, rule in limits.roles.items():
        rpm, distinct = rule.requests_per_minute, rule.distinct_queries_per_snapshot
        shown = [("unlimited" if v is None else str(v)) for v in (rpm, distinct)]
        (row,) = [line for line in section.splitlines() if line.startswith(f"| {role} |")]
        cells = [c.strip() for c in row.strip("|").split("|")][1:]
        assert [c.split(" ")[0] for c in cells] == shown, (role, cells)
