"""Definitions of the source-ingestion domain: bronze assets and the drop sensors."""

import dagster as dg

from orchestration.sources.assets import build_bronze_assets
from orchestration.sources.sensors import build_drop_sensors


def defs() -> dg.Definitions:
    return dg.Definitions(assets=build_bronze_assets(), sensors=build_drop_sensors())
