"""A labelled evaluation corpus of Indonesian case notes, generated from a seed.

Why a separate corpus
---------------------
The redactor must be measured on text it was not written against. The synthetic generator's
notes (``ingestion/synthetic/services/case_notes.py``) use 21 templates, Faker ``id_ID`` names
and always the record's own spelling, so a redactor tuned on them looks perfect. This module
shares nothing with that generator: its own templates (70 with identifiers, 48 without), its
own name lists (``tests/fixtures/redaction_corpus/names.txt``: ~1,200 names from Aceh to
Papua, none of them one of Faker's last names), its own number and date formats. Nothing is
stored: ``build_corpus(seed)`` rebuilds the same corpus in well under a second. Well-known
examples that the generator already uses are left out on purpose: the marga Siregar,
Nainggolan and Simanjuntak, surnames like Rahmawati or Lestari, "Jl. Merdeka", "LKSA Darul
Aitam" (Faker's ``id_ID`` lists and ``ingestion/synthetic/services/institutions.py``).

What a note is
--------------
Each :class:`LabelledNote` has the text a case worker wrote, the record ``known`` that
ingestion would pass to ``Redactor.redact(text, known)`` (child and 1-2 guardians: names, NIK,
KK, phone, e-mail, birth date, birthplace, address) and the labelled :class:`Span` s.
``kind`` is ``identifiers`` (at least one span) or ``clean`` (no span at all, but places,
institutions, programmes, brands, holidays, schools without a class, headings; and often a
record whose names are also ordinary words used in the note, "Bunga", "Agung", "Kartini").

Labelling rules (the decisions a scorer depends on)
---------------------------------------------------
* A span is exactly the identifier: the name without its honorific ("Ibu", "Pak", "Ustadz"),
  the number without its cue ("NIK", "HP") or a trailing extension ("ext 12"); a phone keeps
  its own "+" and parentheses. Spans never overlap.
* ``KNOWN_PERSON``: a person of the record. ``links_to`` is that person's full name as the
  record holds it when the mention denotes them unambiguously: the full name (in any case, or
  with a typo), a nickname, or a part of the name (first name, surname, Balinese birth-order
  name) that occurs in exactly one known person's name. A part shared by several known persons
  ("Hasibuan" for father and child, "Wayan", "Muhammad") gets ``links_to=None``: it must be
  redacted but must not be linked to one specific person.
* ``UNKNOWN_PERSON``: anybody not in the record (teacher, neighbour, uncle, case worker,
  religious teacher), with or without a cue, ``links_to`` always None. *Wrong-link traps* are
  third parties who share a first name or a surname with a known person but carry their own
  other name ("Ibu Siti Nurhaliza" when the guardian is "Siti Khadijah"): a redactor that
  gives them a known person's token links a stranger to the child.
* ``NIK``, ``KK``, ``PHONE``, ``EMAIL``: ``links_to`` is the value exactly as the record holds
  it when the note's value is the record's (same digits / same address); None for third-party
  numbers and for numbers the record lacks (a guardian's new phone). Mobile numbers and
  landlines are both ``PHONE``.
* ``DOB``: any full calendar date, day + month + year, in any form (4- or 2-digit year, month
  as a word, an abbreviation or a number), whether the note presents it as a birth date or as
  the date of a visit: a full date about a child is a quasi-identifier, and the redactor's
  policy replaces every full date. Year-only and month-year forms ("kelahiran 2014", "lahir
  Maret 2014", "usia 9 tahun") are age information the analysis keeps: not labelled. The
  birthplace in "TTL: Medan, 12 Maret 2014" is not labelled (a bare city).
* ``ADDRESS``: where a person lives, down to a street, gang, kampung, dusun, banjar, perumahan
  or desa given as the residence ("Jl. Kenanga No. 12 RT 03/RW 05", "Dusun Krajan RT 002/RW
  004, Desa Tegalrejo"). A bare regency, province or city is not an address, nor is a village
  named as the place of an event ("posyandu di balai Desa Sukamaju") in a clean note.
* ``SCHOOL``: a school with the child's class ("kelas 4 SDN 2 Sukamaju", "SMPN 3 Bitung kelas
  VIII"); a school without a class is not labelled.
* Names of hospitals, streets, airports or universities that honour a person ("RSUD Dr.
  Soetomo") are institution names: never labelled (they identify nobody in the case).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from lakehouse.reference.nik import make_nik
from lakehouse.reference.regions import PROVINCES, Regency, province_by_code

__all__ = [
    "GROUPS",
    "KINDS",
    "LABELS",
    "LINKED_LABELS",
    "LabelledNote",
    "Span",
    "build_corpus",
    "clean_templates",
    "identifier_templates",
    "name_lists",
    "shares_known_word",
    "stats",
    "vocabulary",
]

LABELS: tuple[str, ...] = (
    "KNOWN_PERSON",
    "UNKNOWN_PERSON",
    "NIK",
    "KK",
    "PHONE",
    "EMAIL",
    "DOB",
    "ADDRESS",
    "SCHOOL",
)
#: Labels whose spans may carry ``links_to``, and the token domain of the linked value.
LINKED_LABELS: dict[str, str] = {
    "KNOWN_PERSON": "person_name",
    "NIK": "nik",
    "KK": "kk_number",
    "PHONE": "phone",
    "EMAIL": "email",
}
KINDS: tuple[str, ...] = ("identifiers", "clean")
#: Name traditions; every note records which ones its persons come from.
GROUPS: tuple[str, ...] = (
    "aceh",
    "minang",
    "batak",
    "sunda",
    "jawa",
    "bali",
    "bugis",
    "minahasa",
    "dayak",
    "ntt",
    "maluku",
    "papua",
    "tionghoa",
    "arab",
    "kristen",
)

DEFAULT_SEED = 20261204
IDENTIFIER_NOTES = 1200
CLEAN_NOTES = 400

_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "redaction_corpus"


@dataclass(frozen=True)
class Span:
    """One labelled identifier: ``text[start:end]``; see the module docstring for the rules."""

    label: str
    start: int
    end: int
    links_to: str | None = None


@dataclass(frozen=True)
class LabelledNote:
    """A note, the record passed to the redactor with it, and its labelled spans.

    ``aliases`` maps a nickname that the record holds as a ``person_name`` value to the full
    name of the person it belongs to (a scorer must not call that nickname's token a wrong
    link). ``template`` and ``groups`` are for statistics and debugging.
    """

    note_id: str
    text: str
    known: dict[str, list[str]]
    spans: list[Span]
    kind: str
    aliases: dict[str, str] = field(default_factory=dict)
    template: str = ""
    groups: tuple[str, ...] = ()


# --- vocabulary ---------------------------------------------------------------------------


def _read_sections(path: Path) -> dict[str, tuple[str, ...]]:
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        if current is None:
            raise ValueError(f"{path.name}: entry before the first section: {line!r}")
        current.extend(entry.strip() for entry in line.split(",") if entry.strip())
    return {name: tuple(entries) for name, entries in sections.items()}


@cache
def name_lists() -> dict[str, tuple[str, ...]]:
    """Every person-name list of the corpus, by section ("batak.family", "jawa.male" ...)."""
    return _read_sections(_FIXTURES / "names.txt")


@cache
def vocabulary() -> dict[str, tuple[str, ...]]:
    """Name-like words that identify nobody, by section ("institution", "brand" ...)."""
    return _read_sections(_FIXTURES / "vocabulary.txt")


_MONTHS = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
    "Oktober", "November", "Desember",
)  # fmt: skip
_MONTHS_SHORT = (
    "Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agt", "Sep", "Okt", "Nov", "Des",
)  # fmt: skip
_DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
_MOBILE_PREFIXES = (
    "0811", "0812", "0813", "0821", "0822", "0852", "0853", "0856", "0857", "0858", "0877",
    "0878", "0895", "0896", "0881", "0882", "0838", "0831",
)  # fmt: skip
#: Area code -> subscriber digits.
_LANDLINE_AREAS = {
    "021": 8, "022": 7, "024": 7, "0274": 6, "031": 7, "061": 7, "0361": 6, "0411": 6,
    "0431": 6, "0967": 6, "0380": 6, "0911": 6, "0561": 6, "0751": 6, "0651": 6, "0254": 6,
}  # fmt: skip
_EMAIL_DOMAINS = (
    "gmail.com", "gmail.com", "gmail.com", "yahoo.co.id", "yahoo.com", "ymail.com",
    "outlook.com", "hotmail.com", "rocketmail.com",
)  # fmt: skip

#: Provinces (codes) where each name tradition is most at home; records are placed there.
_GROUP_PROVINCES: dict[str, tuple[str, ...]] = {
    "aceh": ("11",),
    "minang": ("13", "14"),
    "batak": ("12",),
    "sunda": ("32", "36"),
    "jawa": ("33", "34", "35"),
    "bali": ("51",),
    "bugis": ("73", "74", "76"),
    "minahasa": ("71",),
    "dayak": ("61", "62", "63", "64", "65"),
    "ntt": ("53",),
    "maluku": ("81", "82"),
    "papua": ("91", "92", "93", "94", "95", "96"),
    "tionghoa": ("12", "31", "61", "35", "21"),
    "arab": ("31", "35", "33", "52", "63"),
    "kristen": ("12", "71", "53", "81", "34"),
}
_GROUP_WEIGHTS: dict[str, int] = {
    "aceh": 5, "minang": 6, "batak": 8, "sunda": 9, "jawa": 14, "bali": 6, "bugis": 6,
    "minahasa": 5, "dayak": 5, "ntt": 5, "maluku": 5, "papua": 7, "tionghoa": 6, "arab": 5,
    "kristen": 5,
}  # fmt: skip


# --- names --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Name:
    """A full name as words; ``calls`` are the index runs a person is called by alone."""

    words: tuple[str, ...]
    calls: tuple[tuple[int, ...], ...]
    family: int | None  # index of the inherited family name, if any
    group: str

    @property
    def full(self) -> str:
        return " ".join(self.words)

    def part(self, indices: tuple[int, ...]) -> tuple[str, ...]:
        return tuple(self.words[i] for i in indices)

    def with_word(self, index: int, word: str) -> _Name:
        words = list(self.words)
        words[index] = word
        return _Name(tuple(words), self.calls, self.family, self.group)


def _pick(rng: random.Random, section: str) -> str:
    return rng.choice(name_lists()[section])


def _given(rng: random.Random, group: str, sex: str) -> str:
    return _pick(rng, f"{group}.{'female' if sex == 'F' else 'male'}")


def _christian(rng: random.Random, sex: str) -> str:
    return _given(rng, "christian", sex)


_EASTERN_FAMILIES = ("minahasa.family", "ntt.family", "maluku.family", "batak.family")


def _compose(rng: random.Random, group: str, sex: str, family: str | None, adult: bool) -> _Name:
    """A name in the tradition of ``group``; ``family`` is an inherited family name."""
    female = sex == "F"
    words: list[str] = []
    calls: list[tuple[int, ...]] = []
    fam_index: int | None = None

    def add(word: str, call: bool = False) -> int:
        words.append(word)
        if call:
            calls.append((len(words) - 1,))
        return len(words) - 1

    def add_family(section: str) -> None:
        nonlocal fam_index
        fam_index = add(family or _pick(rng, section))

    if group == "aceh":
        if rng.random() < 0.2:
            add("Cut" if female else "Teuku")
        add(_given(rng, group, sex), call=True)
        if rng.random() < 0.85:
            add(_pick(rng, "aceh.second"))
    elif group == "minang":
        add(_given(rng, group, sex), call=True)
        r = rng.random()
        if r < 0.5:
            add(_pick(rng, "minang.family"))
        elif r < 0.9:
            add(_pick(rng, "minang.second"))
    elif group == "batak":
        add(_given(rng, group, sex), call=True)
        if rng.random() < 0.2:
            add(_given(rng, group, sex), call=True)
        add_family("batak.family")
    elif group == "sunda":
        add(_given(rng, group, sex), call=True)
        add(_pick(rng, f"sunda.second_{'female' if female else 'male'}"))
    elif group == "jawa":
        r = rng.random()
        if r < (0.35 if adult else 0.05):
            add(_pick(rng, f"jawa.single_{'female' if female else 'male'}"), call=True)
        elif r < 0.5:  # Javanese Catholics: baptismal name + Javanese name
            add(_christian(rng, sex), call=True)
            add(_pick(rng, f"jawa.second_{'female' if female else 'male'}"), call=True)
        else:
            add(_given(rng, group, sex), call=True)
            add(_pick(rng, f"jawa.second_{'female' if female else 'male'}"), call=True)
    elif group == "bali":
        r = rng.random()
        if r < 0.08:
            words.extend(("I", "Gusti", "Ayu" if female else rng.choice(("Ngurah", "Bagus"))))
            add(_given(rng, group, sex), call=True)
        elif r < 0.11:  # "Anak" is also the commonest word of every note
            words.extend(("Anak", "Agung", "Ayu" if female else "Gde"))
            add(_given(rng, group, sex), call=True)
        else:
            add("Ni" if female else "I")
            add(_pick(rng, f"bali.order_{'female' if female else 'male'}"), call=True)
            add(_given(rng, group, sex), call=True)
            if rng.random() < 0.25:
                add(_given(rng, group, sex))
    elif group == "bugis":
        if rng.random() < 0.2:
            add("Andi")
        add(_given(rng, group, sex), call=True)
        if rng.random() < 0.75:
            add(_pick(rng, "bugis.family"))
    elif group in ("minahasa", "ntt", "maluku", "papua", "dayak"):
        r = rng.random()
        if group == "maluku" and r < 0.15:
            add(_given(rng, "arab", sex), call=True)
        elif r < 0.6:
            add(_given(rng, group, sex), call=True)
        else:
            add(_christian(rng, sex), call=True)
        if group == "ntt" and rng.random() < 0.2:
            add(_christian(rng, sex))
        if group != "dayak" or family or rng.random() < 0.7:
            add_family(f"{group}.family")
    elif group == "tionghoa":
        clans = name_lists()["tionghoa.clan"]
        clan_order = (family is None and rng.random() < 0.25) or (
            family in clans and rng.random() < 0.4
        )
        if clan_order:  # "Tan Mei Ling": family name first, called by the two syllables
            fam_index = add(family or rng.choice(clans))
            add(_pick(rng, "tionghoa.syllable"))
            add(_pick(rng, "tionghoa.syllable"))
            calls.append((1, 2))
        else:
            add(_given(rng, group, sex), call=True)
            add_family("tionghoa.family" if rng.random() < 0.5 else "tionghoa.clan")
    elif group == "arab":
        r = rng.random()
        if not female and r < 0.4:
            add("Muhammad" if rng.random() < 0.8 else rng.choice(("Muhamad", "Mohammad")))
            add(_given(rng, group, sex), call=True)
        elif not female and r < 0.6:
            add("Abdul", call=True)
            add(_pick(rng, "arab.abdul"), call=True)
            calls.reverse()  # "Pak Karim" more often than "Pak Abdul"
        elif female and r < 0.3:
            add("Siti")
            add(_given(rng, group, sex), call=True)
            calls.append((0,))
        elif female and r < 0.45:
            add("Nur")
            add(_given(rng, group, sex), call=True)
        else:
            add(_given(rng, group, sex), call=True)
        if family or rng.random() < 0.5:
            add_family("arab.family")
        elif rng.random() < 0.4:
            add(_given(rng, group, sex))
    elif group == "kristen":
        add(_christian(rng, sex), call=True)
        if rng.random() < 0.3:
            add(_christian(rng, sex))
        add_family(_family_section(family) if family else rng.choice(_EASTERN_FAMILIES))
    else:  # pragma: no cover - GROUPS is closed
        raise ValueError(group)
    if len(set(words)) != len(words):  # "Andreas Andreas": draw again
        return _compose(rng, group, sex, family, adult)
    return _Name(tuple(words), tuple(calls), fam_index, group)


def _family_section(family: str) -> str:
    """The name-list section a family name comes from (for the "kristen" tradition)."""
    for section in _EASTERN_FAMILIES:
        if family in name_lists()[section]:
            return section
    return _EASTERN_FAMILIES[0]


# --- people and records -------------------------------------------------------------------

_ROLE_SEX = {
    "child": None,
    "mother": "F",
    "father": "M",
    "grandmother": "F",
    "grandfather": "M",
    "aunt": "F",
    "uncle": "M",
    "sibling": None,
}
_REL_WORD = {
    "mother": "ibunya",
    "father": "ayahnya",
    "grandmother": "neneknya",
    "grandfather": "kakeknya",
    "aunt": "bibinya",
    "uncle": "pamannya",
    "sibling": "kakaknya",
}
_ROLE_WORD = {
    "mother": "Ibu kandung",
    "father": "Ayah kandung",
    "grandmother": "Nenek",
    "grandfather": "Kakek",
    "aunt": "Bibi",
    "uncle": "Paman",
    "sibling": "Kakak",
}
_PATERNAL = frozenset({"father", "grandfather", "uncle", "sibling"})


@dataclass
class _Person:
    name: _Name
    sex: str
    role: str
    dob: dt.date
    nik: str
    phone: str  # national digits, "081234567890"
    email: str
    landline: str  # "0274512345" (area + subscriber digits)
    nick: str | None = None
    # what the record holds (None: the record does not have it)
    nik_known: bool = False
    phone_stored: str | None = None
    email_stored: str | None = None
    landline_stored: str | None = None

    @property
    def full(self) -> str:
        return self.name.full


@dataclass
class _Record:
    group: str
    regency: Regency
    child: _Person
    guardians: list[_Person]
    kk: str
    kk_known: bool
    address: str
    address_short: str
    birthplace: str
    school: str
    school_class: str
    nick_known: bool
    known: dict[str, list[str]] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)

    @property
    def persons(self) -> list[_Person]:
        return [self.child, *self.guardians]


def _random_date(rng: random.Random, first_year: int, last_year: int) -> dt.date:
    start = dt.date(first_year, 1, 1).toordinal()
    return dt.date.fromordinal(rng.randint(start, dt.date(last_year, 12, 31).toordinal()))


def _regency_of(rng: random.Random, group: str) -> Regency:
    province = province_by_code()[rng.choice(_GROUP_PROVINCES[group])]
    return rng.choice(province.regencies)


def _nik(rng: random.Random, regency: Regency, dob: dt.date, sex: str) -> str:
    return make_nik(regency.code, rng.randint(1, 40), dob, sex == "F", rng.randint(1, 9999))


def _kk(rng: random.Random, regency: Regency) -> str:
    issued = _random_date(rng, 2008, 2023)
    return (
        f"{regency.code}{rng.randint(1, 40):02d}{issued.day:02d}{issued.month:02d}"
        f"{issued.year % 100:02d}{rng.randint(1, 9999):04d}"
    )


def _mobile(rng: random.Random) -> str:
    length = rng.choices((11, 12, 13), weights=(25, 60, 15))[0]
    rest = length - 4
    return f"{rng.choice(_MOBILE_PREFIXES)}{rng.randrange(10 ** (rest - 1), 10**rest)}"


def _landline(rng: random.Random) -> str:
    area = rng.choice(list(_LANDLINE_AREAS))
    digits = _LANDLINE_AREAS[area]
    return f"{area}{rng.randrange(2 * 10 ** (digits - 1), 10**digits)}"


def _email(rng: random.Random, name: _Name, child_call: str | None) -> str:
    calls = [name.part(c) for c in name.calls] or [name.words[:1]]
    call = "".join(calls[0]).lower()
    last = name.words[-1].lower()
    domain = rng.choice(_EMAIL_DOMAINS)
    style = rng.randrange(6)
    if style == 0:
        local = f"{call}{rng.randint(70, 99)}"
    elif style == 1:
        local = f"{call}.{last}{rng.randint(1, 9)}"
    elif style == 2:
        local = f"{last}_{call}"
    elif style == 3 and child_call:
        local = f"{'mama' if rng.random() < 0.5 else 'papa'}{child_call.lower()}"
    elif style == 4:
        local = f"{call[0]}{last}{rng.randint(10, 99)}"
    else:
        local = f"{call}.{rng.choice(('official', 'store', 'jaya', 'cute', 'real'))}"
    return f"{local}@{domain}"


def _stored_phone(rng: random.Random, national: str) -> str:
    """How a registry holds a phone: digits, international or dashed."""
    r = rng.random()
    if r < 0.5:
        return national
    if r < 0.7:
        return f"+62 {national[1:4]}-{national[4:8]}-{national[8:]}"
    if r < 0.85:
        return f"62{national[1:]}"
    return f"{national[:4]}-{national[4:8]}-{national[8:]}"


def _new_person(
    rng: random.Random,
    group: str,
    sex: str,
    role: str,
    dob: dt.date,
    regency: Regency,
    family: str | None = None,
) -> _Person:
    name = _compose(rng, group, sex, family, adult=role != "child")
    return _Person(
        name=name,
        sex=sex,
        role=role,
        dob=dob,
        nik=_nik(rng, regency, dob, sex),
        phone=_mobile(rng),
        email=_email(rng, name, None),
        landline=_landline(rng),
    )


def _words_of(persons: Sequence[_Person]) -> set[str]:
    return {w.casefold() for p in persons for w in p.name.words}


_GUARDIAN_ROLES = ("mother", "father", "grandmother", "grandfather", "aunt", "uncle", "sibling")
_GUARDIAN_WEIGHTS = (35, 25, 12, 6, 10, 7, 5)


def _build_record(
    rng: random.Random,
    group: str,
    guardians: int,
    collision: tuple[str, str] | None = None,
    regency: Regency | None = None,
) -> _Record:
    """A child and ``guardians`` guardians; ``collision`` = (sex, given name) for one person."""
    regency = regency or _regency_of(rng, group)
    child_sex = rng.choice("FM")
    child_dob = _random_date(rng, 2007, 2019)
    if guardians == 2 and rng.random() < 0.55:
        roles = ["mother", "father"]
    else:
        roles = []
        while len(roles) < guardians:
            role = rng.choices(_GUARDIAN_ROLES, weights=_GUARDIAN_WEIGHTS)[0]
            if role not in roles:
                roles.append(role)
    patrilineal = group in ("batak", "minahasa", "dayak", "ntt", "maluku", "papua")
    patrilineal = patrilineal or group in ("tionghoa", "arab", "kristen")
    family: str | None = None
    people: list[_Person] = []
    for role in roles:
        sex = _ROLE_SEX[role] or rng.choice("FM")
        if role in ("grandmother", "grandfather"):
            dob = _random_date(rng, 1948, 1972)
        elif role == "sibling":
            dob = _random_date(rng, 1994, 2005)
        else:
            dob = _random_date(rng, 1968, min(2000, child_dob.year - 18))
        own_group = group if rng.random() < 0.9 else rng.choice(GROUPS)
        home = regency if rng.random() < 0.8 else _regency_of(rng, own_group)
        inherit = family if role in _PATERNAL and own_group == group else None
        person = _new_person(rng, own_group, sex, role, dob, home, inherit)
        if patrilineal and role in _PATERNAL and own_group == group and family is None:
            fam = person.name.family
            family = person.name.words[fam] if fam is not None else None
        people.append(person)
    child = _new_person(rng, group, child_sex, "child", child_dob, regency, family)
    if collision is not None:
        sex, word = collision
        candidates = [
            p
            for p in [child, *people]
            if p.sex == sex and p.name.calls and len(p.name.calls[0]) == 1
        ]
        if not candidates:
            child = _new_person(rng, group, sex, "child", child_dob, regency, family)
            candidates = [child]
        target = rng.choice(candidates)
        target.name = _collision_name(rng, target.name, word)
    persons = [child, *people]
    fulls = [p.full.casefold() for p in persons]
    if len(set(fulls)) != len(fulls) or any(
        len(set(p.name.words)) < len(p.name.words) for p in persons
    ):
        return _build_record(rng, group, guardians, collision, regency)
    # nickname: never one of the record's words
    if rng.random() < 0.45:
        nick = _pick(rng, f"nickname.{'female' if child.sex == 'F' else 'male'}")
        if nick.casefold() not in _words_of(persons):
            child.nick = nick
    child_call = " ".join(child.name.part(child.name.calls[0])) if child.name.calls else None
    for g in people:
        g.email = _email(rng, g.name, child_call)
    school, school_class = _school(rng, child_dob, regency)
    address, short = _address(rng, group)
    record = _Record(
        group=group,
        regency=regency,
        child=child,
        guardians=people,
        kk=_kk(rng, regency),
        kk_known=rng.random() < 0.85,
        address=address,
        address_short=short,
        birthplace=regency.place_name
        if rng.random() < 0.75
        else _regency_of(rng, group).place_name,
        school=school,
        school_class=school_class,
        nick_known=child.nick is not None and rng.random() < 0.5,
    )
    _fill_known(rng, record)
    return record


def _collision_name(rng: random.Random, name: _Name, word: str) -> _Name:
    """``name`` with its usual call word replaced by ``word`` ("Bunga Situmeang")."""
    index = name.calls[0][0]
    if len(name.words) == 1 and rng.random() < 0.5:
        return _Name((word,), ((0,),), None, name.group)
    return name.with_word(index, word)


def _fill_known(rng: random.Random, record: _Record) -> None:
    child, people = record.child, record.guardians
    child.nik_known = rng.random() < 0.9
    for i, g in enumerate(people):
        g.nik_known = rng.random() < 0.7
        if rng.random() < (0.9 if i == 0 else 0.6):
            g.phone_stored = _stored_phone(rng, g.phone)
        if rng.random() < 0.15:
            g.landline_stored = g.landline
    if rng.random() < 0.55:
        owner = rng.choice(people)
        stored = owner.email
        owner.email_stored = stored if rng.random() < 0.7 else stored.capitalize()
    known: dict[str, list[str]] = {"person_name": [p.full for p in record.persons]}
    if record.nick_known and child.nick:
        known["person_name"].append(child.nick)
        record.aliases[child.nick] = child.full
    niks = [p.nik for p in record.persons if p.nik_known]
    if niks:
        known["nik"] = niks
    if record.kk_known:
        known["kk_number"] = [record.kk]
    phones = [v for g in people for v in (g.phone_stored, g.landline_stored) if v]
    if phones:
        known["phone"] = phones
    known["birth_date"] = [child.dob.isoformat()]
    known["address"] = [record.address]
    known["place"] = [record.birthplace]
    emails = [g.email_stored for g in people if g.email_stored]
    if emails:
        known["email"] = emails
    record.known = known


def _school(rng: random.Random, dob: dt.date, regency: Regency) -> tuple[str, str]:
    """(school name, class) for a child in 2024."""
    age = 2024 - dob.year
    grade = min(12, max(1, age - 6))
    place = rng.choice(vocabulary()["village"]) if grade <= 6 else regency.place_name
    n = rng.randint(1, 12)
    voc = vocabulary()
    if grade <= 6:
        name = rng.choice(
            (
                f"SDN {n} {place}",
                f"SD Negeri {n} {place}",
                f"SD Inpres {place}",
                f"MI {rng.choice(voc['islamic_school'])}",
                f"SD Katolik {rng.choice(voc['saint'])}",
                f"SD YPPK {rng.choice(voc['saint'])}",
                f"SD GMIT {place}",
                f"SDN {n:03d} {place}",
            )
        )
    elif grade <= 9:
        name = rng.choice(
            (
                f"SMPN {n} {place}",
                f"SMP Negeri {n} {place}",
                f"MTs {rng.choice(voc['islamic_school'])}",
            )
        )
    else:
        name = rng.choice(
            (
                f"SMAN {n} {place}",
                f"SMA Negeri {n} {place}",
                f"SMK Negeri {n} {place}",
                f"SMK Muhammadiyah {n} {place}",
                f"MA {rng.choice(voc['islamic_school'])}",
            )
        )
    if rng.random() < 0.04:
        name = f"SLB Negeri {regency.place_name}"
    r = rng.random()
    if r < 0.55:
        klass = f"kelas {grade}"
    elif r < 0.75:
        klass = f"kelas {_ROMAN[grade - 1]}"
    elif r < 0.88:
        klass = f"kelas {grade}{rng.choice('ABC')}"
    else:
        klass = f"kls {grade}"
    if grade >= 10 and rng.random() < 0.3:
        klass = f"kelas {_ROMAN[grade - 1]} {rng.choice(('IPA', 'IPS'))} {rng.randint(1, 4)}"
    return name, klass


def _address(rng: random.Random, group: str) -> tuple[str, str]:
    """(full address as a record holds it, the short form a note may use)."""
    voc = vocabulary()
    n = rng.randint(1, 120)
    rt, rw = rng.randint(1, 15), rng.randint(1, 12)
    village = rng.choice(voc["village"])
    rtrw = rng.choice(
        (
            f"RT {rt:02d}/RW {rw:02d}",
            f"RT {rt:03d}/RW {rw:03d}",
            f"RT {rt:02d} RW {rw:02d}",
            f"RT.{rt:02d}/RW.{rw:02d}",
        )
    )
    r = rng.random()
    if group == "bali" and r < 0.6:
        short = f"Banjar {rng.choice(voc['banjar'])}"
        return f"{short}, Desa {village}", short
    if group == "aceh" and r < 0.5:
        short = f"Gampong {village}"
        return f"{short}, Dusun {rng.choice(voc['dusun'])}", short
    if group == "minang" and r < 0.4:
        short = f"Jorong {rng.choice(voc['dusun'])}"
        return f"{short}, Nagari {village}", short
    if group in ("papua", "maluku") and r < 0.4:
        short = rng.choice(
            (
                f"BTN {rng.choice(voc['estate'])} Blok {rng.choice('ABCDEF')} No. {n}",
                f"Jl. Raya Sentani Km {rng.randint(5, 20)}",
            )
        )
        return short, short
    if group in ("jawa", "sunda") and r < 0.35:
        if group == "sunda":
            short = f"Kp. {rng.choice(voc['kampung'])} {rtrw}"
        else:
            short = f"Dusun {rng.choice(voc['dusun'])} {rtrw}"
        return f"{short}, Desa {village}", short
    street = rng.choice(voc["street"])
    r = rng.random()
    if r < 0.45:
        short = f"{rng.choice(('Jl.', 'Jl.', 'Jalan', 'JL.'))} {street} No. {n}{rng.choice(('', '', 'A', 'B'))}"
        full = f"{short} {rtrw}"
    elif r < 0.7:
        short = f"{rng.choice(('Gg.', 'Gang'))} {rng.choice(voc['gang'])} {_ROMAN[rng.randint(0, 5)]} No. {n}"
        full = f"{short}, {rtrw}"
    elif r < 0.85:
        short = f"Perum {rng.choice(voc['estate'])} Blok {rng.choice('ABCDEFG')}{rng.randint(1, 9)} No. {n}"
        full = short
    else:
        short = f"Jl. {street} Gg. {rng.choice(voc['gang'])} No. {n}"
        full = f"{short}, {rtrw}, Kel. {village}"
    return full, short


# --- formats ------------------------------------------------------------------------------


def _fmt_sixteen(rng: random.Random, digits: str) -> str:
    """A NIK or KK as case workers type it."""
    d = digits
    return rng.choices(
        (
            d,
            f"{d[:4]} {d[4:8]} {d[8:12]} {d[12:]}",
            f"{d[:4]}.{d[4:8]}.{d[8:12]}.{d[12:]}",
            f"{d[:4]}-{d[4:8]}-{d[8:12]}-{d[12:]}",
            f"{d[:2]} {d[2:4]} {d[4:6]} {d[6:12]} {d[12:]}",
            f"{d[:2]}.{d[2:4]}.{d[4:6]}.{d[6:12]}.{d[12:]}",
            f"{d[:6]} {d[6:12]} {d[12:]}",
            f"{d[:6]}.{d[6:12]}.{d[12:]}",
        ),
        weights=(40, 15, 8, 8, 6, 5, 5, 3),
    )[0]


def _fmt_mobile(rng: random.Random, national: str) -> str:
    head, rest = national[:4], national[4:]
    cut = len(rest) // 2
    a, b = rest[:cut], rest[cut:]
    return rng.choices(
        (
            national,
            f"{head}-{a}-{b}",
            f"{head} {a} {b}",
            f"({head}) {rest}",
            f"+62 {head[1:]}-{a}-{b}",
            f"+62 ({head[1:]}) {a} {b}",
            f"62{national[1:]}",
            f"+62{national[1:]}",
            f"{head}.{a}.{b}",
            f"{head}-{rest[:3]}-{rest[3:]}",
            f"+62-{head[1:]}-{rest}",
        ),
        weights=(10, 12, 10, 5, 8, 4, 5, 5, 4, 4, 2),
    )[0]


def _fmt_landline(rng: random.Random, digits: str) -> str:
    area = next(a for a in sorted(_LANDLINE_AREAS, key=len, reverse=True) if digits.startswith(a))
    sub = digits[len(area) :]
    return rng.choice(
        (
            f"({area}) {sub}",
            f"{area}-{sub}",
            f"{area} {sub}",
            f"({area}) {sub[:3]} {sub[3:]}",
            f"({area}) {sub[:3]}-{sub[3:]}",
        )
    )


def _fmt_date(rng: random.Random, d: dt.date) -> str:
    month = _MONTHS[d.month - 1]
    if d.month in (2, 11) and rng.random() < 0.2:
        month = "Pebruari" if d.month == 2 else "Nopember"
    short = _MONTHS_SHORT[d.month - 1]
    return rng.choices(
        (
            f"{d.day} {month} {d.year}",
            f"{d.day:02d} {month} {d.year}",
            f"{d.day} {month.upper()} {d.year}",
            f"{d.day} {short} {d.year}",
            f"{d.day} {short}. {d.year}",
            f"{d.day} {short} '{d.year % 100:02d}",
            f"{d.day:02d}-{d.month:02d}-{d.year}",
            f"{d.day}/{d.month}/{d.year}",
            f"{d.day:02d}/{d.month:02d}/{d.year}",
            f"{d.day:02d}.{d.month:02d}.{d.year}",
            f"{d.year}-{d.month:02d}-{d.day:02d}",
            f"{d.day:02d}-{d.month:02d}-{d.year % 100:02d}",
            f"{d.day}-{short}-{d.year}",
        ),
        weights=(30, 5, 3, 6, 3, 4, 10, 8, 8, 4, 6, 4, 3),
    )[0]


def _typo(rng: random.Random, word: str) -> str:
    """One dropped or doubled letter, the commonest typing slips in names."""
    if len(word) < 4:
        return word
    i = rng.randint(1, len(word) - 2)
    dropped = rng.random() < 0.5
    out = word[:i] + word[i + 1 :] if dropped else word[:i] + word[i] + word[i:]
    return out if out.casefold() != word.casefold() else word + word[-1]


# --- templates ----------------------------------------------------------------------------
#
# Slots: {c.X} child, {g1.X} / {g2.X} guardians, {x1.X} / {xf1.X} / {xm1.X} third parties
# (any / female / male; the same key is the same person within a note). Person kinds: any, full,
# call, hon (honorific + name), name (bare), nick, caps, rel (kinship word, text), role (text),
# nik, phone, phone_new, landline, email, dob, dob_alt, ttl, age, birthyear, birthmonth, addr,
# ustadz, pendeta. Note slots: visit (a full date), kk, kk_old, addr, school, and the unlabelled
# place, regency, prov, village, mountain, river, inst, hosp, landmark, prog, month, day,
# holiday, brand, school_bare, room, n, year.

_IDENTIFIER_TEMPLATES: tuple[str, ...] = (
    "Kunjungan rumah pada {visit}. {g1.hon} ({g1.phone}) menyampaikan bahwa {c.call} sudah "
    "kembali bersekolah di {school}.",
    "{c.full} diantar oleh {g1.rel}, {g1.hon}, ke {inst}. NIK anak {c.nik}, No. KK {kk}.",
    "Asesmen awal. Nama anak: {c.full}. TTL: {c.ttl}. Alamat: {addr}. Wali: {g1.full} "
    "(HP {g1.phone}, email {g1.email}).",
    "{g1.hon} menelepon dari nomor {g1.phone} menanyakan perkembangan {c.any}. Petugas "
    "menjelaskan jadwal konseling hari {day}.",
    "Pertemuan dengan wali kelas {c.call}, {xf1.hon}, di sekolah. {c.call} sering terlambat "
    "karena membantu {g1.rel} berjualan di pasar.",
    "{x1.name} datang menjenguk {c.any} di {inst} bersama {xm2.hon}. Keduanya mengaku tetangga "
    "keluarga di {addr}.",
    "Verifikasi dokumen: NIK {g1.full} tercatat {g1.nik}, kartu keluarga nomor {kk}.",
    "{visit} - {c.any} tinggal bersama {g1.rel} di {addr}. Rumah semi permanen, listrik "
    "menumpang tetangga ({xm1.hon}).",
    "Anak bernama {c.full}, lahir {c.dob}, dirujuk oleh {inst} karena belum memiliki akta "
    "kelahiran.",
    "{g1.hon} belum bisa dihubungi di {g1.phone}. Pesan WA dikirim juga ke {g2.rel} ({g2.phone}).",
    "Pamannya, {xm1.hon}, bersedia menjadi pengasuh sementara. Nomor yang bisa dihubungi "
    "{xm1.phone}. {g1.hon} setuju.",
    "Email dari {g1.hon} ({g1.email}) diterima, berisi permohonan agar {c.call} dapat pulang "
    "saat {holiday}.",
    "Bibinya, {xf1.hon}, melaporkan bahwa {c.any} sering menangis malam hari. Bibi tinggal di "
    "{xf1.addr}, HP {xf1.phone}.",
    "Konseling sesi ke-{n} dengan {c.call}. Anak menyebut {x1.name} sebagai teman dekat di "
    "{school}.",
    "Rujukan ke {hosp}: {c.full} ({c.age}) demam tinggi tiga hari. Pendamping: {xf1.hon} dari "
    "{inst}.",
    "Data wali diperbarui. {g1.role}: {g1.full}, NIK {g1.nik}. {g2.role}: {g2.full}, NIK "
    "{g2.nik}. No. KK {kk}.",
    "Koordinasi dengan guru ngaji di TPA: {x1.ustadz} menyampaikan {c.call} rajin mengaji "
    "setiap sore.",
    "Pemuka agama setempat, {x1.pendeta}, bersedia mendampingi keluarga {g1.full} selama proses "
    "reunifikasi.",
    "Laporan dari {xm1.hon} (ketua RT, HP {xm1.phone}): {g1.rel} {c.call} jarang pulang ke "
    "rumah di {addr}.",
    "Pengajuan KIP untuk {c.full} ({school}). Berkas: fotokopi KK {kk}, akta lahir, NIK {c.nik}.",
    "Telepon masuk dari {x1.landline}, rumah {x1.hon}, terkait surat keterangan domisili "
    "{g1.full}.",
    "{g1.full} menandatangani persetujuan pengasuhan pada {visit}. Saksi: {x1.hon} dan {x2.hon}.",
    "Pemeriksaan di puskesmas: berat badan {c.call} naik 1 kg. Tanggal lahir di buku KIA "
    "tertulis {c.dob}.",
    "Case conference bersama {inst}, {g1.hon}, dan {xf1.hon} (psikolog). Disepakati {c.any} "
    "tetap tinggal bersama {g1.rel}.",
    "Nomor HP {g1.rel} berganti: lama {g1.phone}, baru {g1.phone_new}.",
    "Wawancara dengan {c.call} tentang kejadian di rumah. Anak menyebut {xm1.name} sering "
    "datang dalam keadaan mabuk.",
    "{x1.name} mengaku kakak sepupu {c.call} dan meminta alamat {inst}. Petugas menunggu "
    "verifikasi dari {g1.hon}.",
    "Penjemputan: {c.full} dijemput oleh {g1.hon} dan {g2.hon} pada {visit}.",
    "Surat dikirim ke alamat email {g1.email} dan ditembuskan ke {x1.email} (pendamping hukum).",
    "{c.nick} (panggilan untuk {c.full}) sudah mau makan bersama anak-anak lain di {inst}.",
    "Koordinasi dengan guru BK, {x1.hon} ({x1.phone}), mengenai kehadiran {c.call} di {school}.",
    "{g1.role} anak: {g1.full}, tgl lahir {g1.dob}, NIK {g1.nik}. Bekerja sebagai buruh harian "
    "lepas di {place}.",
    "Pengaduan masyarakat dari {x1.hon}, NIK pelapor {x1.nik}, HP {x1.phone}: anak a.n. "
    "{c.full} diduga ditelantarkan.",
    "Monitoring bulan {month}: {c.any} sehat, {g1.hon} rutin menerima {prog}. Alamat tetap di "
    "{addr}.",
    "Di rumah {g1.rel}, {c.call} tidur sekamar dengan {x1.name} (sepupu, 15 tahun). Perlu "
    "ditinjau ulang.",
    "Reunifikasi: {c.full} kembali ke {g1.rel} di {addr}. Kontak darurat: {g2.hon} {g2.phone}.",
    "{g1.hon} keberatan atas kunjungan {x1.hon} yang mengaku petugas dinas. Nomor orang "
    "tersebut {x1.phone}.",
    "Kartu keluarga {c.call}: {kk}. Di dalamnya tercantum {c.full} dengan NIK {c.nik}.",
    "Anak dibawa ke {hosp} oleh {xf1.hon} (bidan desa). {g1.role} anak, {g1.hon}, menyusul "
    "dari {place}.",
    "Tanggal lahir anak tidak sesuai: di KK tertulis {c.dob}, di akta {c.dob_alt}.",
    "Relawan {x1.hon} melaporkan {c.call} sudah lancar membaca. Relawan dapat dihubungi lewat "
    "{x1.email}.",
    "{g1.full} ({g1.age} tahun) bekerja di Malaysia; anak diasuh {g2.rel} {g2.hon} di {addr}.",
    "Panggilan video dengan {g1.hon} dari {place}. {c.call} bercerita tentang lomba {holiday} "
    "di {inst}.",
    "Penilaian risiko tinggi. Terduga pelaku {xm1.name}, tinggal di {xm1.addr}, tidak lagi "
    "serumah dengan {c.call}.",
    "{c.any} mendapat bantuan seragam dari {inst}. Ukuran dicatat oleh {xf1.hon}.",
    "Pesan dari {g1.rel} melalui WhatsApp {g1.phone}: {c.call} sakit, izin tidak ikut kegiatan "
    "hari {day}.",
    "Kunjungan sekolah: wali kelas {xf1.hon} menyampaikan nilai {c.call} menurun. Saat ini "
    "{c.call} duduk di {school}.",
    "Data anak: {c.full} / {c.dob} / {addr} / {school}. Ortu: {g1.full} - {g1.phone} - {g1.email}.",
    "Rapat keluarga di rumah {xm1.hon} (pakde anak). Hadir {g1.hon}, {g2.hon}, dan {c.call}. "
    "Disepakati {c.call} tinggal dengan {g2.rel}.",
    "Mohon tindak lanjut: {g1.full}, NIK {g1.nik}, belum terdaftar {prog}. Pendamping PKH "
    "{xf1.hon} ({xf1.phone}).",
    "Kakak {c.call}, {x1.name}, juga pernah tinggal di {inst} tahun {year}.",
    "Pendaftaran BPJS Kesehatan a.n. {c.full}, NIK {c.nik}, KK {kk}. Kartu dikirim ke {addr}.",
    "{xm1.name} menelepon ({xm1.phone}) mengaku ayah kandung {c.call}. Nama tersebut tidak "
    "tercatat di kartu keluarga {kk}.",
    "Di sekolah {c.call} berkelahi dengan teman sekelasnya, {x1.name}. Orang tua kedua anak "
    "dipanggil; {g1.hon} hadir.",
    "Lapor diri {g1.hon} ke kantor: alamat baru {addr}, nomor baru {g1.phone_new}.",
    "Catatan {day}: {c.call} demam, sudah diberi obat. {g1.hon} dikabari lewat SMS ke {g1.phone}.",
    "Tgl lahir anak {c.dob}; usia saat masuk LKSA {c.age}. {g1.role}: {g1.full}.",
    "{g1.hon} menitipkan surat untuk {c.call} melalui {x1.hon}. Surat dibacakan oleh pengasuh, "
    "{xf2.hon}.",
    "Permohonan akta kelahiran untuk {c.full} (lahir di {c.ttl}) diajukan ke Disdukcapil {place}.",
    "{c.full} bercerita bahwa tetangga sebelah, {xf1.hon}, sering memberi makan saat {g1.rel} "
    "tidak di rumah.",
    "Jadwal sidang dikirim ke {g1.email}. {g1.hon} akan didampingi advokat {x1.hon} "
    "({x1.landline}).",
    "Pengasuh melaporkan {c.any} dan {x1.name} kabur dari {inst} malam {day}. Keduanya "
    "ditemukan di rumah {xm2.hon} di {xm2.addr}.",
    "Setelah {holiday}, {g1.hon} tidak mengantar {c.call} kembali. Dihubungi di {g1.phone} dan "
    "{g1.landline}, tidak ada jawaban.",
    "Guru ngaji {c.call}, {x1.ustadz}, tinggal di {x1.addr}. Beliau bersedia menjadi saksi "
    "sidang perwalian.",
    "Pemutakhiran data: nomor KK lama {kk_old}, nomor KK baru {kk}. NIK {g1.full}: {g1.nik}.",
    "{g1.full} dan {g2.full} bercerai tahun {year}. Hak asuh {c.full} jatuh ke {g2.rel}.",
    "SMS dari nomor tidak dikenal {x1.phone} berisi ancaman kepada {g1.hon}. Sudah dilaporkan "
    "ke {office}.",
    "Jadwal terapi wicara {c.call} di {hosp} setiap {day}. Terapis: {xf1.hon}, telp "
    "{xf1.landline}.",
    "Anak kelahiran {c.birthyear} ini bernama {c.full}; lahir {c.birthmonth} di {place}. "
    "Dititipkan oleh {g1.hon}.",
    "Rekap kontak: {g1.hon} {g1.phone}; {x1.hon} (Ketua RW) {x1.phone}; {x2.hon} (rumah) "
    "{x2.landline}.",
)

_CLEAN_TEMPLATES: tuple[str, ...] = (
    "Kegiatan posyandu remaja di balai Desa {village} berjalan lancar. Hadir {n} anak dari {inst}.",
    "Senam pagi setiap hari {day} sejak fajar. Anak-anak antusias mengikuti.",
    "Rapat koordinasi dengan Dinas Sosial {regency} membahas penyaluran {prog} bulan {month}.",
    "Persiapan {holiday}: pengasuh membeli {food} dan perlengkapan sekolah untuk seluruh anak.",
    "Banjir di {regency} menyebabkan kegiatan belajar di {school_bare} diliburkan selama {n} hari.",
    "Kunjungan edukasi ke {hosp} untuk belajar kesehatan gigi. Anak-anak diberi sikat gigi "
    "dan pasta gigi Pepsodent.",
    "Tidak ada kejadian khusus hari ini. Alhamdulillah rezeki dapur cukup; semua anak belajar "
    "kelompok setelah makan siang.",
    "Pelatihan pengasuhan positif untuk pengasuh {inst} diadakan di {place} selama {n} hari "
    "pada bulan {month}.",
    "Jadwal imunisasi BIAS di {school_bare} diundur ke minggu kedua {month}.",
    "Anak-anak dibagi ke kelompok {mountain} dan kelompok {mountain} untuk lomba 17 Agustus.",
    "Sosialisasi {prog} oleh pendamping dari {inst}. Syarat pendaftaran dibacakan satu per satu.",
    "Libur {holiday}: sebagian anak pulang ke keluarga di {prov}, sebagian tetap di {inst}.",
    "Pemeriksaan air bersih oleh petugas {office}. Hasil: layak minum setelah dimasak.",
    "Anggaran {month} {year} digunakan untuk perbaikan atap asrama putri dan pembelian beras.",
    "Rencana mendaki Gunung {mountain} dibatalkan karena cuaca buruk; diganti menonton film di "
    "aula.",
    "Kerja bakti membersihkan bantaran {river} bersama warga {village}.",
    "Donasi dari karyawan {company} berupa {n} karung beras dan {n} dus {food}.",
    "Koordinasi dengan {hosp} terkait rujukan anak berkebutuhan khusus ke {inst}.",
    "Jam belajar malam dimulai pukul 19.00. Yang belum mengerjakan PR dibantu kakak pendamping.",
    "Selama bulan suci Ramadan, jadwal makan disesuaikan: sahur pukul 03.30 dan berbuka di aula.",
    "Sebanyak {n} anak menerima {prog} tahap {n}. Pencairan melalui {bank}.",
    "Ujian sekolah di {school_bare} berjalan tertib. Tidak ada anak dari {inst} yang absen.",
    "Kunjungan tim akreditasi dari Kementerian Sosial. Dokumen SOP pengasuhan diperiksa lengkap.",
    "Kondisi asrama putra dan asrama putri baik. Kamar mandi lantai dua perlu diperbaiki "
    "sebelum {month}.",
    "Peringatan Maulid Nabi untuk penguatan iman anak: lomba azan, hafalan surat pendek, dan "
    "pawai obor keliling {village}.",
    "Anak-anak yang beragama Kristen mengikuti perayaan Natal di Gereja Katedral {place}.",
    "Hari Anak Nasional diperingati dengan pentas seni di {inst}. Tamu undangan dari {inst}.",
    "Gempa kecil terasa di {regency} pukul 02.00. Semua anak dievakuasi ke lapangan; tidak ada "
    "korban.",
    "Bantuan susu {milk} dari {inst} dibagikan untuk balita di posyandu {village}.",
    "Pemadaman listrik PLN selama {n} jam. Genset dipakai untuk pompa air.",
    "Tes urine rutin oleh BNN {regency}: semua hasil negatif.",
    "Pelatihan komputer di {inst} setiap hari {day} dan {day}; pengasuh mendampingi dengan "
    "kasih sayang.",
    "Jalan menuju {village} rusak berat meski pemandangannya indah; kunjungan rumah bulan "
    "{month} ditunda.",
    "Penyuluhan bahaya rokok oleh petugas {hosp}. Anak-anak diajak menjauhi rokok {tobacco}.",
    "Perbaiki pagar belakang. Ajukan {prog} untuk anak usia sekolah. Koordinasi dengan {inst}.",
    "Studi banding ke {inst} di {place}. Pengurus belajar sistem pengasuhan berbasis keluarga.",
    "Kegiatan {day} pagi: jalan sehat ke {landmark}. Air minum {water} dibawa dari asrama.",
    "Anggota DPRD {regency} berkunjung dan menyerahkan bantuan. Tidak ada liputan media "
    "tentang anak.",
    "Stok beras tinggal {n} karung, minyak goreng {oil} habis. Belanja hari {day}.",
    "Petugas Disdukcapil {regency} melakukan perekaman KTP-el untuk remaja di {inst}.",
    "Lomba kebersihan antarkamar bulan {month} dimenangkan kamar {room}.",
    "Setiap {day}, relawan dari {inst} mengajar bahasa Inggris dan matematika.",
    "Panen sayur di kebun belakang asrama: kangkung dan bayam dijual ke pasar {village}.",
    "Waspada banjir: air {river} naik sejak {day}. Anak-anak dilarang bermain di tepi sungai.",
    "Puji syukur atas rahmat Tuhan, renovasi dapur selesai sebelum {holiday}. Kotak amal "
    "dibuka bersama pengurus.",
    "Ucapan selamat untuk {n} anak yang naik kelas tahun {year}; semuanya tetap bersekolah "
    "di {school_bare}.",
    "Doa bersama menjelang {holiday} dipimpin pengurus yayasan, dilanjutkan makan bersama.",
    "Karyawisata ke {landmark} dan {landmark} bersama pengasuh {inst}; semua anak kembali "
    "pukul 17.00.",
)


def identifier_templates() -> tuple[str, ...]:
    """The note templates with identifiers (for tests and statistics)."""
    return _IDENTIFIER_TEMPLATES


def clean_templates() -> tuple[str, ...]:
    """The note templates without any identifier."""
    return _CLEAN_TEMPLATES


# --- rendering ----------------------------------------------------------------------------

_HEADING_SEPARATORS = ("\n", ": ", "\n", " - ")
_VOCAB_SLOTS = frozenset(
    {
        "village", "landmark", "inst", "office", "hosp", "prog", "holiday", "room", "food",
        "company", "bank", "tobacco", "milk", "water", "oil",
    }
)  # fmt: skip
_SLOT = re.compile(r"\{([a-z0-9_]+)(?:\.([a-z0-9_]+))?\}")
_THIRD = re.compile(r"x([fm]?)(\d)")
Seg = tuple[str, str | None, str | None]  # text, label, links_to


def _honorific(rng: random.Random, p: _Person) -> str:
    group, female = p.name.group, p.sex == "F"
    if p.role == "child":
        return rng.choice(("An.", "Ananda", "adik", "Dik", "Dek", "anak"))
    if p.role == "grandmother":
        return rng.choice(("Nenek", "Nek", "Mbah" if group == "jawa" else "Oma", "Bu"))
    if p.role == "grandfather":
        return rng.choice(("Kakek", "Kek", "Mbah" if group == "jawa" else "Opa", "Pak"))
    extra: tuple[str, ...] = ()
    if female:
        common: tuple[str, ...] = ("Ibu", "Ibu", "Bu", "Bu", "Sdri.", "Kak")
        extra = {
            "jawa": ("Mbak", "Bu"),
            "sunda": ("Teh", "Ceu"),
            "minang": ("Uni",),
            "minahasa": ("Tante", "Ibu"),
            "papua": ("Mama", "Mama", "Tante"),
            "ntt": ("Mama", "Tante"),
            "maluku": ("Mama", "Usi"),
            "tionghoa": ("Cik", "Ci"),
            "arab": ("Umi", "Syarifah"),
            "bali": ("Mbok",),
        }.get(group, ())
    else:
        common = ("Bapak", "Bapak", "Pak", "Pak", "Bpk.", "Sdr.", "Bang")
        extra = {
            "jawa": ("Mas", "Pak"),
            "sunda": ("Kang", "Aa", "Mang"),
            "minang": ("Uda",),
            "minahasa": ("Om",),
            "papua": ("Bapa", "Bapa", "Om"),
            "ntt": ("Bapa", "Om"),
            "maluku": ("Bapa", "Bung"),
            "tionghoa": ("Koh",),
            "bali": ("Bli",),
            "bugis": ("Daeng",),
            "aceh": ("Teungku",),
        }.get(group, ())
    return rng.choice(common + extra)


class _NoteWriter:
    """Renders one template for one record; third parties are created on first use."""

    def __init__(self, gen: _Generator, record: _Record, trap: bool) -> None:
        self.gen = gen
        self.rng = gen.rng
        self.record = record
        self.want_trap = trap
        self.third: dict[str, _Person] = {}
        self.trap_made = False

    # -- public --

    def render(self, template: str) -> tuple[str, list[Span]]:
        parts: list[str] = []
        spans: list[Span] = []
        pos = 0
        for text, label, links in self._segments(template):
            if label is not None:
                spans.append(Span(label, pos, pos + len(text), links))
            parts.append(text)
            pos += len(text)
        return "".join(parts), spans

    def groups(self) -> tuple[str, ...]:
        persons = [*self.record.persons, *self.third.values()]
        return tuple(sorted({p.name.group for p in persons}))

    # -- segments --

    def _segments(self, template: str) -> list[Seg]:
        out: list[Seg] = []
        last = 0
        for m in _SLOT.finditer(template):
            if m.start() > last:
                out.append((template[last : m.start()], None, None))
            out.extend(self._fill(m.group(1), m.group(2)))
            last = m.end()
        if last < len(template):
            out.append((template[last:], None, None))
        return out

    def _fill(self, head: str, kind: str | None) -> list[Seg]:
        if kind is None:
            return self._note_slot(head)
        if head == "c":
            return self._known_slot(self.record.child, kind)
        if head in ("g1", "g2"):
            return self._known_slot(self.record.guardians[int(head[1]) - 1], kind)
        if _THIRD.fullmatch(head):
            return self._third_slot(self._third_party(head), kind)
        raise ValueError(f"unknown slot {head}.{kind}")

    def _text(self, text: str) -> list[Seg]:
        return [(text, None, None)]

    def _vocab(self, section: str) -> list[Seg]:
        return self._segments(self.rng.choice(vocabulary()[section]))

    def _regency(self) -> Regency:
        """Half the places are the record's own regency, as in real local notes (and the
        record's birthplace is often that regency: a ``place`` value in an innocent name)."""
        if self.rng.random() < 0.5:
            return self.record.regency
        return self.rng.choice(self.gen.regencies)

    def _note_slot(self, kind: str) -> list[Seg]:
        rng, record = self.rng, self.record
        if kind == "visit":
            return [(_fmt_date(rng, _random_date(rng, 2023, 2025)), "DOB", None)]
        if kind == "kk":
            return [(_fmt_sixteen(rng, record.kk), "KK", record.kk if record.kk_known else None)]
        if kind == "kk_old":
            return [(_fmt_sixteen(rng, self.gen.fresh_kk(record.regency)), "KK", None)]
        if kind == "addr":
            return [(self._address_mention(), "ADDRESS", None)]
        if kind == "school":
            if rng.random() < 0.75:
                text = f"{record.school_class} {record.school}"
            else:
                text = f"{record.school} {record.school_class}"
            return [(text, "SCHOOL", None)]
        if kind == "school_bare":
            school, _ = _school(rng, _random_date(rng, 2007, 2018), self._regency())
            return self._text(school)
        if kind == "place":
            return self._text(self._regency().place_name)
        if kind == "regency":
            return self._text(self._regency().name)
        if kind == "prov":
            return self._text(province_by_code()[self._regency().province_code].name)
        if kind in _VOCAB_SLOTS:
            section = {"inst": "institution", "hosp": "hospital", "prog": "programme"}.get(
                kind, kind
            )
            return self._vocab(section)
        if kind == "mountain":
            return self._text(rng.choice(vocabulary()["mountain"]))
        if kind == "river":
            return self._text(rng.choice(vocabulary()["river"]))
        if kind == "month":
            return self._text(rng.choice(_MONTHS))
        if kind == "day":
            return self._text(rng.choice(_DAYS))
        if kind == "n":
            return self._text(str(rng.randint(2, 9)))
        if kind == "year":
            return self._text(str(rng.randint(2016, 2024)))
        raise ValueError(f"unknown note slot {kind}")

    def _address_mention(self) -> str:
        record, r = self.record, self.rng.random()
        if r < 0.6:
            return record.address
        if r < 0.85:
            return record.address_short
        if r < 0.93:
            return record.address.upper()
        return record.address.replace("Jl. ", "Jalan ").replace("Gg. ", "Gang ")

    # -- known persons --

    def _owner(self, words: tuple[str, ...]) -> str | None:
        """The full name a mention denotes, or None when the record makes it ambiguous."""
        folded = tuple(w.casefold() for w in words)
        persons = self.record.persons
        for p in persons:
            if tuple(w.casefold() for w in p.name.words) == folded:
                return p.full
        owners = []
        for p in persons:
            ws = tuple(w.casefold() for w in p.name.words)
            n = len(folded)
            is_nick = self.record.nick_known and p.nick and (p.nick.casefold(),) == folded
            if is_nick or any(ws[i : i + n] == folded for i in range(len(ws) - n + 1)):
                owners.append(p)
        return owners[0].full if len(owners) == 1 else None

    def _name_seg(self, p: _Person, words: tuple[str, ...], variant: str) -> Seg:
        links = self._owner(words)
        text = " ".join(words)
        if variant == "upper":
            text = text.upper()
        elif variant == "lower":
            text = text.lower()
        elif variant == "typo":
            candidates = [i for i, w in enumerate(words) if len(w) >= 4]
            if candidates:
                i = self.rng.choice(candidates)
                typed = list(words)
                typed[i] = _typo(self.rng, words[i])
                text = " ".join(typed)
        return (text, "KNOWN_PERSON", links)

    def _variant(self) -> str:
        return self.rng.choices(("plain", "upper", "lower", "typo"), weights=(86, 4, 4, 6))[0]

    def _call_words(self, p: _Person) -> tuple[str, ...]:
        name = p.name
        if not name.calls:
            return name.words
        weights = [3] + [1] * (len(name.calls) - 1)
        return name.part(self.rng.choices(name.calls, weights=weights)[0])

    def _mention(self, p: _Person, form: str) -> list[Seg]:
        rng = self.rng
        if form == "any":
            forms = ["full", "call", "hon", "nick"]
            weights = [32, 30, 24, 10 if p.nick else 0]
            form = rng.choices(forms, weights=weights)[0]
        if form == "nick":
            if p.nick is None:
                return self._mention(p, "call")
            text = p.nick if rng.random() < 0.9 else p.nick.upper()
            return [(text, "KNOWN_PERSON", p.full)]
        if form == "full":
            return [self._name_seg(p, p.name.words, self._variant())]
        if form == "call":
            return [self._name_seg(p, self._call_words(p), self._variant())]
        if form == "caps":
            return [self._name_seg(p, p.name.words, "upper")]
        if form == "hon":
            r = rng.random()
            if p.name.family is not None and r < 0.25 and p.role != "child":
                words: tuple[str, ...] = (p.name.words[p.name.family],)
            elif r < 0.6:
                words = self._call_words(p)
            else:
                words = p.name.words
            hon = _honorific(rng, p)
            return [(hon + " ", None, None), self._name_seg(p, words, self._variant())]
        raise ValueError(form)

    def _known_slot(self, p: _Person, kind: str) -> list[Seg]:
        rng, record = self.rng, self.record
        if kind in ("any", "full", "call", "hon", "nick", "caps"):
            return self._mention(p, kind)
        if kind == "rel":
            return self._text(_REL_WORD[p.role])
        if kind == "role":
            return self._text(_ROLE_WORD[p.role])
        if kind == "nik":
            return [(_fmt_sixteen(rng, p.nik), "NIK", p.nik if p.nik_known else None)]
        if kind == "phone":
            return self._phone_segs(p.phone, p.phone_stored)
        if kind == "phone_new":
            return self._phone_segs(self.gen.fresh_mobile(), None)
        if kind == "landline":
            return [(_fmt_landline(rng, p.landline), "PHONE", p.landline_stored)]
        if kind == "email":
            text = p.email if rng.random() < 0.9 else p.email.upper()
            return [(text, "EMAIL", p.email_stored)]
        if kind == "dob":
            return [(_fmt_date(rng, p.dob), "DOB", None)]
        if kind == "dob_alt":
            other = p.dob + dt.timedelta(days=rng.choice((-400, -31, -1, 1, 30, 365)))
            return [(_fmt_date(rng, other), "DOB", None)]
        if kind == "ttl":
            return [(f"{record.birthplace}, ", None, None), (_fmt_date(rng, p.dob), "DOB", None)]
        if kind == "age":
            return self._text(
                f"{2024 - p.dob.year} tahun" if p.role == "child" else str(2024 - p.dob.year)
            )
        if kind == "birthyear":
            return self._text(str(p.dob.year))
        if kind == "birthmonth":
            return self._text(f"{_MONTHS[p.dob.month - 1]} {p.dob.year}")
        raise ValueError(f"unknown person slot {kind}")

    def _phone_segs(self, national: str, stored: str | None) -> list[Seg]:
        segs: list[Seg] = [(_fmt_mobile(self.rng, national), "PHONE", stored)]
        if self.rng.random() < 0.03:
            segs.append((f" ext {self.rng.randint(10, 99)}", None, None))
        return segs

    # -- third parties --

    def _third_party(self, key: str) -> _Person:
        person = self.third.get(key)
        if person is None:
            person = self.third[key] = self._new_third(key)
        return person

    def _new_third(self, key: str) -> _Person:
        rng = self.rng
        m = _THIRD.fullmatch(key)
        assert m is not None
        sex = {"f": "F", "m": "M"}.get(m.group(1)) or rng.choice("FM")
        group = self.record.group if rng.random() < 0.6 else rng.choice(GROUPS)
        regency = _regency_of(rng, group)
        dob = _random_date(rng, 1960, 2004)
        if self.want_trap and not self.trap_made:
            name = self._trap_name(sex)
            if name is not None:
                self.trap_made = True
                person = self.gen.claim(_new_person(rng, name.group, sex, "third", dob, regency))
                person.name = name
                person.email = _email(rng, name, None)
                return person
        taken = _words_of(self.record.persons) | {
            w.casefold() for p in self.third.values() for w in p.name.words
        }
        if self.record.child.nick:
            taken.add(self.record.child.nick.casefold())
        for _ in range(50):
            person = _new_person(rng, group, sex, "third", dob, regency)
            if not {w.casefold() for w in person.name.words if len(w) >= 3} & taken:
                return self.gen.claim(person)
        raise RuntimeError("no third-party name distinct from the record")  # pragma: no cover

    def _trap_name(self, sex: str) -> _Name | None:
        """A stranger sharing a first name or a surname with a known person."""
        rng = self.rng
        options: list[tuple[_Person, str]] = []
        for p in self.record.persons:
            if p.name.calls and p.sex == sex:
                first = p.name.part(p.name.calls[0])
                if len(first) == 1 and len(first[0]) >= 3:
                    options.append((p, "given"))
            if len(p.name.words) > 1 and len(p.name.words[-1]) >= 3:
                options.append((p, "last"))
        if not options:
            return None
        target, mode = rng.choice(options)
        known_fulls = {q.full.casefold() for q in self.record.persons}
        for _ in range(30):
            fresh = _compose(rng, target.name.group, sex, None, adult=True)
            if len(fresh.words) < 2 or not fresh.calls:
                continue
            if mode == "given":
                shared = target.name.part(target.name.calls[0])[0]
                index = fresh.calls[0][0]
                if index == len(fresh.words) - 1:
                    continue
                name = fresh.with_word(index, shared)
            else:
                shared = target.name.words[-1]
                name = fresh.with_word(len(fresh.words) - 1, shared)
            if len(set(name.words)) == len(name.words) and name.full.casefold() not in known_fulls:
                return name
        return None

    def _third_mention(self, p: _Person, hon: str | None) -> list[Seg]:
        """A third party by full name (traps always), or by call name / surname."""
        rng = self.rng
        shares = {w.casefold() for w in p.name.words if len(w) >= 3} & _words_of(
            self.record.persons
        )
        r = rng.random()
        if shares or r < 0.65 or not p.name.calls:
            words = p.name.words
        elif p.name.family is not None and r < 0.8 and hon:
            words = (p.name.words[p.name.family],)
        else:
            words = p.name.part(p.name.calls[0])
        text = " ".join(words)
        if rng.random() < 0.04:
            text = text.upper()
        segs: list[Seg] = [(hon + " ", None, None)] if hon else []
        segs.append((text, "UNKNOWN_PERSON", None))
        return segs

    def _third_slot(self, p: _Person, kind: str) -> list[Seg]:
        rng = self.rng
        if kind == "name":
            return self._third_mention(p, None)
        if kind == "hon":
            honorific = _honorific(rng, p) if rng.random() < 0.93 else None
            return self._third_mention(p, honorific)
        if kind == "ustadz":
            return self._third_mention(
                p, "Ustadzah" if p.sex == "F" else rng.choice(("Ustadz", "Ustad"))
            )
        if kind == "pendeta":
            title = "Pendeta" if rng.random() < 0.6 else ("Suster" if p.sex == "F" else "Romo")
            return self._third_mention(p, title)
        if kind == "phone":
            return self._phone_segs(p.phone, None)
        if kind == "landline":
            segs: list[Seg] = [(_fmt_landline(rng, p.landline), "PHONE", None)]
            if rng.random() < 0.15:
                segs.append((f" ext {rng.randint(10, 99)}", None, None))
            return segs
        if kind == "nik":
            return [(_fmt_sixteen(rng, p.nik), "NIK", None)]
        if kind == "email":
            return [(p.email, "EMAIL", None)]
        if kind == "addr":
            address, short = _address(rng, p.name.group)
            return [(address if rng.random() < 0.6 else short, "ADDRESS", None)]
        raise ValueError(f"unknown third-party slot {kind}")


