"""The research release as a Dagster asset, with its privacy checks."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg

from ingestion.lake import LakeLayout
from ingestion.warehouse import session
from orchestration.core.resources import LakehouseResource
from orchestration.publish.served import release_inputs
from orchestration.release import research
from orchestration.transform.project import dbt_project
from orchestration.warehouse.assets import WAREHOUSE_POOL

RELEASE_KEY = dg.AssetKey(["release", "research_child_cases"])
RELEASE_CHECKS = ("k_anonymity", "l_diversity", "pii_scan")


def latest_release(layout: LakeLayout) -> dict[str, Any] | None:
    return research.latest_release(layout.releases)


def build_release_asset() -> dg.AssetsDefinition:
    inputs = release_inputs(dbt_project().manifest_path)
    source = next(m for m in inputs if m.name == "research_child_cases")

    @dg.asset(
        key=RELEASE_KEY,
        deps=[source.asset_key],
        group_name="release",
        pool=WAREHOUSE_POOL,
        kinds={"parquet", "csv"},
        description="k-anonymous (k=5), l-diverse (l=2 on case_type) research extract of consenting children.",
        check_specs=[
            dg.AssetCheckSpec(n, asset=RELEASE_KEY, blocking=True) for n in RELEASE_CHECKS
        ],
    )
    def research_release(
        context: dg.AssetExecutionContext, lakehouse: LakehouseResource
    ) -> Iterator[Any]:
        settings = lakehouse.settings
        with session(settings.warehouse_target) as client:
            frame = client.query_df(f"select * from {source.relation}")
        path, manifest = research.build_release(
            frame, settings.layout.releases, settings.keys.release_key
        )
        by_name = {c["name"]: c for c in manifest["checks"]}
        for name in RELEASE_CHECKS:
            check = by_name.get(name)
            yield dg.AssetCheckResult(
                check_name=name,
                asset_key=RELEASE_KEY,
                passed=bool(check and check["passed"]),
                metadata={"detail": check["detail"] if check else "not evaluated"},
            )
        if path is None:
            raise dg.Failure(
                description=f"research release {manifest['release_id']} failed its checks"
            )
        yield dg.MaterializeResult(
            asset_key=RELEASE_KEY,
            metadata={
                "release_id": manifest["release_id"],
                "path": str(Path(path)),
                "rows": manifest["rows"],
            },
        )

    return research_release
