"""Building a research release: k, l and the PII scan decide; ids are release-specific."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

import lakehouse.ids
from anonymization.kanonymity import AnonymizationError
from anonymization.output_checks import check_k_anonymity, check_l_diversity
from lakehouse.research_release import ResearchReleases
from orchestration.release.build import QUASI_IDENTIFIERS, ReleasePolicy, build_release
from tests.support.api_fixtures import make_release_source

KEY = b"r" * 32


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        lakehouse.ids, "utc_now", lambda: dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)
    )


def test_a_release_meets_its_policy_independently_verified(tmp_path: Path) -> None:
    source = make_release_source(5, children=400)
    result = build_release(source, tmp_path, KEY)
    assert result.path is not None, result.manifest
    releases = ResearchReleases(tmp_path)
    release = releases.get(result.manifest.release_id)
    assert release is not None
    data = pd.read_parquet(releases.data_file(release, "parquet"))
    assert check_k_anonymity(data, QUASI_IDENTIFIERS, 5).passed
    assert check_l_diversity(data, QUASI_IDENTIFIERS, "case_type", 2).passed
    assert set(data.columns) == {"record_id", *QUASI_IDENTIFIERS, "case_type", "institution_type"}
    assert not set(data["record_id"]) & set(source["child_id"])  # ids are re-tokenized
    report = releases.privacy_report(release)
    assert report["release_id"] == release.id and report["purpose"] == "research"
    assert set(releases.dictionary(release)) == set(data.columns)


def test_the_manifest_states_the_purpose_population_and_its_size(tmp_path: Path) -> None:
    result = build_release(make_release_source(5, children=400), tmp_path, KEY, None, 412)
    manifest = result.manifest
    assert (manifest.purpose, manifest.population) == ("research", "children_with_research_consent")
    assert manifest.population_children == 412 and manifest.legal_basis is not None
    assert "consent" in manifest.legal_basis


def test_two_releases_of_the_same_children_cannot_be_joined(tmp_path: Path) -> None:
    source = make_release_source(5, children=400)
    first = build_release(source, tmp_path, KEY)
    second = build_release(source, tmp_path, KEY)
    assert first.path is not None and second.path is not None
    a = pd.read_parquet(first.path / "data.parquet")
    b = pd.read_parquet(second.path / "data.parquet")
    assert len(a) == len(b) and not set(a["record_id"]) & set(b["record_id"])


def test_the_same_id_gives_the_same_bytes(tmp_path: Path, frozen: None) -> None:
    """With the id clock pinned a release is reproducible byte for byte (what the
    behaviour-unchanged test relies on)."""
    source = make_release_source(5, children=400)
    first = build_release(source, tmp_path / "a", KEY)
    second = build_release(source, tmp_path / "b", KEY)
    assert first.manifest.release_id == "research-20261101T120000000000Z"
    assert first.manifest.sha256 == second.manifest.sha256


def test_a_policy_the_data_cannot_meet_is_a_clear_error_and_writes_nothing(
    tmp_path: Path,
) -> None:
    source = make_release_source(5, children=30)
    with pytest.raises(AnonymizationError, match="no generalisation satisfies k=50"):
        build_release(source, tmp_path, KEY, ReleasePolicy(k=50, max_suppression=0.0))
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_an_identifier_in_the_output_rejects_the_release(tmp_path: Path) -> None:
    """A direct identifier that slipped into a released column fails the PII scan: only the
    rejected manifest is written, nothing is served."""
    source = make_release_source(5, children=400)
    source["institution_type"] = "lksa pak.budi@example.com"
    result = build_release(source, tmp_path, KEY)
    assert result.path is None and "pii_scan" not in result.manifest.checks_passed
    assert ResearchReleases(tmp_path).list() == []
    assert (tmp_path / "rejected" / f"{result.manifest.release_id}.json").exists()


def test_the_report_states_every_criterion_and_the_risk_as_achieved(tmp_path: Path) -> None:
    """Each declared criterion with its parameters, whether it is enforced, the value achieved
    (recomputed here by plain groupbys on the released file) and the prosecutor risk."""
    import math

    result = build_release(make_release_source(5, children=400), tmp_path, KEY)
    assert result.path is not None
    releases = ResearchReleases(tmp_path)
    release = releases.get(result.manifest.release_id)
    assert release is not None
    data = pd.read_parquet(releases.data_file(release, "parquet"))
    report = releases.privacy_report(release)
    by_name = {c["name"]: c for c in report["criteria"]}
    assert [c["name"] for c in report["criteria"] if c["enforced"]] == [
        "k_anonymity",
        "distinct_l_diversity",
    ]
    assert by_name["k_anonymity"]["holds"] and by_name["distinct_l_diversity"]["holds"]
    classes = data.groupby(list(QUASI_IDENTIFIERS))
    sizes = classes.size()
    assert by_name["k_anonymity"]["achieved"]["smallest_class"] == sizes.min() == report["k"]
    shares = classes["case_type"].value_counts(normalize=True)
    entropy = (
        (-shares * shares.map(math.log)).groupby(level=list(range(len(QUASI_IDENTIFIERS)))).sum()
    )
    assert by_name["entropy_l_diversity"]["achieved"]["lowest_entropy_l"] == pytest.approx(
        math.exp(entropy.min()), abs=1e-5
    )
    overall = data["case_type"].value_counts(normalize=True)
    emd = classes["case_type"].apply(
        lambda s: (
            0.5
            * (s.value_counts(normalize=True).reindex(overall.index, fill_value=0) - overall)
            .abs()
            .sum()
        )
    )
    assert by_name["t_closeness"]["achieved"]["largest_emd"] == pytest.approx(emd.max(), abs=1e-5)
    assert report["risk"]["prosecutor"]["highest"] == pytest.approx(1 / sizes.min(), abs=1e-6)
    assert report["risk"]["marketer"] == pytest.approx(len(sizes) / len(data), abs=1e-6)


def test_the_transformation_with_the_lower_loss_is_published_and_the_report_says_why(
    tmp_path: Path,
) -> None:
    result = build_release(make_release_source(5, children=400), tmp_path, KEY)
    assert result.path is not None
    report = ResearchReleases(tmp_path).privacy_report(
        ResearchReleases(tmp_path).get(result.manifest.release_id)  # type: ignore[arg-type]
    )
    transformation = report["transformation"]
    candidates = transformation["candidates"]
    assert set(candidates) == {"full_domain", "local_recoding"}
    losses = {name: c["information_loss"] for name, c in candidates.items()}
    assert transformation["chosen"] == min(losses, key=losses.__getitem__)
    assert report["information_loss"]["value"] == losses[transformation["chosen"]]
    assert "lowest information loss" in transformation["why"]
    assert candidates["local_recoding"]["suppressed_rows"] == 0