# --- the generator ------------------------------------------------------------------------


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.regencies: tuple[Regency, ...] = tuple(r for p in PROVINCES for r in p.regencies)
        self._issued: set[str] = set()

    def _unique(self, make: Callable[[], str]) -> str:
        while True:
            value = make()
            if value not in self._issued:
                self._issued.add(value)
                return value

    def fresh_mobile(self) -> str:
        return self._unique(lambda: _mobile(self.rng))

    def fresh_kk(self, regency: Regency) -> str:
        return self._unique(lambda: _kk(self.rng, regency))

    def group(self) -> str:
        return self.rng.choices(GROUPS, weights=[_GROUP_WEIGHTS[g] for g in GROUPS])[0]

    def claim(self, person: _Person) -> _Person:
        """Give ``person`` numbers no other person of the corpus has (a third party's phone
        must never be a record's, or its label would be wrong)."""
        while person.phone in self._issued:
            person.phone = _mobile(self.rng)
        while person.landline in self._issued:
            person.landline = _landline(self.rng)
        while person.nik in self._issued:
            person.nik = _nik(self.rng, self.rng.choice(self.regencies), person.dob, person.sex)
        self._issued.update((person.phone, person.landline, person.nik))
        return person

    def record(
        self, guardians: int, collision: tuple[str, str] | None = None, like: _Record | None = None
    ) -> _Record:
        """A new record (``like``: in the same tradition and regency as another)."""
        while True:
            group = like.group if like else self.group()
            if collision and group in ("bali", "tionghoa"):  # no free-standing given name
                group = self.rng.choice(("jawa", "sunda", "batak", "minahasa", "papua", "ntt"))
            record = _build_record(
                self.rng, group, guardians, collision, like.regency if like else None
            )
            numbers = [record.kk] + [
                v for p in record.persons for v in (p.phone, p.nik, p.landline)
            ]
            if len(set(numbers)) == len(numbers) and not self._issued.intersection(numbers):
                self._issued.update(numbers)
                return record

    def _template_cycle(self, templates: Sequence[str], count: int) -> list[tuple[int, str]]:
        """Every template about equally often, in a shuffled order."""
        order: list[tuple[int, str]] = []
        indexed = list(enumerate(templates))
        while len(order) < count:
            self.rng.shuffle(indexed)
            order.extend(indexed)
        return order[:count]

    def identifier_note(self, number: int, index: int, template: str) -> LabelledNote:
        rng = self.rng
        guardians = 2 if "{g2." in template or rng.random() < 0.4 else 1
        record = self.record(guardians)
        has_third = re.search(r"\{x[fm]?\d\.", template) is not None
        writer = _NoteWriter(self, record, trap=has_third and rng.random() < 0.5)
        text, spans = writer.render(self._decorate(template, 0.1))
        text = self._case(text, spans)
        return LabelledNote(
            note_id=f"ID-{number:05d}",
            text=text,
            known=record.known,
            spans=spans,
            kind="identifiers",
            aliases=dict(record.aliases),
            template=f"id{index:02d}",
            groups=writer.groups(),
        )

    def clean_note(self, number: int, index: int, template: str) -> LabelledNote:
        rng = self.rng
        probe = self.record(1)
        writer = _NoteWriter(self, probe, trap=False)
        text, spans = writer.render(self._decorate(template, 0.25))
        assert not spans, template
        record = probe
        if rng.random() < 0.75:  # a record whose names also occur in the note's own words
            words = {w.casefold() for w in re.findall(r"[A-Za-z]+", text)}
            lists = name_lists()
            hits = [
                (sex, w)
                for sex, section in (("F", "collision.female"), ("M", "collision.male"))
                for w in lists[section]
                if w.casefold() in words
            ]
            if hits:
                record = self.record(rng.choice((1, 2)), rng.choice(hits), like=probe)
        text = self._case(text, spans)
        return LabelledNote(
            note_id=f"CL-{number:05d}",
            text=text,
            known=record.known,
            spans=[],
            kind="clean",
            aliases=dict(record.aliases),
            template=f"cl{index:02d}",
            groups=tuple(sorted({p.name.group for p in record.persons})),
        )

    def _decorate(self, template: str, heading_rate: float) -> str:
        if self.rng.random() < heading_rate:
            heading = self.rng.choice(vocabulary()["heading"])
            return f"{heading}{self.rng.choice(_HEADING_SEPARATORS)}{template}"
        return template

    def _case(self, text: str, spans: list[Span]) -> str:
        """A few notes are typed in capitals or all lower case; the first letter is capital."""
        if not text.isascii():  # case changes must keep every span's offsets
            raise ValueError(f"non-ASCII note text: {text!r}")
        r = self.rng.random()
        if r < 0.05:
            return text.upper()
        if r < 0.09:
            return text.lower()
        if text[0].islower() and not any(s.start == 0 for s in spans):
            return text[0].upper() + text[1:]
        return text


