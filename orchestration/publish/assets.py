"""The publish step: gate every served mart and the research release, then move CURRENT."""

import json
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pandas as pd

from dashboards.duckdb_catalog import refresh_catalog
from ingestion.warehouse import session
from orchestration.core.resources import LakehouseResource
from orchestration.publish.gate import (
    CheckOutcome,
    check_dbt_build,
    check_pii_scan,
    check_small_cells,
)
from orchestration.publish.served import ServedMart, served_marts
from orchestration.publish.snapshot import new_snapshot_id, publish_snapshot
from orchestration.publish.warehouse_gold import drop_snapshot, mark_current, stage_snapshot
from orchestration.release.assets import RELEASE_KEY, latest_release
from orchestration.transform.project import dbt_project
from orchestration.warehouse.assets import WAREHOUSE_POOL

SNAPSHOT_KEY = dg.AssetKey(["gold", "snapshot"])
GATE_CHECKS = ("dbt_build", "small_cells", "pii_scan", "research_release")


def read_marts(client: Any, marts: list[ServedMart]) -> dict[str, pd.DataFrame]:
    # A total order, so the same data gives byte-identical snapshot files (and hashes).
    return {m.name: client.query_df(f"select * from {m.relation} order by all") for m in marts}


def small_cell_outcomes(
    marts: list[ServedMart], frames: dict[str, pd.DataFrame], thresholds: dict[str, int]
) -> list[CheckOutcome]:
    outcomes = []
    for mart in marts:
        rule = mart.meta.get("small_cells")
        if not rule:
            continue
        counts = list(rule["counts"])
        derived = {f"{counts[0]}-{c}": (counts[0], c) for c in counts[1:]}
        outcomes.append(
            check_small_cells(
                mart.name,
                frames[mart.name],
                dims=rule["dims"],
                counts=counts,
                hidden=rule["hidden"],
                threshold=thresholds[rule["threshold_var"]],
                derived=derived,
            )
        )
    return outcomes


def gate(
    lakehouse: LakehouseResource, marts: list[ServedMart], frames: dict[str, pd.DataFrame]
) -> tuple[list[CheckOutcome], dict[str, Any] | None]:
    layout = lakehouse.settings.layout
    summary_path = layout.root / "_state" / "dbt_last_build.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else None
    outcomes = [check_dbt_build(summary)]
    thresholds = _dbt_vars()
    outcomes += small_cell_outcomes(marts, frames, thresholds)
    release = latest_release(layout)
    texts: dict[str, str] = {}
    if release is None:
        outcomes.append(
            CheckOutcome("research_release", False, "no research release has been built")
        )
    else:
        outcomes.append(
            CheckOutcome(
                "research_release",
                bool(release["manifest"].get("all_checks_passed")),
                f"release {release['id']}: "
                + ", ".join(release["manifest"].get("checks_passed", [])),
                {"release_id": release["id"]},
            )
        )
        for f in release["path"].glob("*.json"):
            texts[f"release/{f.name}"] = f.read_text(encoding="utf-8")
    outcomes.append(check_pii_scan(frames, texts))
    return outcomes, release


def _dbt_vars() -> dict[str, int]:
    import yaml

    project = yaml.safe_load((dbt_project().project_dir / "dbt_project.yml").read_text())
    return {k: int(v) for k, v in project.get("vars", {}).items() if isinstance(v, int)}


def build_publish_asset() -> dg.AssetsDefinition:
    marts = served_marts(dbt_project().manifest_path)

    @dg.asset(
        key=SNAPSHOT_KEY,
        deps=[m.asset_key for m in marts] + [RELEASE_KEY],
        group_name="publish",
        pool=WAREHOUSE_POOL,
        kinds={"parquet"},
        description="Gold snapshot of every served mart; CURRENT moves only if every gate check passed.",
        check_specs=[
            dg.AssetCheckSpec(name, asset=SNAPSHOT_KEY, blocking=True) for name in GATE_CHECKS
        ],
    )
    def gold_snapshot(
        context: dg.AssetExecutionContext, lakehouse: LakehouseResource
    ) -> Iterator[Any]:
        settings = lakehouse.settings
        snapshot_id = new_snapshot_id()
        relations = {m.name: m.relation for m in marts}
        # Read for the gate and copy into immutable gold tables in one session, so the data
        # checked is exactly the data server-mode readers will get.
        with session(settings.warehouse_target) as client:
            frames = read_marts(client, marts)
            stage_snapshot(client, snapshot_id, relations)
        outcomes, release = gate(lakehouse, marts, frames)
        for name in GATE_CHECKS:
            mine = [o for o in outcomes if o.name == name or o.name.startswith(f"{name}:")]
            yield dg.AssetCheckResult(
                check_name=name,
                asset_key=SNAPSHOT_KEY,
                passed=bool(mine) and all(o.passed for o in mine),
                metadata={"detail": "; ".join(o.detail for o in mine) or "not evaluated"},
            )
        result = publish_snapshot(
            settings.layout.gold,
            frames,
            {
                m.name: {
                    "relation": m.relation,
                    "dbt_unique_id": m.unique_id,
                    "audience": m.meta.get("audience", []),
                }
                for m in marts
            },
            outcomes,
            {
                "research_release": release["id"] if release else None,
                "warehouse": settings.warehouse_target.describe(),
            },
            snapshot_id=snapshot_id,
        )
        with session(settings.warehouse_target) as client:
            if result.published:
                manifest = json.loads((result.path / "manifest.json").read_text(encoding="utf-8"))
                mark_current(client, snapshot_id, manifest)
            else:
                drop_snapshot(client, snapshot_id, relations)
        if not result.published:
            raise dg.Failure(
                description=f"release gate failed ({', '.join(result.failed_checks)}); CURRENT unchanged",
                metadata={"rejected_manifest": str(result.path)},
            )
        # Superset (embedded mode) reads the gold snapshot through DuckDB views: re-point them.
        catalog = refresh_catalog(settings.layout.gold)
        yield dg.MaterializeResult(
            asset_key=SNAPSHOT_KEY,
            metadata={
                "snapshot_id": result.snapshot_id,
                "path": str(result.path),
                "superset_catalog": str(catalog),
                "rows": dg.MetadataValue.json({k: len(v) for k, v in frames.items()}),
            },
        )

    return gold_snapshot
