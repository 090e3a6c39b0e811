"""Corpus C: a third, independently written labelled corpus of Indonesian child-welfare notes.

Why a third corpus
------------------
Corpus A (:mod:`tests.support.redaction_corpus`) is what the redactor is tuned on; corpus B
(:mod:`tests.support.redaction_corpus_heldout`) was held out, but every fix made after reading
one of its misses makes it a little less held out. Corpus C is a fresh measurement of how the
redactor generalises: its author read neither the redactor (``anonymization/``), its name
gazetteers, the synthetic generator (``ingestion/synthetic/``) nor the templates, vocabularies or
name lists of corpora A and B. Only the *contract* was read: corpus A's module docstring and its
:class:`Span` / :class:`LabelledNote` dataclasses (imported here, so the scorer of
:mod:`tests.support.redaction_scoring` scores all three corpora alike), corpus B's docstring,
and the scorer's interface (the ``known`` record format and how spans are consumed). Keep it
that way: when a miss here reveals a real gap, fix the redactor with a general rule; do not edit
corpus C to make it pass, and do not copy its templates or lists into A or B.

How it was written
------------------
Everything lives in ``tests/fixtures/redaction_corpus_third/`` and was written from general
knowledge of Indonesia:

* ``names.txt``: name parts of 27 traditions (Acehnese with Teuku/Cut, Minang, Batak Toba and
  Karo with marga and ``br.``, Mandailing, Nias, Sundanese, Javanese single names, Madurese with
  Moh./Ach./Sitti and apostrophes, Betawi with bin/binti, Balinese with I/Ni, caste titles and
  birth-order names, Sasak Lalu/Baiq, Bugis/Makassar with Andi and *daeng*, Butonese La Ode/Wa
  Ode, Toraja, Minahasa fam, Ambon/Maluku, Flores, Timor/Rote/Sabu, Sumba Umbu/Rambu, Dayak,
  Papuan, Chinese-Indonesian in both orders, Arab-Indonesian, Palembang/Riau Malay with
  Kgs./Nyimas/Tengku, Gorontalo, Christian names) plus nicknames and given names that are also
  ordinary words ("Sabar", "Bintang", "Kasih").
* ``places.txt``: 53 regions with their NIK prefixes, kecamatan/distrik, kelurahan, villages
  (desa, gampong, nagari, negeri, lembang, kampung), neighbourhood units (dusun, banjar, jorong,
  huta, lingkungan, lorong, padukuhan, jaga), streets, alleys, housing estates, hospitals,
  police, courts, landmarks and phone area codes.
* ``vocabulary.txt``: institutions named after people (hospitals, campuses, airports, streets),
  offices, shelters named with name-like words, programmes, brands, holidays, shops.
* ``templates.txt``: 63 note templates with identifiers and 41 without, in genres beyond the
  visit report: intake transcripts with Q/A, shift handovers, police and court liaison, hospital
  discharge summaries (also bilingual), school meeting minutes with "Hadir:" lists, volunteer
  logbooks, forwarded WhatsApp and SMS shorthand, e-mail threads, forms with "Nama:"/"TTL:"
  fields, pipe tables, bullet lists, ALL-CAPS letters, all-lowercase chats, fields without
  spaces after punctuation, English-mixed notes, quoted and parenthesised names, possessives,
  a name alone as a one-word sentence.

Each note draws a household (child + two adults of one or two traditions, a region, numbers)
and a template; the template's placeholders become labelled spans. Nothing is stored:
``build_third_corpus(seed)`` rebuilds the same notes in about a second.

Labelling rules (corpus A's docstring is the reference)
-------------------------------------------------------
* A span is exactly the identifier: a name without its cue ("Bu", "Pak", "Ompung", "Mama",
  "Inaq", "dr.", "Hj.", "a.n.", a police rank) and without a trailing degree (", S.Pd.",
  ", Sp.A"); titles that belong to the name are inside it ("Andi", "Teuku", "Lalu", "Baiq",
  "Umbu", "I"/"Ni", "La Ode", "br.", "bin"/"binti", "Dg." inside "Syamsuddin Dg. Naba").
  A number without its cue ("NIK", "HP") and without an extension ("ext. 21", "psw. 204").
  A school with its class ("kelas 4 SDN 2 Sukaluyu"). A date without its weekday.
* ``KNOWN_PERSON``: a person of the record; ``links_to`` is that person's full name as the
  record holds it when the mention denotes one of them (full name in any case or with a typo,
  nickname, initialled form, or name parts found in exactly one record name), None when the
  parts are shared by several record persons (a marga of father and child, "Wayan", "Siti").
* ``UNKNOWN_PERSON``: everybody else, with ``links_to`` None, including relatives outside the
  record. A *wrong-link trap* is an ``UNKNOWN_PERSON`` span sharing a name word (not a particle
  such as "br." or "I") with a record name: a teacher "Siti Nurhaliza" beside a mother "Siti
  Khadijah", an uncle "Togar Sitorus" beside a child "Rotua br. Sitorus", a classmate
  "Ni Kadek Sukmawati" beside "Ni Kadek Ariani", an absent father (not in the record) sharing
  the child's marga. A stranger is never written with only the shared word.
* ``NIK``, ``KK``, ``PHONE``, ``EMAIL``: ``links_to`` is the record's value as stored when the
  note shows the record's value (in any format); None for third parties, for a guardian's new
  phone, for a mistyped NIK, and for values of record persons that the record lacks.
* ``DOB``: every full calendar date, whatever it dates, in any Indonesian or English form
  ("12-03-2011", "12/3/11", "12 Maret 2011", "12 Mrt 2011", "12 bln 3 thn 2011", "2011-03-12",
  "March 12, 2011"); a day and month without a year ("17 Agustus", "Jl. 14 Februari") and a
  month and year are not labelled, nor the birthplace of "TTL: Kupang, 3 Mei 2012".
* ``ADDRESS``: where a person lives, from the street, alley, estate, dusun, banjar, jorong,
  huta, lingkungan, lorong or village down to the kecamatan when written in one run. A village
  or street named as a place of an event or a landmark is not an address.
* ``SCHOOL``: a school written with the child's class; a school without a class is not labelled.
* Clean notes have no span at all. They name institutions honouring people ("RSUP Dr.
  Sardjito", "Bandara I Gusti Ngurah Rai", "Jl. Sam Ratulangi"), places, programmes (PKH, KIP,
  BPJS), brands, holidays ("Hari Anak Nasional (23 Juli)"), months and weekdays, role words
  ("Pak RT", "Bu Bidan"), blank forms, hotline numbers (SAPA 129, 112), and in about three
  quarters of them the record holds a name that the note uses as an ordinary word ("sabar",
  "bintang", "Untung tidak ada yang terluka").

Usage
-----
``build_third_corpus(seed)`` returns the notes; ``corpus_digest(notes)`` is a sha256 of their
canonical serialisation; ``stats(notes)`` counts spans per label, traps and traditions.
``python -m tests.support.redaction_corpus_third`` prints the statistics; ``--score`` scores
today's ``Redactor`` with :func:`tests.support.redaction_scoring.report` (``--examples N``
prints N misses per label, wrong links and clean-note detections).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from tests.support.redaction_corpus import LABELS, LabelledNote, Span

__all__ = [
    "DEFAULT_SEED",
    "LABELS",
    "build_third_corpus",
    "corpus_digest",
    "name_words",
    "stats",
    "trap_spans",
]

DEFAULT_SEED = 11
IDENTIFIER_NOTES = 1100
CLEAN_NOTES = 360

_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "redaction_corpus_third"

#: Name words that mark a name's structure rather than a person; sharing one is no trap.
PARTICLES = frozenset(
    {"br", "boru", "bin", "binti", "i", "ni", "la", "wa", "ode", "da", "de", "dg", "luh", "al"}
)

# --- fixtures ----------------------------------------------------------------------------------


def _parse_keyed(path: Path) -> dict[str, dict[str, list[str]]]:
    """``[section]`` then ``key: a, b`` lines (``names.txt``, ``places.txt``)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1].strip(), {})
            continue
        if current is None or ":" not in line:
            raise ValueError(f"{path.name}: cannot parse {raw!r}")
        key, _, value = line.partition(":")
        current.setdefault(key.strip(), []).extend(v.strip() for v in value.split(",") if v.strip())
    return sections


def _parse_lists(path: Path) -> dict[str, list[str]]:
    """``[section]`` then one entry per line (``vocabulary.txt``)."""
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = out.setdefault(line[1:-1].strip(), [])
        elif current is not None:
            current.append(line)
    return out


@dataclass(frozen=True)
class _Tradition:
    name: str
    style: str
    lists: dict[str, list[str]]

    def get(self, key: str) -> list[str]:
        return self.lists.get(key, [])


@dataclass(frozen=True)
class _Region:
    key: str
    traditions: tuple[str, ...]
    city: str
    birthplace: str
    province: str
    code: str
    district: str
    lists: dict[str, list[str]]

    def get(self, key: str) -> list[str]:
        return self.lists.get(key, [])

    @property
    def village_word(self) -> str:
        words = self.get("village_word")
        return words[0] if words else "Desa"

    @property
    def unit_word(self) -> str:
        words = self.get("unit_word")
        return words[0] if words else ""


@dataclass(frozen=True)
class _Template:
    name: str
    kind: str
    flags: frozenset[str]
    body: str


@cache
def _traditions() -> dict[str, _Tradition]:
    raw = _parse_keyed(_FIXTURES / "names.txt")
    return {
        name: _Tradition(name, lists.get("style", ["single2"])[0], lists)
        for name, lists in raw.items()
        if name != "words"
    }


@cache
def _word_names() -> dict[str, list[str]]:
    return _parse_keyed(_FIXTURES / "names.txt")["words"]


@cache
def _regions() -> tuple[_Region, ...]:
    out = []
    for key, lists in _parse_keyed(_FIXTURES / "places.txt").items():
        name = key.removeprefix("region ").strip()
        out.append(
            _Region(
                key=name,
                traditions=tuple(lists["traditions"]),
                city=lists["city"][0],
                birthplace=lists["birthplace"][0],
                province=lists["province"][0],
                code=lists["code"][0],
                district=lists.get("district", ["Kec."])[0],
                lists=lists,
            )
        )
    return tuple(out)


@cache
def _vocabulary() -> dict[str, list[str]]:
    return _parse_lists(_FIXTURES / "vocabulary.txt")


@cache
def _templates() -> tuple[_Template, ...]:
    text = (_FIXTURES / "templates.txt").read_text(encoding="utf-8")
    out = []
    for chunk in text.split("\n=== ")[1:]:
        header, _, body = chunk.partition("\n")
        name, kind, flags = (part.strip() for part in (header + " | ").split("|")[:3])
        out.append(_Template(name, kind, frozenset(flags.split()), body.strip("\n")))
    return tuple(out)


