"""A failing gate check leaves CURRENT where it was (a second run that adds nothing:
``test_nothing_new.py``)."""

from __future__ import annotations

import json

from tests.support.pipeline import PipelineRun


def test_failing_check_leaves_current_where_it_was(pipeline_run: PipelineRun) -> None:
    current = (pipeline_run.lake / "gold" / "CURRENT").read_text()
    # Publish a small cell as if a suppression bug had slipped through the SQL.
    pipeline_run.warehouse_query(
        "alter table marts.gov_placement_outcomes_by_province_quarter update placements = 2, "
        "successful = 1, is_suppressed = false where "
        "(province_code, quarter_start) in (select province_code, quarter_start from "
        "marts.gov_placement_outcomes_by_province_quarter limit 1) settings mutations_sync = 2"
    )
    proc = pipeline_run.merajut("run", "--step", "publish", check=False)
    assert proc.returncode != 0
    assert "small_cells" in proc.stdout
    assert (pipeline_run.lake / "gold" / "CURRENT").read_text() == current
    rejected = sorted((pipeline_run.lake / "gold" / "rejected").glob("*.json"))
    assert rejected
    manifest = json.loads(rejected[-1].read_text())
    assert manifest["published"] is False
    assert any(c["name"].startswith("small_cells") and not c["passed"] for c in manifest["checks"])
    # The rejected snapshot's data was never written to gold.
    assert not (pipeline_run.lake / "gold" / "snapshots" / manifest["snapshot_id"]).exists()
    # Heal the warehouse for any later test: rebuild the marts (the altered mart is not the
    # table the last build left, so the dbt step does not skip the build).
    pipeline_run.merajut("run", "--step", "dbt")
    assert json.loads((pipeline_run.lake / "_state" / "dbt_last_step.json").read_text())["rebuilt"]
