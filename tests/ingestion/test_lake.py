"""Ingestion's state in the lake: watermarks and drops survive a restart; keys come from bronze."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd

from ingestion.contracts import load_contracts
from ingestion.lake import IngestionState, known_keys
from lakehouse.files import write_parquet_atomic
from lakehouse.layout import LakeLayout

CHILDREN = load_contracts()["child_registry.children"]


def test_state_round_trips(tmp_path: Path) -> None:
    path = LakeLayout(tmp_path).ingestion_state(CHILDREN)
    state = IngestionState.load(path)
    assert state.watermark is None and state.drops == []
    state.watermark_value = "2026-01-02T03:04:05.000006"
    state.drops.append("ab" * 32)
    state.save()
    again = IngestionState.load(path)
    assert again.watermark == datetime(2026, 1, 2, 3, 4, 5, 6) and again.drops == ["ab" * 32]


def test_known_keys_are_the_primary_keys_in_bronze(tmp_path: Path) -> None:
    layout = LakeLayout(tmp_path)
    assert known_keys(layout, CHILDREN) == set()
    for batch, ids in (("b1", ["CH1", "CH2"]), ("b2", ["CH2", None, "CH3"])):
        write_parquet_atomic(pd.DataFrame({"child_id": ids}), layout.bronze_file(CHILDREN, batch))
    assert known_keys(layout, CHILDREN) == {"CH1", "CH2", "CH3"}
