"""The publish gate: checks that must all pass before a gold snapshot is published.

The privacy checks themselves are :mod:`anonymization.output_checks` (re-derived from the data
about to be published); this module adds the one that only the pipeline can answer — did the
last dbt build run its tests, and did they all pass — and the gate is the set of both. The same
outcomes back the Dagster asset checks (visible in the UI) and the publish step, which refuses
to move CURRENT unless every one passes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lakehouse.checks import CheckOutcome

__all__ = ["check_dbt_build"]


def check_dbt_build(summary: Mapping[str, Any] | None) -> CheckOutcome:
    if summary is None:
        return CheckOutcome("dbt_build", False, "no dbt build has run")
    if summary.get("finished") is not True:
        return CheckOutcome("dbt_build", False, "the last dbt build did not finish")
    failed = list(summary.get("tests_failed", [])) + list(summary.get("models_failed", []))
    tests_run = int(summary.get("tests_run", 0))
    passed = not failed and tests_run > 0
    detail = (
        f"{tests_run} dbt tests passed, {summary.get('models_built', 0)} models built"
        if passed
        else f"dbt failures: {failed[:10]}"
        if failed
        else "dbt build ran no tests"
    )
    return CheckOutcome(
        "dbt_build", passed, detail, {"invocation_id": summary.get("invocation_id")}
    )
