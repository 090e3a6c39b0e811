"""The pipeline: one job over every asset, run daily and by the drop sensors."""

from __future__ import annotations

import dagster as dg

__all__ = ["FORCE_TAG", "PIPELINE_JOB", "daily_pipeline", "forced"]

#: A run tagged ``merajut/force: true`` rebuilds the dbt models and publishes a snapshot and
#: releases even when nothing it reads has changed (``merajut run --force``; in the UI, a tag
#: on the launched run): for when the lake is known to differ from what its digests say.
FORCE_TAG = "merajut/force"


def forced(context: dg.AssetExecutionContext) -> bool:
    """Whether the run was asked to build and publish whatever the digests say."""
    return context.run.tags.get(FORCE_TAG, "").lower() == "true"


PIPELINE_JOB = dg.define_asset_job(
    "merajut_pipeline",
    selection=dg.AssetSelection.all(),
    description="Sources → bronze → raw → dbt build → research release → gold snapshot.",
)

daily_pipeline = dg.ScheduleDefinition(
    name="daily_pipeline",
    job=PIPELINE_JOB,
    cron_schedule="0 2 * * *",
    execution_timezone="Asia/Jakarta",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
