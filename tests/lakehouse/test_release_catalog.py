"""The catalog keeps an entry for every release ever published: on disk, expired, withdrawn (by
an erasure or by the DPO) and retired by retention, each with a persistent identifier bound to
its records and a citation in three styles."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lakehouse.layout import LakeLayout
from lakehouse.reference.release_tiers import TIERS
from lakehouse.release_catalog import ReleaseCatalog, citation, identifier
from lakehouse.research_release import ResearchReleases
from lakehouse.retention import RetentionPolicy, RetentionRule, apply_retention, plan_retention
from lakehouse.withdrawals import withdraw_release
from orchestration.release.build import ReleasePolicy, build_release
from tests.support.api_fixtures import make_release_source


@pytest.fixture
def layout(tmp_path: Path) -> LakeLayout:
    return LakeLayout(tmp_path / "lake")


def _build(layout: LakeLayout, seed: int) -> str:
    built = build_release(make_release_source(seed), layout.releases, b"r" * 32)
    assert built.path is not None
    return built.manifest.release_id


def _catalog(layout: LakeLayout, now: datetime | None = None) -> ReleaseCatalog:
    return ReleaseCatalog(ResearchReleases(layout.releases), lambda: now or datetime.now(UTC))


def test_identifiers_are_bound_to_the_records_and_never_shared(layout: LakeLayout) -> None:
    first, second = _build(layout, 1), _build(layout, 1)  # the same children, twice
    catalog = _catalog(layout)
    entries = {e.release_id: e for e in catalog.entries()}
    assert list(entries) == [second, first]  # newest first
    assert entries[first].identifier != entries[second].identifier
    release = entries[first].release
    assert release is not None
    records_sha = release.manifest.sha256["data.parquet"]
    changed = release.manifest.model_copy(update={"sha256": {"data.parquet": "0" * 64}})
    assert identifier(changed) != identifier(release.manifest)  # the check pins the records
    assert identifier(release.manifest) == entries[first].identifier and records_sha


def test_availability_ends_by_the_tiers_days(layout: LakeLayout) -> None:
    release_id = _build(layout, 1)
    entry = _catalog(layout).entry(release_id)
    assert entry is not None and entry.status == "available" and entry.available_until
    later = datetime.fromisoformat(entry.available_until) + timedelta(seconds=1)
    expired = _catalog(layout, later).entry(release_id)
    assert expired is not None and expired.status == "expired" and expired.release is not None


def test_a_withdrawn_release_keeps_what_its_citation_needs(layout: LakeLayout) -> None:
    release_id = _build(layout, 1)
    before = _catalog(layout).entry(release_id)
    assert before is not None
    withdraw_release(layout, release_id, "held a subject whose data was erased or restricted")
    after = _catalog(layout).entry(release_id)
    assert after is not None and after.status == "withdrawn" and after.release is None
    assert (after.identifier, after.tier, after.rows, after.created_at) == (
        before.identifier, before.tier, before.rows, before.created_at,
    )  # fmt: skip
    for style in ("text", "bibtex", "ris"):
        assert before.identifier in citation(after, style)
    assert "Withdrawn." in citation(after)


def test_a_withdrawal_recorded_before_the_catalog_still_has_an_entry(layout: LakeLayout) -> None:
    """Erasures withdrew releases before withdrawals kept the catalog's metadata."""
    record = layout.releases / "withdrawn" / "research-20260101T000000000000Z.json"
    record.parent.mkdir(parents=True)
    record.write_text(
        json.dumps({"release_id": record.stem, "withdrawn_at": "2026-02-01", "reason": "erasure"})
    )
    (entry,) = _catalog(layout).entries()
    assert entry.status == "withdrawn" and entry.reason == "erasure" and entry.rows is None
    assert entry.identifier.startswith("merajutasa:research/unknown/20260101T")
    assert entry.release_id in citation(entry)


def test_a_release_the_retention_policy_removed_is_retired(layout: LakeLayout) -> None:
    """Retention removes enclave extracts past the newest (downloadable files stay)."""
    older, newer = (
        build_release(make_release_source(seed), layout.releases, b"r" * 32,
                      ReleasePolicy(tier=TIERS["enclave"])).manifest.release_id
        for seed in (1, 2)
    )  # fmt: skip
    before = _catalog(layout).entry(older)
    assert before is not None
    policy = RetentionPolicy(
        snapshots=RetentionRule(keep=1, min_age=timedelta(0)),
        enclave=RetentionRule(keep=1, min_age=timedelta(0)),
    )
    plan = plan_retention(layout, policy, datetime.now(UTC))
    assert plan.ids("release") == [older], plan
    apply_retention(layout, plan, datetime.now(UTC))
    entry = _catalog(layout).entry(older)
    assert entry is not None and entry.status == "retired" and entry.release is None
    assert entry.identifier == before.identifier and "retention policy" in (entry.reason or "")
    assert entry.tier == "enclave" and entry.downloadable is False
    assert [e.release_id for e in _catalog(layout).entries()] == [newer, older]


def test_unknown_and_malformed_ids_have_no_entry(layout: LakeLayout) -> None:
    _build(layout, 1)
    catalog = _catalog(layout)
    for bad in ("research-20000101T000000000000Z", "..", "withdrawn", "expired", "research-1"):
        assert catalog.entry(bad) is None