def build_corpus(
    seed: int = DEFAULT_SEED,
    *,
    identifier_notes: int = IDENTIFIER_NOTES,
    clean_notes: int = CLEAN_NOTES,
) -> list[LabelledNote]:
    """The corpus for ``seed``: identifier and clean notes, shuffled together.

    Deterministic: the same seed gives the same notes on every machine (no set iteration or
    hash order reaches the random stream).
    """
    gen = _Generator(seed)
    notes: list[LabelledNote] = []
    for i, (index, template) in enumerate(
        gen._template_cycle(_IDENTIFIER_TEMPLATES, identifier_notes)
    ):
        notes.append(gen.identifier_note(i + 1, index, template))
    for i, (index, template) in enumerate(gen._template_cycle(_CLEAN_TEMPLATES, clean_notes)):
        notes.append(gen.clean_note(i + 1, index, template))
    gen.rng.shuffle(notes)
    return notes


# --- statistics ---------------------------------------------------------------------------


def shares_known_word(note: LabelledNote, span: Span) -> bool:
    """Whether an UNKNOWN_PERSON span shares a word (3+ letters) with a known person's name:
    a wrong-link trap."""
    known_words = {
        w.casefold()
        for value in note.known.get("person_name", [])
        for w in re.findall(r"\w+", value)
        if len(w) >= 3
    }
    words = {w.casefold() for w in re.findall(r"\w+", note.text[span.start : span.end])}
    return bool(words & known_words)


