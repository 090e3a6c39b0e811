"""External drop files: a file that cannot be read is rejected whole, moved to the restricted
zone with its reason and sha256, reported, and never read again; the good ones are ingested."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from anonymization.redaction import Redactor
from anonymization.tokens import Tokenizer
from anonymization.vault import TokenVault
from ingestion.contracts import load_contracts
from ingestion.ingest import IngestionContext, ingest_table
from lakehouse.layout import LakeLayout

DROP = load_contracts()["gov_registry.verifications"]
HEADER = "nik,full_name,birth_date,verification_status,verified_at,registry_reference\n"
GOOD = HEADER + (
    "3273014506150003,Siti Aminah,2015-06-05,verified,2026-10-01 10:00:00,REG-1\n"
    "3201011203150001,Budi Santoso,2015-03-12,mismatch,2026-10-02 11:00:00,REG-2\n"
)
BROKEN = {
    "gov_registry_verification_latin1.csv": (
        HEADER + "3273014506150003,Sit\xed Am\xednah,2015-06-05,verified,,REG-3\n"
    ).encode("latin-1"),
    "gov_registry_verification_header.csv": (
        b"nik;nama;tanggal\n3273014506150003;Siti Aminah;2015-06-05\n"
    ),
    "gov_registry_verification_empty.csv": b"",
    "gov_registry_verification_quote.csv": (
        HEADER + '3273014506150003,"Siti Aminah,2015-06-05,verified,,REG-4\n'
    ).encode(),
}
REASONS = {
    "gov_registry_verification_latin1.csv": "drop_not_utf8",
    "gov_registry_verification_header.csv": "drop_wrong_columns",
    "gov_registry_verification_empty.csv": "drop_empty",
    "gov_registry_verification_quote.csv": "drop_malformed",
}


def _context(tmp_path: Path, batch: str) -> IngestionContext:
    layout = LakeLayout(tmp_path / "lake")
    tokenizer = Tokenizer(b"k" * 32)
    return IngestionContext(
        layout=layout,
        contracts=load_contracts(),
        source_urls={},
        drops_dir=tmp_path / "drops",
        tokenizer=tokenizer,
        redactor=Redactor(tokenizer),
        vault=TokenVault(layout.vault, b"v" * 32, layout.vault_audit_log),
        as_of=datetime(2026, 11, 1, 23, 59),
        batch_id=batch,
    )


@pytest.fixture
def drops(tmp_path: Path) -> Path:
    folder = tmp_path / "drops" / "gov_registry"
    folder.mkdir(parents=True)
    (folder / "gov_registry_verification_good.csv").write_text(GOOD, encoding="utf-8")
    for name, data in BROKEN.items():
        (folder / name).write_bytes(data)
    return folder


def test_broken_drops_are_quarantined_with_distinct_reasons_and_the_good_one_ingested(
    tmp_path: Path, drops: Path
) -> None:
    hashes = {name: hashlib.sha256(data).hexdigest() for name, data in BROKEN.items()}
    report = ingest_table(_context(tmp_path, "20261101T000000000000Z"), DROP)
    assert report.loaded == 2  # the good drop's two rows
    assert {r["file"]: r["reason"] for r in report.rejected_drops} == REASONS
    assert {r["file"]: r["sha256"] for r in report.rejected_drops} == hashes
    assert report.reasons == {reason: 1 for reason in REASONS.values()}
    # Moved out of the partner's folder into the restricted zone, private, byte for byte.
    assert sorted(p.name for p in drops.iterdir()) == ["gov_registry_verification_good.csv"]
    layout = LakeLayout(tmp_path / "lake")
    kept = {p.name.split("-", 1)[1]: p for p in layout.rejected_drops_dir(DROP).iterdir()}
    assert set(kept) == set(BROKEN)
    for name, path in kept.items():
        assert path.read_bytes() == BROKEN[name]
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.is_relative_to(layout.restricted)
    # The quarantine holds one file-level row per rejected drop, with no clear identifier.
    quarantine = pd.concat(
        [pd.read_parquet(p) for p in layout.quarantine_files(DROP)], ignore_index=True
    )
    files = quarantine[quarantine["row_number"] == 0]
    assert sorted(files["reason"]) == sorted(REASONS.values())
    assert {json.loads(r)["sha256"] for r in files["record_json"]} == set(hashes.values())
    text = quarantine.to_json()
    assert "Siti" not in text and "3273014506150003" not in text


def test_a_rejected_drop_is_never_read_again(tmp_path: Path, drops: Path) -> None:
    ingest_table(_context(tmp_path, "20261101T000000000000Z"), DROP)
    # The partner delivers the same broken bytes again under another name: skipped by hash.
    (drops / "gov_registry_verification_again.csv").write_bytes(
        BROKEN["gov_registry_verification_quote.csv"]
    )
    again = ingest_table(_context(tmp_path, "20261102T000000000000Z"), DROP)
    assert again.rejected_drops == [] and again.loaded == 0 and again.quarantined == 0


def test_a_crash_between_commit_and_move_is_finished_next_time(
    tmp_path: Path, drops: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_unlink = Path.unlink

    def dying_unlink(self: Path, missing_ok: bool = False) -> None:
        if self.parent == drops and "quote" in self.name:
            raise KeyboardInterrupt  # the process dies right after the commit
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", dying_unlink)
    with pytest.raises(KeyboardInterrupt):
        ingest_table(_context(tmp_path, "20261101T000000000000Z"), DROP)
    monkeypatch.setattr(Path, "unlink", real_unlink)
    later = ingest_table(_context(tmp_path, "20261102T000000000000Z"), DROP)
    assert not (drops / "gov_registry_verification_quote.csv").exists()
    assert "quote" not in " ".join(r["file"] for r in later.rejected_drops)
    assert os.listdir(drops) == ["gov_registry_verification_good.csv"]


@pytest.mark.parametrize("failing", ["bronze", "vault"])
def test_a_write_error_leaves_nothing_half_written_and_the_next_run_ingests_once(
    tmp_path: Path, drops: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """A full disk while writing bronze, or a vault that cannot be written (sqlite: database or
    disk is full): the table's run fails, nothing is committed, the next run ingests it all."""
    import errno
    import sqlite3

    import ingestion.ingest as ingest

    for name in BROKEN:
        (drops / name).unlink()
    if failing == "bronze":

        def full(self: ingest.ParquetStream) -> bool:
            self.path.write_bytes(b"PAR1 half")
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(ingest.ParquetStream, "publish", full)
    else:

        def vault_full(
            self: TokenVault, domain: str, mapping: dict[str, str], owners: object = None
        ) -> int:
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(TokenVault, "put_many", vault_full)
    with pytest.raises((OSError, sqlite3.OperationalError)):
        ingest_table(_context(tmp_path, "20261101T000000000000Z"), DROP)
    monkeypatch.undo()
    layout = LakeLayout(tmp_path / "lake")
    # What the failed write left (half a file) is not a committed batch: the next run drops it.
    report = ingest_table(_context(tmp_path, "20261102T000000000000Z"), DROP)
    assert report.loaded == 2
    frame = pd.concat([pd.read_parquet(p) for p in layout.bronze_files(DROP)])
    assert len(frame) == 2 and frame["_batch_id"].nunique() == 1
    again = ingest_table(_context(tmp_path, "20261103T000000000000Z"), DROP)
    assert again.loaded == 0
