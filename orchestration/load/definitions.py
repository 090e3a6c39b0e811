"""Definitions of the load domain."""

import dagster as dg

from orchestration.load.assets import build_raw_load_asset


def defs() -> dg.Definitions:
    return dg.Definitions(assets=[build_raw_load_asset()])
