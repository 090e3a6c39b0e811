"""dbt models as Dagster assets; ``dbt build`` runs the tests (and unit tests) with the models."""

import json
from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from lakehouse.files import write_json_atomic
from lakehouse.settings import Settings
from orchestration.core.assets import WAREHOUSE_POOL
from orchestration.core.dbt import dbt_executable, dbt_project
from orchestration.core.resources import LakehouseResource
from orchestration.transform.translator import MerajutDbtTranslator


def summarize_run_results(run_results: dict[str, Any]) -> dict[str, Any]:
    """What the publish gate needs from a dbt build: which tests ran and whether all passed."""
    results = run_results.get("results", [])
    tests = [r for r in results if r["unique_id"].startswith(("test.", "unit_test."))]
    failed = [r["unique_id"] for r in tests if r["status"] not in ("pass", "success")]
    models = [r for r in results if r["unique_id"].startswith("model.")]
    return {
        "finished": True,
        "invocation_id": run_results.get("metadata", {}).get("invocation_id"),
        "generated_at": run_results.get("metadata", {}).get("generated_at"),
        "tests_run": len(tests),
        "tests_failed": failed,
        "models_built": sum(1 for m in models if m["status"] == "success"),
        "models_failed": [m["unique_id"] for m in models if m["status"] not in ("success",)],
    }


def dbt_build_args(settings: Settings) -> list[str]:
    """``dbt build`` for this run's warehouse, everything passed on the command line.

    The profile (``dbt_project/profiles.yml``) reads where the warehouse is from ``--vars``
    and its password from ``MERAJUT_WAREHOUSE_PASSWORD`` in the inherited environment, so
    nothing here edits ``os.environ`` and no secret appears on the command line.
    """
    target = settings.warehouse_target
    variables: dict[str, str] = dict(target.dbt_profile_vars())
    if settings.as_of is not None:
        # Ages and month grids are computed "as of" this date instead of today().
        variables["as_of"] = settings.as_of.isoformat()
    return ["build", "--target", target.dbt_target(), "--vars", json.dumps(variables)]


def build_dbt_assets() -> dg.AssetsDefinition:
    project = dbt_project()

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=MerajutDbtTranslator(),
        pool=WAREHOUSE_POOL,
    )
    def merajut_dbt_models(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, lakehouse: LakehouseResource
    ) -> Iterator[Any]:
        settings = lakehouse.settings
        # Until this build has finished, the publish gate sees no successful build: a build
        # killed halfway must not let a later publish step trust the previous build's tests.
        write_json_atomic(settings.layout.dbt_last_build, {"finished": False})
        # dbt opens the embedded engine in its own process and holds the warehouse lock itself
        # (its adapter plugin), so this process holds nothing while it runs.
        invocation = dbt.cli(dbt_build_args(settings), context=context, raise_on_error=False)
        yield from invocation.stream()
        run_results = invocation.get_artifact("run_results.json")
        summary = summarize_run_results(run_results)
        write_json_atomic(settings.layout.dbt_last_build, summary)
        context.log.info(json.dumps(summary))
        if not invocation.is_successful():
            raise dg.Failure(
                description="dbt build failed; nothing downstream will publish",
                metadata={"tests_failed": dg.MetadataValue.json(summary["tests_failed"])},
            )

    return merajut_dbt_models


def dbt_resource() -> DbtCliResource:
    project = dbt_project()
    return DbtCliResource(
        project_dir=project,
        profiles_dir=str(project.profiles_dir),
        dbt_executable=str(dbt_executable()),
    )
