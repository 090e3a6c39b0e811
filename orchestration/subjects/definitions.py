"""Definitions of the data-subject domain: the asset that carries out pending requests."""

import dagster as dg

from orchestration.subjects.assets import build_subject_requests_asset


def defs() -> dg.Definitions:
    return dg.Definitions(assets=[build_subject_requests_asset()])
