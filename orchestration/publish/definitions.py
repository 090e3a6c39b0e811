"""Definitions of the publish domain: the gold snapshot behind the publish gate."""

import dagster as dg

from orchestration.publish.assets import build_publish_asset


def defs() -> dg.Definitions:
    return dg.Definitions(assets=[build_publish_asset()])
