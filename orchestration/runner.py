"""Running the pipeline in-process, step by step, recorded in a persistent Dagster instance.

``merajut`` uses this instead of shelling out to ``dagster``: the runs land in the same
``DAGSTER_HOME`` that ``dagster dev`` shows, and each step reports progress as it finishes.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from orchestration.core.config import Settings

DAGSTER_YAML = """\
# Written by `merajut`. Every warehouse step is in the pool `warehouse`; a limit of 1 means
# two steps never open the embedded chDB path at the same time, whatever the executor.
concurrency:
  pools:
    default_limit: 1
telemetry:
  enabled: false
"""


@dataclass(frozen=True)
class Step:
    key: str
    name: str
    select: Callable[[dg.Definitions], list[dg.AssetKey]]


def dagster_home(settings: Settings) -> Path:
    home = Path(os.environ.get("DAGSTER_HOME") or settings.home.resolve() / "dagster_home")
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML, encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def prepare_dbt_manifest() -> Path:
    """``dbt parse`` so the definitions can be built from the manifest (no warehouse needed)."""
    from orchestration.transform.project import DBT_PROJECT_DIR

    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    proc = subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt")),
            "parse",
            "--quiet",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"dbt parse failed:\n{proc.stdout}\n{proc.stderr}")
    return DBT_PROJECT_DIR / "target" / "manifest.json"


def _keys_with_prefix(defs: dg.Definitions, prefix: str) -> list[dg.AssetKey]:
    graph = defs.resolve_asset_graph()
    return sorted(
        k
        for k in graph.get_all_asset_keys()
        if k.path[0] == prefix and graph.get(k).is_materializable
    )


def _dbt_keys(defs: dg.Definitions) -> list[dg.AssetKey]:
    graph = defs.resolve_asset_graph()
    return sorted(
        k
        for k in graph.get_all_asset_keys()
        if graph.get(k).is_materializable
        and k.path[0] in ("staging", "intermediate", "marts", "restricted", "reference")
    )


PIPELINE_STEPS = (
    Step("ingest", "ingest sources → bronze", lambda d: _keys_with_prefix(d, "bronze")),
    Step("load", "load bronze → warehouse raw", lambda d: _keys_with_prefix(d, "raw")),
    Step("dbt", "dbt build (models + tests)", _dbt_keys),
    Step(
        "release",
        "research release (k-anonymity, l-diversity)",
        lambda d: _keys_with_prefix(d, "release"),
    ),
    Step("publish", "release gate → gold snapshot", lambda d: _keys_with_prefix(d, "gold")),
)


def load_definitions() -> dg.Definitions:
    from orchestration.definitions import defs

    return defs()


def run_step(
    defs: dg.Definitions, step: Step, instance: dg.DagsterInstance, log_path: Path
) -> dg.ExecuteInProcessResult:
    """Run one step; what it prints (dbt streams its log to stdout) goes to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as log, contextlib.redirect_stdout(log):
        return _execute(defs, step, instance)


def _execute(
    defs: dg.Definitions, step: Step, instance: dg.DagsterInstance
) -> dg.ExecuteInProcessResult:
    job = defs.resolve_job_def("merajut_pipeline")
    # The CLI prints its own progress and the innermost error of a failed step; the full
    # event log stays in the instance (Dagster UI).
    quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    return job.execute_in_process(
        instance=instance, asset_selection=step.select(defs), raise_on_error=False, run_config=quiet
    )
