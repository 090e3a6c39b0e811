"""Retention where the pipeline applies it: the removed snapshots' gold tables go with their
files, each removal is audited, and the API goes on answering from CURRENT, with the cells a
role was served from a removed snapshot still in the ledger."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from lakehouse import gold_tables
from lakehouse.audit_log import HashChainedLog
from lakehouse.checks import CheckOutcome
from lakehouse.disclosure_ledger import ServedCells
from lakehouse.gold_snapshot import GoldSnapshots, MartOrigin, publish_snapshot
from lakehouse.settings import RetentionSettings, Settings
from orchestration.publish.retention import apply_plan, retention_plan
from tests.support.api_fixtures import SNAPSHOT_ID, PublishGold

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

NOW = datetime(2026, 11, 1, tzinfo=UTC)
KEEP_ONE = RetentionSettings(
    snapshots_keep=1, snapshots_min_age_days=0, snapshots_max_age_days=None, at_publish=True
)


def _with_policy(settings: Settings) -> Settings:
    return settings.model_copy(update={"retention": KEEP_ONE})


def test_removed_snapshots_lose_their_gold_tables_and_each_removal_is_audited(
    tmp_path: Path, chdb_client: Any, chdb_database: str, no_merajut_env: None
) -> None:
    settings = _with_policy(Settings(home=tmp_path / "home", lake_root=tmp_path / "lake"))
    mart = f"{chdb_database}.m"
    chdb_client.command(f"create table {mart} (n Int64) engine = MergeTree order by n")
    chdb_client.insert_df(mart, pd.DataFrame({"n": [1, 2]}))
    ids = [f"2026010{i}T000000000000Z" for i in range(1, 5)]
    for snapshot_id in ids:
        result = publish_snapshot(
            settings.layout.gold, snapshot_id, {"m": pd.DataFrame({"n": [1, 2]})},
            {"m": MartOrigin()}, [CheckOutcome("dbt_build", True, "ok")],
        )  # fmt: skip
        gold_tables.stage_snapshot(chdb_client, snapshot_id, {"m": mart})
        gold_tables.mark_current(chdb_client, result.manifest)
    try:
        plan = retention_plan(settings, NOW)
        assert plan.ids("snapshot") == ids[:2]  # CURRENT and the one before it stay
        removed = apply_plan(settings, plan, NOW, client=chdb_client, run_id="abcdef123456")
        assert removed == ids[:2]
        tables = {
            name
            for (name,) in chdb_client.query(
                "select name from system.tables where database = 'gold'"
            ).result_rows
        }
        assert not any(i in name for i in ids[:2] for name in tables)
        assert f"m__{ids[3]}" in tables and f"m__{ids[2]}" in tables
        log = HashChainedLog(settings.layout.publication_log)
        assert log.verify()[0]
        assert [(r["action"], r["snapshot"]) for r in log.records()] == [
            ("expire_snapshot", ids[0]),
            ("expire_snapshot", ids[1]),
        ]
        assert all(r["actor"] == "merajut pipeline (run abcdef12)" for r in log.records())
    finally:
        chdb_client.command("drop database if exists gold")


def test_the_api_answers_from_current_after_a_snapshot_it_served_was_removed(
    client: TestClient,
    auth: Callable[[str], dict[str, str]],
    settings: Settings,
    publish: PublishGold,
    cube: pd.DataFrame,
    compliance: pd.DataFrame,
    no_merajut_env: None,
) -> None:
    params = {"dimensions": "sex,year"}
    first = client.get("/v1/metrics/placements", params=params, headers=auth("business"))
    assert first.status_code == 200 and first.json()["snapshot_id"] == SNAPSHOT_ID
    later, latest = "20250201T000000000000Z", "20250301T000000000000Z"
    publish(later, cube, compliance)
    publish(latest, cube, compliance)
    policy = _with_policy(settings)
    removed = apply_plan(policy, retention_plan(policy, NOW), NOW, client=None)
    assert removed == [SNAPSHOT_ID]
    assert GoldSnapshots(settings.layout.gold).published_ids() == [later, latest]
    # The business role holds cells of the removed snapshot; the audit of the newest covered
    # them (the publish ledger keeps them), so it is served, from CURRENT.
    again = client.get("/v1/metrics/placements", params=params, headers=auth("business"))
    assert again.status_code == 200, again.text
    assert again.json()["snapshot_id"] == latest
    assert again.json()["rows"] == first.json()["rows"]
    cells = ServedCells(settings.layout.served_ledger)
    try:
        assert {SNAPSHOT_ID, latest} <= set(cells.served("business")["snapshot_id"])
    finally:
        cells.close()
