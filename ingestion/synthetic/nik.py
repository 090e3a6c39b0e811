"""Structurally real NIKs (Nomor Induk Kependudukan) and a structural validator.

A NIK is 16 digits: province (2) + regency (2) + district (2) + DDMMYY of birth, where DD has 40
added for women, + a 4-digit serial. The structure is what makes NIKs dangerous (a birth date
and a region can be read straight off one) and what lets a validator catch garbage. The
generator only ever needs the structure, never a real person's number.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Collection

NIK_LENGTH = 16


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


def nik_is_valid(nik: str, known_province_codes: Collection[str]) -> bool:
    """Structural check: 16 ASCII digits, known province, day 1-31 or 41-71, month 1-12.

    Deliberately no calendar check (31 February passes): Dukcapil itself has issued NIKs whose
    date part is not a real date, so a stricter rule would reject real records.
    """
    if not isinstance(nik, str) or len(nik) != NIK_LENGTH or not (nik.isascii() and nik.isdigit()):
        return False
    if nik[:2] not in known_province_codes:
        return False
    day, month = int(nik[6:8]), int(nik[8:10])
    return (1 <= day <= 31 or 41 <= day <= 71) and 1 <= month <= 12


def nik_is_female(nik: str) -> bool:
    return int(nik[6:8]) > 40


def nik_birth_parts(nik: str) -> tuple[int, int, int]:
    """(day, month, two-digit year) of birth encoded in a NIK, with the female offset removed."""
    day = int(nik[6:8])
    return (day - 40 if day > 40 else day, int(nik[8:10]), int(nik[10:12]))


class NikFactory:
    """Hands out NIKs that are unique across everything generated in one run.

    Uniqueness matters because the warehouse joins on NIK tokens: an accidental collision
    between two synthetic people would look like an identity-resolution bug downstream.
    """

    def __init__(self) -> None:
        self._issued: set[str] = set()

    def __contains__(self, nik: str) -> bool:
        return nik in self._issued

    def issue(
        self, rng: random.Random, regency_code: str, birth_date: dt.date, female: bool
    ) -> str:
        district = rng.randint(1, 40)
        while True:
            nik = make_nik(regency_code, district, birth_date, female, rng.randint(1, 9999))
            if nik not in self._issued:
                self._issued.add(nik)
                return nik


def corrupt_nik(nik: str, rng: random.Random) -> str:
    """A NIK broken in one of the ways seen in real operational data (always fails validation).

    Each variant fails ``nik_is_valid`` on its own: wrong length, a non-digit (O/I typed for
    0/1), the unused province code 99, or an impossible day or month.
    """
    variant = rng.randrange(6)
    if variant == 0:  # a digit lost while typing
        return nik[:-1]
    if variant == 1:  # a digit typed twice
        pos = rng.randrange(len(nik))
        return nik[:pos] + nik[pos] + nik[pos:]
    if variant == 2:  # letter O / I / l typed instead of 0 / 1
        pos = rng.randrange(12, 16)
        return nik[:pos] + rng.choice("OIl") + nik[pos + 1 :]
    if variant == 3:
        return "99" + nik[2:]
    if variant == 4:  # day 00, 32-40 or 72+ cannot occur
        return nik[:6] + rng.choice(("00", "35", "38", "75", "88")) + nik[8:]
    return nik[:8] + rng.choice(("00", "13", "19", "21")) + nik[10:]
