"""Structurally real NIKs for the synthetic world, and NIKs broken the way real data breaks them.

The structure itself (and the validator) is the reference's (:mod:`lakehouse.reference.nik`);
the generator only ever needs the structure, never a real person's number.
"""

from __future__ import annotations

import datetime as dt
import random

from lakehouse.reference.nik import make_nik


class NikFactory:
    """Hands out NIKs that are unique across everything generated in one run.

    Uniqueness matters because the warehouse joins on NIK tokens: an accidental collision
    between two synthetic people would look like an identity-resolution bug downstream.
    """

    def __init__(self) -> None:
        #: Every NIK handed out so far (a worker process hands its own back, see handoff).
        self.issued: set[str] = set()

    def __contains__(self, nik: str) -> bool:
        return nik in self.issued

    def issue(
        self, rng: random.Random, regency_code: str, birth_date: dt.date, female: bool
    ) -> str:
        district = rng.randint(1, 40)
        while True:
            nik = make_nik(regency_code, district, birth_date, female, rng.randint(1, 9999))
            if nik not in self.issued:
                self.issued.add(nik)
                return nik


def corrupt_nik(nik: str, rng: random.Random) -> str:
    """A NIK broken in one of the ways seen in real operational data (always fails validation).

    Each variant fails ``is_valid_nik`` on its own: wrong length, a non-digit (O/I typed for
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