def _regions_of(tradition: str) -> list[_Region]:
    return [r for r in _regions() if tradition in r.traditions]


# --- words and names ------------------------------------------------------------------------

_STRIP = ".,;:'\"()[]/-"


def name_words(text: str) -> frozenset[str]:
    """The lower-cased words of a name that can identify somebody (no particles, initials)."""
    words = set()
    for raw in text.split():
        w = raw.strip(_STRIP).lower()
        if len(w) > 1 and w not in PARTICLES:
            words.add(w)
    return frozenset(words)


_RELIGION: dict[str, str] = {
    "aceh": "islam",
    "minang": "islam",
    "batak_toba": "kristen",
    "batak_karo": "kristen",
    "mandailing": "islam",
    "sunda": "islam",
    "jawa": "islam",
    "madura": "islam",
    "betawi": "islam",
    "bali": "hindu",
    "sasak": "islam",
    "bugis": "islam",
    "buton": "islam",
    "toraja": "kristen",
    "minahasa": "kristen",
    "maluku": "kristen",
    "flores": "katolik",
    "timor": "kristen",
    "sumba": "kristen",
    "dayak": "katolik",
    "papua": "kristen",
    "tionghoa": "buddha",
    "arab": "islam",
    "melayu": "islam",
    "gorontalo": "islam",
    "nias": "kristen",
    "kristen": "katolik",
}


@dataclass
class _Person:
    key: str
    full: str
    forms: dict[str, str]
    female: bool
    tradition: str
    stage: str  # child / adult / elder
    role: str
    family: str | None = None
    noble: bool = False
    mode: str = ""  # Chinese-Indonesian name order: modern / old / mixed
    daeng: str | None = None
    nick: str | None = None
    in_record: bool = False
    haji: bool = False
    dob: dt.date = dt.date(2000, 1, 1)
    birthplace: str = ""
    nik: str = ""
    phone: str = ""
    email: str = ""
    rec_nik: str | None = None
    rec_phone: str | None = None
    rec_email: str | None = None
    rec_dob: str | None = None
    shared: frozenset[str] = frozenset()
    kin: str = ""

    @property
    def words(self) -> frozenset[str]:
        return name_words(self.full)


def _pick(rng: random.Random, items: Sequence[str], exclude: Sequence[str] = ()) -> str:
    choices = [x for x in items if x not in exclude]
    return rng.choice(choices or list(items))


def _givens(
    trad: _Tradition, female: bool, rng: random.Random, first: str | None, two: float
) -> list[str]:
    pool = trad.get("female" if female else "male")
    given = [first or _pick(rng, pool)]
    if rng.random() < two:
        given.append(_pick(rng, pool, given))
    return given


@dataclass(frozen=True)
class _Made:
    full: str
    forms: dict[str, str]
    family: str | None
    noble: bool
    daeng: str | None
    mode: str


def _compose(
    trad: _Tradition,
    female: bool,
    stage: str,
    rng: random.Random,
    *,
    first: str | None = None,
    family: str | None = None,
    father: _Person | None = None,
    own_part: bool = False,
) -> _Made:
    """A name of ``trad``: its full form, the forms a note may use, the family it passes on.

    ``first``/``family`` force a part (children inherit a family; traps share a part);
    ``own_part`` makes sure a forced first name comes with another name word.
    """
    style = trad.style
    g_key = "female" if female else "male"
    two = 1.0 if own_part and family is None else 0.3
    forms: dict[str, str] = {}
    noble = bool(father.noble) if father is not None else rng.random() < 0.2
    parts: list[str]
    fam: str | None = None
    daeng: str | None = None
    mode = ""

    def finish(given: list[str]) -> None:
        forms["first"] = given[0]
        if len(given) > 1:
            forms["given"] = " ".join(given)

    if style in ("family", "batak", "kristen"):
        pre_opts = trad.get("pre_f" if female else "pre_m")
        use_pre = bool(pre_opts) and first is None and rng.random() < 0.15
        if style == "kristen":
            given = [first or _pick(rng, trad.get(g_key))]
            second = family or _pick(rng, trad.get("second_f" if female else "second_m"))
            parts = [*given, second]
            fam = second.split()[-1]
            forms["last"] = fam
            forms["fl"] = f"{given[0]} {fam}"
        else:
            given = _givens(trad, female, rng, first, 0.25)
            fam = family or _pick(rng, trad.get("family"), given)
            middle: list[str] = []
            if style == "batak" and female and rng.random() < (0.55 if stage != "child" else 0.3):
                middle = [rng.choice(["br.", "br.", "br", "boru"])]
            parts = ([rng.choice(pre_opts)] if use_pre else []) + given + middle + [fam]
            forms["last"] = fam
            if len(given) > 1 or use_pre or middle:
                forms["fl"] = f"{given[0]} {fam}"
            if use_pre and parts[0] in ("Muhammad", "Ahmad"):
                forms["init"] = f"{parts[0][0]}. {given[0]}"
            else:
                forms["init"] = f"{given[0][0]}. {fam}"
        finish(given)
    elif style == "bali":
        orders = trad.get("birth_order_f" if female else "birth_order_m")
        order = first if first is not None and first in orders else _pick(rng, orders)
        given_word = first if first is not None and first not in orders else None
        given = [given_word or _pick(rng, trad.get(g_key))]
        caste = noble and rng.random() < 0.6
        if caste:
            caste_words = _pick(rng, trad.get("caste_f" if female else "caste_m")).split()
            parts = [*caste_words, order, *given]
        elif female:
            luh = ["Luh"] if order != "Luh" and rng.random() < 0.3 else []
            parts = ["Ni", *luh, order, *given] if order != "Luh" else ["Ni", "Luh", *given]
        else:
            parts = ["I", order, *given]
        noble = caste
        forms["first"] = order if order != "Luh" else given[0]
        forms["given"] = given[0]
        forms["fl"] = f"{order} {given[0]}" if order != "Luh" else f"Luh {given[0]}"
    elif style == "tionghoa":
        old_given = trad.get("cgiven_f") + trad.get("cgiven_m")
        if father is not None:
            mode = "mixed" if father.mode == "old" and rng.random() < 0.6 else "modern"
            fam = family or father.family
        elif first is not None:
            mode = "old" if first in old_given else "modern"
        elif family is not None:
            in_old = family in trad.get("csurname")
            mode = rng.choice(["old", "mixed"]) if in_old else "modern"
        else:
            old = {"child": 0.0, "adult": 0.25, "elder": 0.6}[stage]
            r = rng.random()
            mode = "old" if r < old else ("mixed" if r < old + 0.15 else "modern")
        if mode == "old":
            fam = family or _pick(rng, trad.get("csurname"))
            cg = first or _pick(rng, trad.get("cgiven_f" if female else "cgiven_m"))
            parts = [fam, cg]
            forms["first"] = cg
        else:
            given = _givens(trad, female, rng, first, 0.1)
            if fam is None or (mode == "mixed" and family is None and father is None):
                fam = family or _pick(rng, trad.get("csurname" if mode == "mixed" else "family"))
            parts = [*given, fam]
            finish(given)
            forms["fl"] = f"{given[0]} {fam}"
        forms["last"] = fam
    else:
        prefix_list = trad.get("prefix_f" if female else "prefix_m")
        pre_list = trad.get("pre_f" if female else "pre_m")
        given = _givens(trad, female, rng, first, two if style != "sumba" else 0.0)
        prefix: str | None = None
        pre: str | None = None
        tail: list[str] = []
        if style == "sumba":
            noble = noble if father is not None else rng.random() < 0.5
            fam = family or _pick(rng, trad.get("family"))
            if noble:
                prefix = prefix_list[0]
                parts = [prefix, *given, fam]
                forms["pre_first"] = f"{prefix} {given[0]}"
            else:
                christian = _pick(rng, trad.get("christian_f" if female else "christian_m"))
                parts = [christian, *given, fam]
                forms["fl"] = f"{christian} {fam}"
                given = [christian, *given]
            forms["last"] = fam
            finish(given)
        else:
            if style == "aceh" and noble and prefix_list and rng.random() < 0.7:
                prefix = prefix_list[0]
            elif style in ("sasak", "melayu", "bugis") and noble and prefix_list:
                prefix = _pick(rng, prefix_list)
            elif style == "buton" and prefix_list:
                r = rng.random()
                if noble and rng.random() < 0.8:
                    prefix = prefix_list[0]
                elif r < 0.3:
                    prefix = prefix_list[-1]
            elif style == "madura" and prefix_list and rng.random() < 0.45:
                prefix = _pick(rng, [p for p in prefix_list if p != "Nyai"] or prefix_list)
            if prefix is None and pre_list and rng.random() < (0.12 if female else 0.15):
                pre = _pick(rng, pre_list)
            if (
                style in ("aceh", "madura", "betawi", "arab")
                and father is not None
                and rng.random() < (0.25 if style == "betawi" else 0.18)
            ):
                tail = ["binti" if female else "bin", father.forms["first"]]
            if style == "arab":
                fam = family or (father.family if father is not None else None)
                fam = fam or _pick(rng, trad.get("family"))
                if female and prefix is None and rng.random() < 0.2 and first is None:
                    prefix = "Syarifah"
                tail = [*tail, fam]
                forms["last"] = fam
                forms["fl"] = f"{given[0]} {fam}"
            if style == "bugis" and stage != "child" and not noble and rng.random() < 0.3:
                daeng = _pick(rng, trad.get("daeng"))
                tail = ["Dg.", daeng]
                forms["last"] = daeng
            suffix: list[str] = []
            suffixes = trad.get("suffix_f" if female else "suffix_m")
            if stage == "child" and suffixes and first is None and rng.random() < 0.25:
                suffix = [_pick(rng, suffixes)]
            parts = [p for p in (prefix, pre) if p] + given + suffix + tail
            if prefix:
                forms["pre_first"] = f"{prefix} {given[0]}"
            if pre in ("Muhammad", "M.", "Muh.", "Moch."):
                forms["init"] = f"M. {given[0]}"
            if len(given) > 1 and "last" not in forms:
                forms["last"] = given[-1]
            finish(given)
    full = " ".join(parts)
    forms["full"] = full
    return _Made(full, forms, fam, noble, daeng, mode)


# --- numbers, dates, addresses, schools --------------------------------------------------------

_MONTHS = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)
_MONTHS_OLD = {2: "Pebruari", 11: "Nopember"}
_ABBR = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")
_ABBR_ALT = {3: "Mrt", 8: "Agt", 11: "Nop", 2: "Peb", 12: "Des."}
_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_WEEKDAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")


