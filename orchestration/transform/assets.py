"""dbt models as Dagster assets; `dbt build` runs the tests with the models."""

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from ingestion.lake import write_json_atomic
from ingestion.warehouse import reserved_for_subprocess
from orchestration.core.resources import LakehouseResource
from orchestration.transform.project import dbt_project
from orchestration.transform.translator import MerajutDbtTranslator
from orchestration.warehouse.assets import WAREHOUSE_POOL


def summarize_run_results(run_results: dict[str, Any]) -> dict[str, Any]:
    """What the release gate needs from a dbt build: which tests ran and whether all passed."""
    tests = [r for r in run_results.get("results", []) if r["unique_id"].startswith("test.")]
    failed = [r["unique_id"] for r in tests if r["status"] not in ("pass", "success")]
    models = [r for r in run_results.get("results", []) if r["unique_id"].startswith("model.")]
    return {
        "invocation_id": run_results.get("metadata", {}).get("invocation_id"),
        "generated_at": run_results.get("metadata", {}).get("generated_at"),
        "tests_run": len(tests),
        "tests_failed": failed,
        "models_built": sum(1 for m in models if m["status"] == "success"),
        "models_failed": [m["unique_id"] for m in models if m["status"] not in ("success",)],
    }


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
        os.environ.update(settings.dbt_env())
        # dbt opens the embedded engine in its own process; we hold the lock meanwhile.
        with reserved_for_subprocess(settings.warehouse_target):
            args = ["build"]
            if settings.as_of is not None:
                # Ages and month grids are computed "as of" this date instead of today().
                args += ["--vars", json.dumps({"as_of": settings.as_of.isoformat()})]
            invocation = dbt.cli(args, context=context, raise_on_error=False)
            yield from invocation.stream()
            run_results = invocation.get_artifact("run_results.json")
        summary = summarize_run_results(run_results)
        write_json_atomic(settings.layout.root / "_state" / "dbt_last_build.json", summary)
        context.log.info(json.dumps(summary))
        if not invocation.is_successful():
            raise dg.Failure(
                description="dbt build failed; nothing downstream will publish",
                metadata={"tests_failed": dg.MetadataValue.json(summary["tests_failed"])},
            )

    return merajut_dbt_models


def dbt_resource() -> DbtCliResource:
    project = dbt_project()
    # The dbt next to this interpreter: the venv's, whatever PATH the caller has.
    executable = Path(sys.executable).with_name("dbt")
    return DbtCliResource(
        project_dir=project, profiles_dir=str(project.profiles_dir), dbt_executable=str(executable)
    )
