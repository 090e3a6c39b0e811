"""A sensor per external drop: starts the pipeline when a drop file arrives that the lake has
not ingested.

"New" is decided by content, against the ingestion state (the sha256 of every drop file each
table has read or rejected, committed with its batch): not against the sensor's cursor. A
cursor starts empty (a new Dagster home, ``dagster dev`` opened after ``merajut demo`` ran the
pipeline outside the daemon), and a sensor that trusted it would launch a run for every file
the lake already holds. The cursor only remembers the files it has asked a run for that the
lake has not ingested yet, so that a file is asked for once while that run is queued.
"""

import dagster as dg

from ingestion.contracts import TableContract, load_contracts
from ingestion.lake import IngestionState
from lakehouse.files import sha256_file
from orchestration.core.jobs import PIPELINE_JOB
from orchestration.core.resources import LakehouseResource

#: Cursor entries are this many hex digits of a file's sha256 (as older cursors held them).
CURSOR_DIGITS = 16


def _drop_sensor(contract: TableContract) -> dg.SensorDefinition:
    glob = contract.drop_glob or ""

    @dg.sensor(
        name=f"new_{contract.source}_drops",
        job=PIPELINE_JOB,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Runs the pipeline when a {glob} file arrives that the lake has not ingested.",
    )
    def drop_sensor(
        context: dg.SensorEvaluationContext, lakehouse: LakehouseResource
    ) -> dg.SensorResult:
        settings = lakehouse.settings
        drops_dir = settings.resolved_drops_dir
        state = IngestionState.load(settings.layout.ingestion_state(contract))
        ingested = {d[:CURSOR_DIGITS] for d in state.drops}
        asked = set((context.cursor or "").split(",")) - {""}
        files = sorted(drops_dir.glob(glob)) if drops_dir.exists() else []
        waiting: dict[str, str] = {}  # digest -> first file name, for files not ingested
        for path in files:
            digest = sha256_file(path)[:CURSOR_DIGITS]
            if digest not in ingested:
                waiting.setdefault(digest, path.name)
        new = {d: name for d, name in waiting.items() if d not in asked}
        # Remember only what is still waiting: an ingested or deleted file needs no memory.
        cursor = ",".join(sorted(waiting))
        if not new:
            return dg.SensorResult(
                skip_reason=f"no {glob} in {drops_dir} that the lake has not ingested",
                cursor=cursor,
            )
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(run_key=f"{name}:{digest}") for digest, name in sorted(new.items())
            ],
            cursor=cursor,
        )

    return drop_sensor


def build_drop_sensors() -> list[dg.SensorDefinition]:
    return [_drop_sensor(c) for c in load_contracts().values() if c.kind == "file_drop"]
