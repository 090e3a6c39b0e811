"""A second run adds nothing; a failing gate check leaves CURRENT where it was."""

from __future__ import annotations

import json

from tests.support.pipeline import PipelineRun


def _raw_counts(run: PipelineRun) -> dict[str, int]:
    tables = run.warehouse_query("select name from system.tables where database = 'raw'")
    return {t: run.warehouse_query(f"select count() from raw.{t}")[0][0] for (t,) in tables}


def test_second_run_adds_no_duplicates(pipeline_run: PipelineRun) -> None:
    before = _raw_counts(pipeline_run)
    bronze_before = sorted(p.name for p in (pipeline_run.lake / "bronze").rglob("*.parquet"))
    first_snapshot = pipeline_run.manifest()
    pipeline_run.merajut("run")
    assert _raw_counts(pipeline_run) == before
    assert (
        sorted(p.name for p in (pipeline_run.lake / "bronze").rglob("*.parquet")) == bronze_before
    )
    second = pipeline_run.manifest()
    assert second["snapshot_id"] != first_snapshot["snapshot_id"]
    assert {k: v["rows"] for k, v in second["marts"].items()} == {
        k: v["rows"] for k, v in first_snapshot["marts"].items()
    }
    assert {k: v["sha256"] for k, v in second["marts"].items()} == {
        k: v["sha256"] for k, v in first_snapshot["marts"].items()
    }
    # The second publish was protected against what the first gave (the publish ledger), and
    # entered its own families before CURRENT moved.
    disclosure = [c for c in second["checks"] if c["name"].startswith("disclosure:")]
    assert disclosure and all(c["passed"] for c in disclosure)
    for check in disclosure:
        assert first_snapshot["snapshot_id"] in check["metadata"]["audited_with"], check
        family = check["name"].removeprefix("disclosure:")
        released = pipeline_run.lake / "restricted" / "ledger" / "released" / family
        assert {p.stem for p in released.glob("*.parquet")} >= {
            first_snapshot["snapshot_id"],
            second["snapshot_id"],
        }


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
    # Heal the warehouse for any later test: rebuild the marts.
    pipeline_run.merajut("run", "--step", "dbt")
