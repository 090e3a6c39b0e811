"""No identifier from the sources in any output; the release verified independently."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from conftest import PipelineRun
from pycanon import anonymity

QIS = ["age_years", "sex", "regency_code", "disability", "admission_year"]


def _source_identifiers(home: Path) -> set[str]:
    """Names, NIKs and phone numbers (every format we might print) from the source databases."""
    found: set[str] = set()
    sources = home / "sources"
    queries = {
        "child_registry.db": [
            "select full_name from children",
            "select nik from children",
            "select full_name from guardians",
            "select nik from guardians",
            "select phone from guardians",
        ],
    }
    for db, sqls in queries.items():
        con = sqlite3.connect(sources / db)
        try:
            for sql in sqls:
                for (value,) in con.execute(sql):
                    if value is None:
                        continue
                    value = str(value).strip()
                    digits = re.sub(r"\D", "", value)
                    if "phone" in sql:
                        local = "0" + digits[2:] if digits.startswith("62") else digits
                        found.update({local, "62" + local[1:], "+62" + local[1:]})
                    elif "nik" in sql:
                        if len(value) >= 10:
                            found.add(value)
                    elif len(value) >= 6:
                        found.add(value)
        finally:
            con.close()
    return found


def _pattern(identifiers: set[str]) -> re.Pattern[str]:
    """Case-insensitive: the registry drop spells names in capitals."""
    ordered = sorted(identifiers, key=len, reverse=True)
    return re.compile("|".join(re.escape(i) for i in ordered), re.IGNORECASE)


def _lake_texts(lake: Path) -> list[tuple[str, str]]:
    """Every readable text under the lake except the vault: raw bytes, and Parquet contents."""
    out = []
    for path in lake.rglob("*"):
        if not path.is_file() or "restricted" in path.relative_to(lake).parts:
            continue
        raw = path.read_bytes().decode("utf-8", errors="ignore")
        out.append((str(path), raw))
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            out.append((str(path), frame.astype(str).to_csv(index=False)))
    return out


def test_no_source_identifier_anywhere_in_the_lake_outside_the_vault(
    pipeline_run: PipelineRun,
) -> None:
    identifiers = _source_identifiers(pipeline_run.home)
    assert len(identifiers) > 500  # the test is only as good as what it looks for
    texts = _lake_texts(pipeline_run.lake)
    assert any(p.endswith(".parquet") for p, _ in texts)
    pattern = _pattern(identifiers)
    leaks = [(p, m.group(0)[:3] + "…") for p, text in texts for m in [pattern.search(text)] if m]
    assert not leaks, leaks[:5]


def test_no_source_identifier_inside_the_warehouse(pipeline_run: PipelineRun) -> None:
    identifiers = _source_identifiers(pipeline_run.home)
    tables = pipeline_run.warehouse_dump(
        ("raw", "staging", "intermediate", "marts", "restricted", "reference")
    )
    assert len(tables) >= 15
    assert "raw.child_registry__children" in tables
    pattern = _pattern(identifiers)
    leaking = [name for name, text in tables.items() if pattern.search(text)]
    assert not leaking, f"tables holding a source identifier: {leaking}"


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


@pytest.fixture(scope="module")
def release(pipeline_run: PipelineRun) -> tuple[pd.DataFrame, dict]:
    path = sorted((pipeline_run.lake / "releases").glob("research-*"))[-1]
    return pd.read_parquet(path / "data.parquet"), json.loads(
        (path / "privacy_report.json").read_text()
    )


def test_release_is_k_anonymous_and_l_diverse_by_pycanon(
    release: tuple[pd.DataFrame, dict],
) -> None:
    data, report = release
    frame = data.reset_index(drop=True)
    assert not frame[QIS].isna().any().any(), "suppressed values must be '*', never NaN"
    k = anonymity.k_anonymity(frame, QIS)
    l_div = anonymity.l_diversity(frame, QIS, ["case_type"])
    assert k >= 5 and l_div >= 2
    assert k == report["k"] and l_div == report["l"]


def test_release_is_k_anonymous_and_l_diverse_by_groupby(
    release: tuple[pd.DataFrame, dict],
) -> None:
    data, report = release
    groups = data.groupby(QIS, dropna=False)
    assert groups.size().min() >= 5
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
