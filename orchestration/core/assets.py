"""Asset keys and the pool that more than one domain names, so no domain imports another.

Keys follow the lake's zones: ``bronze/<source>/<table>`` (ingested, pseudonymized Parquet),
``raw/<source>/<table>`` (the warehouse's raw schema, and the dbt sources' ``meta.dagster.
asset_key``), ``<dbt schema>/<model>`` (dbt), ``release/research_child_cases`` (the research
release), ``gold/snapshot`` (the published snapshot).
"""

from __future__ import annotations

import dagster as dg

from ingestion.contracts import TableContract

__all__ = [
    "GOLD_SNAPSHOT",
    "RESEARCH_RELEASE",
    "SUBJECT_REQUESTS",
    "WAREHOUSE_POOL",
    "bronze_key",
    "dbt_model_key",
    "raw_key",
]

#: Every step that opens the warehouse is in this pool; the instance limits it to one at a time
#: (chDB: one process per data path).
WAREHOUSE_POOL = "warehouse"

RESEARCH_RELEASE = dg.AssetKey(["release", "research_child_cases"])
GOLD_SNAPSHOT = dg.AssetKey(["gold", "snapshot"])
#: Data-subject requests carried out at the start of a run: every bronze asset depends on it.
SUBJECT_REQUESTS = dg.AssetKey(["data_subjects", "requests"])


def bronze_key(contract: TableContract) -> dg.AssetKey:
    return dg.AssetKey(["bronze", contract.source, contract.name])


def raw_key(contract: TableContract) -> dg.AssetKey:
    """The raw table's key, as the dbt source YAML declares it (one lineage graph)."""
    return dg.AssetKey(list(contract.asset_key))


def dbt_model_key(schema: str, name: str) -> dg.AssetKey:
    """A dbt model (or seed) by its ClickHouse database (the dbt schema) and name."""
    return dg.AssetKey([schema, name])
