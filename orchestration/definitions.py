"""The code location: assembles the per-domain definitions and the shared policies.

Loaded lazily through ``@dg.definitions``: importing this module does no work. Every step runs
in one process (the in-process executor) and every warehouse step is in the pool ``warehouse``
(limit 1 in the instance's ``dagster.yaml``), so two steps never open the chDB path at once.
"""

import dagster as dg

from orchestration.core.jobs import PIPELINE_JOB, daily_pipeline
from orchestration.core.resources import LakehouseResource
from orchestration.load import definitions as load
from orchestration.publish import definitions as publish
from orchestration.release import definitions as release
from orchestration.sources import definitions as sources
from orchestration.subjects import definitions as subjects
from orchestration.transform import definitions as transform


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions.merge(
        dg.Definitions(
            resources={"lakehouse": LakehouseResource()},
            executor=dg.in_process_executor,
            jobs=[PIPELINE_JOB],
            schedules=[daily_pipeline],
        ),
        subjects.defs(),
        sources.defs(),
        load.defs(),
        transform.defs(),
        release.defs(),
        publish.defs(),
    )
