"""The main job end to end at small scale: what a new user gets from `make demo`."""

from __future__ import annotations

import json
import re

import pandas as pd

from tests.support.pipeline import PipelineRun


def test_demo_exits_zero_and_prints_the_summary(pipeline_run: PipelineRun) -> None:
    assert pipeline_run.returncode == 0, pipeline_run.stdout[-5000:]
    out = pipeline_run.stdout
    for expected in (
        "rows per source table",
        "quarantined",
        "gold snapshot",
        "research release",
        "dagster dev",
        "next steps",
        "merajut api key create",
        "merajut api serve",
        "merajut release list",
        "dashboards.provision",
    ):
        assert expected in out
    # Not on a terminal (the test captures it), lines are not cut at 80 columns.
    # (Other tests may publish into the session's run after the demo: the id is the demo's.)
    current = next(line for line in out.splitlines() if line.startswith("CURRENT:"))
    assert re.search(r"/gold/CURRENT -> \d{8}T\d{12}Z$", current.rstrip()), current


def test_current_names_a_snapshot_whose_manifest_lists_passed_checks(
    pipeline_run: PipelineRun,
) -> None:
    manifest = pipeline_run.manifest()
    assert manifest["published"] is True
    assert manifest["all_checks_passed"] is True
    passed = set(manifest["checks_passed"])
    assert {"dbt_build", "pii_scan", "research_release", "purposes"} <= passed
    assert any(name.startswith("small_cells:") for name in passed)
    snapshot = pipeline_run.current_snapshot()
    for name, entry in manifest["marts"].items():
        assert (snapshot / entry["file"]).exists(), name
        # Consent by purpose: every output says what it is for and whom it counts.
        assert entry["purpose"] and entry["population"], name
    assert set(manifest["populations"]) == {"research", "community", "media", "service"}
    assert {
        "impact_placement_outcomes_by_province_quarter",
        "gov_placement_outcomes_by_province_quarter",
        "compliance_consent_access_by_institution_month",
    } <= set(manifest["marts"])


def test_every_tier_has_a_release_with_its_privacy_report(pipeline_run: PipelineRun) -> None:
    from lakehouse.research_release import ResearchReleases

    reader = ResearchReleases(pipeline_run.lake / "releases")
    for tier, k in (("public_use", 11), ("licensed", 5)):
        release = reader.latest(tier)
        assert release is not None, tier
        report = json.loads((release.path / "privacy_report.json").read_text())
        assert {"quasi_identifiers", "k", "l", "criteria", "risk", "tier"} <= set(report)
        assert report["tier"] == tier and report["k"] >= k and report["l"] >= 2
        limit = report["suppression_limit"] * report["input_rows"] + 1e-9
        assert report["suppressed_rows"] <= limit
        assert report["risk"]["journalist"]["highest"] <= report["risk"]["prosecutor"]["highest"]
        for name in ("data.parquet", "data.csv", "data_dictionary.json", "manifest.json",
                     "report.html"):  # fmt: skip
            assert (release.path / name).exists()
    enclave = reader.latest("enclave")
    assert enclave is not None and not enclave.manifest.downloadable


def test_the_licensed_release_keeps_some_geography_finer_than_national(
    pipeline_run: PipelineRun,
) -> None:
    from lakehouse.research_release import ResearchReleases

    release = ResearchReleases(pipeline_run.lake / "releases").latest("licensed")
    assert release is not None
    regions = pd.read_parquet(release.path / "data.parquet")["regency_code"]
    # A province or a regency, or a set of them ("32|33", "3201|3204"): finer than national
    # and than an island group.
    assert regions.str.fullmatch(r"\d{2,4}(\|\d{2,4})*").any()


def test_dbt_built_every_model_and_ran_tests(pipeline_run: PipelineRun) -> None:
    summary = json.loads((pipeline_run.lake / "_state" / "dbt_last_build.json").read_text())
    from lakehouse.layout import DBT_PROJECT_DIR

    dbt_manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    models = [n for n in dbt_manifest["nodes"].values() if n["resource_type"] == "model"]
    assert summary["models_built"] == len(models)
    assert summary["models_failed"] == [] and summary["tests_failed"] == []
    assert summary["tests_run"] >= 40


def test_the_warehouse_serves_the_same_gated_snapshot(pipeline_run: PipelineRun) -> None:
    """Server-mode readers: gold._current names CURRENT's snapshot, and the stable gold views
    hold exactly the published rows."""
    manifest = pipeline_run.manifest()
    current = pipeline_run.warehouse_query(
        "select snapshot_id from gold._current order by published_at desc limit 1"
    )
    assert current == [[manifest["snapshot_id"]]]
    for name, entry in manifest["marts"].items():
        rows = pipeline_run.warehouse_query(f"select count() from gold.{name}")
        assert rows == [[entry["rows"]]], name


def test_the_published_snapshot_has_its_quality_report(pipeline_run: PipelineRun) -> None:
    """The demo's data is consistent: every declared rule is checked and none is violated;
    the outliers (if any) are listed for the approver, and the run says so."""
    from lakehouse.reference.quality_rules import OUTLIER_SERIES, VALIDATION_RULES

    snapshot = pipeline_run.current_snapshot().name
    report = json.loads(
        (pipeline_run.lake / "reports" / "quality" / f"{snapshot}.json").read_text()
    )
    assert report["rules_checked"] == len(VALIDATION_RULES) and report["violations"] == []
    assert report["series_checked"] == len(OUTLIER_SERIES) and report["not_checked"] == []
    assert "snapshot quality: 0 rule violations" in pipeline_run.stdout
