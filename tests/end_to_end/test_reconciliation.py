"""Every source row is either loaded or quarantined, and every planted defect is quarantined
with its reason."""

from __future__ import annotations

import json
import sqlite3

import pandas as pd
import pytest

from ingestion.contracts import load_contracts
from tests.support.pipeline import PipelineRun
from tests.support.reconcile import DEFECT_CODES, defect_mismatches


def _frames(lake, kind: str, source: str, table: str) -> pd.DataFrame:
    files = sorted((lake / kind / source / table).glob("*.parquet"))
    return (
        pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
        if files
        else pd.DataFrame()
    )


@pytest.fixture(scope="module")
def planted(pipeline_run: PipelineRun) -> dict:
    return json.loads((pipeline_run.home / "drops" / "synthetic_manifest.json").read_text())


def test_input_rows_equal_loaded_plus_quarantined(pipeline_run: PipelineRun) -> None:
    for contract in load_contracts().values():
        bronze = _frames(pipeline_run.lake, "bronze", contract.source, contract.name)
        quarantine = _frames(pipeline_run.lake, "quarantine", contract.source, contract.name)
        if contract.kind == "database":
            con = sqlite3.connect(pipeline_run.home / "sources" / f"{contract.source}.db")
            source_rows = con.execute(f"select count(*) from {contract.name}").fetchone()[0]
            con.close()
        else:
            files = sorted((pipeline_run.home / "drops").glob(contract.drop_glob))
            source_rows = sum(len(pd.read_csv(f, dtype=str)) for f in files)
        assert source_rows == len(bronze) + len(quarantine), contract.qualified_name
        assert source_rows > 0


def test_every_planted_defect_is_quarantined_with_its_reason(
    pipeline_run: PipelineRun, planted: dict
) -> None:
    defects = planted["defects"]
    assert {d["defect"] for d in defects} == DEFECT_CODES
    missing, extra = defect_mismatches(
        defects,
        load_contracts().values(),
        lambda c: _frames(pipeline_run.lake, "quarantine", c.source, c.name),
    )
    assert not missing, missing[:10]
    assert not extra, f"quarantined but not planted: {extra[:10]}"


def test_quarantine_rows_name_a_reason_and_hold_no_clear_identifier(
    pipeline_run: PipelineRun,
) -> None:
    for contract in load_contracts().values():
        quarantine = _frames(pipeline_run.lake, "quarantine", contract.source, contract.name)
        if quarantine.empty:
            continue
        assert quarantine["reason"].notna().all() and (quarantine["detail"].str.len() > 0).all()
        for record in quarantine["record_json"]:
            row = json.loads(record)
            for column in contract.tokenized_columns:
                value = row.get(column.name)
                assert value is None or "_" in value, (contract.qualified_name, column.name)
