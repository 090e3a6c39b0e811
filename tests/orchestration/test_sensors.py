"""The drop sensor asks for a run once per drop content the lake has not ingested: not per
evaluation, and not for files an earlier run ingested (whatever the sensor's cursor holds)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from ingestion.contracts import load_contracts
from ingestion.lake import IngestionState
from lakehouse.files import sha256_file
from lakehouse.layout import LakeLayout
from orchestration.core.resources import LakehouseResource
from orchestration.sources.sensors import build_drop_sensors


def _evaluate(sensor: dg.SensorDefinition, cursor: str | None) -> dg.SensorResult:
    with dg.build_sensor_context(
        cursor=cursor, resources={"lakehouse": LakehouseResource()}
    ) as context:
        result = sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


@pytest.fixture
def drops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MERAJUT_DROPS_DIR", str(tmp_path / "drops"))
    monkeypatch.setenv("MERAJUT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MERAJUT_LAKE_ROOT", str(tmp_path / "lake"))
    folder = tmp_path / "drops" / "gov_registry"
    folder.mkdir(parents=True)
    return folder


def test_new_drop_files_trigger_one_run_each(drops: Path) -> None:
    (sensor,) = build_drop_sensors()
    assert sensor.job_name == "merajut_pipeline"
    assert _evaluate(sensor, None).run_requests in (None, [])

    (drops / "gov_registry_verification_20261101.csv").write_text("nik,full_name\n1,a\n")
    first = _evaluate(sensor, None)
    assert first.run_requests is not None and len(first.run_requests) == 1

    again = _evaluate(sensor, first.cursor)
    assert not again.run_requests, "the same file must not trigger twice"

    # A copy under another name has the same content: not new. A changed file is.
    (drops / "gov_registry_verification_copy.csv").write_text("nik,full_name\n1,a\n")
    assert not _evaluate(sensor, first.cursor).run_requests
    (drops / "gov_registry_verification_20261102.csv").write_text("nik,full_name\n2,b\n")
    later = _evaluate(sensor, first.cursor)
    assert later.run_requests is not None and len(later.run_requests) == 1


def test_a_drop_the_lake_ingested_is_not_new_whatever_the_cursor(
    drops: Path, tmp_path: Path
) -> None:
    """A new Dagster home (``dagster dev`` after ``merajut demo``) starts with an empty cursor:
    the ingestion state, not the cursor, says which drops the lake holds."""
    (sensor,) = build_drop_sensors()
    ingested = drops / "gov_registry_verification_20261101.csv"
    ingested.write_text("nik,full_name\n1,a\n")
    (contract,) = [c for c in load_contracts().values() if c.kind == "file_drop"]
    state = IngestionState(LakeLayout(tmp_path / "lake").ingestion_state(contract))
    state.drops.append(sha256_file(ingested))
    state.save()
    result = _evaluate(sensor, None)
    assert not result.run_requests and result.cursor == ""
    # One new file next to it: one run, for it alone; once ingested, the cursor forgets it.
    new = drops / "gov_registry_verification_20261102.csv"
    new.write_text("nik,full_name\n2,b\n")
    asked = _evaluate(sensor, None)
    assert asked.run_requests is not None and len(asked.run_requests) == 1
    assert asked.run_requests[0].run_key is not None
    assert asked.run_requests[0].run_key.startswith(new.name)
    state.drops.append(sha256_file(new))
    state.save()
    done = _evaluate(sensor, asked.cursor)
    assert not done.run_requests and done.cursor == ""
