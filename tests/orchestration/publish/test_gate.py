"""The publish gate's own checks: the dbt build, small cells at the mart's audience threshold,
and every output's purpose and population."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lakehouse.checks import CheckOutcome
from lakehouse.gold_snapshot import MartOrigin, publish_snapshot
from lakehouse.settings import Settings
from metrics_api.catalog import PACKAGED_CATALOG, load_catalog
from orchestration.core.served import DbtModel
from orchestration.publish.assets import GATE_CHECKS, mart_origins, protect, small_cell_outcomes
from orchestration.publish.gate import check_dbt_build, check_purposes


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
        "disclosure:protected__metrics_placements_cube_research",
        "disclosure:protected__metrics_placements_cube_community",
        "disclosure:protected__metrics_placements_cube_media",
        "disclosure:protected__compliance_consent_access_by_institution_month",
    }
    assert not any(o.passed for o in protection.outcomes) and protection.frames == {}
    result = publish_snapshot(
        settings.layout.gold, "20250101T000000000000Z", {}, {}, protection.outcomes
    )
    assert not result.published and (settings.layout.gold / "CURRENT").exists() is False


def _served(name: str, purpose: str | None, audience: str = "metrics_api") -> DbtModel:
    meta = {"served": True, "audience": [audience]}
    return DbtModel(name, "marts", f"model.merajut.{name}", meta | {"purpose": purpose})


CUBES = {
    "metrics_placements_cube": "service",
    "metrics_placements_cube_research": "research",
    "metrics_placements_cube_community": "community",
    "metrics_placements_cube_media": "media",
    "compliance_consent_access_by_institution_month": "service",
}
FAMILIES = {
    "protected__metrics_placements_cube_community__t11_province_d2_ck": (
        "community",
        MartOrigin(audience=("community",), purpose="community",
                   population="children_with_community_consent"),
    ),
    "protected__metrics_placements_cube__t5_province_d2": (
        "service",
        MartOrigin(audience=("government",), purpose="service",
                   population="all_registered_children"),
    ),
}  # fmt: skip


def _purposes(marts: dict[str, str | None], **families: tuple[str, MartOrigin]) -> CheckOutcome:
    origins = mart_origins([_served(name, purpose) for name, purpose in marts.items()])
    origins |= {name: origin for name, (_, origin) in families.items()}
    return check_purposes(
        load_catalog(PACKAGED_CATALOG),
        origins,
        {name: purpose for name, (purpose, _) in families.items()},
    )


def test_every_output_names_its_purpose_and_the_population_comes_from_the_reference() -> None:
    origins = mart_origins([_served("metrics_placements_cube_media", "media")])
    assert origins["metrics_placements_cube_media"].population == "children_with_media_consent"
    good = _purposes(CUBES, **FAMILIES)
    assert good.passed and "7 outputs name their purpose and population" in good.detail
    assert "purposes" in GATE_CHECKS


@pytest.mark.parametrize(
    ("marts", "families", "says"),
    [
        # A mart without a purpose, or with one nobody declared.
        ({**CUBES, "metrics_placements_cube": None}, FAMILIES, "declares no known purpose"),
        ({**CUBES, "metrics_placements_cube": "marketing"}, FAMILIES, "no known purpose"),
        # The catalog answers community from a cube dbt built for everyone.
        (
            {**CUBES, "metrics_placements_cube_community": "service"},
            FAMILIES,
            "answers community (community) from metrics_placements_cube_community, a service mart",
        ),
        # A community family computed from an all-children mart.
        (
            CUBES,
            {"protected__x": ("community", MartOrigin(
                audience=("community",), purpose="service", population="all_registered_children"
            ))},
            "protected__x serves community roles from a service mart",
        ),
        # A media family published for the government too.
        (
            CUBES,
            {"protected__y": ("media", MartOrigin(
                audience=("media", "government"), purpose="media",
                population="children_with_media_consent",
            ))},
            "protected__y is made for media but published for government",
        ),
        # A population that is not the purpose's.
        (
            CUBES,
            {"protected__z": ("media", MartOrigin(
                audience=("media",), purpose="media", population="all_registered_children"
            ))},
            "population 'all_registered_children' is not the media purpose's",
        ),
    ],
)  # fmt: skip
def test_an_output_for_the_wrong_population_fails_the_gate(
    marts: dict[str, str | None], families: dict[str, tuple[str, MartOrigin]], says: str
) -> None:
    outcome = _purposes(marts, **families)
    assert not outcome.passed and says in outcome.detail
