"""Loading the Dagster definitions: one lineage graph from sources to the gold snapshot."""

from __future__ import annotations

import dagster as dg
import pytest

from orchestration import runner


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    return runner.load_definitions()


def _upstream(graph, key: dg.AssetKey) -> set[dg.AssetKey]:
    seen: set[dg.AssetKey] = set()
    stack = [key]
    while stack:
        for parent in graph.get(stack.pop()).parent_keys:
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen


def test_lineage_runs_from_ingestion_through_dbt_to_publish(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    upstream = _upstream(graph, dg.AssetKey(["gold", "snapshot"]))
    assert dg.AssetKey(["marts", "gov_placement_outcomes_by_province_quarter"]) in upstream
    assert dg.AssetKey(["staging", "stg_child_registry__children"]) in upstream
    assert dg.AssetKey(["raw", "child_registry", "children"]) in upstream
    assert dg.AssetKey(["bronze", "child_registry", "children"]) in upstream
    assert dg.AssetKey(["release", "research_child_cases"]) in upstream
    # dbt sources are the raw-load assets themselves, not separate external assets.
    raw = graph.get(dg.AssetKey(["raw", "placements", "placements"]))
    assert raw.is_materializable


def test_dbt_assets_are_grouped_by_folder_and_have_test_checks(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    assert (
        graph.get(
            dg.AssetKey(["marts", "impact_placement_outcomes_by_province_quarter"])
        ).group_name
        == "marts_impact"
    )
    assert (
        graph.get(dg.AssetKey(["staging", "stg_placements__placements"])).group_name
        == "staging_placements"
    )
    check_keys = {k.name for k in graph.asset_check_keys}
    assert any(name.startswith("unique_") for name in check_keys)
    assert {"k_anonymity", "l_diversity", "pii_scan", "small_cells", "dbt_build"} <= check_keys


def test_schedule_sensor_and_single_process_executor(defs: dg.Definitions) -> None:
    assert defs.resolve_schedule_def("daily_pipeline").cron_schedule == "0 2 * * *"
    assert defs.resolve_sensor_def("new_gov_registry_drops") is not None
    job = defs.resolve_job_def("merajut_pipeline")
    assert job.executor_def.name == "in_process"


def test_warehouse_steps_share_one_pool(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    pools = {
        key.to_user_string(): graph.get(key).pools
        for key in graph.get_all_asset_keys()
        if graph.get(key).is_materializable and key.path[0] in ("raw", "marts", "release", "gold")
    }
    assert pools and all(p == {"warehouse"} for p in pools.values()), pools
