"""Running the pipeline in-process, step by step, recorded in a persistent Dagster instance.

``merajut`` uses this instead of shelling out to ``dagster``: the runs land in the same Dagster
home that ``dagster dev`` shows (``DAGSTER_HOME``, default ``<MERAJUT_HOME>/dagster_home``), and
each step reports progress as it finishes. The instance is opened from that folder explicitly;
nothing here sets ``DAGSTER_HOME`` or any other variable of this process.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from lakehouse.settings import Settings
from orchestration.core.assets import GOLD_SNAPSHOT, RESEARCH_RELEASE, SUBJECT_REQUESTS
from orchestration.core.dbt import parse_manifest
from orchestration.core.jobs import FORCE_TAG, PIPELINE_JOB

DAGSTER_YAML = """\
# Written by `merajut` (rewritten when it differs). Every warehouse step is in the pool
# `warehouse`; a limit of 1 means two steps never open the embedded chDB path at the same time,
# whatever the executor. Runs the daemon (`dagster dev`) launched and lost are failed by run
# monitoring and their slots freed; `merajut` frees the slots of its own dead runs itself.
concurrency:
  pools:
    default_limit: 1
run_monitoring:
  enabled: true
  free_slots_after_run_end_seconds: 30
telemetry:
  enabled: false
"""
#: Tags of the runs `merajut` starts, so that it can recognise its own dead runs.
CLI_TAG = "merajut/cli"
PID_TAG = "merajut/pid"
DBT_SCHEMAS = ("reference", "staging", "intermediate", "marts", "restricted")


@dataclass(frozen=True)
class Step:
    key: str
    name: str
    select: Callable[[dg.Definitions], list[dg.AssetKey]]


def open_instance(settings: Settings) -> dg.DagsterInstance:
    """The persistent instance in the settings' Dagster home (created with our config)."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    current = config.read_text(encoding="utf-8") if config.exists() else None
    if current is None or (
        current != DAGSTER_YAML and current.startswith("# Written by `merajut`")
    ):
        config.write_text(DAGSTER_YAML, encoding="utf-8")
    return dg.DagsterInstance.from_config(str(home))


def fail_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark the runs `merajut` started and never finished as failed and free their pool slots.

    Call it only while holding the pipeline lock: every live `merajut` run holds that lock, so
    any run of ours still "in progress" then belongs to a process that is gone (killed, or the
    machine restarted). Without this, a killed run's claim on the `warehouse` pool would make
    every later run wait for it forever.
    """
    dead = instance.get_runs(
        filters=dg.RunsFilter(
            statuses=[
                dg.DagsterRunStatus.NOT_STARTED,
                dg.DagsterRunStatus.STARTING,
                dg.DagsterRunStatus.STARTED,
                dg.DagsterRunStatus.CANCELING,
            ],
            tags={CLI_TAG: "run"},
        )
    )
    for run in dead:
        pid = run.tags.get(PID_TAG, "?")
        instance.report_run_failed(
            run, message=f"the merajut process of this run (pid {pid}) is gone; marked failed"
        )
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
    return [run.run_id for run in dead]


def _materializable(defs: dg.Definitions, keep: Callable[[dg.AssetKey], bool]) -> list[dg.AssetKey]:
    graph = defs.resolve_asset_graph()
    return sorted(
        k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable and keep(k)
    )


PIPELINE_STEPS = (
    Step(
        "subjects",
        "data-subject requests (erasure, restriction)",
        lambda d: _materializable(d, lambda k: k == SUBJECT_REQUESTS),
    ),
    Step(
        "ingest",
        "ingest sources → bronze",
        lambda d: _materializable(d, lambda k: k.path[0] == "bronze"),
    ),
    Step(
        "load",
        "load bronze → warehouse raw",
        lambda d: _materializable(d, lambda k: k.path[0] == "raw"),
    ),
    Step(
        "dbt",
        "dbt build (models + tests)",
        lambda d: _materializable(d, lambda k: k.path[0] in DBT_SCHEMAS),
    ),
    Step(
        "release",
        "research release (k-anonymity, l-diversity)",
        lambda d: _materializable(d, lambda k: k == RESEARCH_RELEASE),
    ),
    Step(
        "publish",
        "publish gate → gold snapshot",
        lambda d: _materializable(d, lambda k: k == GOLD_SNAPSHOT),
    ),
)


def load_definitions() -> dg.Definitions:
    """The code location's definitions, after building the dbt manifest they are made from."""
    from orchestration.definitions import defs

    parse_manifest()
    return defs()


def run_step(
    defs: dg.Definitions,
    step: Step,
    instance: dg.DagsterInstance,
    log_path: Path,
    *,
    force: bool = False,
) -> dg.ExecuteInProcessResult:
    """Run one step. dagster-dbt echoes every dbt event to ``sys.stdout``; the CLI sends this
    step's output to ``log_path`` instead of the terminal (the full event log stays in the
    instance, for the Dagster UI). ``force``: build and publish even if nothing changed."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    job = defs.resolve_job_def(PIPELINE_JOB.name)
    quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    with log_path.open("a", encoding="utf-8") as log, contextlib.redirect_stdout(log):
        return job.execute_in_process(
            instance=instance,
            asset_selection=step.select(defs),
            raise_on_error=False,
            run_config=quiet,
            tags={
                CLI_TAG: "run",
                PID_TAG: str(os.getpid()),
                **({FORCE_TAG: "true"} if force else {}),
            },
        )