def _fmt_date(d: dt.date, rng: random.Random, english: bool = False) -> str:
    m, y, yy = d.month, d.year, d.year % 100
    if english and rng.random() < 0.7:
        return rng.choice(
            [
                f"{_MONTHS_EN[m - 1]} {d.day}, {y}",
                f"{d.day} {_MONTHS_EN[m - 1]} {y}",
                f"{_MONTHS_EN[m - 1][:3]} {d.day}, {y}",
            ]
        )
    options = [
        f"{d.day:02d}-{m:02d}-{y}",
        f"{d.day:02d}/{m:02d}/{y}",
        f"{d.day}/{m}/{yy:02d}",
        f"{d.day}-{m}-{y}",
        f"{d.day:02d}.{m:02d}.{y}",
        f"{d.day} {_MONTHS[m - 1]} {y}",
        f"{d.day:02d} {_MONTHS[m - 1]} {y}",
        f"{d.day} {_MONTHS[m - 1]} {y}",
        f"{d.day} {_ABBR[m - 1]} {y}",
        f"{d.day}-{_ABBR[m - 1]}-{y}",
        f"{d.day} {_ABBR_ALT.get(m, _ABBR[m - 1])} {y}",
        f"{d.day} {_ABBR[m - 1]} '{yy:02d}",
        f"{y}-{m:02d}-{d.day:02d}",
        f"{d.day} bln {m} thn {y}",
        f"{d.day} {_MONTHS[m - 1].upper()} {y}",
        f"{d.day} {_MONTHS_OLD.get(m, _MONTHS[m - 1])} {y}",
        f"{d.day:02d}/{m:02d}/{yy:02d}",
        f"{d.day} - {m:02d} - {y}",
    ]
    return rng.choice(options)


def _fmt_16(digits: str, rng: random.Random) -> str:
    d = digits
    return rng.choice(
        [
            d,
            d,
            d,
            f"{d[:4]} {d[4:8]} {d[8:12]} {d[12:]}",
            f"{d[:4]}-{d[4:8]}-{d[8:12]}-{d[12:]}",
            f"{d[:4]}.{d[4:8]}.{d[8:12]}.{d[12:]}",
            f"{d[:6]} {d[6:12]} {d[12:]}",
            f"{d[:2]}.{d[2:4]}.{d[4:6]}.{d[6:12]}.{d[12:]}",
            f"{d[:6]}.{d[6:12]}.{d[12:]}",
        ]
    )


_MOBILE_PREFIXES = (
    "0811",
    "0812",
    "0813",
    "0821",
    "0822",
    "0823",
    "0851",
    "0852",
    "0853",
    "0814",
    "0815",
    "0816",
    "0855",
    "0856",
    "0857",
    "0858",
    "0817",
    "0818",
    "0819",
    "0859",
    "0877",
    "0878",
    "0831",
    "0832",
    "0838",
    "0895",
    "0896",
    "0897",
    "0898",
    "0899",
    "0881",
    "0882",
    "0887",
    "0888",
)


def _mobile(rng: random.Random) -> str:
    rest = rng.choice((7, 8, 8, 8, 9))
    return rng.choice(_MOBILE_PREFIXES) + "".join(str(rng.randrange(10)) for _ in range(rest))


def _fmt_phone(local: str, rng: random.Random) -> str:
    n = local[1:]
    a, b, c = local[:4], local[4:8], local[8:]
    return rng.choice(
        [
            local,
            local,
            f"{a}-{b}-{c}",
            f"{a} {b} {c}",
            f"{a}.{b}.{c}",
            f"{a}-{local[4:]}",
            f"+62 {n[:3]}-{n[3:7]}-{n[7:]}",
            f"+62{n}",
            f"+62 {n[:3]} {n[3:7]} {n[7:]}",
            f"62{n}",
            f"(+62) {n[:3]} {n[3:7]} {n[7:]}",
            f"+62-{n[:3]}-{n[3:7]}-{n[7:]}",
            f"+62 {n}",
        ]
    )


def _stored_phone(local: str, rng: random.Random) -> str:
    r = rng.random()
    if r < 0.5:
        return local
    if r < 0.75:
        return "+62" + local[1:]
    if r < 0.9:
        return f"{local[:4]}-{local[4:8]}-{local[8:]}"
    return "62" + local[1:]


def _landline(area: str, rng: random.Random) -> tuple[str, str]:
    """A formatted landline and an optional extension (outside the span)."""
    length = 7 if len(area) <= 3 else 6
    num = str(rng.randrange(2, 9)) + "".join(str(rng.randrange(10)) for _ in range(length - 1))
    text = rng.choice(
        [
            f"({area}) {num}",
            f"{area}-{num}",
            f"{area} {num[:3]} {num[3:]}",
            f"+62 {area[1:]} {num}",
            f"({area}) {num[:3]}-{num[3:]}",
        ]
    )
    ext = rng.choice(["", "", f" ext. {rng.randrange(1, 300)}", f" psw. {rng.randrange(100, 400)}"])
    return text, ext


