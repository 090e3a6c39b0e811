"""The NIK rule: one definition, and the regular expression agrees with the function."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from lakehouse.reference.nik import NIK_REGEX, digits_only, is_valid_nik, make_nik
from lakehouse.reference.regions import PROVINCE_CODES

CASES = [
    ("3201011203150001", True),  # Jawa Barat, male born 12-03-2015
    ("3201015203150001", True),  # female: day + 40
    ("9101017112990001", True),  # day 71 (31 + 40), Papua
    ("1101010101000001", True),  # Aceh, 01-01-00
    ("9912345678901234", False),  # province 99 does not exist
    ("2001011203150001", False),  # province 20 does not exist
    ("3201011213150001", False),  # month 13
    ("3201011200150001", False),  # month 00
    ("3201010003150001", False),  # day 00
    ("3201013503150001", False),  # day 35 (neither 1-31 nor 41-71)
    ("3201017203150001", False),  # day 72
    ("320101120315000", False),  # 15 digits
    ("32010112031500011", False),  # 17 digits
    ("32010112031500O1", False),  # letter O typed for 0
    ("３２０１０１１２０３１５０００１", False),  # full-width digits are not a stored NIK
]


@pytest.mark.parametrize(("value", "valid"), CASES)
def test_is_valid_nik(value: str, valid: bool) -> None:
    assert is_valid_nik(value) is valid


@pytest.mark.parametrize(("value", "valid"), CASES)
def test_the_regex_for_engines_is_the_same_rule(value: str, valid: bool) -> None:
    assert bool(re.match(NIK_REGEX, value) and value.isascii()) is valid


def test_every_province_and_no_other_prefix_passes() -> None:
    for prefix in (f"{n:02d}" for n in range(100)):
        nik = prefix + "01011203150001"
        assert is_valid_nik(nik) is (prefix in PROVINCE_CODES)
        assert bool(re.match(NIK_REGEX, nik)) is (prefix in PROVINCE_CODES)


def test_make_nik_encodes_region_birth_date_and_sex() -> None:
    nik = make_nik("3273", 1, dt.date(2015, 6, 5), female=True, serial=3)
    assert nik == "3273014506150003" and is_valid_nik(nik)
    assert make_nik("3273", 1, dt.date(2015, 6, 5), female=False, serial=3)[6:8] == "05"
    with pytest.raises(ValueError, match="4 digits"):
        make_nik("327", 1, dt.date(2015, 6, 5), female=False, serial=3)
    with pytest.raises(ValueError, match="district"):
        make_nik("3273", 0, dt.date(2015, 6, 5), female=False, serial=3)


def test_digits_only_reads_numbers_as_written_in_text() -> None:
    assert digits_only("3201 0112.0315-0001") == "3201011203150001"
    assert digits_only("３２０１") == "3201"  # full-width digits spell the same number
    assert digits_only("no digits") == ""
