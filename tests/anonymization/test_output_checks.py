"""The independent output checks, on tables built to pass and to fail each one."""

from __future__ import annotations

import pandas as pd
import pytest

from anonymization.output_checks import (
    check_k_anonymity,
    check_l_diversity,
    check_pii_scan,
    check_small_cells,
)
from anonymization.small_cells import verify_no_recoverable_cells

QIS = ("age", "sex")


def _release(classes: list[tuple[str, str, list[str]]]) -> pd.DataFrame:
    rows = [(a, s, v) for a, s, values in classes for v in values]
    return pd.DataFrame(rows, columns=["age", "sex", "case_type"])


def test_k_anonymity_is_the_smallest_class() -> None:
    table = _release([("0-4", "*", ["a"] * 5), ("5-9", "*", ["a"] * 7)])
    assert check_k_anonymity(table, QIS, 5).passed
    small = check_k_anonymity(table, QIS, 6)
    assert not small.passed and small.metadata == {"k": 5, "k_required": 6}
    assert not check_k_anonymity(table.iloc[0:0], QIS, 1).passed  # an empty release


def test_missing_values_form_their_own_class() -> None:
    table = _release([("0-4", "*", ["a", "b"] * 3)])
    table.loc[0, "age"] = None
    assert check_k_anonymity(table, QIS, 2).metadata["k"] == 1  # type: ignore[index]


def test_l_diversity_is_the_fewest_distinct_sensitive_values() -> None:
    table = _release([("0-4", "*", ["a", "b", "a"]), ("5-9", "*", ["c", "c", "c"])])
    outcome = check_l_diversity(table, QIS, "case_type", 2)
    assert not outcome.passed and outcome.metadata == {"l": 1, "l_required": 2}
    assert check_l_diversity(table.iloc[:3], QIS, "case_type", 2).passed


@pytest.mark.parametrize(
    "text",
    ["NIK 3201011203150001", "hp 0812-3456-7890", "+62 812 3456 7890", "siti@example.org",
     "KK 3201010101010001"],
)  # fmt: skip
def test_the_pii_scan_finds_identifiers_without_echoing_them(text: str) -> None:
    frame = pd.DataFrame({"note": ["clean", f"x {text} y"]})
    outcome = check_pii_scan({"mart": frame})
    assert not outcome.passed and "mart.note" in outcome.detail
    assert text not in outcome.detail and text.split()[-1] not in outcome.detail
    assert not check_pii_scan({}, {"release/data.csv": text}).passed


def test_tokens_and_ordinary_numbers_pass_the_scan() -> None:
    frame = pd.DataFrame(
        {"token": ["nm_0123456789abcdef0123", "nik_3201011203150001abcd"],
         "count": ["1234567890123456789", "2026-Q1"]}
    )  # fmt: skip
    outcome = check_pii_scan({"mart": frame})
    assert outcome.passed, outcome.detail
    assert outcome.metadata == {"strings_scanned": 4}


def _cells(placements: list[int | None], hidden: list[bool]) -> pd.DataFrame:
    return pd.DataFrame(
        {"p": ["a", "a", "b", "b"], "q": [1, 2, 1, 2],
         "n": pd.array(placements, dtype="Int64"), "h": hidden}
    )  # fmt: skip


def test_small_cells_pass_when_hidden_in_pairs() -> None:
    frame = _cells([None, None, None, None], [True] * 4)
    assert check_small_cells(
        "m", frame, dims=["p", "q"], counts=["n"], hidden="h", threshold=5
    ).passed


@pytest.mark.parametrize(
    ("placements", "hidden", "problem"),
    [
        ([3, 20, 30, 40], [False] * 4, "published n value(s) in 1..4"),
        ([None, 20, 30, 40], [True, False, False, False], "exactly one hidden cell"),
        ([3, None, None, 40], [True, True, False, False], "hidden cells still carry n"),
    ],
)
def test_small_cells_fail_for_each_kind_of_leak(
    placements: list[int | None], hidden: list[bool], problem: str
) -> None:
    outcome = check_small_cells(
        "m", _cells(placements, hidden), dims=["p", "q"], counts=["n"], hidden="h", threshold=5
    )
    assert not outcome.passed and problem in outcome.detail


def test_a_small_difference_of_two_published_counts_fails() -> None:
    frame = _cells([20, 30, 40, 50], [False] * 4).assign(s=[18, 30, 40, 50])
    outcome = check_small_cells(
        "m", frame, dims=["p", "q"], counts=["n", "s"], hidden="h", threshold=5,
        derived={"n-s": ("n", "s")},
    )  # fmt: skip
    assert not outcome.passed and "n-s" in outcome.detail


