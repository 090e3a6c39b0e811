"""The pipeline: one job over every asset, run daily and by the drop sensors."""

from __future__ import annotations

import dagster as dg

__all__ = ["PIPELINE_JOB", "daily_pipeline"]

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
