"""No identifier from the sources in any output; the release verified independently."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from pycanon import anonymity

from tests.support.leak_scan import IdentifierSet, scan
from tests.support.pipeline import PipelineRun

QIS = ["age_years", "sex", "regency_code", "disability", "admission_year"]


def _lake_texts(lake: Path) -> list[tuple[str, str]]:
    """Every file under the lake except the vault and the warehouse's binary parts (read
    through the engine instead): raw bytes, and Parquet contents."""
    out = []
    for path in lake.rglob("*"):
        parts = path.relative_to(lake).parts
        if not path.is_file() or parts[0] in ("restricted", "warehouse"):
            continue
        out.append((str(path), path.read_bytes().decode("utf-8", errors="ignore")))
        if path.suffix == ".parquet":
            out.append((str(path), pd.read_parquet(path).astype(str).to_csv(index=False)))
    return out


def test_the_identifier_scan_finds_what_it_looks_for(pipeline_run: PipelineRun) -> None:
    identifiers = pipeline_run.source_identifiers()
    assert len(identifiers.names) > 300 and len(identifiers.numbers) > 300
    # Sorted, not the first of a set: set order changes with the hash seed of the process.
    name = " ".join(sorted(identifiers.names)[0]).upper()
    number = sorted(identifiers.numbers)[0]
    hits = identifiers.find(f"catatan: {name}, tel {number[:4]}-{number[4:8]} {number[8:]}.")
    # The name and the number, whatever else they contain (a shorter name inside a longer
    # one, "karimah widiastuti" in "oni karimah widiastuti", is a hit of its own).
    assert f"{number[:4]}…" in hits and f"{name[:2].lower()}…" in hits, hits
    assert identifiers.find("catatan: [person_name:nm_0123abcd] tel [phone:ph_99aa]") == []


def test_no_source_identifier_anywhere_in_the_lake_outside_the_vault(
    pipeline_run: PipelineRun,
) -> None:
    identifiers = pipeline_run.source_identifiers()
    texts = _lake_texts(pipeline_run.lake)
    assert any(p.endswith(".parquet") for p, _ in texts)
    leaks = scan(texts, identifiers)
    assert not leaks, leaks[:5]


def test_no_source_identifier_inside_the_warehouse(pipeline_run: PipelineRun) -> None:
    identifiers = pipeline_run.source_identifiers()
    tables = pipeline_run.warehouse_dump(
        ("raw", "staging", "intermediate", "marts", "restricted", "reference")
    )
    assert len(tables) >= 15
    assert "raw.child_registry__children" in tables
    leaks = scan(tables.items(), identifiers)
    assert not leaks, f"tables holding a source identifier: {leaks[:5]}"


def _third_parties(pipeline_run: PipelineRun) -> IdentifierSet:
    """People the generator named in case notes whom no table holds (teachers, neighbours)."""
    manifest = json.loads((pipeline_run.home / "drops" / "synthetic_manifest.json").read_text())
    found = IdentifierSet()
    for name in manifest["third_party_names"]:
        found.add_name(name)
    return found


def test_no_third_party_named_in_a_note_anywhere_in_the_lake_or_the_warehouse(
    pipeline_run: PipelineRun,
) -> None:
    """The redactor has no record of these people: it must recognise them as names."""
    third = _third_parties(pipeline_run)
    assert len(third.names) > 100
    notes = pipeline_run.source_case_notes()
    assert sum(bool(third.find(n)) for n in notes) > 100, "the sources must mention them"
    leaks = scan(_lake_texts(pipeline_run.lake), third)
    assert not leaks, leaks[:5]
    tables = pipeline_run.warehouse_dump(("raw", "staging", "intermediate", "marts"))
    leaks = scan(tables.items(), third)
    assert not leaks, f"tables holding a third party's name: {leaks[:5]}"


def test_case_notes_were_redacted_with_table_tokens(pipeline_run: PipelineRun) -> None:
    notes = pd.concat(
        pd.read_parquet(p)
        for p in (pipeline_run.lake / "bronze" / "case_management" / "case_notes").glob("*.parquet")
    )
    guardians = pd.concat(
        pd.read_parquet(p)
        for p in (pipeline_run.lake / "bronze" / "child_registry" / "guardians").glob("*.parquet")
    )
    tokens_in_notes = set(re.findall(r"\[phone:(ph_[0-9a-f]+)\]", " ".join(notes["note_text"])))
    assert tokens_in_notes, "notes mention guardians' phones, which must appear as tokens"
    assert tokens_in_notes & set(guardians["phone"]), (
        "a phone in a note must carry the table's token"
    )


TIER_K = {"public_use": 11, "licensed": 5}


@pytest.fixture(scope="module", params=sorted(TIER_K))
def release(pipeline_run: PipelineRun, request: pytest.FixtureRequest) -> tuple[pd.DataFrame, dict]:
    """The run's release of each downloadable tier (the enclave extract is never handed out)."""
    from lakehouse.research_release import ResearchReleases

    found = ResearchReleases(pipeline_run.lake / "releases").latest(request.param)
    assert found is not None, f"no {request.param} release"
    return pd.read_parquet(found.path / "data.parquet"), json.loads(
        (found.path / "privacy_report.json").read_text()
    )


def test_release_is_k_anonymous_and_l_diverse_by_pycanon(
    release: tuple[pd.DataFrame, dict],
) -> None:
    data, report = release
    frame = data.reset_index(drop=True)
    assert not frame[QIS].isna().any().any(), "suppressed values must be '*', never NaN"
    k = anonymity.k_anonymity(frame, QIS)
    l_div = anonymity.l_diversity(frame, QIS, ["case_type"])
    assert k >= TIER_K[report["tier"]] and l_div >= 2
    assert k == report["k"] and l_div == report["l"]


def test_release_is_k_anonymous_and_l_diverse_by_groupby(
    release: tuple[pd.DataFrame, dict],
) -> None:
    data, report = release
    groups = data.groupby(QIS, dropna=False)
    assert groups.size().min() >= TIER_K[report["tier"]]
    assert groups["case_type"].nunique().min() >= 2
    assert report["quasi_identifiers"] == QIS
    assert report["released_rows"] == len(data)


def test_release_only_holds_research_consenting_children(
    pipeline_run: PipelineRun, release: tuple[pd.DataFrame, dict]
) -> None:
    data, report = release
    consenting = pipeline_run.warehouse_query(
        "select count() from intermediate.int_consents_resolved where purpose = 'research' and is_active"
    )[0][0]
    assert report["input_rows"] <= consenting
    assert len(data) <= consenting
    # Record ids are release-specific: none equals an internal child id or its token.
    assert not data["record_id"].str.startswith("CH-").any()
