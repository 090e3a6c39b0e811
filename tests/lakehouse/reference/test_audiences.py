"""Audiences and thresholds: the roadmap's defaults, one per role."""

from __future__ import annotations

from lakehouse.reference.audiences import (
    NATIONAL_ONLY_AUDIENCES,
    ROLES,
    STAKEHOLDER_AUDIENCES,
    audience_thresholds,
)


def test_audience_thresholds() -> None:
    assert audience_thresholds() == {
        "government": 5,
        "business": 10,
        "community": 11,
        "media": 11,
        "researcher": 5,
        "admin": 1,
    }
    audience_thresholds()["media"] = 0
    assert audience_thresholds()["media"] == 11  # a copy, not the module state


def test_every_role_has_a_threshold_and_the_groups_are_roles() -> None:
    assert set(audience_thresholds()) == set(ROLES)
    assert set(ROLES) >= NATIONAL_ONLY_AUDIENCES
    assert set(ROLES) >= STAKEHOLDER_AUDIENCES
    assert "admin" not in STAKEHOLDER_AUDIENCES and "researcher" not in STAKEHOLDER_AUDIENCES