def _ascii(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


_DOMAINS = (
    "gmail.com",
    "gmail.com",
    "gmail.com",
    "yahoo.com",
    "yahoo.co.id",
    "ymail.com",
    "outlook.com",
    "hotmail.com",
    "icloud.com",
)


def _email_for(p: _Person, rng: random.Random, child_first: str | None = None) -> str:
    first = _ascii(p.forms["first"]) or "user"
    last = _ascii(p.forms.get("last", "")) or _ascii(p.full.split()[-1])
    yy = f"{p.dob.year % 100:02d}"
    local = rng.choice(
        [
            f"{first}.{last}",
            f"{first}{last}{yy}",
            f"{first}_{last}",
            f"{first}{rng.randrange(1, 999)}",
            f"{last}.{first}{yy}",
            f"{_ascii(p.nick or '') or first}{yy}",
        ]
    )
    if child_first and p.female and rng.random() < 0.2:
        local = f"mama.{_ascii(child_first)}"
    return f"{local}@{rng.choice(_DOMAINS)}"


def _nik(region: _Region, kec: int, dob: dt.date, female: bool, rng: random.Random) -> str:
    day = dob.day + (40 if female else 0)
    serial = rng.randrange(1, 160)
    return f"{region.code}{kec:02d}{day:02d}{dob.month:02d}{dob.year % 100:02d}{serial:04d}"


def _rtrw(rt: int, rw: int, rng: random.Random) -> str:
    return rng.choice(
        [
            f"RT {rt:02d}/RW {rw:02d}",
            f"RT {rt:03d}/RW {rw:03d}",
            f"RT {rt} RW {rw}",
            f"RT.{rt:03d}/RW.{rw:03d}",
            f"Rt {rt:02d} Rw {rw:02d}",
            f"RT{rt:03d}/RW{rw:03d}",
            f"RT {rt:02d} / RW {rw:02d}",
            f"RT. {rt:02d} RW. {rw:02d}",
            f"rt {rt} rw {rw}",
            f"RT {rt:03d}",
        ]
    )


@dataclass(frozen=True)
class _Address:
    region: _Region
    kind: str
    place_word: str
    place: str
    kec: str
    street: str
    gang: str
    estate: str
    unit: str
    number: str
    rt: int
    rw: int
    blok: str

    def canonical(self) -> str:
        where = f"{self.place_word} {self.place}, {self.region.district} {self.kec}"
        city = self.region.city
        if self.kind == "street":
            head = f"Jl. {self.street} No. {self.number} RT {self.rt:03d}/RW {self.rw:03d}"
        elif self.kind == "gang":
            head = f"Gg. {self.gang} No. {self.number} RT {self.rt:03d}/RW {self.rw:03d}"
        elif self.kind == "estate":
            blok = "" if "Blok" in self.estate else f" Blok {self.blok}"
            head = f"{self.estate}{blok} No. {self.number}"
        elif self.kind == "unit":
            head = f"{self.region.unit_word} {self.unit} RT {self.rt:03d}/RW {self.rw:03d}"
        else:
            return f"{where}, {city}"
        return f"{head}, {where}, {city}"

    def render(self, rng: random.Random, short: bool = False) -> str:
        r = self.region
        jl = rng.choice(["Jl.", "Jl.", "Jalan", "Jln.", "JL."])
        no = rng.choice([f"No. {self.number}", f"No.{self.number}", f"no {self.number}"])
        rtrw = _rtrw(self.rt, self.rw, rng)
        where = f"{self.place_word} {self.place}"
        kec = f"{r.district} {self.kec}"
        if self.kind == "street":
            options = [
                f"{jl} {self.street} {no} {rtrw}, {where}, {kec}",
                f"{jl} {self.street} {no}, {rtrw}, {where}",
                f"{jl} {self.street} {no} {rtrw}",
                f"{jl} {self.street} {no}, {where}",
            ]
            shorts = [f"{jl} {self.street} {no}", f"{jl} {self.street} {no} {rtrw}"]
        elif self.kind == "gang":
            options = [
                f"Gg. {self.gang} {no} {rtrw}, {where}",
                f"Gang {self.gang} {no}, {rtrw}, {where}, {kec}",
                f"{jl} {self.street} Gg. {self.gang} {no}",
                f"Gg. {self.gang} {rng.choice(_ROMAN[:4])} {no}, {where}",
            ]
            shorts = [f"Gg. {self.gang} {no}", f"Gang {self.gang} {no}"]
        elif self.kind == "estate" and "Blok" in self.estate:
            options = [
                f"{self.estate} {no}",
                f"{self.estate} No. {self.number}, {where}",
                f"{self.estate} {no} {rtrw}",
            ]
            shorts = [f"{self.estate} {no}"]
        elif self.kind == "estate":
            options = [
                f"{self.estate} Blok {self.blok} No. {self.number}",
                f"{self.estate} Blok {self.blok}/{self.number}, {where}",
                f"{self.estate}, Blok {self.blok} No. {self.number}, {rtrw}",
                f"{self.estate} Blok {self.blok} {no}, {where}, {kec}",
            ]
            shorts = [f"{self.estate} Blok {self.blok} No. {self.number}"]
        elif self.kind == "unit":
            uw, u = r.unit_word, self.unit
            if uw == "Banjar":
                options = [
                    f"Banjar {u}, {where}",
                    f"Br. {u}, {where}, {kec}",
                    f"Banjar {u} {where}",
                ]
            elif uw == "Jorong":
                options = [f"Jorong {u}, {where}", f"Jorong {u}, {where}, {kec}"]
            elif uw == "Huta":
                options = [f"Huta {u}, {where}", f"Huta {u} {where}, {kec}"]
            elif uw == "Kampung":
                options = [f"Kp. {u} {rtrw}, {where}", f"Kampung {u} {rtrw} {where} {kec}"]
            elif uw == "Lorong":
                options = [f"Lr. {u} {jl} {self.street} {no}", f"Lorong {u}, {rtrw}, {where}"]
            elif uw == "Lingkungan":
                options = [f"Lingkungan {u}, {where}", f"Ling. {u} {where}, {kec}"]
            elif uw == "Jaga":
                options = [f"Jaga {u}, {where}", f"Jaga {u} {where} {kec}"]
            else:
                short_uw = {"Dusun": "Dsn.", "Padukuhan": "Pedukuhan"}.get(uw, uw)
                options = [
                    f"{uw} {u} {rtrw}, {where}",
                    f"{short_uw} {u}, {where}, {kec}",
                    f"{uw} {u}, {where}",
                ]
            shorts = [f"{uw} {u}" if uw != "Banjar" else f"Br. {u}", options[0]]
        else:
            options = [f"{where}, {kec}", f"{where} {kec}", f"{where}"]
            shorts = [where]
        return rng.choice(shorts if short else options)


def _make_address(region: _Region, rng: random.Random) -> _Address:
    kels, villages = region.get("kel"), region.get("village")
    urban = bool(kels) and (not villages or rng.random() < 0.55)
    if urban:
        place_word, place = "Kel.", rng.choice(kels)
        kinds = ["street"] * 5 + ["gang"] * 3 + ["estate"] * 2
        if region.get("units"):
            kinds += ["unit"] * 3
    else:
        place_word, place = region.village_word, rng.choice(villages)
        kinds = ["unit"] * 6 + ["village"] * 2 + ["street"]
        if not region.get("units"):
            kinds = ["village", "street"]
    kind = rng.choice(kinds)
    blok = rng.choice("ABCDEFGHJK") + rng.choice(["", str(rng.randrange(1, 9))])
    return _Address(
        region=region,
        kind=kind,
        place_word=place_word,
        place=place,
        kec=rng.choice(region.get("kec")),
        street=rng.choice(region.get("street")),
        gang=rng.choice(region.get("gang") or ["Mawar"]),
        estate=rng.choice(region.get("estate") or ["Perumnas"]),
        unit=rng.choice(region.get("units") or ["I"]),
        number=str(rng.randrange(1, 120)) + rng.choice(["", "", "", "A", "B"]),
        rt=rng.randrange(1, 16),
        rw=rng.randrange(1, 12),
        blok=blok,
    )


_ISLAMIC = ("Al-Hidayah", "Nurul Falah", "Darul Ulum", "Al-Ikhlas", "Miftahul Huda", "Al-Furqan")
_SAINTS = ("St. Yosef", "Santa Maria", "St. Fransiskus Asisi", "St. Theresia", "Santo Paulus")


@dataclass(frozen=True)
class _School:
    name: str
    level: str  # tk / sd / smp / sma
    grade: int

    def with_class(self, rng: random.Random, english: bool = False) -> str:
        g = self.grade
        if self.level == "tk":
            cls = rng.choice(["kelompok B", "TK B", "kelompok A"])
        elif english and rng.random() < 0.6:
            cls = f"grade {g}"
        elif self.level == "sd":
            cls = rng.choice(
                [
                    f"kelas {g}",
                    f"kls {g}",
                    f"kelas {_ROMAN[g - 1]}",
                    f"kelas {g}{rng.choice('ABC')}",
                    f"Kelas {_ROMAN[g - 1]}-{rng.choice('ABC')}",
                    f"kelas {('satu', 'dua', 'tiga', 'empat', 'lima', 'enam')[g - 1]}",
                ]
            )
        elif self.level == "smp":
            cls = rng.choice(
                [
                    f"kelas {g}",
                    f"kelas {_ROMAN[g - 1]}",
                    f"kelas {_ROMAN[g - 1]}-{rng.choice('ABCDE')}",
                    f"kls {_ROMAN[g - 1]}",
                    f"kelas {g - 6}",
                ]
            )
        else:
            major = rng.choice(["IPA 2", "IPS 1", "TKJ 1", "Akuntansi", "MIPA 3", "1"])
            cls = rng.choice(
                [f"kelas {_ROMAN[g - 1]} {major}", f"kelas {g}", f"kelas {_ROMAN[g - 1]}"]
            )
        return rng.choice(
            [
                f"{cls} {self.name}",
                f"{self.name} {cls}",
                f"{self.name}, {cls}",
                f"{cls} {self.name}",
            ]
        )


def _make_school(region: _Region, religion: str, age: int, rng: random.Random) -> _School:
    places = region.get("kel") or region.get("village")
    place = rng.choice(places)
    city = region.birthplace
    n = rng.randrange(1, 25)
    if age <= 5:
        name = rng.choice([f"TK Pertiwi {place}", f"PAUD Melati {place}", f"TK Negeri {n} {city}"])
        if religion == "islam":
            name = rng.choice([name, f"RA {_pick(rng, _ISLAMIC)}", f"TK Aisyiyah {n} {city}"])
        return _School(name, "tk", 0)
    if age <= 12:
        options = [f"SDN {n} {place}", f"SD Negeri {n} {place}", f"SD Inpres {place}"]
        if region.code.startswith("12"):
            options.append(f"SD Negeri {rng.randrange(60000, 110000):06d} {city}")
        if religion == "islam":
            options += [f"MI {_pick(rng, _ISLAMIC)} {place}", f"MIN {n % 5 + 1} {city}"]
            options.append(f"SD Muhammadiyah {n % 8 + 1} {city}")
        elif religion == "katolik":
            options += [f"SD Katolik {_pick(rng, _SAINTS)} {city}", f"SDK {place}"]
        elif religion == "kristen":
            options += [f"SD Kristen {place}", f"SD GMIM {n % 9 + 1} {place}", f"SD YPPK {place}"]
        elif religion == "hindu":
            options += [f"SD Negeri {n} {place}", f"SD Saraswati {city}"]
        return _School(rng.choice(options), "sd", max(1, min(6, age - 6)))
    if age <= 15:
        options = [f"SMPN {n} {city}", f"SMP Negeri {n} {city}", f"SMP Satu Atap {place}"]
        if religion == "islam":
            options += [f"MTsN {n % 6 + 1} {city}", f"MTs {_pick(rng, _ISLAMIC)}"]
        elif religion in ("kristen", "katolik"):
            options += [f"SMP Katolik {_pick(rng, _SAINTS)}", f"SMP Kristen {city}"]
        return _School(rng.choice(options), "smp", max(7, min(9, age - 6)))
    options = [f"SMAN {n % 12 + 1} {city}", f"SMKN {n % 8 + 1} {city}", f"SMA Negeri {n} {city}"]
    if religion == "islam":
        options.append(f"MAN {n % 4 + 1} {city}")
    return _School(rng.choice(options), "sma", max(10, min(12, age - 6)))


# --- cues ---------------------------------------------------------------------------------------

_HON_F = {
    "": ("Ibu", "Bu", "Ibu", "Bu", "Ny.", "Sdri."),
    "jawa": ("Bu", "Mbak", "Mbok"),
    "kristen": ("Bu", "Ibu", "Mbak"),
    "sunda": ("Bu", "Teh", "Ceu"),
    "minang": ("Bu", "Uni", "Ibu"),
    "batak_toba": ("Bu", "Inang", "Mak"),
    "batak_karo": ("Bu", "Nande", "Mak"),
    "mandailing": ("Bu", "Ibu", "Mak"),
    "betawi": ("Mpok", "Bu", "Nyak"),
    "bali": ("Bu", "Ibu", "Mbok"),
    "sasak": ("Inaq", "Bu"),
    "maluku": ("Mama", "Usi", "Ibu"),
    "papua": ("Mama", "Ibu"),
    "flores": ("Mama", "Ibu"),
    "timor": ("Mama", "Ibu"),
    "sumba": ("Mama", "Ina", "Ibu"),
    "minahasa": ("Ibu", "Tante", "Bu"),
    "tionghoa": ("Ibu", "Cik", "Bu"),
    "dayak": ("Ibu", "Mama", "Bu"),
    "nias": ("Ibu", "Ina", "Bu"),
    "toraja": ("Ibu", "Mama"),
    "arab": ("Ibu", "Bu", "Umi"),
    "melayu": ("Ibu", "Bu", "Mak", "Cik"),
    "gorontalo": ("Ibu", "Bu", "Mama"),
}
_HON_M = {
    "": ("Bapak", "Pak", "Pak", "Bpk.", "Tn.", "Sdr."),
    "jawa": ("Pak", "Mas"),
    "kristen": ("Pak", "Mas", "Bapak"),
    "sunda": ("Pak", "Kang", "Mang"),
    "minang": ("Pak", "Uda"),
    "batak_toba": ("Pak", "Amang", "Bang", "Lae"),
    "batak_karo": ("Pak", "Bapa", "Bang"),
    "mandailing": ("Pak", "Bang"),
    "betawi": ("Bang", "Pak", "Babe"),
    "bali": ("Pak", "Bli", "Bapak"),
    "sasak": ("Amaq", "Pak"),
    "bugis": ("Pak", "Bapak", "Puang"),
    "maluku": ("Bapa", "Om", "Bung"),
    "papua": ("Bapa", "Pak", "Kaka"),
    "flores": ("Bapa", "Om", "Pak"),
    "timor": ("Bapa", "Om"),
    "sumba": ("Bapa", "Ama", "Om"),
    "minahasa": ("Om", "Pak", "Bapak"),
    "tionghoa": ("Pak", "Koh", "Om"),
    "dayak": ("Pak", "Bapa", "Om"),
    "nias": ("Pak", "Ama"),
    "toraja": ("Pak", "Bapak", "Ambe'"),
    "arab": ("Pak", "Bapak", "Habib"),
    "melayu": ("Pak", "Abang", "Encik"),
    "aceh": ("Pak", "Bang"),
    "madura": ("Pak", "Cak", "Bapak"),
}
_HON_ELDER_F = {
    "": ("Nenek", "Nek", "Oma", "Mbah"),
    "batak_toba": ("Ompung", "Opung"),
    "batak_karo": ("Nini", "Nenek"),
    "sunda": ("Nini", "Ema", "Nenek"),
    "betawi": ("Nyai", "Nenek"),
    "bali": ("Dadong", "Nenek"),
    "jawa": ("Mbah", "Mbah Putri", "Simbah"),
    "minahasa": ("Oma",),
    "maluku": ("Oma", "Nene"),
    "tionghoa": ("Ema", "Popo", "Oma"),
    "sasak": ("Papuq", "Nenek"),
    "minang": ("Nenek", "Uwo"),
}
_HON_ELDER_M = {
    "": ("Kakek", "Kek", "Opa", "Mbah"),
    "batak_toba": ("Ompung", "Opung"),
    "batak_karo": ("Bulang", "Kakek"),
    "sunda": ("Aki", "Abah", "Kakek"),
    "betawi": ("Engkong", "Kakek"),
    "bali": ("Pekak", "Kakek"),
    "jawa": ("Mbah", "Mbah Kakung", "Simbah"),
    "minahasa": ("Opa",),
    "maluku": ("Opa", "Tete"),
    "papua": ("Tete", "Kakek"),
    "tionghoa": ("Engkong", "Akong", "Opa"),
    "sasak": ("Papuq", "Kakek"),
    "minang": ("Inyiak", "Kakek"),
}
_HON_CHILD = ("adik", "Dik", "ananda", "An.", "Ananda", "Adik")
_ROLE_HON: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # (female, male)
    "teacher": (("Bu", "Ibu", "Bu Guru"), ("Pak", "Bapak", "Pak Guru")),
    "head": (("Bu", "Ibu"), ("Pak", "Bapak")),
    "worker": (("Bu", "Kak", "Mbak", "Ibu"), ("Pak", "Kak", "Mas", "Bang")),
    "nurse": (("Suster", "Bidan", "Bd.", "Ns.", "Sus"), ("Ns.", "Mantri", "Pak")),
    "doctor": (("dr.",), ("dr.",)),
    "officer": (("Bu", "Ibu"), ("Pak", "Bapak")),
    "vol": (("Kak", "Mbak", "Bu"), ("Kak", "Mas", "Bang")),
    "psych": (("Bu", "Ibu", "Mbak"), ("Pak", "Bapak", "Mas")),
}
_FAITH_HON: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "islam": (("Ustazah", "Ustadzah", "Bu Nyai"), ("Ustadz", "Ust.", "Kyai", "Pak Ustadz")),
    "kristen": (("Pdt.", "Ibu Pendeta", "Kak"), ("Pdt.", "Pendeta", "Bapak Pendeta", "Penatua")),
    "katolik": (("Suster", "Sr."), ("Romo", "Pastor", "P.", "Frater")),
    "hindu": (("Jero", "Bu"), ("Jero Mangku", "Pak")),
    "buddha": (("Bu", "Ibu"), ("Pak", "Bapak")),
}
_FAITH_PLACE = {
    "islam": ("TPA Al-Hidayah", "TPQ Nurul Falah", "Majelis Taklim Al-Ikhlas", "TPA Baitul Makmur"),
    "kristen": ("Sekolah Minggu GMIT Ebenhaezer", "Sekolah Minggu HKBP", "GPM Jemaat Silo"),
    "katolik": ("Paroki St. Yosef", "Sekolah Minggu Paroki Santa Maria", "Asrama Susteran"),
    "hindu": ("Pasraman Widya Dharma", "Pasraman Saraswati"),
    "buddha": ("Vihara Dharma Bhakti", "Sekolah Minggu Buddha Vihara Maitreya"),
}
_DEGREES = {
    "teacher": ("", ", S.Pd.", ", S.Pd.", ", S.Pd.SD", ", S.Ag.", ", M.Pd."),
    "head": (", S.Pd.", ", S.Pd., M.Pd.", ", M.Pd.", ""),
    "worker": ("", ", S.Sos.", ", S.Tr.Sos.", ", S.Kesos."),
    "psych": (", S.Psi.", ", M.Psi., Psikolog", ", S.Psi., M.Psi."),
    "doctor": ("", ", Sp.A", ", Sp.A(K)", ", Sp.KJ", ", M.Kes."),
    "nurse": (", S.Kep., Ns.", ", A.Md.Keb.", ", Amd.Kep.", ""),
    "judge": (", S.H., M.H.", ", S.H.I.", ", S.H."),
    "lawyer": (", S.H.", ", S.H., M.H.", ", S.H., LL.M."),
}
_RANKS = ("Bripda", "Briptu", "Brigpol", "Bripka", "Aipda", "Aiptu", "Ipda", "Iptu", "AKP")
_JOBS_F = (
    "ibu rumah tangga",
    "pedagang sayur",
    "buruh cuci",
    "penjahit",
    "asisten rumah tangga",
    "penenun",
    "buruh tani",
    "karyawan toko",
    "penjual kue",
)
_JOBS_M = (
    "buruh harian lepas",
    "petani",
    "nelayan",
    "tukang bangunan",
    "ojek online",
    "sopir truk",
    "satpam",
    "pemulung",
    "buruh pelabuhan",
    "montir",
)
_KIN: dict[str, tuple[tuple[str, ...], str, str]] = {  # role: (terms, english, child word)
    "mother": (("ibu", "ibu", "mama", "bunda", "mamak"), "mom", "anak"),
    "father": (("ayah", "bapak", "papa", "ayah"), "dad", "anak"),
    "grandmother": (("nenek", "nenek", "oma"), "grandma", "cucu"),
    "grandfather": (("kakek", "kakek", "opa"), "grandpa", "cucu"),
    "aunt": (("bibi", "tante", "bude"), "aunt", "keponakan"),
    "uncle": (("paman", "om", "pakde"), "uncle", "keponakan"),
    "sibling_f": (("kakak", "kakak perempuan"), "sister", "adik"),
    "sibling_m": (("kakak", "abang", "kakak laki-laki"), "brother", "adik"),
}
_HEAD_TITLE = {
    "Gampong": "Keuchik",
    "Nagari": "Wali Nagari",
    "Negeri": "Raja Negeri",
    "Lembang": "Kepala Lembang",
    "Kampung": "Kepala Kampung",
}
_PERSON_KEYS = frozenset(
    {
        "child",
        "g1",
        "g2",
        "sib",
        "rel",
        "friend",
        "friend2",
        "teacher",
        "head",
        "worker",
        "worker2",
        "nbr",
        "officer",
        "doctor",
        "nurse",
        "vol",
        "faith",
        "judge",
        "lawyer",
        "kades",
        "psych",
        "witness",
        "caller",
        "rt",
        "suspect",
        "foster",
        "foster2",
        "trap",
        "trap2",
        "trapf",
        "trapm",
    }
)
_FEMALE_SHARE = {
    "teacher": 0.7,
    "nurse": 0.85,
    "officer": 0.25,
    "suspect": 0.1,
    "kades": 0.15,
    "rt": 0.2,
    "worker": 0.6,
    "vol": 0.6,
    "psych": 0.7,
    "head": 0.5,
}


