"""A run with nothing new publishes nothing new (issue #12 item 2), on copies of the session's run.

Tried as a new user would: ``merajut run`` right after the demo rebuilt every dbt model and
published another identical snapshot and release per tier; opening the Dagster UI after the
demo made the drop sensor (empty cursor) launch a full run. Here: the sensor asks for no run
for the drop the demo ingested and one for a new drop; a second run rebuilds no model and
publishes nothing, and says so; a run after one changed source row publishes a snapshot.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from orchestration.core.resources import LakehouseResource
from orchestration.sources.sensors import build_drop_sensors
from tests.support.pipeline import PipelineRun, copy_run

CUBE = "metrics_placements_cube"


def _state(run: PipelineRun, name: str) -> dict[str, Any]:
    return dict(json.loads((run.lake / "_state" / name).read_text()))


def _files(root: Path) -> dict[str, int]:
    """Every file under ``root`` (relative name -> size): what a run added or removed."""
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()}


@dataclass
class Lake:
    """What a test compares before and after a run."""

    current: str
    snapshots: list[str]
    releases: list[str]
    ledger: dict[str, int]
    populations: dict[str, int]
    bronze: dict[str, int]
    dbt_build: dict[str, Any]
    #: What the last run's dbt and release steps said they did.
    dbt_step: dict[str, Any] | None = None
    release_step: dict[str, Any] | None = None
    raw: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, run: PipelineRun) -> Lake:
        tables = run.warehouse_query("select name from system.tables where database = 'raw'")
        return cls(
            current=run.current_snapshot().name,
            snapshots=sorted(p.name for p in (run.lake / "gold" / "snapshots").iterdir()),
            releases=sorted(p.name for p in (run.lake / "releases").glob("research-*")),
            ledger=_files(run.lake / "restricted" / "ledger" / "released"),
            populations=_files(run.lake / "restricted" / "populations"),
            bronze=_files(run.lake / "bronze"),
            dbt_build=_state(run, "dbt_last_build.json"),
            dbt_step=_state(run, "dbt_last_step.json"),
            release_step=_state(run, "release_last_step.json"),
            raw={t: run.warehouse_query(f"select count() from raw.{t}")[0][0] for (t,) in tables},
        )


@dataclass
class Reruns:
    run: PipelineRun
    after_demo: Lake
    second: Any
    after_second: Lake
    changed: Any
    after_change: Lake


def _change_one_placement(run: PipelineRun) -> None:
    """The placements service records a new outcome for one placement, just after the table's
    watermark (the next incremental extract reads it)."""
    state = json.loads(
        (run.lake / "_state" / "ingestion" / "placements.placements.json").read_text()
    )
    stamp = datetime.fromisoformat(state["watermark"]) + timedelta(seconds=1)
    con = sqlite3.connect(run.home / "sources" / "placements.db")
    try:
        (placement,) = con.execute(
            "select placement_id from placements where outcome = 'ongoing' "
            "and placement_id in (select placement_id from placements order by placement_id "
            "limit 50) order by placement_id limit 1"
        ).fetchone()
        con.execute(
            "update placements set outcome = 'stable', updated_at = ? where placement_id = ?",
            (stamp.strftime("%Y-%m-%d %H:%M:%S.%f"), placement),
        )
        con.commit()
    finally:
        con.close()


@pytest.fixture(scope="module")
def reruns(pipeline_run: PipelineRun, tmp_path_factory: pytest.TempPathFactory) -> Reruns:
    assert pipeline_run.returncode == 0, pipeline_run.stdout[-4000:]
    run = copy_run(pipeline_run, tmp_path_factory.mktemp("nothing_new"))
    after_demo = Lake.of(run)
    second = run.merajut("run")
    after_second = Lake.of(run)
    _change_one_placement(run)
    changed = run.merajut("run")
    candidate = Lake.of(run)
    run.approve()
    assert candidate.current == after_second.current  # a run alone moves CURRENT nowhere
    return Reruns(run, after_demo, second, after_second, changed, Lake.of(run))


def test_a_second_run_publishes_nothing_and_rebuilds_no_model(reruns: Reruns) -> None:
    before, after = reruns.after_demo, reruns.after_second
    assert after.current == before.current
    assert after.snapshots == before.snapshots and after.releases == before.releases
    # No entry for a snapshot that was never published: not in the ledger, not in populations.
    assert after.ledger == before.ledger and after.populations == before.populations
    # Nothing was read twice: no batch, no raw row more.
    assert after.bronze == before.bronze and after.raw == before.raw
    # dbt did not build: the last build is still the demo's, and the step says why.
    assert after.dbt_build == before.dbt_build
    step = after.dbt_step
    assert step is not None and step["rebuilt"] is False
    assert before.dbt_build["invocation_id"] in step["reason"]
    out = reruns.second.stdout
    assert f"nothing new since snapshot {before.current}: CURRENT unchanged" in out
    assert "dbt models: not rebuilt" in out
    assert after.release_step is not None
    releases = after.release_step["tiers"]
    assert {t["outcome"] for t in releases.values()} == {"unchanged"}
    assert {t["release_id"] for t in releases.values()} == set(before.releases)


def test_the_publication_log_says_what_each_run_did(reruns: Reruns) -> None:
    verified = reruns.run.merajut("audit", "verify", "--log", "publication")
    assert "ok:" in verified.stdout
    log = reruns.run.lake / "restricted" / "publication" / "audit.jsonl"
    records = [json.loads(line) for line in log.read_text().splitlines()]
    publishes = [(r["outcome"], r["current"]) for r in records if r["action"] == "publish"]
    first, changed = reruns.after_demo.current, reruns.after_change.current
    # The last four: the copy's own CURRENT going live (the demo's, or a later one when another
    # test of the session changed the session's run before it was copied), then the two runs
    # here: one found nothing new, one made a candidate that went live when approved.
    assert publishes[-4:] == [
        ("published", first),
        ("unchanged", first),
        ("candidate", first),
        ("published", changed),
    ]
    (approval,) = [r for r in records if r["action"] == "approve_snapshot"
                   and r.get("snapshot") == changed]  # fmt: skip
    live = next(r for r in records if r["action"] == "publish" and r["current"] == changed
                and r["outcome"] == "published")  # fmt: skip
    assert approval["seq"] < live["seq"] and approval["actor"].startswith("Test Steward")
    assert approval["replaces"] == first


def test_a_changed_source_row_publishes_a_new_snapshot(reruns: Reruns) -> None:
    before, after = reruns.after_second, reruns.after_change
    assert after.current != before.current and after.snapshots == [*before.snapshots, after.current]
    manifest = reruns.run.manifest()
    assert manifest["previous_snapshot_id"] == before.current
    old = json.loads(
        (reruns.run.lake / "gold" / "snapshots" / before.current / "manifest.json").read_text()
    )
    assert manifest["marts"][CUBE]["sha256"] != old["marts"][CUBE]["sha256"]
    assert manifest["content_sha256"] != old["content_sha256"]
    assert after.dbt_step is not None and after.dbt_step["rebuilt"] is True
    assert f"candidate snapshot {after.current}: content differs" in reruns.changed.stdout
    # The new publish was protected against what the first gave (the publish ledger), and
    # entered its own families before CURRENT moved.
    disclosure = [c for c in manifest["checks"] if c["name"].startswith("disclosure:")]
    assert disclosure and all(c["passed"] for c in disclosure)
    for check in disclosure:
        assert before.current in check["metadata"]["audited_with"], check
        family = check["name"].removeprefix("disclosure:")
        released = reruns.run.lake / "restricted" / "ledger" / "released" / family
        assert {p.stem for p in released.glob("*.parquet")} >= {before.current, after.current}


def test_retention_keeps_current_and_the_snapshot_before_it(reruns: Reruns) -> None:
    proc = reruns.run.merajut("retention", "--dry-run")
    assert "nothing removed" in proc.stdout
    assert reruns.after_change.current in proc.stdout and "CURRENT" in proc.stdout
    assert Lake.of(reruns.run).snapshots == reruns.after_change.snapshots


def _evaluate(sensor: dg.SensorDefinition, instance: dg.DagsterInstance) -> dg.SensorResult:
    with dg.build_sensor_context(
        instance=instance, cursor=None, resources={"lakehouse": LakehouseResource()}
    ) as context:
        result = sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def test_the_drop_sensor_asks_for_no_run_after_the_demo_and_one_for_a_new_drop(
    pipeline_run: PipelineRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``dagster dev`` does when opened after ``merajut demo``: a new daemon evaluates the
    drop sensor with an empty cursor, against the demo's Dagster home and lake."""
    run = copy_run(pipeline_run, tmp_path / "run")
    for name, value in run.env.items():
        if name.startswith(("MERAJUT_", "DAGSTER_")):
            monkeypatch.setenv(name, value)
    (sensor,) = build_drop_sensors()
    drops = run.home / "drops" / "gov_registry"
    (demo_drop,) = sorted(drops.glob("*.csv"))
    with dg.DagsterInstance.from_config(run.env["DAGSTER_HOME"]) as instance:
        assert not _evaluate(sensor, instance).run_requests
        (drops / "gov_registry_verification_29991231.csv").write_bytes(
            demo_drop.read_bytes() + b"\n"
        )
        result = _evaluate(sensor, instance)
    assert result.run_requests is not None and len(result.run_requests) == 1
    assert str(result.run_requests[0].run_key).startswith("gov_registry_verification_29991231")
