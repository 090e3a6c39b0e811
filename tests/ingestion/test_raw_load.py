"""Loading bronze into the warehouse's raw schema: typed, idempotent, changed rows replace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ingestion.contracts import TableContract, load_contracts
from ingestion.lake import IngestionState
from ingestion.raw_load import (
    RAW_DATABASE,
    clickhouse_type,
    load_quarantine,
    load_table,
    raw_row_count,
    raw_table_ddl,
)
from lakehouse.files import write_parquet_atomic
from lakehouse.layout import LakeLayout

CONSENTS = load_contracts()["consent.consents"]


def _commit(layout: LakeLayout, contract: TableContract, batch_id: str) -> None:
    state = IngestionState.load(layout.ingestion_state(contract))
    assert state.batches is not None
    state.batches.append(batch_id)
    state.save()


def _batch(
    layout: LakeLayout,
    contract: TableContract,
    batch_id: str,
    rows: list[dict],
    commit: bool = True,
) -> None:
    frame = pd.DataFrame(rows)
    for column in contract.columns:
        if column.name not in frame:
            frame[column.name] = None
    frame["_batch_id"] = batch_id
    write_parquet_atomic(frame, layout.bronze_file(contract, batch_id))
    if commit:
        _commit(layout, contract, batch_id)


def _consent(consent_id: str, updated_at: str, granted: bool = True) -> dict[str, Any]:
    return {
        "consent_id": consent_id,
        "child_id": "CH1",
        "purpose": "research",
        "granted": granted,
        "granted_at": pd.Timestamp("2026-01-01"),
        "updated_at": pd.Timestamp(updated_at),
    }


@pytest.fixture
def raw(chdb_client: Any) -> Any:
    chdb_client.command(f"drop database if exists {RAW_DATABASE}")
    yield chdb_client
    chdb_client.command(f"drop database if exists {RAW_DATABASE}")


def test_types_follow_the_contract() -> None:
    by_name = {c.name: c for c in CONSENTS.columns}
    assert clickhouse_type(by_name["consent_id"]) == "String"  # required: not nullable
    assert clickhouse_type(by_name["revoked_at"]) == "Nullable(DateTime64(6))"
    assert clickhouse_type(by_name["granted"]) == "Bool"
    assert clickhouse_type(by_name["child_id"]) == "String"
    ddl = raw_table_ddl(CONSENTS)
    assert "ReplacingMergeTree(_loaded_at)" in ddl and "order by (`consent_id`)" in ddl


def test_batches_load_once_and_a_changed_row_replaces_the_old(raw: Any, tmp_path: Path) -> None:
    layout = LakeLayout(tmp_path)
    _batch(
        layout,
        CONSENTS,
        "20260101T000000000000Z",
        [_consent("C1", "2026-01-01"), _consent("C2", "2026-01-01")],
    )
    assert load_table(raw, layout, CONSENTS) == 2
    assert load_table(raw, layout, CONSENTS) == 0  # a re-run (or a crash before) adds nothing
    _batch(
        layout, CONSENTS, "20260102T000000000000Z", [_consent("C1", "2026-01-02", granted=False)]
    )
    assert load_table(raw, layout, CONSENTS) == 1
    assert raw_row_count(raw, CONSENTS) == 2  # read with `final`: C1's newer version wins
    (granted,) = raw.query(
        f"select granted from {RAW_DATABASE}.{CONSENTS.identifier} final where consent_id = 'C1'"
    ).result_rows[0]
    assert granted is False


def test_quarantine_batches_load_once(raw: Any, tmp_path: Path) -> None:
    layout = LakeLayout(tmp_path)
    frame = pd.DataFrame(
        {
            "source_table": ["consent.consents"],
            "batch_id": ["b1"],
            "row_number": pd.array([1], dtype="UInt32"),
            "source_row": pd.array([None], dtype="UInt32"),
            "record_key": ["C9"],
            "reason": ["missing_required"],
            "reason_column": ["purpose"],
            "detail": ["purpose: expect_column_values_to_not_be_null"],
            "record_json": ['{"consent_id": "C9"}'],
            "quarantined_at": [pd.Timestamp("2026-01-01")],
        }
    )
    write_parquet_atomic(frame, layout.quarantine_file(CONSENTS, "b1"))
    write_parquet_atomic(frame.iloc[0:0], layout.quarantine_file(CONSENTS, "b2"))  # empty batch
    _commit(layout, CONSENTS, "b1")
    _commit(layout, CONSENTS, "b2")
    assert load_quarantine(raw, layout, [CONSENTS]) == 1
    assert load_quarantine(raw, layout, [CONSENTS]) == 0
    rows = raw.query(
        f"select reason, record_key from {RAW_DATABASE}.ingestion__quarantine"
    ).result_rows
    assert rows == [("missing_required", "C9")]


def test_only_committed_batches_load_and_an_incomplete_one_is_completed(
    raw: Any, tmp_path: Path
) -> None:
    """A batch a killed ingest never committed is not loaded; one a killed load left half in
    the table is inserted again, and the repeated rows collapse under ``final``."""
    layout = LakeLayout(tmp_path)
    rows = [_consent(f"C{i}", "2026-01-01") for i in range(4)]
    _batch(layout, CONSENTS, "20260101T000000000000Z", rows)
    _batch(layout, CONSENTS, "20260102T000000000000Z", [_consent("C9", "2026-01-02")], commit=False)
    # As if a load had been killed after inserting part of the first batch.
    raw.command(f"create database if not exists {RAW_DATABASE}")
    raw.command(raw_table_ddl(CONSENTS))
    half = pd.read_parquet(layout.bronze_file(CONSENTS, "20260101T000000000000Z")).iloc[:2]
    from ingestion.raw_load import _for_insert

    raw.insert_df(f"{RAW_DATABASE}.{CONSENTS.identifier}", _for_insert(half, CONSENTS))
    assert load_table(raw, layout, CONSENTS) == 4
    assert raw_row_count(raw, CONSENTS) == 4  # C0..C3 once each; C9 was never committed
    assert load_table(raw, layout, CONSENTS) == 0
