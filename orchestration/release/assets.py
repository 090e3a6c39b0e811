"""The research release as a Dagster asset, with its privacy checks."""

from collections.abc import Iterator
from typing import Any

import dagster as dg

from anonymization.tokens import Tokenizer
from ingestion.subjects import SUBJECT_COLUMN, SUBJECT_DOMAIN
from lakehouse.reference.purposes import PURPOSES
from lakehouse.warehouse import session
from lakehouse.withdrawals import record_release_members
from orchestration.core.assets import RESEARCH_RELEASE, WAREHOUSE_POOL
from orchestration.core.dbt import dbt_project
from orchestration.core.resources import LakehouseResource
from orchestration.core.served import population_members, release_inputs
from orchestration.release.build import ReleasePolicy, build_release

RELEASE_CHECKS = ("k_anonymity", "l_diversity", "pii_scan")


def build_release_asset() -> dg.AssetsDefinition:
    inputs = release_inputs(dbt_project().manifest_path)
    source = next(m for m in inputs if m.name == "research_child_cases")
    populations = population_members(dbt_project().manifest_path)
    policy = ReleasePolicy()
    purpose = PURPOSES[policy.purpose].name  # a declared purpose: safe inside the SQL

    @dg.asset(
        key=RESEARCH_RELEASE,
        deps=[source.asset_key, populations.asset_key],
        group_name="release",
        pool=WAREHOUSE_POOL,
        kinds={"parquet", "csv"},
        description="k-anonymous (k=5), l-diverse (l=2 on case_type) research extract of consenting children.",
        check_specs=[
            dg.AssetCheckSpec(n, asset=RESEARCH_RELEASE, blocking=True) for n in RELEASE_CHECKS
        ],
    )
    def research_release(
        context: dg.AssetExecutionContext, lakehouse: LakehouseResource
    ) -> Iterator[Any]:
        settings = lakehouse.settings
        with session(settings.warehouse_target, purpose="research release") as client:
            frame = client.query_df(f"select * from {source.relation}")
            # The same build's population: the manifest says how many children it held.
            counted = client.query(
                f"select count() from {populations.relation} where purpose = '{purpose}'"
            )
            population = int(counted.result_rows[0][0])
        result = build_release(
            frame,
            settings.layout.releases,
            settings.keys.release_key,
            policy,
            population_children=population,
        )
        manifest = result.manifest
        by_name = {c["name"]: c for c in manifest.checks}
        for name in RELEASE_CHECKS:
            check = by_name.get(name)
            yield dg.AssetCheckResult(
                check_name=name,
                asset_key=RESEARCH_RELEASE,
                passed=bool(check and check["passed"]),
                metadata={"detail": check["detail"] if check else "not evaluated"},
            )
        if result.path is not None:  # which subjects it holds: an erasure withdraws it
            refs = Tokenizer(settings.keys.token_key).tokenize_series(
                SUBJECT_DOMAIN, frame[SUBJECT_COLUMN].astype(str)
            )
            record_release_members(settings.layout, manifest.release_id, refs.dropna())
        if result.path is None:
            raise dg.Failure(
                description=f"research release {manifest.release_id} failed its checks"
            )
        yield dg.MaterializeResult(
            asset_key=RESEARCH_RELEASE,
            metadata={
                "release_id": manifest.release_id,
                "path": str(result.path),
                "rows": manifest.rows,
                "purpose": manifest.purpose,
                "population": f"{manifest.population} ({manifest.population_children} children)",
            },
        )

    return research_release