def _typo(full: str, rng: random.Random) -> str:
    words = full.split()
    idx = [i for i, w in enumerate(words) if len(w) >= 5 and w.lower().strip(".") not in PARTICLES]
    if not idx:
        return full
    i = rng.choice(idx)
    w = words[i]
    subs = [("y", "i"), ("i", "y"), ("u", "oe"), ("oe", "u"), ("dj", "j"), ("tj", "c"), ("sy", "s")]
    subs += [("kh", "k"), ("f", "p"), ("a", "ah"), ("h", "")]
    rng.shuffle(subs)
    for a, b in subs:
        pos = w.find(a, 1)
        if pos > 0:
            words[i] = w[:pos] + b + w[pos + len(a) :]
            break
    else:
        j = rng.randrange(1, len(w) - 1)
        words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    out = " ".join(words)
    return out if out != full else full + "h"


# --- one note ----------------------------------------------------------------------------------


@dataclass
class _Piece:
    text: str
    label: str | None = None
    link: str | None = None


_ALT = re.compile(r"«([^«»]*)»")
_SLOT = re.compile(r"\{([a-z_]+[0-9]*)(?:\.([A-Za-z]+))?\}")


class _Note:
    """One household and the slots of one template."""

    def __init__(self, rng: random.Random, template: _Template) -> None:
        self.rng = rng
        self.template = template
        self.flags = template.flags
        self.english = "english" in template.name or "bilingual" in template.name
        self.ref_date = dt.date(
            rng.randrange(2022, 2026), rng.randrange(1, 13), rng.randrange(1, 29)
        )
        self.tradition = rng.choice(sorted(_traditions()))
        self.region = rng.choice(_regions_of(self.tradition))
        self.religion = _RELIGION[self.tradition]
        if self.tradition == "tionghoa":
            self.religion = rng.choice(["buddha", "kristen", "katolik"])
        self.kec_code = rng.randrange(1, 25)
        self.persons: dict[str, _Person] = {}
        self.extra: list[_Person] = []
        self.slots: dict[str, list[_Piece]] = {}
        self.dates: dict[str, dt.date] = {}
        self._build_household()

    # household ----------------------------------------------------------------------------
    def _new_person(
        self,
        key: str,
        trad: str,
        female: bool,
        stage: str,
        role: str,
        *,
        first: str | None = None,
        family: str | None = None,
        father: _Person | None = None,
        own_part: bool = False,
        household: bool = False,
    ) -> _Person:
        tr = _traditions()[trad]
        taken = {p.full for p in self._all()}
        made = _compose(
            tr,
            female,
            stage,
            self.rng,
            first=first,
            family=family,
            father=father,
            own_part=own_part,
        )
        for _ in range(40):
            if made.full not in taken:
                break
            made = _compose(
                tr,
                female,
                stage,
                self.rng,
                first=first,
                family=family,
                father=father,
                own_part=own_part,
            )
        p = _Person(
            key=key,
            full=made.full,
            forms=dict(made.forms),
            female=female,
            tradition=trad,
            stage=stage,
            role=role,
            family=made.family,
            noble=made.noble,
            mode=made.mode,
            daeng=made.daeng,
        )
        rng = self.rng
        ref = self.ref_date
        if stage == "child":
            age = self._child_age() if key == "child" else rng.randrange(4, 18)
            if key == "sib":
                age = min(age + rng.randrange(2, 8), 24)
            p.dob = dt.date(ref.year - age, rng.randrange(1, 13), rng.randrange(1, 29))
            if p.dob >= ref:
                p.dob = p.dob.replace(year=p.dob.year - 1)
        else:
            lo, hi = (24, 52) if stage == "adult" else (52, 78)
            p.dob = dt.date(
                ref.year - rng.randrange(lo, hi), rng.randrange(1, 13), rng.randrange(1, 29)
            )
        region = self.region if rng.random() < 0.8 else rng.choice(_regions())
        p.birthplace = region.birthplace
        if household:
            region, kec = self.region, self.kec_code
        else:
            kec = rng.randrange(1, 25)
        p.nik = _nik(region, kec, p.dob, female, rng)
        p.phone = _mobile(rng)
        p.haji = stage != "child" and _RELIGION.get(trad) == "islam" and rng.random() < 0.2
        return p

    def _child_age(self) -> int:
        if "young" in self.flags:
            return self.rng.randrange(0, 5)
        if "teen" in self.flags:
            return self.rng.randrange(13, 18)
        if "school" in self.flags:
            return self.rng.randrange(6, 17)
        return self.rng.randrange(3, 18)

    def _all(self) -> list[_Person]:
        return list(self.persons.values()) + self.extra

    def _build_household(self) -> None:
        rng = self.rng
        t = self.tradition
        others = [x for x in self.region.traditions if x != t]
        m = t if rng.random() < 0.75 or not others else rng.choice(others)
        if rng.random() < 0.05:
            m = rng.choice(sorted(_traditions()))
        self.mother_tradition = m
        config = rng.choices(
            [
                ("mother", "father"),
                ("father", "mother"),
                ("grandmother", "grandfather"),
                ("grandmother", "mother"),
                ("aunt", "uncle"),
                ("aunt", "mother"),
            ],
            weights=[50, 14, 10, 8, 10, 8],
        )[0]
        father = self._new_person("father", t, False, "adult", "father", household=True)
        self.extra.append(father)
        child_female = rng.random() < 0.5
        word_first: str | None = None
        if rng.random() < 0.1:
            word_first = rng.choice(_word_names()["female" if child_female else "male"])
        child = self._new_person(
            "child",
            t,
            child_female,
            "child",
            "child",
            family=father.family,
            father=father,
            first=word_first,
            household=True,
        )
        child.in_record = True
        made: dict[str, _Person] = {"father": father}

        def person(role: str) -> _Person:
            if role in made:
                return made[role]
            h = True
            if role == "mother":
                p = self._new_person("mother", m, True, "adult", role, household=h)
            elif role == "grandfather":
                p = self._new_person(
                    "gf", t, False, "elder", role, family=father.family, household=h
                )
            elif role == "grandmother":
                p = self._new_person("gm", rng.choice([t, m]), True, "elder", role, household=h)
            elif role == "uncle":
                p = self._new_person(
                    "uncle", t, False, "adult", role, family=father.family, household=h
                )
            else:
                p = self._new_person("aunt", m, True, "adult", role, household=h)
            self.extra.append(p)
            made[role] = p
            return p

        g1, g2 = person(config[0]), person(config[1])
        self.extra = [p for p in self.extra if p is not g1 and p is not g2]
        g1.key, g2.key = "g1", "g2"
        g1.in_record = True
        g2.in_record = rng.random() < 0.65
        self.persons = {"child": child, "g1": g1, "g2": g2}
        if not g2.in_record:
            self._distinct(g2, None)
        for p in (g1, g2):
            p.kin = rng.choice(_KIN[p.role][0])
        self.persons = {"child": child, "g1": g1, "g2": g2}
        rel_roles = [r for r in ("uncle", "aunt", "grandmother", "grandfather") if r not in config]
        self._rel_role = rng.choice(rel_roles)
        self._rel_maker = person
        # nicknames: unique and not a word of anybody's name
        taken = set().union(*(p.words for p in self._all()))
        for p in (child, g1, g2):
            chance = 0.75 if p is child else 0.2
            trad = _traditions()[p.tradition]
            pool = trad.get("nick_f" if p.female else "nick_m")
            if pool and rng.random() < chance:
                nick = rng.choice(pool)
                if nick.lower() not in taken and all(n.nick != nick for n in (child, g1, g2)):
                    p.nick = nick
                    taken.add(nick.lower())
        self.address = _make_address(self.region, rng)
        self.school = _make_school(self.region, self.religion, self._age(child), rng)
        # the record
        self.kk = (
            f"{self.region.code}{self.kec_code:02d}"
            f"{rng.randrange(1, 29):02d}{rng.randrange(1, 13):02d}{rng.randrange(8, 24):02d}"
            f"{rng.randrange(1, 400):04d}"
        )
        self.rec_kk = self.kk if rng.random() < 0.85 else None
        self.aliases: dict[str, str] = {}
        for p in (child, g1, g2):
            if not p.in_record:
                continue
            chance_nik = {"child": 0.75, "g1": 0.8, "g2": 0.5}[p.key]
            if rng.random() < chance_nik:
                p.rec_nik = (
                    p.nik
                    if rng.random() < 0.85
                    else f"{p.nik[:4]} {p.nik[4:8]} {p.nik[8:12]} {p.nik[12:]}"
                )
            chance_phone = {"child": 0.3 if self._age(child) >= 13 else 0.0, "g1": 0.85, "g2": 0.5}[
                p.key
            ]
            if rng.random() < chance_phone:
                p.rec_phone = _stored_phone(p.phone, rng)
            p.email = _email_for(p, rng, child.forms["first"])
            if rng.random() < {"child": 0.15, "g1": 0.5, "g2": 0.2}[p.key]:
                p.rec_email = p.email
            if p is child or rng.random() < 0.25:
                d = p.dob
                p.rec_dob = rng.choice(
                    [d.isoformat(), d.isoformat(), f"{d.day:02d}/{d.month:02d}/{d.year}"]
                )
            if p.nick and rng.random() < (0.4 if p is child else 0.3):
                self.aliases[p.nick] = p.full
        for p in (child, g1, g2):
            if not p.email:
                p.email = _email_for(p, rng, child.forms["first"])

    def _age(self, p: _Person) -> int:
        ref = self.ref_date
        return ref.year - p.dob.year - ((ref.month, ref.day) < (p.dob.month, p.dob.day))

    def record(self) -> dict[str, list[str]]:
        people = [
            p for p in self.persons.values() if p.in_record and p.key in ("child", "g1", "g2")
        ]
        known: dict[str, list[str]] = {"person_name": [p.full for p in people] + list(self.aliases)}
        niks = [p.rec_nik for p in people if p.rec_nik]
        if niks:
            known["nik"] = niks
        if self.rec_kk:
            known["kk_number"] = [self.rec_kk]
        phones = [p.rec_phone for p in people if p.rec_phone]
        if phones:
            known["phone"] = phones
        emails = [p.rec_email for p in people if p.rec_email]
        if emails:
            known["email"] = emails
        dobs = [p.rec_dob for p in people if p.rec_dob]
        if dobs:
            known["birth_date"] = dobs
        known["place"] = [self.persons["child"].birthplace]
        if self.rng.random() < 0.9:
            known["address"] = [self.address.canonical()]
        return known

    def record_persons(self) -> list[_Person]:
        return [p for p in self.persons.values() if p.in_record]

    # strangers and traps ------------------------------------------------------------------
    def _reserved(self) -> set[str]:
        words: set[str] = set()
        for p in [*self.persons.values(), *self.extra]:
            words |= p.words
            if p.nick:
                words |= name_words(p.nick)
        return words

    def _stranger(self, key: str) -> _Person:
        rng = self.rng
        role = re.sub(r"\d+$", "", key)
        if role == "sib":
            female = rng.random() < 0.5
            father = next(p for p in self.extra + list(self.persons.values()) if p.role == "father")
            p = self._new_person(
                key, self.tradition, female, "child", "sibling", family=father.family, father=father
            )
            p.kin = rng.choice(_KIN["sibling_f" if female else "sibling_m"][0])
            p.role = "sibling_f" if female else "sibling_m"
            self._distinct(p, father)
            return p
        if role == "rel":
            p = self._rel_maker(self._rel_role)
            self.extra = [e for e in self.extra if e is not p]
            p.key = "rel"
            p.kin = rng.choice(_KIN[p.role][0])
            if (
                self.tradition in ("batak_toba", "batak_karo")
                and p.role == "uncle"
                and rng.random() < 0.4
            ):
                p.kin = "tulang"
            self._distinct(p, None)
            return p
        female = rng.random() < _FEMALE_SHARE.get(role, 0.5)
        stage = "child" if role == "friend" else "adult"
        reserved = self._reserved()
        for _ in range(60):
            trad = (
                rng.choice(self.region.traditions)
                if rng.random() < 0.6
                else rng.choice(sorted(_traditions()))
            )
            if role == "faith":
                fitting = [t for t, r in _RELIGION.items() if r == self.religion]
                trad = rng.choice(fitting or [trad])
            p = self._new_person(key, trad, female, stage, role)
            if not (p.words & reserved):
                break
        if role in ("rt", "kades", "head") and rng.random() < 0.3:
            p.stage = "elder"
        return p

    def _distinct(self, p: _Person, father: _Person | None) -> None:
        """Rename a relative outside the record whose whole name is a part of a record name."""
        record = [q for q in self.record_persons() if q is not p]
        taken = {q.full for q in self._all() if q is not p}
        trad = _traditions()[p.tradition]
        for _ in range(40):
            if p.full not in taken and not any(p.words <= q.words for q in record):
                return
            made = _compose(trad, p.female, p.stage, self.rng, family=p.family, father=father)
            p.full, p.forms, p.daeng = made.full, dict(made.forms), made.daeng

    def _trap(self, key: str, want_female: bool | None) -> _Person:
        rng = self.rng
        record = self.record_persons()
        reserved = self._reserved()
        best: _Person | None = None
        for _ in range(80):
            k = rng.choice(record)
            trad = _traditions()[k.tradition]
            use_family = k.family is not None and rng.random() < 0.6 and k.tradition != "bali"
            first: str | None = None
            family: str | None = None
            if use_family:
                female = rng.random() < 0.5 if want_female is None else want_female
                family = k.forms.get("last") if trad.style == "kristen" else k.family
                shared = name_words(family or "")
            else:
                if want_female is not None and want_female != k.female:
                    continue
                female = k.female
                first = k.forms["first"]
                shared = name_words(first)
            stage = "child" if k.stage == "child" and rng.random() < 0.4 else "adult"
            p = self._new_person(
                key,
                k.tradition,
                female,
                stage,
                "trap",
                first=first,
                family=family,
                own_part=first is not None,
            )
            words = p.words
            if not shared or not shared <= words:
                continue
            if words & reserved != shared or any(words <= q.words for q in record):
                continue
            if any(p.full == q.full for q in self._all()):
                continue
            p.shared = shared
            best = p
            break
        if best is None:  # no record name lends itself to a trap: an ordinary stranger
            best = self._stranger("witness")
            best.key = key
        return best

    def person(self, key: str) -> _Person:
        if key in self.persons:
            return self.persons[key]
        if key in ("trap", "trap2"):
            p = self._trap(key, None)
        elif key == "trapf":
            p = self._trap(key, True)
        elif key == "trapm":
            p = self._trap(key, False)
        else:
            p = self._stranger(key)
        self.persons[key] = p
        return p

    # mention forms ------------------------------------------------------------------------
    def _valid(self, p: _Person, text: str, kind: str) -> tuple[bool, str | None]:
        words = name_words(text)
        if not words:
            return False, None
        record = self.record_persons()
        if kind in ("full", "typo", "caps"):
            return True, p.full if p.in_record else None
        mentioned = [q for q in self.persons.values() if q is not p]
        if p.in_record:
            if any(words <= q.words for q in mentioned if not q.in_record):
                return False, None
            if kind == "nick":
                holders = [q for q in record if q is not p and words <= q.words]
                return True, None if holders else p.full
            holders = [q for q in record if words <= q.words]
            return True, p.full if holders == [p] else None
        if any(words <= q.words for q in record):
            return False, None
        if any(
            words <= (q.words | name_words(q.nick or ""))
            for q in self.persons.values()
            if q.in_record
        ):
            return False, None
        if any(words <= q.words for q in mentioned if not q.in_record and q is not p):
            return False, None
        return True, None

    def _form_text(self, p: _Person, kind: str) -> str | None:
        if kind == "nick":
            return p.nick
        if kind == "typo":
            return _typo(p.full, self.rng) if p.in_record else p.full
        if kind == "caps":
            return p.full.upper()
        return p.forms.get(kind)

    def _mention(self, p: _Person, kind: str | None) -> _Piece:
        rng = self.rng
        if kind is None:
            if p.key == "child":
                weights = {"full": 25, "first": 30, "nick": 15, "given": 5, "fl": 5, "last": 8}
                weights |= {"pre_first": 6, "typo": 4, "caps": 3, "init": 3}
            elif p.in_record:
                weights = {"full": 28, "first": 22, "fl": 10, "last": 22, "nick": 3}
                weights |= {"pre_first": 5, "init": 5, "typo": 5, "caps": 2, "given": 3}
            else:
                weights = {"full": 50, "first": 25, "last": 10, "fl": 8, "pre_first": 4}
                weights |= {"init": 3}
            kinds = [k for k in weights if self._form_text(p, k)]
            order = rng.choices(kinds, weights=[weights[k] for k in kinds], k=len(kinds))
            candidates = [*order, "full"]
        else:
            candidates = [kind, "full"]
        for k in candidates:
            text = self._form_text(p, k)
            if not text:
                continue
            ok, link = self._valid(p, text, k)
            if ok:
                label = "KNOWN_PERSON" if p.in_record else "UNKNOWN_PERSON"
                return _Piece(text, label, link)
        raise AssertionError("a full name is always valid")

    def _again(self, p: _Person) -> _Piece:
        for k in ("first", "fl", "last", "given", "pre_first"):
            text = p.forms.get(k)
            if text and not (name_words(text) & p.shared):
                ok, link = self._valid(p, text, k)
                if ok:
                    return _Piece(text, "KNOWN_PERSON" if p.in_record else "UNKNOWN_PERSON", link)
        return self._mention(p, "full")

    def _shared(self, p: _Person) -> _Piece:
        """A part of ``p``'s name that another record person's name also holds, if any."""
        if p.in_record:
            for k in ("last", "first", "fl", "given", "pre_first"):
                text = p.forms.get(k)
                if not text:
                    continue
                ok, link = self._valid(p, text, k)
                if ok and link is None:
                    return _Piece(text, "KNOWN_PERSON", None)
        return self._mention(p, None)

    def _hon(self, p: _Person) -> str:
        rng = self.rng
        if p.role in _ROLE_HON:
            return rng.choice(_ROLE_HON[p.role][0 if p.female else 1])
        if p.role == "faith":
            return rng.choice(_FAITH_HON[self.religion][0 if p.female else 1])
        if p.stage == "child":
            return rng.choice(_HON_CHILD if p.key == "child" else ("adik", "Dik", "Kak"))
        table = (
            (_HON_ELDER_F if p.female else _HON_ELDER_M)
            if p.stage == "elder"
            else (_HON_F if p.female else _HON_M)
        )
        pool = table[""] + table.get(p.tradition, ()) * 2
        hon = rng.choice(pool)
        if hon == "Habib" and p.tradition != "arab":
            hon = "Pak"
        return hon

    def _person_slot(self, p: _Person, attr: str) -> list[_Piece]:
        rng = self.rng
        known = p.in_record
        if attr in ("", "First"):
            if p.key.startswith("trap") and attr == "":
                return [self._mention(p, "full")]  # a trap shows its shared and its own part
            return [self._mention(p, "first" if attr == "First" else None)]
        if attr in ("full", "first", "last", "given", "fl", "nick", "typo", "caps", "init"):
            if attr in ("nick",) and not p.nick:
                return [self._mention(p, "first")]
            return [self._mention(p, attr)]
        if attr == "again":
            return [self._again(p)]
        if attr == "shared":
            return [self._shared(p)]
        if attr in ("hon", "Hon"):
            hon = self._hon(p)
            return [_Piece(hon[0].upper() + hon[1:] if attr == "Hon" else hon)]
        if attr == "ref":
            if p.daeng and rng.random() < 0.3:
                ok, link = self._valid(p, p.daeng, "last")
                if ok:
                    label = "KNOWN_PERSON" if known else "UNKNOWN_PERSON"
                    return [_Piece("Daeng "), _Piece(p.daeng, label, link)]
            if p.key == "child" and rng.random() < 0.5:
                return [self._mention(p, None)]
            return [_Piece(self._hon(p) + " "), self._mention(p, None)]
        if attr == "refull":
            return [_Piece(self._hon(p) + " "), self._mention(p, "full")]
        if attr in ("rel", "Rel"):
            kin = p.kin or "kerabat"
            return [_Piece(kin[0].upper() + kin[1:] if attr == "Rel" else kin)]
        if attr == "relen":
            return [_Piece(_KIN.get(p.role, ((), "relative", ""))[1])]
        if attr == "ofchild":
            return [_Piece(_KIN.get(p.role, ((), "", "anak"))[2])]
        if attr == "nik":
            return [_Piece(_fmt_16(p.nik, rng), "NIK", p.rec_nik if known else None)]
        if attr == "phone":
            return [_Piece(_fmt_phone(p.phone, rng), "PHONE", p.rec_phone if known else None)]
        if attr == "email":
            if not p.email:
                p.email = _email_for(p, rng)
            text = (
                p.email
                if rng.random() < 0.85
                else p.email.upper()
                if rng.random() < 0.3
                else p.email.capitalize()
            )
            return [_Piece(text, "EMAIL", p.rec_email if known else None)]
        if attr == "dob":
            return [_Piece(_fmt_date(p.dob, rng, self.english), "DOB")]
        if attr == "ttl":
            sep = rng.choice([", ", ", ", " / ", ", tgl "])
            return [_Piece(p.birthplace + sep), _Piece(_fmt_date(p.dob, rng), "DOB")]
        if attr in ("age", "agen"):
            years = self._age(p)
            if attr == "agen":
                return [_Piece(str(max(years, 1)))]
            if years < 2:
                months = (self.ref_date - p.dob).days // 30
                text = f"{months} bulan" if years == 0 else f"1 tahun {max(months - 12, 0)} bulan"
                return [_Piece(text)]
            return [
                _Piece(
                    rng.choice(
                        [f"{years} tahun", f"{years} th", f"{years} thn", f"usia {years} tahun"]
                    )
                )
            ]
        if attr == "birthplace":
            return [_Piece(p.birthplace)]
        if attr == "job":
            return [_Piece(rng.choice(_JOBS_F if p.female else _JOBS_M))]
        if attr == "deg":
            return [_Piece(rng.choice(_DEGREES.get(re.sub(r"\d+$", "", p.key), ("",))))]
        if attr == "haji":
            return [_Piece(("Hj. " if p.female else "H. ") if p.haji else "")]
        if attr == "rank":
            return [_Piece(rng.choice(_RANKS))]
        if attr == "sex":
            return [_Piece("perempuan" if p.female else "laki-laki")]
        if attr == "lp":
            return [_Piece("P" if p.female else "L")]
        raise KeyError(f"{self.template.name}: unknown person attribute {attr!r}")

    # other slots --------------------------------------------------------------------------
    def _date(self, key: str) -> dt.date:
        if key not in self.dates:
            rng = self.rng
            if "datesfromdob" in self.flags or self.template.name == "vaccine_card":
                base = self.persons["child"].dob
                index = int(key[4:] or 1)
                offsets = {1: 0, 2: 30, 3: 60, 4: 61, 5: 270}
                self.dates[key] = base + dt.timedelta(days=offsets[index] + rng.randrange(0, 5))
            else:
                index = int(key[4:] or 1)
                offset = (index - 1) * rng.randrange(3, 40) - rng.randrange(0, 20)
                self.dates[key] = self.ref_date + dt.timedelta(days=offset)
        return self.dates[key]

    def _vocab(self, section: str) -> str:
        return self.rng.choice(_vocabulary()[section])

    def _slot(self, key: str, attr: str) -> list[_Piece]:
        rng = self.rng
        region = self.region
        if key in _PERSON_KEYS:
            return self._person_slot(self.person(key), attr)
        if re.fullmatch(r"date\d?", key):
            d = self._date(key)
            if attr == "wd":
                return [_Piece(_WEEKDAYS[d.weekday()])]
            return [_Piece(_fmt_date(d, rng, self.english), "DOB")]
        vocab = {
            "shelter": "shelter",
            "shelter2": "shelter",
            "shelter3": "shelter",
            "prog": "programme",
            "prog2": "programme",
            "brand": "brand",
            "brand2": "brand",
            "milk": "milk",
            "ride": "ride",
            "shop": "shop",
            "store": "store",
            "airline": "airline",
            "airport": "airport",
            "airport2": "airport",
            "named_hospital": "named_hospital",
            "named_street": "named_street",
            "campus": "campus",
            "holiday": "holiday",
            "holiday2": "holiday",
            "fixedday": "fixed_day",
            "office2": "office",
        }
        if key in vocab:
            return [_Piece(self._vocab(vocab[key]))]
        if key == "kk":
            return [_Piece(_fmt_16(self.kk, rng), "KK", self.rec_kk)]
        if key in ("addr", "addrshort"):
            return [_Piece(self.address.render(rng, short=key == "addrshort"), "ADDRESS")]
        if key == "addr2":
            other = region if rng.random() < 0.75 else rng.choice(_regions())
            return [_Piece(_make_address(other, rng).render(rng), "ADDRESS")]
        if key == "school":
            return [_Piece(self.school.with_class(rng, self.english), "SCHOOL")]
        if key == "school2":
            school = _make_school(region, self.religion, rng.randrange(7, 17), rng)
            return [_Piece(school.with_class(rng), "SCHOOL")]
        if key == "schoolbare":
            return [_Piece(self.school.name)]
        if key == "schoolbare2":
            return [
                _Piece(
                    _make_school(region, self.religion, self._age(self.persons["child"]), rng).name
                )
            ]
        simple = {
            "city": region.city,
            "prov": region.province,
            "kec": rng.choice(region.get("kec")),
            "village": rng.choice(region.get("village") or region.get("kel")),
            "hosp": rng.choice(region.get("hospital")),
            "police": rng.choice(region.get("police")),
            "court": rng.choice(region.get("court")),
            "landmark": rng.choice(region.get("landmark")),
            "office": rng.choice(region.get("office")),
            "faithplace": rng.choice(_FAITH_PLACE[self.religion]),
            "month": rng.choice(_MONTHS),
            "weekday": rng.choice(_WEEKDAYS),
            "year": str(self.ref_date.year - rng.randrange(0, 2)),
            "year_old": str(self.ref_date.year - rng.randrange(5, 15)),
            "my": f"{rng.choice(_MONTHS)} {self.ref_date.year - rng.randrange(0, 3)}",
            "dm": f"{rng.randrange(1, 29)} {rng.choice(_MONTHS)}",
            "n": str(rng.randrange(4, 30)),
            "n2": str(rng.randrange(20, 90)),
            "n3": str(rng.randrange(1, 9)),
        }
        if key in simple:
            return [_Piece(simple[key])]
        if key == "headtitle":
            if not region.get("village"):
                return [_Piece("Lurah")]
            word = region.village_word
            title = _HEAD_TITLE.get(
                word, "Perbekel" if region.code.startswith("51") else "Kepala Desa"
            )
            return [_Piece(title)]
        if key in ("time", "time2"):
            h, mi = rng.randrange(6, 22), rng.choice([0, 5, 10, 15, 20, 30, 40, 45, 50])
            return [_Piece(rng.choice([f"{h:02d}.{mi:02d}", f"{h:02d}:{mi:02d}", f"{h}.{mi:02d}"]))]
        if key == "tz":
            c = region.code[0]
            tz = (
                "WIT"
                if c in "89"
                else "WITA"
                if c in "57" or region.code[:2] in ("64", "65")
                else "WIB"
            )
            return [_Piece(tz)]
        if key == "phone3" or key == "newphone":
            return [_Piece(_fmt_phone(_mobile(rng), rng), "PHONE")]
        if key == "officephone":
            text, ext = _landline(region.get("area")[0], rng)
            return [_Piece(text, "PHONE"), _Piece(ext)]
        if key == "nik3":
            dob = dt.date(rng.randrange(1960, 2000), rng.randrange(1, 13), rng.randrange(1, 29))
            return [
                _Piece(
                    _fmt_16(
                        _nik(
                            rng.choice(_regions()),
                            rng.randrange(1, 25),
                            dob,
                            rng.random() < 0.5,
                            rng,
                        ),
                        rng,
                    ),
                    "NIK",
                )
            ]
        if key == "wrongnik":
            nik = self.persons["child"].nik
            wrong = nik[:-4] + f"{(int(nik[-4:]) + rng.randrange(1, 9)) % 10000:04d}"
            if rng.random() < 0.5:
                i = rng.randrange(6, 11)
                wrong = nik[:i] + nik[i + 1] + nik[i] + nik[i + 2 :]
            if wrong == nik:
                wrong = nik[:-1] + str((int(nik[-1]) + 1) % 10)
            return [_Piece(_fmt_16(wrong, rng), "NIK")]
        if key == "email3":
            handle = rng.choice(
                ["kakak.baik", "om.gaul", "info.beasiswa", "modelcilik.casting", "teman.curhat"]
            )
            return [_Piece(f"{handle}{rng.randrange(10, 999)}@{rng.choice(_DOMAINS)}", "EMAIL")]
        if key == "casenum":
            n, y, mo = rng.randrange(1, 900), self.ref_date.year, _ROMAN[self.ref_date.month - 1]
            return [
                _Piece(
                    rng.choice(
                        [
                            f"{n:03d}/PPA/{mo}/{y}",
                            f"{n}/Pdt.P/{y}/PA",
                            f"LP/B/{n}/{mo}/{y}/SPKT",
                            f"474.{n % 9 + 1}/{n}/{y}",
                            f"B-{n}/DS/{mo}/{y}",
                            f"SAPA-{y}-{n:05d}",
                        ]
                    )
                )
            ]
        raise KeyError(f"{self.template.name}: unknown slot {key!r}")

    # rendering ----------------------------------------------------------------------------
    def render(self) -> tuple[str, list[Span]]:
        rng = self.rng
        body = self.template.body
        while (m := _ALT.search(body)) is not None:
            body = body[: m.start()] + rng.choice(m.group(1).split("|")) + body[m.end() :]
        slots = list(_SLOT.finditer(body))
        # create every person first, traps before the others, so forms see who is in the note
        keys = sorted(
            {m.group(1) for m in slots if m.group(1) in _PERSON_KEYS},
            key=lambda k: (not k.startswith("trap"), k),
        )
        for key in ("rel", "sib"):
            if key in keys:
                self.person(key)
        for key in keys:
            self.person(key)
        pieces: list[_Piece] = []
        pos = 0
        for m in slots:
            pieces.append(_Piece(body[pos : m.start()]))
            pieces.extend(self._slot(m.group(1), m.group(2) or ""))
            pos = m.end()
        pieces.append(_Piece(body[pos:]))
        nospace = "nospace" in self.flags or ("maybe_nospace" in self.flags and rng.random() < 0.35)
        text_parts: list[str] = []
        spans: list[Span] = []
        offset = 0
        for piece in pieces:
            t = piece.text
            if (
                piece.label is None
                and t.startswith(".")
                and text_parts
                and text_parts[-1].endswith(".")
            ):
                t = t[1:]  # "S.Pd." + ". Jadwal": one full stop
            if piece.label is None and nospace:
                t = re.sub(r"([,;:])[ \t]+", r"\1", t)
                t = re.sub(r"\.[ \t]+(?=[A-Z])", ".", t)
            if piece.label is not None:
                if t != t.strip() or not t:
                    raise AssertionError(f"{self.template.name}: span {t!r} has spaces")
                spans.append(Span(piece.label, offset, offset + len(t), piece.link))
            text_parts.append(t)
            offset += len(t)
        text = "".join(text_parts)
        if re.search(r"[{}«»]", text):
            raise AssertionError(f"{self.template.name}: unfilled placeholder in {text!r}")
        case = ""
        if "caps" in self.flags or ("maybe_caps" in self.flags and rng.random() < 0.35):
            case = "upper"
        elif "lower" in self.flags or ("maybe_lower" in self.flags and rng.random() < 0.5):
            case = "lower"
        if case:
            changed = text.upper() if case == "upper" else text.lower()
            if len(changed) == len(text):
                text = changed
        return text, spans


