"""The research releases as a Dagster asset, one per tier, with their privacy checks.

A tier whose input has not changed since its latest release gets no new release
(:mod:`orchestration.release.inputs`): the latest one still stands, and says so in the run.
"""

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import dagster as dg

from anonymization.tokens import Tokenizer
from ingestion.subjects import SUBJECT_COLUMN, SUBJECT_DOMAIN
from lakehouse.digests import json_digest
from lakehouse.reference.purposes import PURPOSES
from lakehouse.reference.release_tiers import TIERS
from lakehouse.research_release import ResearchReleases
from lakehouse.warehouse import session
from lakehouse.withdrawals import record_release_members
from orchestration.core.assets import RESEARCH_RELEASE, WAREHOUSE_POOL
from orchestration.core.dbt import dbt_project
from orchestration.core.jobs import forced
from orchestration.core.publication import record_release_step
from orchestration.core.resources import LakehouseResource
from orchestration.core.served import population_members, release_inputs
from orchestration.release.build import ReleasePolicy, build_release
from orchestration.release.inputs import release_input_digest

RELEASE_CHECKS = ("k_anonymity", "l_diversity", "intersection", "pii_scan")
#: Built in this order: the licensed file first (the most detail), then the public-use file,
#: whose classes are unions of the licensed file's (and which is checked against every earlier
#: file) so that the two held together reveal no class below k, then the enclave extract.
TIER_ORDER = ("licensed", "public_use", "enclave")


def build_release_asset() -> dg.AssetsDefinition:
    inputs = release_inputs(dbt_project().manifest_path)
    source = next(m for m in inputs if m.name == "research_child_cases")
    register = next(m for m in inputs if m.name == "research_reference_population")
    populations = population_members(dbt_project().manifest_path)
    policies = [ReleasePolicy(tier=TIERS[name]) for name in TIER_ORDER]
    purpose = PURPOSES[policies[0].purpose].name  # a declared purpose: safe inside the SQL

    @dg.asset(
        key=RESEARCH_RELEASE,
        deps=[source.asset_key, register.asset_key, populations.asset_key],
        group_name="release",
        pool=WAREHOUSE_POOL,
        kinds={"parquet", "csv"},
        description=(
            "Research releases of consenting children, one per tier: licensed (k=5, l=2, "
            "regency where possible), public-use (k=11, l=2, t=0.3, province at most) and the "
            "enclave extract (pseudonymised, query-only); none combinable below k."
        ),
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
            registry = client.query_df(f"select * from {register.relation}")
            # The same build's population: the manifest says how many children it held.
            counted = client.query(
                f"select count() from {populations.relation} where purpose = '{purpose}'"
            )
            population = int(counted.result_rows[0][0])
        refs = Tokenizer(settings.keys.token_key).tokenize_series(
            SUBJECT_DOMAIN, frame[SUBJECT_COLUMN].astype(str)
        )
        reader = ResearchReleases(settings.layout.releases)
        outcomes: dict[str, list[tuple[str, bool, str]]] = {n: [] for n in RELEASE_CHECKS}
        published, unchanged, failed = [], [], []
        steps: dict[str, dict[str, Any]] = {}
        for policy in policies:
            tier = policy.tier.name
            digest = release_input_digest(
                frame, registry, population, policy, settings.keys.release_key
            )
            latest = reader.latest(tier)
            if not forced(context) and latest and latest.manifest.input_sha256 == digest:
                # Nothing new for this tier: its latest release was built from this input.
                for check in latest.manifest.checks:
                    if check["name"] in outcomes:
                        outcomes[check["name"]].append(
                            (
                                tier,
                                bool(check["passed"]),
                                f"unchanged, {latest.id}: {check['detail']}",
                            )
                        )
                context.log.info(f"{tier}: nothing new since release {latest.id}; none built")
                unchanged.append(latest.manifest)
                steps[tier] = {"outcome": "unchanged", "release_id": latest.id}
                continue
            result = build_release(
                frame,
                settings.layout.releases,
                settings.keys.release_key,
                replace(policy, input_sha256=digest),
                population_children=population,
                registry=registry,
            )
            manifest = result.manifest
            failing = {c["name"] for c in manifest.checks if not c["passed"]}
            # Withheld because it would combine with an earlier file below k: nothing unsafe
            # was published and the earlier release of the tier stays the current one.
            held = result.path is None and failing == {"intersection"}
            for check in manifest.checks:
                if check["name"] in outcomes:
                    outcomes[check["name"]].append(
                        (tier, bool(check["passed"]) or held, check["detail"])
                    )
            if held:
                context.log.warning(f"{tier} release withheld: {failing}")
                steps[tier] = {"outcome": "withheld", "release_id": manifest.release_id}
                continue
            if result.path is None:
                failed.append(f"{tier} {manifest.release_id}")
                steps[tier] = {"outcome": "failed", "release_id": manifest.release_id}
                continue
            # Which subjects it holds: an erasure withdraws it.
            record_release_members(settings.layout, manifest.release_id, refs.dropna())
            published.append(manifest)
            steps[tier] = {"outcome": "built", "release_id": manifest.release_id}
        record_release_step(settings.layout, context.run_id, steps)
        for name, per_tier in outcomes.items():
            yield dg.AssetCheckResult(
                check_name=name,
                asset_key=RESEARCH_RELEASE,
                passed=bool(per_tier) and all(passed for _, passed, _ in per_tier),
                metadata={tier: detail for tier, _, detail in per_tier}
                or {"detail": "not evaluated"},
            )
        if failed:
            raise dg.Failure(
                description="research release(s) failed their checks: " + ", ".join(failed)
            )
        yield dg.MaterializeResult(
            asset_key=RESEARCH_RELEASE,
            metadata={
                **{f"{m.tier}": f"{m.release_id} ({m.rows} rows)" for m in published},
                **{f"{m.tier}": f"{m.release_id} (unchanged: nothing new)" for m in unchanged},
                "built": dg.MetadataValue.json([m.tier for m in published]),
                "unchanged": dg.MetadataValue.json([m.tier for m in unchanged]),
                "purpose": policies[0].purpose,
                "population": f"{PURPOSES[purpose].population} ({population} children)",
            },
            data_version=dg.DataVersion(
                json_digest(sorted(m.release_id for m in published + unchanged))[:16]
            ),
        )

    return research_release