def test_lines_are_checked_in_one_and_in_three_dimensions() -> None:
    one = pd.DataFrame({"p": ["a", "b", "c"], "n": pd.array([None, 20, 30], dtype="Int64"),
                        "h": [True, False, False]})  # fmt: skip
    lone = check_small_cells("m", one, dims=["p"], counts=["n"], hidden="h", threshold=5)
    assert not lone.passed  # the table's total gives the one hidden cell back
    two = one.assign(n=pd.array([None, None, 30], dtype="Int64"), h=[True, True, False])
    assert check_small_cells("m", two, dims=["p"], counts=["n"], hidden="h", threshold=5).passed
    # Three dimensions: a line is the cells sharing the two other values, not one value.
    cube = pd.DataFrame(
        [(p, q, s) for p in "ab" for q in (1, 2) for s in "MF"], columns=["p", "q", "s"]
    ).assign(n=pd.array([None, 20, 30, 40, None, 60, 70, 80], dtype="Int64"))
    cube["h"] = cube["n"].isna()
    outcome = check_small_cells(
        "m", cube, dims=["p", "q", "s"], counts=["n"], hidden="h", threshold=5
    )
    assert not outcome.passed and "along s" in outcome.detail and "along q" in outcome.detail


def test_the_gate_also_fails_a_hidden_cell_alone_in_its_line() -> None:
    """No complement can protect a one-cell line: its margin is the cell itself. The API's
    verifier skips such lines (it cannot fix them); the publish gate refuses them."""
    frame = pd.DataFrame(
        {"p": ["a", "b", "b"], "q": [1, 1, 2], "n": pd.array([None, None, None], dtype="Int64"),
         "h": [True, True, True]}
    )  # fmt: skip
    assert verify_no_recoverable_cells(frame, ["p", "q"], "n") == []
    outcome = check_small_cells("m", frame, dims=["p", "q"], counts=["n"], hidden="h", threshold=5)
    assert not outcome.passed
    assert "1 line(s) along q" in outcome.detail and "1 line(s) along p" in outcome.detail


@pytest.mark.parametrize("hour", range(24))
def test_our_own_ids_at_any_hour_pass_the_scan(hour: int) -> None:
    """A release id made at 08:xx UTC holds '08' plus ten digits: a mobile number's shape."""
    release_id = f"research-20261202T{hour:02d}0000160469Z"
    text = f'{{"release_id": "{release_id}", "batch": "20261202T{hour:02d}1234567890Z-drop"}}'
    assert check_pii_scan({}, {"release/privacy_report.json": text}).passed
    # A real phone beside the id is still found.
    assert not check_pii_scan({}, {"x": text + " hp 0812 3456 7890"}).passed


def test_a_csv_is_scanned_field_by_field() -> None:
    """Generalised labels are public vocabulary: read as one text, a label with a space made
    the whole file prose and an island-group set ("Jawa|Sumatera") read as a person's name,
    which withheld a licensed release. Field by field, an identifier in any field is still
    found, and a name in a sentence of one field too."""
    labels = [
        "ref,age,sex,region,year",
        "t_1,1-6,M,Jawa|Sumatera,2023-2026",
        "t_2,9-16,F,Bali-Nusa Tenggara,2018-2021",
        "t_3,7-10,M,Kalimantan|Sulawesi|Sumatera,2016-2019",
    ]
    csv_text = "\n".join(labels) + "\n"
    outcome = check_pii_scan({}, {"release/data.csv": csv_text})
    assert outcome.passed, outcome.detail
    assert outcome.metadata == {"strings_scanned": 19}  # distinct fields
    leaked = csv_text + 't_4,"ibu Siti Aminah datang",F,Jawa,2020\n'
    assert not check_pii_scan({}, {"release/data.csv": leaked}).passed
    phone = csv_text + "t_5,0812-3456-7890,F,Jawa,2020\n"
    assert not check_pii_scan({}, {"release/data.csv": phone}).passed


def test_a_released_set_is_scanned_part_by_part() -> None:
    """ "Bali-Nusa Tenggara|Jawa|Sumatera" read whole looked like a person's name and withheld
    the demo's public-use file; each island group on its own is a place. An identifier or a
    name in a sentence inside one part is still found."""
    sets = pd.DataFrame({"region": ["Bali-Nusa Tenggara|Jawa|Sumatera", "Jawa|Sumatera"]})
    assert check_pii_scan({"release": sets}).passed
    assert check_pii_scan({}, {"data.csv": "region\nBali-Nusa Tenggara|Jawa|Sumatera\n"}).passed
    leaks = [
        "Jawa|hp 0812-3456-7890",
        "Jawa|ibu Siti Aminah datang ke rumah",
        "3201|3273016504150002",
    ]
    for leak in leaks:
        assert not check_pii_scan({"release": pd.DataFrame({"region": [leak]})}).passed, leak