# --- the corpus --------------------------------------------------------------------------------


def _rename_with_word(note: _Note, text: str) -> None:
    """Give a record person of a clean note a given name the note uses as an ordinary word."""
    rng = note.rng
    lowered = text.lower()
    words = _word_names()
    present = [
        (w, g)
        for g in ("female", "male")
        for w in words[g]
        if re.search(rf"\b{re.escape(w.lower())}\b", lowered)
    ]
    if not present:
        return
    word, gender = rng.choice(present)
    target = note.persons["child"]
    if target.female != (gender == "female"):
        target = note.persons["g1"] if note.persons["g1"].female == (gender == "female") else target
    rest = target.forms.get("last") or target.forms["first"]
    if rest.lower() == word.lower():
        rest = target.full.split()[-1]
    target.full = f"{word} {rest}"
    target.forms = {"full": target.full, "first": word, "last": rest}
    for nick, full in list(note.aliases.items()):
        if full not in [p.full for p in note.persons.values()]:
            note.aliases[nick] = target.full


def _build_note(seed: int, index: int, template: _Template) -> LabelledNote:
    rng = random.Random(f"corpus-c:{seed}:{index}:{template.name}")
    note = _Note(rng, template)
    text, spans = note.render()
    if template.kind == "clean":
        if spans:
            raise AssertionError(f"clean template {template.name} produced spans")
        if rng.random() < 0.85:
            _rename_with_word(note, text)
    elif not spans:
        raise AssertionError(f"template {template.name} produced no span")
    groups = tuple(sorted({p.tradition for p in note.persons.values()} | {note.tradition}))
    return LabelledNote(
        note_id=f"c3-{seed}-{index:04d}",
        text=text,
        known=note.record(),
        spans=spans,
        kind=template.kind,
        aliases=dict(note.aliases),
        template=template.name,
        groups=groups,
    )


