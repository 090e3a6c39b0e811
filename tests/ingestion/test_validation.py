"""Row-level validation: each rule quarantines the right row with the right reason, and legit
edge cases pass."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from ingestion.contracts import load_contracts
from ingestion.validation import validate_batch

AS_OF = datetime(2026, 11, 1, 12, 0)
GOOD_NIK_GIRL = "3273014506150003"  # Jawa Barat, 05-06-2015 (+40 for a girl)


@pytest.fixture(scope="module")
def children_contract():
    return load_contracts()["child_registry.children"]


def _child(child_id: str, **overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "child_id": child_id,
        "full_name": "Siti Aminah",
        "nik": GOOD_NIK_GIRL,
        "birth_date": "2015-06-05",
        "sex": "F",
        "birthplace": "Bandung",
        "address": "Jl. Merdeka 1",
        "province_code": "32",
        "regency_code": "3273",
        "disability": "none",
        "institution_id": "LKSA-00001",
        "admission_date": "2020-01-01",
        "exit_date": None,
        "created_at": "2020-01-01 10:00:00",
        "updated_at": "2026-10-01 10:00:00",
    }
    row.update(overrides)
    return row


def _validate(contract, rows):
    return validate_batch(
        pd.DataFrame(rows, dtype=object),
        contract,
        as_of=AS_OF,
        known_parent_keys={"institutions.institutions": {"LKSA-00001"}},
    )


@pytest.mark.parametrize(
    ("overrides", "reason", "column"),
    [
        ({"sex": None}, "missing_required", "sex"),
        ({"sex": "X"}, "malformed_value", "sex"),
        ({"birth_date": "31-02-2015x"}, "malformed_value", "birth_date"),
        ({"regency_code": "32731"}, "malformed_value", "regency_code"),
        ({"nik": "9973014506150003"}, "invalid_nik", "nik"),  # no province 99
        ({"nik": "3273017306150003"}, "invalid_nik", "nik"),  # day 73
        ({"nik": "32730145061500"}, "invalid_nik", "nik"),  # 14 digits
        ({"admission_date": "2027-03-01"}, "future_date", "admission_date"),
        ({"institution_id": "LKSA-99999"}, "orphan_fk", "institution_id"),
    ],
)
def test_each_rule_quarantines_with_its_reason(
    children_contract, overrides, reason, column
) -> None:
    result = _validate(children_contract, [_child("CH-1"), _child("CH-2", **overrides)])
    assert list(result.valid["child_id"]) == ["CH-1"]
    assert list(result.quarantined["child_id"]) == ["CH-2"]
    assert result.quarantined.loc[0, "_reason"] == reason
    assert result.quarantined.loc[0, "_reason_column"] == column
    assert result.expectations_evaluated > 5


def test_exact_duplicate_loads_once_and_conflicts_load_never(children_contract) -> None:
    rows = [
        _child("CH-1"),
        _child("CH-1"),
        _child("CH-2", disability="none"),
        _child("CH-2", disability="physical"),
    ]
    result = _validate(children_contract, rows)
    assert list(result.valid["child_id"]) == ["CH-1"]
    reasons = sorted(result.quarantined["_reason"])
    assert reasons == ["conflicting_duplicate", "conflicting_duplicate", "duplicate_row"]


def test_first_reason_wins_and_all_are_kept_in_the_detail(children_contract) -> None:
    result = _validate(children_contract, [_child("CH-3", sex=None, nik="123")])
    assert result.quarantined.loc[0, "_reason"] == "missing_required"
    assert "nik" in result.quarantined.loc[0, "_detail"]


def test_legit_edge_cases_pass(children_contract) -> None:
    rows = [
        _child("CH-4", exit_date=None),
        _child("CH-5", sex="M", nik="3273010506150004", exit_date="2026-10-31"),
        _child("CH-6", admission_date=AS_OF.strftime("%Y-%m-%d")),
    ]
    result = _validate(children_contract, rows)
    assert result.quarantined.empty, result.quarantined[["_reason", "_detail"]]
    assert len(result.valid) == 3
    assert str(result.valid["birth_date"].dtype).startswith("datetime64")


def test_a_parent_set_is_required_for_foreign_keys(children_contract) -> None:
    with pytest.raises(ValueError, match="parent keys"):
        validate_batch(
            pd.DataFrame([_child("CH-1")]), children_contract, as_of=AS_OF, known_parent_keys={}
        )
