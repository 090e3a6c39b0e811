"""Definitions of the dbt domain; the dbt resource is registered here, once."""

import dagster as dg

from orchestration.transform.assets import build_dbt_assets, dbt_resource


def defs() -> dg.Definitions:
    return dg.Definitions(assets=[build_dbt_assets()], resources={"dbt": dbt_resource()})
