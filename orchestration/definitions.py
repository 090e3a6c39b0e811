"""The code location: assembles the per-domain definitions and the shared policies.

Loaded lazily through ``@dg.definitions``: importing this module does no work. Embedded mode
runs steps in one process (the in-process executor) and every warehouse step is in the pool
``warehouse`` of size 1, so two steps never open the chDB path at once.
"""

import dagster as dg

from orchestration.core.resources import LakehouseResource
from orchestration.publish import definitions as publish
from orchestration.release import definitions as release
from orchestration.sources import definitions as sources
from orchestration.transform import definitions as transform
from orchestration.warehouse import definitions as warehouse


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions.merge(
        dg.Definitions(
            resources={"lakehouse": LakehouseResource()}, executor=dg.in_process_executor
        ),
        sources.defs(),
        warehouse.defs(),
        transform.defs(),
        release.defs(),
        publish.defs(),
    )
