"""A sensor per external drop: starts the pipeline when a new file lands."""

import dagster as dg

from ingestion.contracts import TableContract, load_contracts
from lakehouse.files import sha256_file
from orchestration.core.jobs import PIPELINE_JOB
from orchestration.core.resources import LakehouseResource


def _drop_sensor(contract: TableContract) -> dg.SensorDefinition:
    glob = contract.drop_glob or ""

    @dg.sensor(
        name=f"new_{contract.source}_drops",
        job=PIPELINE_JOB,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Runs the pipeline when a new {glob} file arrives.",
    )
    def drop_sensor(
        context: dg.SensorEvaluationContext, lakehouse: LakehouseResource
    ) -> dg.SensorResult:
        drops_dir = lakehouse.settings.resolved_drops_dir
        # The cursor holds content hashes: a renamed copy of a known file is not new.
        seen = set((context.cursor or "").split(",")) - {""}
        files = sorted(drops_dir.glob(glob)) if drops_dir.exists() else []
        new = []
        for path in files:
            digest = sha256_file(path)[:16]
            if digest not in seen:
                new.append((path.name, digest))
        if not new:
            return dg.SensorResult(skip_reason=f"no new {glob} in {drops_dir}")
        return dg.SensorResult(
            run_requests=[dg.RunRequest(run_key=f"{name}:{digest}") for name, digest in new],
            cursor=",".join(sorted(seen | {digest for _, digest in new})),
        )

    return drop_sensor


def build_drop_sensors() -> list[dg.SensorDefinition]:
    return [_drop_sensor(c) for c in load_contracts().values() if c.kind == "file_drop"]