def build_third_corpus(seed: int = DEFAULT_SEED) -> list[LabelledNote]:
    """The corpus for ``seed``: ``IDENTIFIER_NOTES`` notes with spans, then ``CLEAN_NOTES``."""
    order = random.Random(f"corpus-c-order:{seed}")
    notes: list[LabelledNote] = []
    for kind, count in (("identifiers", IDENTIFIER_NOTES), ("clean", CLEAN_NOTES)):
        templates = [t for t in _templates() if t.kind == kind]
        order.shuffle(templates)
        for i in range(count):
            notes.append(_build_note(seed, len(notes), templates[i % len(templates)]))
    return notes


def corpus_digest(notes: Sequence[LabelledNote]) -> str:
    """sha256 of a canonical JSON serialisation of ``notes`` (ids, texts, records, spans)."""
    payload = [
        {
            "id": n.note_id,
            "text": n.text,
            "known": n.known,
            "spans": [[s.label, s.start, s.end, s.links_to] for s in n.spans],
            "kind": n.kind,
            "aliases": n.aliases,
            "template": n.template,
            "groups": list(n.groups),
        }
        for n in notes
    ]
    blob = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def trap_spans(note: LabelledNote) -> list[Span]:
    """``UNKNOWN_PERSON`` spans sharing a name word (not a particle) with a record name."""
    record = set().union(*(name_words(v) for v in note.known.get("person_name", [])))
    return [
        s
        for s in note.spans
        if s.label == "UNKNOWN_PERSON" and name_words(note.text[s.start : s.end]) & record
    ]


