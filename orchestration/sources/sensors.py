"""A sensor that starts the drop ingestion when a new external file lands."""


import hashlib
from typing import Any

import dagster as dg

from ingestion.contracts import load_contracts
from orchestration.core.resources import LakehouseResource
from orchestration.sources.assets import bronze_key


def build_drop_sensors(job: Any) -> list[dg.SensorDefinition]:
    sensors = []
    for contract in load_contracts().values():
        if contract.kind != "file_drop":
            continue

        @dg.sensor(
            name=f"new_{contract.source}_drops",
            job=job,
            minimum_interval_seconds=60,
            default_status=dg.DefaultSensorStatus.RUNNING,
            description=f"Runs the pipeline when a new {contract.drop_glob} file arrives.",
        )
        def drop_sensor(context: dg.SensorEvaluationContext, lakehouse: LakehouseResource) -> dg.SensorResult:
            drops_dir = lakehouse.settings.resolved_drops_dir
            seen = set((context.cursor or "").split(",")) - {""}
            files = sorted(drops_dir.glob(contract.drop_glob or "")) if drops_dir.exists() else []
            new = []
            for path in files:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
                if digest not in seen:
                    new.append((path.name, digest))
            if not new:
                return dg.SensorResult(skip_reason=f"no new files in {drops_dir}")
            cursor = ",".join(sorted(seen | {d for _, d in new}))
            return dg.SensorResult(
                run_requests=[dg.RunRequest(run_key=f"{name}:{digest}") for name, digest in new],
                cursor=cursor,
            )

        sensors.append(drop_sensor)
    return sensors


__all__ = ["bronze_key", "build_drop_sensors"]
