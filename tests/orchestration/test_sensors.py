"""The drop sensor asks for a run once per new file content, not per evaluation."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from orchestration.core.resources import LakehouseResource
from orchestration.sources.sensors import build_drop_sensors


def _evaluate(sensor: dg.SensorDefinition, cursor: str | None) -> dg.SensorResult:
    with dg.build_sensor_context(
        cursor=cursor, resources={"lakehouse": LakehouseResource()}
    ) as context:
        result = sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def test_new_drop_files_trigger_one_run_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MERAJUT_DROPS_DIR", str(tmp_path))
    monkeypatch.setenv("MERAJUT_HOME", str(tmp_path / "home"))
    (sensor,) = build_drop_sensors()
    assert sensor.job_name == "merajut_pipeline"
    assert _evaluate(sensor, None).run_requests in (None, [])

    folder = tmp_path / "gov_registry"
    folder.mkdir()
    (folder / "gov_registry_verification_20261101.csv").write_text("nik,full_name\n1,a\n")
    first = _evaluate(sensor, None)
    assert first.run_requests is not None and len(first.run_requests) == 1

    again = _evaluate(sensor, first.cursor)
    assert not again.run_requests, "the same file must not trigger twice"

    # A copy under another name has the same content: not new. A changed file is.
    (folder / "gov_registry_verification_copy.csv").write_text("nik,full_name\n1,a\n")
    assert not _evaluate(sensor, first.cursor).run_requests
    (folder / "gov_registry_verification_20261102.csv").write_text("nik,full_name\n2,b\n")
    later = _evaluate(sensor, first.cursor)
    assert later.run_requests is not None and len(later.run_requests) == 1