@dataclass
class CorpusStats:
    notes: Counter[str] = field(default_factory=Counter)
    spans: Counter[str] = field(default_factory=Counter)
    linked: Counter[str] = field(default_factory=Counter)
    traps: int = 0
    templates: Counter[str] = field(default_factory=Counter)
    traditions: Counter[str] = field(default_factory=Counter)


def stats(notes: Sequence[LabelledNote]) -> CorpusStats:
    out = CorpusStats()
    for n in notes:
        out.notes[n.kind] += 1
        out.templates[n.template] += 1
        out.traditions.update(n.groups)
        for s in n.spans:
            out.spans[s.label] += 1
            out.linked[s.label] += s.links_to is not None
        out.traps += len(trap_spans(n))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Corpus C statistics (and scores).")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--score", action="store_true", help="score today's Redactor")
    parser.add_argument("--examples", type=int, default=0)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    notes = build_third_corpus(args.seed)
    elapsed = time.perf_counter() - started
    st = stats(notes)
    print(
        f"corpus C seed {args.seed}: {len(notes)} notes in {elapsed:.2f} s, digest {corpus_digest(notes)[:16]}"
    )
    print("notes:", dict(st.notes))
    for label in LABELS:
        print(f"  {label:<15} {st.spans[label]:>5} spans, {st.linked[label]:>5} with links_to")
    print(
        f"wrong-link traps: {st.traps}; traditions: {len(st.traditions)}; templates: {len(st.templates)}"
    )
    if args.score:
        from tests.support.redaction_scoring import report

        report(f"corpus C seed {args.seed}", notes, args.examples)
    return 0


if __name__ == "__main__":
    sys.exit(main())
