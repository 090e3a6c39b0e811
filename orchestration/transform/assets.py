"""dbt models as Dagster assets; ``dbt build`` runs the tests (and unit tests) with the models.

A build whose inputs are those of the last successful build, with the models as it left them,
is skipped (:mod:`orchestration.transform.inputs`): a run with nothing new spends no minute
rebuilding what it has.
"""

import json
from collections.abc import Iterator
from graphlib import TopologicalSorter
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from lakehouse.files import read_json_object, write_json_atomic
from lakehouse.settings import Settings
from lakehouse.warehouse import session
from orchestration.core.assets import WAREHOUSE_POOL
from orchestration.core.dbt import dbt_executable, dbt_project
from orchestration.core.jobs import forced
from orchestration.core.resources import LakehouseResource
from orchestration.transform.inputs import (
    DbtInputs,
    build_relations,
    dbt_inputs,
    models_state,
    reuse_reason,
    source_relations,
    sources_digest,
)
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


def model_vars(settings: Settings) -> dict[str, str]:
    """The vars that shape what the models hold (not where the warehouse is).

    The reporting date is always passed (``MERAJUT_AS_OF``, else today in UTC, as ingestion
    takes it): ages and month grids are then the date the build's inputs record, never the
    engine's own ``today()`` in another time zone."""
    return {"as_of": settings.reporting_date.isoformat()}


def dbt_build_args(settings: Settings) -> list[str]:
    """``dbt build`` for this run's warehouse, everything passed on the command line.

    The profile (``dbt_project/profiles.yml``) reads where the warehouse is from ``--vars``
    and its password from ``MERAJUT_WAREHOUSE_PASSWORD`` in the inherited environment, so
    nothing here edits ``os.environ`` and no secret appears on the command line.
    """
    target = settings.warehouse_target
    variables: dict[str, str] = {**target.dbt_profile_vars(), **model_vars(settings)}
    return ["build", "--target", target.dbt_target(), "--vars", json.dumps(variables)]


def _inputs_now(settings: Settings) -> tuple[DbtInputs, str | None]:
    """What a build now would read, and the state the models are in now. Where the warehouse
    is is not an input (a lake moved to another folder holds the same data); what it holds is."""
    manifest = dbt_project().manifest_path
    with session(settings.warehouse_target, purpose="dbt inputs") as client:
        sources = sources_digest(client, source_relations(manifest))
        models = models_state(client, build_relations(manifest))
    return dbt_inputs(sources, model_vars(settings)), models


def _models_left(settings: Settings) -> str | None:
    with session(settings.warehouse_target, purpose="dbt models built") as client:
        return models_state(client, build_relations(dbt_project().manifest_path))


def _in_dependency_order(context: dg.AssetExecutionContext) -> list[dg.AssetKey]:
    """The selected assets, each after the ones it depends on (Dagster's rule for a
    multi-asset that reports several)."""
    selected = set(context.selected_asset_keys)
    deps = {
        spec.key: {d.asset_key for d in spec.deps} & selected
        for spec in context.assets_def.specs
        if spec.key in selected
    }
    return list(TopologicalSorter(deps).static_order())


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
        layout = settings.layout
        args = dbt_build_args(settings)
        inputs, models = _inputs_now(settings)
        last = read_json_object(layout.dbt_last_build)
        reason = None if forced(context) else reuse_reason(last, inputs, models)
        if reason is not None:
            # The models are what a build now would make: say so for each asset (the same
            # data version as before, so nothing downstream is stale) and build nothing.
            write_json_atomic(layout.dbt_last_step, {"rebuilt": False, "reason": reason})
            context.log.info(reason)
            for key in _in_dependency_order(context):
                yield dg.MaterializeResult(
                    asset_key=key,
                    data_version=dg.DataVersion(inputs.version),
                    metadata={"rebuilt": False, "reason": reason},
                )
            return
        # Until this build has finished, the publish gate sees no successful build: a build
        # killed halfway must not let a later publish step trust the previous build's tests.
        write_json_atomic(layout.dbt_last_build, {"finished": False})
        # dbt opens the embedded engine in its own process and holds the warehouse lock itself
        # (its adapter plugin), so this process holds nothing while it runs.
        invocation = dbt.cli(args, context=context, raise_on_error=False)
        yield from invocation.stream()
        run_results = invocation.get_artifact("run_results.json")
        summary = summarize_run_results(run_results)
        whole = set(context.selected_asset_keys) == set(context.assets_def.keys)
        if invocation.is_successful() and whole:
            # Only a successful build of the whole project may stand for a later one.
            summary.update(inputs=inputs.to_dict(), models_state=_models_left(settings))
        write_json_atomic(layout.dbt_last_build, summary)
        write_json_atomic(
            layout.dbt_last_step,
            {"rebuilt": True, "reason": "forced" if forced(context) else "inputs changed"},
        )
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
