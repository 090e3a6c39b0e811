"""The structure of Indonesian NIK and KK numbers.

A NIK (Nomor Induk Kependudukan) is 16 digits: province (2) + regency (2) + district (2) +
DDMMYY of birth, where DD has 40 added for women, + a 4-digit serial. A KK (Kartu Keluarga,
family card) number has the same length and region prefix but no birth date, so without a "KK"
cue it cannot be told from other 16-digit numbers. The structure is what makes a NIK dangerous
(a birth date and a region can be read straight off one) and what lets a validator tell a real
one from garbage; ingestion's validation, the redactor, the publish gate's PII scan and the
synthetic generator all use this module.

Deliberately no calendar check (31 February passes): Dukcapil itself has issued NIKs whose
date part is not a real date, so a stricter rule would reject real records.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from lakehouse.reference.regions import PROVINCE_CODES

__all__ = [
    "KK_LENGTH",
    "NIK_LENGTH",
    "NIK_REGEX",
    "digits_only",
    "is_valid_nik",
    "make_nik",
]

NIK_LENGTH = 16
KK_LENGTH = 16
_DAY = "0[1-9]|[12][0-9]|3[01]|4[1-9]|[56][0-9]|7[01]"  # 01-31, or 41-71 for women
_MONTH = "0[1-9]|1[0-2]"
#: The whole NIK rule as one regular expression (anchored), for engines that take a pattern
#: (Great Expectations in ingestion): province, regency, district, day, month, year, serial.
NIK_REGEX = (
    rf"^(?:{'|'.join(sorted(PROVINCE_CODES))})[0-9]{{2}}[0-9]{{2}}"
    rf"(?:{_DAY})(?:{_MONTH})[0-9]{{2}}[0-9]{{4}}$"
)


def is_valid_nik(nik: str) -> bool:
    """16 ASCII digits, a real province, day 1-31 or 41-71, month 1-12."""
    if not isinstance(nik, str) or len(nik) != NIK_LENGTH or not (nik.isascii() and nik.isdigit()):
        return False
    if nik[:2] not in PROVINCE_CODES:
        return False
    day, month = int(nik[6:8]), int(nik[8:10])
    return (1 <= day <= 31 or 41 <= day <= 71) and 1 <= month <= 12


def make_nik(
    regency_code: str, district: int, birth_date: dt.date, female: bool, serial: int
) -> str:
    """Assemble a NIK; ``regency_code`` is the 4-digit code (province + regency)."""
    if len(regency_code) != 4 or not regency_code.isdigit():
        raise ValueError(f"regency code must be 4 digits, got {regency_code!r}")
    if not 1 <= district <= 99 or not 1 <= serial <= 9999:
        raise ValueError("district must be 1-99 and serial 1-9999")
    day = birth_date.day + (40 if female else 0)
    born = f"{day:02d}{birth_date.month:02d}{birth_date.year % 100:02d}"
    return f"{regency_code}{district:02d}{born}{serial:04d}"


def digits_only(text: str) -> str:
    """The digits of a number as written in text, as ASCII ("3201 0102 ..." -> "32010102...",
    full-width or other Unicode decimal digits included: they spell the same number)."""
    if text.isascii():  # the common case, without a Python step per character
        return _NOT_ASCII_DIGIT.sub("", text)
    return "".join(str(unicodedata.decimal(c)) for c in text if c.isdecimal())


_NOT_ASCII_DIGIT = re.compile(r"[^0-9]")