def stats(notes: Sequence[LabelledNote]) -> str:
    """Counts by note kind, label (linked or not), wrong-link traps and name tradition."""
    kinds = Counter(n.kind for n in notes)
    labels: Counter[str] = Counter()
    linked: Counter[str] = Counter()
    for n in notes:
        for s in n.spans:
            labels[s.label] += 1
            linked[s.label] += s.links_to is not None
    trap_spans = sum(
        shares_known_word(n, s) for n in notes for s in n.spans if s.label == "UNKNOWN_PERSON"
    )
    trap_notes = sum(
        any(s.label == "UNKNOWN_PERSON" and shares_known_word(n, s) for s in n.spans) for n in notes
    )
    groups = Counter(g for n in notes for g in n.groups)
    lines = [f"notes: {len(notes)}"]
    lines += [f"  {kind:<12} {kinds[kind]:>6}" for kind in KINDS]
    templates = {n.template for n in notes}
    lines.append(
        f"templates used: {sum(t.startswith('id') for t in templates)} identifier, "
        f"{sum(t.startswith('cl') for t in templates)} clean"
    )
    lines.append(f"{'label':<16}{'spans':>7}{'linked':>8}{'unlinked':>10}")
    for label in LABELS:
        lines.append(
            f"{label:<16}{labels[label]:>7}{linked[label]:>8}{labels[label] - linked[label]:>10}"
        )
    lines.append(f"{'total':<16}{sum(labels.values()):>7}")
    lines.append(f"wrong-link traps: {trap_spans} spans in {trap_notes} notes")
    clean_known_hits = sum(
        1
        for n in notes
        if n.kind == "clean"
        and any(
            re.search(rf"\b{re.escape(w)}\b", n.text, re.IGNORECASE)
            for v in n.known.get("person_name", [])
            for w in re.findall(r"\w+", v)
            if len(w) >= 3
        )
    )
    clean_place_hits = sum(
        1
        for n in notes
        if n.kind == "clean"
        and any(re.search(rf"\b{re.escape(v)}\b", n.text, re.I) for v in n.known.get("place", []))
    )
    lines.append(
        f"clean notes containing a word of their record's names: {clean_known_hits}, "
        f"their record's birthplace: {clean_place_hits}"
    )
    lines.append("name traditions (notes): " + ", ".join(f"{g} {groups[g]}" for g in GROUPS))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--stats", action="store_true", help="print counts (default)")
    parser.add_argument("--show", type=int, default=0, help="print the first N notes")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    notes = build_corpus(args.seed)
    elapsed = time.perf_counter() - started
    for note in notes[: args.show]:
        print(f"--- {note.note_id} ({note.kind}, {note.template}) known={note.known}")
        print(note.text)
        for s in note.spans:
            print(f"    {s.label:<15} {note.text[s.start : s.end]!r} -> {s.links_to!r}")
    print(stats(notes))
    print(f"generated in {elapsed:.2f} s (seed {args.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
