"""Definitions of the source-ingestion domain."""

import dagster as dg

from orchestration.sources.assets import build_bronze_assets


def defs() -> dg.Definitions:
    return dg.Definitions(assets=build_bronze_assets())
