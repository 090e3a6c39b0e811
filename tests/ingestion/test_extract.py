"""Extraction: incremental by watermark, values as the source stores them, drops by content."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from ingestion.contracts import load_contracts
from ingestion.extract import (
    extract_since,
    lookup_column,
    max_watermark,
    pending_drops,
    read_columns_where_in,
    read_drop,
)

CONTRACTS = load_contracts()
CONSENTS = CONTRACTS["consent.consents"]
DROP = CONTRACTS["gov_registry.verifications"]


@pytest.fixture
def consent_db(tmp_path: Path) -> str:
    """A consent service database with odd values a driver might "helpfully" coerce."""
    url = f"sqlite:///{tmp_path / 'consent.db'}"
    engine = sa.create_engine(url)
    columns = [c.name for c in CONSENTS.extracted_columns]
    with engine.begin() as conn:
        conn.execute(sa.text(f"create table consents ({', '.join(f'{c} text' for c in columns)})"))
        for i, stamp in enumerate(
            ["2026-01-01 10:00:00.000001", "2026-01-02 10:00:00.000000", "2026-01-03 09:00:00.5"]
        ):
            row = dict.fromkeys(columns, None) | {
                "consent_id": f"C{i}",
                "child_id": "CH1",
                "updated_at": stamp,
            }
            if "granted_at" in row:
                row["granted_at"] = "not a date" if i == 2 else "2026-01-01"
            conn.execute(
                sa.text(f"insert into consents values ({', '.join(':' + c for c in columns)})"),
                row,
            )
    engine.dispose()
    return url


def test_extract_reads_everything_then_only_what_changed(consent_db: str) -> None:
    everything = extract_since(consent_db, CONSENTS, None)
    assert everything["consent_id"].tolist() == ["C0", "C1", "C2"]  # oldest first
    assert list(everything.columns) == [c.name for c in CONSENTS.extracted_columns]
    mark = max_watermark(everything, CONSENTS)
    assert mark == datetime(2026, 1, 3, 9, 0, 0, 500000)
    after_first = extract_since(consent_db, CONSENTS, datetime(2026, 1, 1, 10, 0, 0, 1))
    assert after_first["consent_id"].tolist() == ["C1", "C2"]  # strictly greater
    assert extract_since(consent_db, CONSENTS, mark).empty


def test_values_arrive_unconverted_so_validation_can_quarantine_them(consent_db: str) -> None:
    frame = extract_since(consent_db, CONSENTS, None)
    assert all(frame[c].dtype == object for c in frame.columns)
    if "granted_at" in frame.columns:
        assert frame.loc[2, "granted_at"] == "not a date"


def test_a_table_without_watermark_is_refused() -> None:
    with pytest.raises(ValueError, match="declares no watermark"):
        extract_since("sqlite://", DROP, None)


def test_lookups_by_key_in_chunks(consent_db: str) -> None:
    keys = ["C0", "C2", "missing", *(f"X{i}" for i in range(6000))]
    assert lookup_column(consent_db, "consents", "consent_id", "child_id", keys) == {
        "C0": "CH1",
        "C2": "CH1",
    }
    assert lookup_column(consent_db, "consents", "consent_id", "child_id", []) == {}
    frame = read_columns_where_in(
        consent_db, "consents", ["consent_id", "updated_at"], "consent_id", keys
    )
    assert sorted(frame["consent_id"]) == ["C0", "C2"]


def _drop(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


HEADER = "nik,full_name,birth_date,verification_status,verified_at,registry_reference\n"


def test_drops_are_new_by_content_not_by_name(tmp_path: Path) -> None:
    folder = tmp_path / "gov_registry"
    first = _drop(folder, "gov_registry_verification_1.csv", HEADER + "1,A,,verified,,R1\n")
    _drop(folder, "gov_registry_verification_2.csv", HEADER + "1,A,,verified,,R1\n")  # a copy
    _drop(folder, "unrelated.csv", HEADER)
    pending = pending_drops(tmp_path, DROP.drop_glob or "", set())
    assert [d.path.name for d in pending] == [
        "gov_registry_verification_1.csv",
        "gov_registry_verification_2.csv",
    ]
    assert pending[0].sha256 == pending[1].sha256
    assert pending_drops(tmp_path, DROP.drop_glob or "", {pending[0].sha256}) == []
    frame = read_drop(pending[0], DROP)
    assert frame.columns[0] == "_source_row" and frame["_source_row"].tolist() == [1]
    assert frame.loc[0, "birth_date"] is None  # empty field -> missing, never ""
    assert first.exists()


def test_a_drop_with_extra_columns_keeps_only_the_contract(tmp_path: Path) -> None:
    folder = tmp_path / "gov_registry"
    _drop(
        folder, "gov_registry_verification_1.csv", HEADER.strip() + ",extra\n1,A,,verified,,R1,zz\n"
    )
    (drop,) = pending_drops(tmp_path, DROP.drop_glob or "", set())
    frame = read_drop(drop, DROP)
    assert "extra" not in frame.columns


def test_a_drop_missing_a_column_is_rejected_whole(tmp_path: Path) -> None:
    folder = tmp_path / "gov_registry"
    _drop(folder, "gov_registry_verification_1.csv", "nik,full_name\n1,A\n")
    (drop,) = pending_drops(tmp_path, DROP.drop_glob or "", set())
    with pytest.raises(ValueError, match="missing columns"):
        read_drop(drop, DROP)
