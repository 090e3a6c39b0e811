"""Ingestion's state in the lake: watermarks and drops survive a restart; keys come from bronze."""

from __future__ import annotations

import json
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


def test_uncommitted_batches_are_discarded_and_an_old_state_adopts_its_files(
    tmp_path: Path,
) -> None:
    from ingestion.lake import committed_files, discard_uncommitted

    layout = LakeLayout(tmp_path)
    for batch in ("b1", "b2"):
        write_parquet_atomic(
            pd.DataFrame({"child_id": [batch]}), layout.bronze_file(CHILDREN, batch)
        )
    write_parquet_atomic(pd.DataFrame({"x": [1]}), layout.quarantine_file(CHILDREN, "b3"))
    # A state that committed b1 only: b2 and b3 were left by a run that died.
    state = IngestionState.load(layout.ingestion_state(CHILDREN))
    state.batches = ["b1"]
    state.save()
    state = IngestionState.load(layout.ingestion_state(CHILDREN))
    removed = discard_uncommitted(layout, CHILDREN, state)
    assert sorted(p.stem for p in removed) == ["b2", "b3"]
    assert [p.stem for p in layout.bronze_files(CHILDREN)] == ["b1"]
    assert layout.quarantine_files(CHILDREN) == []
    # No state at all: nothing is committed yet, so a first run's leftovers go too.
    write_parquet_atomic(pd.DataFrame({"x": [1]}), layout.bronze_file(CHILDREN, "b4"))
    fresh = IngestionState(layout.ingestion_state(CHILDREN))
    assert committed_files(layout.bronze_files(CHILDREN), fresh) == []
    # A state written before batches were recorded adopts every file it finds.
    layout.ingestion_state(CHILDREN).write_text(json.dumps({"watermark": None, "drops": []}))
    old = IngestionState.load(layout.ingestion_state(CHILDREN))
    assert old.batches is None
    assert discard_uncommitted(layout, CHILDREN, old) == []
    assert old.batches == ["b1", "b4"]
