"""Definitions of the research-release domain."""

import dagster as dg

from orchestration.release.assets import build_release_asset


def defs() -> dg.Definitions:
    return dg.Definitions(assets=[build_release_asset()])
