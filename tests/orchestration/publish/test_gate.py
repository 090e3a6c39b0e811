"""The publish gate's own checks: the dbt build, and small cells at the mart's audience threshold."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lakehouse.gold_snapshot import publish_snapshot
from lakehouse.settings import Settings
from orchestration.core.served import DbtModel
from orchestration.publish.assets import GATE_CHECKS, protect, small_cell_outcomes
from orchestration.publish.gate import check_dbt_build


def test_the_dbt_build_must_have_finished_run_tests_and_all_passed() -> None:
    done = {"finished": True, "models_failed": []}
    assert not check_dbt_build(None).passed
    assert not check_dbt_build({**done, "tests_run": 0, "tests_failed": []}).passed
    failed = check_dbt_build({**done, "tests_run": 3, "tests_failed": ["test.x"]})
    assert not failed.passed and "test.x" in failed.detail
    model = {**done, "tests_run": 3, "tests_failed": [], "models_failed": ["model.y"]}
    assert not check_dbt_build(model).passed
    good = {"tests_run": 3, "tests_failed": [], "models_failed": [], "models_built": 9}
    ok = check_dbt_build({**good, "finished": True})
    assert ok.passed and ok.detail == "3 dbt tests passed, 9 models built"
    # A build that started and never finished (killed) must not let the gate trust anything,
    # nor a summary that does not say it finished.
    unfinished = check_dbt_build({"finished": False})
    assert not unfinished.passed and "did not finish" in unfinished.detail
    assert not check_dbt_build(good).passed


def _mart(audience: str) -> DbtModel:
    return DbtModel(
        "gov",
        "marts",
        "model.merajut.gov",
        {
            "served": True,
            "audience": [audience],
            "small_cells": {
                "dims": ["province_code", "quarter_start"],
                "counts": ["placements", "successful"],
                "hidden": "is_suppressed",
                "audience": audience,
            },
        },
    )


def _frame(placements: list[int | None], hidden: list[bool]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "province_code": ["11", "11", "12", "12"],
            "quarter_start": ["q1", "q2", "q1", "q2"],
            "placements": pd.array(placements, dtype="Int64"),
            "successful": pd.array(
                [p // 2 if p is not None else None for p in placements], dtype="Int64"
            ),
            "is_suppressed": hidden,
        }
    )


def test_small_cells_use_the_threshold_of_the_marts_audience() -> None:
    frame = _frame([8, 30, 40, 50], [False] * 4)  # 8 (and 4 successful) are small for business
    (government,) = small_cell_outcomes([_mart("government")], {"gov": frame})
    (business,) = small_cell_outcomes([_mart("business")], {"gov": frame})
    assert government.name == "small_cells:gov" and not government.passed  # 4 successful < 5
    assert not business.passed and business.metadata == {"threshold": 10}
    fine = _frame([20, 30, 40, 50], [False] * 4)
    assert small_cell_outcomes([_mart("government")], {"gov": fine})[0].passed


def test_a_single_hidden_cell_in_a_line_fails_the_gate() -> None:
    frame = _frame([None, 30, 40, 50], [True, False, False, False])
    (outcome,) = small_cell_outcomes([_mart("government")], {"gov": frame})
    assert not outcome.passed and "exactly one hidden cell" in outcome.detail


def test_marts_without_rules_are_not_checked() -> None:
    plain = DbtModel("cube", "marts", "model.merajut.cube", {"served": True})
    assert small_cell_outcomes([plain], {"cube": pd.DataFrame()}) == []


def test_the_protected_tables_are_gated_and_a_missing_one_fails_the_gate(
    tmp_path: Path,
) -> None:
    """Every family of the catalog is a ``disclosure:`` check of the publish; a mart it is
    computed from that was not built fails it, so CURRENT cannot move without them."""
    assert "disclosure" in GATE_CHECKS
    settings = Settings(home=tmp_path / "home", lake_root=tmp_path / "lake")
    protection = protect(settings, {})
    names = {o.name for o in protection.outcomes}
    assert names == {
        "disclosure:protected__metrics_placements_cube",
        "disclosure:protected__compliance_consent_access_by_institution_month",
    }
    assert not any(o.passed for o in protection.outcomes) and protection.frames == {}
    result = publish_snapshot(
        settings.layout.gold, "20250101T000000000000Z", {}, {}, protection.outcomes
    )
    assert not result.published and (settings.layout.gold / "CURRENT").exists() is False
