"""Definitions of the warehouse domain."""

import dagster as dg

from orchestration.warehouse.assets import build_raw_load_asset


def defs() -> dg.Definitions:
    return dg.Definitions(assets=[build_raw_load_asset()])
