"""Names, phone numbers, street addresses and e-mails of synthetic Indonesians.

Faker's ``id_ID`` locale supplies the vocabulary (given names and family names by sex, street
addresses), but we draw from pools built once per run instead of calling Faker per row: at
100,000 children that is several hundred thousand calls, and pools keep the output identical
whether a service runs first or last. Full names are composed from given + family names only,
without Faker's honorifics ("Dr.", "S.Kom"), so that "first name" is always the first word, which
the case-note templates and the leak tests rely on.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from faker import Faker

from ingestion.synthetic.services._common import Weighted

# Mobile prefixes of the Indonesian operators (Telkomsel, Indosat, XL, Axis, Tri, Smartfren).
MOBILE_PREFIXES: tuple[str, ...] = (
    "0811", "0812", "0813", "0821", "0822", "0823", "0852", "0853", "0814", "0815", "0816",
    "0855", "0856", "0857", "0858", "0817", "0818", "0819", "0859", "0877", "0878", "0831",
    "0832", "0833", "0838", "0895", "0896", "0897", "0898", "0899", "0881", "0882", "0887",
)  # fmt: skip

PHONE_FORMATS: tuple[str, ...] = ("national", "dashed", "spaced", "intl_plus", "intl_digits")
# How the registry stores phones: messy on purpose, "+62" forms are legitimate, not defects.
_STORED_FORMAT_WEIGHTS = (40, 10, 15, 20, 15)

ID_MONTHS: tuple[str, ...] = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
    "Oktober", "November", "Desember",
)  # fmt: skip

# ``Weighted.pick`` is ``rng.choices(items, weights)[0]`` (the same draw) without its overhead.
_STORED_FORMAT = Weighted(PHONE_FORMATS, _STORED_FORMAT_WEIGHTS)
_LENGTHS = Weighted((11, 12, 13), (25, 60, 15))

_EMAIL_DOMAINS = ("gmail.com", "gmail.com", "gmail.com", "yahoo.co.id", "yahoo.com", "ymail.com")


def format_phone(national: str, style: str) -> str:
    """Render a national-format mobile number ("081234567890") in one of the common styles.

    All styles normalise back to the same digits (strip non-digits, leading 62 -> 0).
    """
    if style == "national":
        return national
    if style == "intl_digits":
        return f"62{national[1:]}"
    # Operator prefix, then the subscriber number in two groups (3+4, 4+4 or 4+5 digits).
    head, rest = national[:4], national[4:]
    cut = len(rest) // 2
    first, second = rest[:cut], rest[cut:]
    if style == "dashed":
        return f"{head}-{first}-{second}"
    if style == "spaced":
        return f"{head} {first} {second}"
    if style == "intl_plus":
        return f"+62 {head[1:]}-{first}-{second}"
    raise ValueError(f"unknown phone style {style!r}")


def normalize_phone(value: str) -> str:
    """Digits only, international 62 prefix to national 0 (the tokenizer's rule)."""
    digits = "".join(ch for ch in value if ch.isascii() and ch.isdigit())
    return "0" + digits[2:] if digits.startswith("62") else digits


def indonesian_date(value: dt.date) -> str:
    """How dates appear in Indonesian prose: "12 Januari 2015"."""
    return f"{value.day} {ID_MONTHS[value.month - 1]} {value.year}"


@dataclass(frozen=True)
class Person:
    full_name: str
    sex: str  # "M" / "F"

    @property
    def first_name(self) -> str:
        return self.full_name.split(" ", 1)[0]

    @property
    def last_name(self) -> str:
        return self.full_name.rsplit(" ", 1)[-1]


class PeopleFactory:
    """Pools of Faker ``id_ID`` vocabulary, sampled with the caller's seeded ``Random``."""

    def __init__(self, faker: Faker, pool_size: int = 3000) -> None:
        person = faker.provider("faker.providers.person")
        if person is None:  # pragma: no cover - Faker always has a person provider
            raise RuntimeError("Faker has no person provider")

        def pool(name: str) -> tuple[str, ...]:
            return tuple(sorted(set(getattr(person, name))))

        self.first_male = pool("first_names_male")
        self.first_female = pool("first_names_female")
        self.last_male = pool("last_names_male")
        self.last_female = pool("last_names_female")
        # Faker picks street names, prefixes and house numbers; RT/RW is added per person.
        self.streets: tuple[str, ...] = tuple(faker.street_address() for _ in range(pool_size))
        #: Every phone number handed out so far (numbers are unique in one run).
        self.issued_phones: set[str] = set()

    def person(self, rng: random.Random, sex: str, family_name: str | None = None) -> Person:
        """A sex-matching name; ``family_name`` lets a father pass his name on to a child."""
        firsts, lasts = (
            (self.first_female, self.last_female)
            if sex == "F"
            else (self.first_male, self.last_male)
        )
        first = rng.choice(firsts)
        parts = [first]
        if rng.random() < 0.25:
            middle = rng.choice(firsts)
            if middle != first:
                parts.append(middle)
        parts.append(family_name or rng.choice(lasts))
        return Person(" ".join(parts), sex)

    def address(self, rng: random.Random) -> str:
        """A Faker street address plus the RT/RW neighbourhood numbers every address has."""
        street = rng.choice(self.streets)
        if rng.random() < 0.7:
            return f"{street}, RT {rng.randint(1, 15):03d}/RW {rng.randint(1, 12):03d}"
        return street

    def phone(self, rng: random.Random) -> str:
        """A unique mobile number in national digits ("081234567890")."""
        while True:
            length = _LENGTHS.pick(rng)
            digits = length - 4
            national = f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**digits):0{digits}d}"
            if national not in self.issued_phones:
                self.issued_phones.add(national)
                return national

    @staticmethod
    def stored_phone_style(rng: random.Random) -> str:
        return _STORED_FORMAT.pick(rng)

    @staticmethod
    def email(rng: random.Random, person: Person) -> str:
        first, last = person.first_name.lower(), person.last_name.lower()
        domain = rng.choice(_EMAIL_DOMAINS)
        style = rng.randrange(4)
        if style == 0:
            return f"keluarga.{last}@{domain}"
        if style == 1:
            return f"{first}.{last}@{domain}"
        if style == 2:
            return f"{first}{last}{rng.randint(1, 99)}@{domain}"
        return f"{first}_{rng.randint(1970, 2005)}@{domain}"
