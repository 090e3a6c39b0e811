"""Chunked ingestion: the chunk size changes nothing in the lake, and no chunk is larger than it.

One set of synthetic sources (with their planted defects, plus an exact repeat and a
conflicting version of rows that land in different chunks) is ingested three times with the
same key and batch id, one row, seven rows and everything at a time: bronze, quarantine (row
numbers included) and the reports must be the same. The memory bound is checked on what the
pipeline is handed, not on timings: the chunk reader and validation are instrumented.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

import ingestion.ingest as ingest
from anonymization.redaction import Redactor
from anonymization.tokens import Tokenizer
from anonymization.vault import TokenVault
from ingestion.contracts import TableContract, ingestion_order, load_contracts
from ingestion.extract import Extract
from ingestion.ingest import IngestionContext, TableIngestReport, ingest_table
from ingestion.subjects import SubjectRules, subject_links
from ingestion.synthetic import GeneratorConfig, generate_sources
from ingestion.validation import RowCheckWorker
from lakehouse.layout import LakeLayout
from lakehouse.reference.services import sqlite_source_urls

AS_OF = datetime(2026, 11, 1, 23, 59)
BATCH = "20261101T000000000000Z"
CONTRACTS = load_contracts()
ORDER = ingestion_order(CONTRACTS)
#: Chunks of one row validate each row alone (a GX run per row): these tables only.
ONE_ROW_TABLES = ("institutions.institutions", "child_registry.children")
#: Row checks of every chunked batch run in this worker, as in a real run.
WORKER = RowCheckWorker()


@dataclass
class Sources:
    urls: dict[str, str]
    drops: Path
    subjects: SubjectRules


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Sources:
    root = tmp_path_factory.mktemp("chunk_sources")
    urls = sqlite_source_urls(root / "sources")
    generate_sources(
        GeneratorConfig(children=40, seed=11, as_of=AS_OF.date()), urls, root / "drops"
    )
    children = root / "sources" / "child_registry.db"
    with sqlite3.connect(children) as conn:
        first, second = conn.execute(
            "select rowid from children order by updated_at limit 2"
        ).fetchall()
        columns = [r[1] for r in conn.execute("pragma table_info(children)")]
        listed = ", ".join(columns)
        # An exact repeat of the oldest child, read last: it is judged against the first chunk.
        conn.execute(f"insert into children select {listed} from children where rowid = ?", first)
        # A different version of the second oldest: the row already judged clean in an earlier
        # chunk must be quarantined too (neither version is trusted).
        changed = ", ".join(
            "full_name || ' Putri'" if c == "full_name" else "'2026-10-31 10:00:00.000000'"
            if c == "updated_at" else c
            for c in columns
        )  # fmt: skip
        conn.execute(f"insert into children select {changed} from children where rowid = ?", second)
        ids = [r[0] for r in conn.execute("select child_id from children order by updated_at")]
    # The repeated child's rows and another's are held apart (restricted), a third's skipped
    # (erased): held files and their duplicate verdicts must not depend on the chunks either.
    tokenizer = Tokenizer(b"t" * 32)

    def refs(*children: str) -> frozenset[str]:
        return frozenset(tokenizer.token("data_subject", c) or "" for c in children)

    rules = SubjectRules(
        tokenizer,
        links=subject_links(CONTRACTS),
        erased=refs(ids[5]),
        restricted=refs(ids[0], ids[9]),
    )
    return Sources(urls=urls, drops=root / "drops", subjects=rules)


def _ingest(
    root: Path, sources: Sources, chunk_rows: int, tables: tuple[str, ...] | None = None
) -> dict[str, TableIngestReport]:
    layout = LakeLayout(root / "lake")
    tokenizer = Tokenizer(b"t" * 32)
    ctx = IngestionContext(
        layout=layout,
        contracts=CONTRACTS,
        source_urls=sources.urls,
        drops_dir=sources.drops,
        tokenizer=tokenizer,
        redactor=Redactor(tokenizer, workers=1),
        vault=TokenVault(layout.vault, b"v" * 32, layout.vault_audit_log),
        as_of=AS_OF,
        batch_id=BATCH,
        subjects=sources.subjects,
        chunk_rows=chunk_rows,
        row_checker=WORKER,
    )
    try:
        return {
            c.qualified_name: ingest_table(ctx, c)
            for c in ORDER
            if tables is None or c.qualified_name in tables
        }
    finally:
        ctx.vault.close()


def _files(root: Path, contract: TableContract) -> dict[str, pd.DataFrame]:
    """Every output file of the table, without the columns that say when it was written."""
    layout = LakeLayout(root / "lake")
    paths = [
        *layout.bronze_files(contract),
        *layout.quarantine_files(contract),
        *sorted(layout.held_dir(contract).glob("*.parquet")),
    ]
    return {
        str(p.relative_to(root)): pd.read_parquet(p).drop(
            columns=["_extracted_at", "quarantined_at"], errors="ignore"
        )
        for p in paths
    }


def _summary(report: TableIngestReport) -> tuple[object, ...]:
    return (
        report.extracted,
        report.loaded,
        report.quarantined,
        report.reasons,
        report.watermark,
        len(report.files),
        report.skipped_erased,
        report.held_restricted,
    )


@pytest.fixture(scope="module")
def whole(sources: Sources, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("whole")
    _ingest(root, sources, 10**9)
    return root


@pytest.mark.parametrize("chunk_rows", [7, 1])
def test_the_chunk_size_changes_nothing(
    sources: Sources, whole: Path, tmp_path: Path, chunk_rows: int
) -> None:
    tables = ONE_ROW_TABLES if chunk_rows == 1 else None
    reports = _ingest(tmp_path, sources, chunk_rows, tables)
    reference = _ingest(tmp_path / "again", sources, 10**9, tables)
    for name, report in reports.items():
        assert _summary(report) == _summary(reference[name]), name
        contract = CONTRACTS[name]
        ours, theirs = _files(tmp_path, contract), _files(whole, contract)
        assert [Path(p).name for p in ours] == [Path(p).name for p in theirs], name
        for (_, a), (_, b) in zip(ours.items(), theirs.items(), strict=True):
            pd.testing.assert_frame_equal(a, b, check_dtype=False, obj=name)
        accounted = report.loaded + report.quarantined + report.skipped_erased
        assert report.extracted == accounted + report.held_restricted, name


def test_the_sources_hold_what_the_chunks_must_agree_on(whole: Path) -> None:
    """Duplicates and conflicts in bronze's quarantine, rows held and skipped: otherwise the
    test above would compare files that cannot differ."""
    files = _files(whole, CONTRACTS["child_registry.children"])
    quarantine = pd.concat(
        [f for name, f in files.items() if "quarantine" in name], ignore_index=True
    )
    assert {"duplicate_row", "conflicting_duplicate"} <= set(quarantine["reason"])
    assert any("held" in name or "restricted" in name for name in files), list(files)


def test_no_step_is_handed_more_than_a_chunk(
    sources: Sources, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks of 25 rows: every table larger than that is read and validated 25 rows at a
    time (duplicate verdicts read only the rows whose key repeats)."""
    largest: dict[str, int] = {}
    read_chunks = Extract.chunks
    validate = ingest.validate_batch

    def chunks(self: Extract, rows: int) -> Iterator[pd.DataFrame]:
        for frame in read_chunks(self, rows):
            name = f"read {self.contract.qualified_name}"
            largest[name] = max(largest.get(name, 0), len(frame))
            yield frame

    def validated(frame: pd.DataFrame, contract: TableContract, **kwargs: object) -> object:
        name = f"validated {contract.qualified_name}"
        largest[name] = max(largest.get(name, 0), len(frame))
        return validate(frame, contract, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Extract, "chunks", chunks)
    monkeypatch.setattr(ingest, "validate_batch", validated)
    reports = _ingest(tmp_path, sources, 25)
    big = [n for n, r in reports.items() if r.extracted > 50 and CONTRACTS[n].kind == "database"]
    assert len(big) >= 5, reports
    for name in big:
        assert largest[f"read {name}"] == 25, name
        assert largest[f"validated {name}"] <= 25, name
