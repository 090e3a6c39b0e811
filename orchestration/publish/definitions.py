"""Definitions of the publish domain, plus the pipeline job, its schedule and the drop sensor."""

import dagster as dg

from orchestration.publish.assets import build_publish_asset
from orchestration.sources.sensors import build_drop_sensors

pipeline_job = dg.define_asset_job(
    "merajut_pipeline",
    selection=dg.AssetSelection.all(),
    description="Sources → bronze → raw → dbt build → research release → gold snapshot.",
)


def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[build_publish_asset()],
        jobs=[pipeline_job],
        schedules=[
            dg.ScheduleDefinition(
                name="daily_pipeline",
                job=pipeline_job,
                cron_schedule="0 2 * * *",
                execution_timezone="Asia/Jakarta",
                default_status=dg.DefaultScheduleStatus.RUNNING,
            )
        ],
        sensors=build_drop_sensors(pipeline_job),
    )
