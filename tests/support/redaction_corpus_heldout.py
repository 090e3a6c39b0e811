"""Corpus B: a held-out labelled corpus of Indonesian case notes for scoring the redactor.

Why a second corpus
-------------------
Corpus A (:mod:`tests.support.redaction_corpus`) is the corpus the redactor is tuned on, so its
scores flatter the redactor a little more with every fix. Corpus B is the honest measurement:
written by a different author, with its own templates and name lists, and never tuned on. When
a miss here shows a real gap, the fix belongs in the redactor as a general rule; corpus B is not
edited to make it pass, and its templates are not copied into corpus A.

What it shares with corpus A, and what not
------------------------------------------
Shared: the dataclasses :class:`Span` and :class:`LabelledNote`, the labels and the labelling
rules (corpus A's module docstring is the reference; the essentials are repeated below) and the
``known`` record format, so the scorer of :mod:`tests.support.redaction_scoring` scores both.

Not shared: the templates (visit reports, phone logs, school liaison notes, health referrals,
police and court notes, WhatsApp shorthand, forms, ALL-CAPS and all-lowercase notes), the
vocabulary lists (streets, villages, schools, institutions, programmes, brands, holidays) and
the name lists, all written without reading corpus A's, the synthetic generator's
(``ingestion/synthetic/``) or the redactor's gazetteers.
``tests/fixtures/redaction_corpus_heldout/names.txt`` holds name parts of 25 traditions, from
Acehnese to Papuan, with Balinese birth-order names, Makassar *daeng* names, Sumbanese
*Umbu/Rambu*, Batak *br.* and Chinese-Indonesian names with the surname first or last. Common
parts recur in both corpora as they do in life (a Batak marga is a Batak marga: about a third
of B's entries are also entries of A's file), but no full name generated here is an entry of
corpus A's names file or a given name + last name that corpus A could compose from one
tradition (checked while generating: such a name is drawn again), and no word of B's names is
one of Faker's ``id_ID`` last names, in which every full name of the synthetic generator ends.

Labelling rules (as in corpus A)
--------------------------------
* A span is exactly the identifier: a name without its cue ("Bu", "Pak", "Ustadz", "a.n."), a
  number without its cue ("NIK", "HP") or a trailing extension ("ext. 12", "psw. 204"); a phone
  keeps its own "+" and parentheses. Spans never overlap.
* ``KNOWN_PERSON``: a person of the record. ``links_to`` is the full name as the record holds
  it when the mention denotes one person: the full name (in any case or with a typo), the
  nickname, or a name part that occurs in exactly one known person's name. A part shared by
  several known persons (a marga of father and child, a Balinese birth-order name, "Dwi") has
  ``links_to=None``.
* ``UNKNOWN_PERSON``: anybody not in the record, with or without a cue; ``links_to`` None.
  *Wrong-link traps* are strangers or relatives outside the record who share a first name or a
  surname with a known person and are written with their own other name part.
* ``NIK``, ``KK``, ``PHONE``, ``EMAIL``: ``links_to`` is the record's value as stored when the
  note's value is the record's; None for third parties and for values the record lacks.
* ``DOB``: any full calendar date (day, month and year), whatever it dates; year-only and
  month-year are not labelled, nor is the birthplace of "TTL: Kupang, 3 Mei 2012".
* ``ADDRESS``: where a person lives, down to a street, gang, kampung, dusun, banjar, jorong,
  gampong, huta, lorong or housing estate; a village named as the place of an event is not one.
* ``SCHOOL``: a school written with the child's class; a school without a class is not
  labelled.
* Clean notes have no span at all: programmes, institutions (also those named after a person,
  "RSUP Dr. Sardjito"), places, holidays, brands, months and days, headings, sentence-initial
  capitalised words. In about a third of them the record holds a name that is also an ordinary
  word of the note ("Sabar dan teguh ...", "kelompok tani", "suasana damai").

Usage
-----
``python -m tests.support.redaction_corpus_heldout`` prints the corpus statistics;
``--score`` scores today's ``Redactor`` with the scorer of
:mod:`tests.support.redaction_scoring`; ``--examples N`` also prints up to N misses per label,
N wrong links and N detections on clean notes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
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
from lakehouse.reference.regions import PROVINCES, Regency
from tests.support.redaction_corpus import LABELS, LabelledNote, Span

__all__ = [
    "CLEAN_NOTES",
    "CLEAN_TEMPLATES",
    "DEFAULT_SEED",
    "IDENTIFIER_NOTES",
    "IDENTIFIER_TEMPLATES",
    "LABELS",
    "LabelledNote",
    "Span",
    "build_heldout_corpus",
    "corpus_a_names",
    "corpus_digest",
    "is_trap",
    "main",
    "name_parts",
    "nicknames",
    "stats",
]

DEFAULT_SEED = 7
IDENTIFIER_NOTES = 800
CLEAN_NOTES = 300

_FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
NAMES_FILE = _FIXTURES / "redaction_corpus_heldout" / "names.txt"
CORPUS_A_NAMES_FILE = _FIXTURES / "redaction_corpus" / "names.txt"

# --- name lists ---------------------------------------------------------------------------

_SECTION = re.compile(r"==\s*(\S+)\s*==")


def _sections(path: Path) -> dict[str, str]:
    """``== name ==`` sections of a names file, each as one line of text (comments dropped)."""
    out: dict[str, list[str]] = {}
    current: str | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if m := _SECTION.fullmatch(line):
            current = m.group(1)
            out.setdefault(current, [])
        elif current is None:
            raise ValueError(f"{path}: entries before the first section: {line!r}")
        else:
            out[current].append(line)
    return {name: " ".join(lines) for name, lines in out.items()}


@cache
def name_parts() -> dict[str, tuple[str, ...]]:
    """Corpus B's name lists by section ("jawa.m", "batak.fam", ...), nicknames excluded."""
    out: dict[str, tuple[str, ...]] = {}
    for name, text in _sections(NAMES_FILE).items():
        if name.startswith("nick"):
            continue
        entries = tuple(" ".join(e.split()) for e in text.split(",") if e.strip())
        if not entries or not all(e.isascii() for e in entries):
            raise ValueError(f"names section {name}: empty or not ASCII")
        out[name] = entries
    return out


@cache
def nicknames() -> dict[str, tuple[str, ...]]:
    """Nicknames by given name ("Ridwan" -> ("Iwan",)), and by "<tradition>.<m|f>" for the
    nicknames a whole tradition uses ("batak.m" -> ("Ucok",))."""
    out: dict[str, tuple[str, ...]] = {}
    sections = _sections(NAMES_FILE)
    for section in ("nick", "nick.generic"):
        for item in sections.get(section, "").split(";"):
            if not item.strip():
                continue
            given, _, nicks = item.partition(":")
            out[given.strip()] = tuple(n.strip() for n in nicks.split(",") if n.strip())
    return out


@cache
def corpus_a_names() -> frozenset[str]:
    """Corpus A's person names, casefolded, for the disjointness check: every entry of its
    names file, and every given name + last name it can compose within one tradition (its
    ``[group.field]`` sections: given fields are male/female/single_*/order_*, last-name fields
    family/second*)."""
    fields: dict[str, dict[str, list[str]]] = {}
    current: tuple[str, str] | None = None
    for raw in CORPUS_A_NAMES_FILE.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if m := re.fullmatch(r"\[(\w+)\.(\w+)\]", line):
            current = (m.group(1), m.group(2))
            continue
        if current is None:
            continue
        group, kind = current
        entries = [" ".join(e.split()).casefold() for e in line.split(",") if e.strip()]
        fields.setdefault(group, {}).setdefault(kind, []).extend(entries)
    names: set[str] = set()
    for kinds in fields.values():
        givens: list[str] = []
        lasts: list[str] = []
        for kind, entries in kinds.items():
            names.update(entries)
            if kind.startswith(("family", "second")):
                lasts.extend(entries)
            elif kind.startswith(("male", "female", "single", "order")):
                givens.extend(entries)
        names.update(f"{g} {last}" for g in givens for last in lasts)
    return frozenset(names)


# --- traditions and names -----------------------------------------------------------------


@dataclass(frozen=True)
class _Tradition:
    key: str
    provinces: tuple[str, ...]  # province codes where most of its families live
    weight: int
    family: str | None = None  # section of inherited family names (marga, fam, suku, clan)
    family_rate: float = 1.0  # share of names that carry the family name
    second: float = 0.0  # chance of a second given name (a last word that is not inherited)
    islamic: bool = False  # "Muhammad ...", "Siti ..." possible
    mother_line: bool = False  # the family name comes from the mother (Minang suku)


_TRADITIONS: dict[str, _Tradition] = {
    t.key: t
    for t in (
        _Tradition("aceh", ("11",), 4, second=0.55, islamic=True),
        _Tradition(
            "minang", ("13", "14"), 5, "minang.suku", 0.3, 0.45, islamic=True, mother_line=True
        ),
        _Tradition("batak", ("12",), 6, "batak.fam", second=0.2),
        _Tradition("nias", ("12",), 2, "nias.fam"),
        _Tradition("sunda", ("32", "36"), 7, second=0.65, islamic=True),
        _Tradition("betawi", ("31", "36"), 3, second=0.5, islamic=True),
        _Tradition("jawa", ("33", "34", "35"), 9, second=0.7, islamic=True),
        _Tradition("madura", ("35",), 3, second=0.45, islamic=True),
        _Tradition("bali", ("51",), 4),
        _Tradition("sasak", ("52",), 3, second=0.45, islamic=True),
        _Tradition("bugis", ("73", "74", "76"), 4, second=0.45, islamic=True),
        _Tradition("makassar", ("73",), 3, second=0.3, islamic=True),
        _Tradition("toraja", ("73", "76"), 2, "toraja.fam"),
        _Tradition("minahasa", ("71",), 4, "minahasa.fam", second=0.2),
        _Tradition("gorontalo", ("75",), 2, "gorontalo.fam", islamic=True),
        _Tradition("dayak", ("61", "62", "64", "65"), 3, "dayak.fam"),
        _Tradition("banjar", ("63", "62"), 3, second=0.55, islamic=True),
        _Tradition("flores", ("53",), 3, "flores.fam"),
        _Tradition("timor", ("53",), 3, "timor.fam"),
        _Tradition("sumba", ("53",), 2, "sumba.fam"),
        _Tradition("maluku", ("81", "82"), 3, "maluku.fam"),
        _Tradition("papua", ("91", "92", "93", "94", "95", "96"), 3, "papua.fam"),
        _Tradition("tionghoa", ("12", "21", "31", "32", "35", "61"), 4, "tionghoa.fam"),
        _Tradition("arab", ("31", "35", "73", "81"), 2, "arab.fam", islamic=True),
        _Tradition("kristen", ("31", "33", "34", "35"), 4, second=0.85),
    )
}
TRADITIONS: tuple[str, ...] = tuple(_TRADITIONS)

_BALI_ORDER: dict[int, tuple[str, ...]] = {
    1: ("Wayan", "Putu", "Gede"),
    2: ("Made", "Kadek", "Nengah"),
    3: ("Nyoman", "Komang"),
    4: ("Ketut",),
}
#: Words that stand before a name and are never a name alone.
_NAME_PREFIXES = frozenset(
    {"i", "ni", "luh", "br.", "umbu", "rambu", "andi", "lalu", "baiq", "daeng"}
    | {"muhammad", "muhamad", "mohammad", "ahmad", "siti", "nur", "moh.", "abd."}
)


@dataclass(frozen=True)
class _Name:
    """A full name as words, with the runs (index tuples) a person is called by."""

    words: tuple[str, ...]
    tradition: str
    given: tuple[int, ...]  # the given name proper ("Made Sudarsana" -> Sudarsana)
    last: tuple[int, ...] = ()  # the last name: family name or second given name
    family: str | None = None  # the inherited family name, when ``last`` is one
    other_calls: tuple[tuple[int, ...], ...] = ()  # other runs used alone (order, daeng)

    @property
    def full(self) -> str:
        return " ".join(self.words)

    def run(self, indices: tuple[int, ...]) -> tuple[str, ...]:
        return tuple(self.words[i] for i in indices)

    @property
    def calls(self) -> tuple[tuple[int, ...], ...]:
        """Runs a person is called by without a cue: the given name first."""
        runs = [self.given, *self.other_calls]
        if self.last and self.family is None:
            runs.append(self.last)
        return tuple(runs)

    def folded(self) -> tuple[str, ...]:
        return tuple(w.casefold() for w in self.words)


def _sex_key(sex: str) -> str:
    return "m" if sex == "M" else "f"


def _pick_other(rng: random.Random, options: Sequence[str], avoid: Sequence[str]) -> str:
    folded = {a.casefold() for a in avoid}
    choices = [o for o in options if o.casefold() not in folded]
    return rng.choice(choices or list(options))


def _compose(
    rng: random.Random,
    tradition: str,
    sex: str,
    *,
    adult: bool,
    given: str | None = None,
    family: str | None = None,
    second: str | None = None,
    order: str | None = None,
    need_last: bool = False,
) -> _Name:
    """One name of ``tradition``; the keywords force a part (a planted or shared word)."""
    t = _TRADITIONS[tradition]
    lists = name_parts()
    s = _sex_key(sex)
    if tradition == "bali":
        return _compose_bali(rng, sex, given=given, order=order)
    elder = tradition == "tionghoa" and adult and not (given or family or second)
    if elder and rng.random() < 0.3:  # the elder style: surname first, two-syllable given name
        sur = rng.choice(lists["tionghoa.sur"])
        given_words = rng.choice(lists[f"tionghoa.given.{s}"]).split()
        return _Name(
            (sur, *given_words), tradition, tuple(range(1, len(given_words) + 1)), (0,), sur
        )
    words: list[str] = []
    if tradition == "sumba" and rng.random() < 0.6:
        words.append("Umbu" if sex == "M" else "Rambu")
    elif tradition == "sasak" and adult and rng.random() < 0.15:
        words.append("Lalu" if sex == "M" else "Baiq")
    elif tradition == "bugis" and rng.random() < 0.12:
        words.append("Andi")
    elif t.islamic and given is None and rng.random() < 0.12:
        words.append(
            rng.choice(("Muhammad", "Muhamad", "Mohammad", "Ahmad"))
            if sex == "M"
            else rng.choice(("Siti", "Nur"))
        )
    if (
        tradition == "jawa"
        and adult
        and second is None
        and not need_last
        and (given is None or given in lists[f"jawa1.{s}"])
        and (given is not None or rng.random() < 0.3)
    ):  # the elder generation's one-word names
        one = given or rng.choice(lists[f"jawa1.{s}"])
        return _Name((*words, one), tradition, (len(words),))
    first = given or rng.choice(lists[f"{tradition}.{s}"])
    start = len(words)
    words.extend(first.split())
    given_run = tuple(range(start, len(words)))
    other: list[tuple[int, ...]] = []
    if tradition == "kristen" and rng.random() < 0.4:
        words.append(_pick_other(rng, lists[f"kristen.mid.{s}"], words))
        other.append((len(words) - 1,))
    last: tuple[int, ...] = ()
    family_name: str | None = None
    second_list = lists.get(f"{tradition}.{s}2")
    if tradition == "makassar" and adult and second is None and rng.random() < 0.35:
        words.extend(("Daeng", _pick_other(rng, lists["makassar.daeng"], words)))
        other.append((len(words) - 2, len(words) - 1))
    elif second is not None:
        start = len(words)
        words.extend(second.split())
        last = tuple(range(start, len(words)))
    elif second_list and (rng.random() < t.second or (need_last and not t.family)):
        start = len(words)
        words.extend(_pick_other(rng, second_list, words).split())
        run = tuple(range(start, len(words)))
        if t.family:  # a middle name before the family name
            other.append(run)
        else:
            last = run
    if t.family and second is None and not last:
        carries = family is not None or rng.random() < t.family_rate or need_last
        if carries:
            family_name = family or _pick_other(rng, lists[t.family], words)
            if tradition == "batak" and sex == "F" and rng.random() < 0.25:
                words.append("br.")
            start = len(words)
            words.extend(family_name.split())
            last = tuple(range(start, len(words)))
    if need_last and not last and not other:  # no family, second or daeng name yet
        start = len(words)
        words.extend(_pick_other(rng, lists[f"{tradition}.{s}"], words).split())
        last = tuple(range(start, len(words)))
    return _Name(tuple(words), tradition, given_run, last, family_name, tuple(other))


def _compose_bali(rng: random.Random, sex: str, *, given: str | None, order: str | None) -> _Name:
    lists = name_parts()
    if order is None:
        rank = rng.choices((1, 2, 3, 4), weights=(40, 30, 18, 12))[0]
        options = [o for o in _BALI_ORDER[rank] if sex == "M" or o != "Gede"]
        order = rng.choice(options)
    if sex == "M":
        words = ["I", order]
    else:
        r = rng.random()
        words = ["Ni", order] if r < 0.6 else (["Ni", "Luh", order] if r < 0.8 else ["Ni", "Luh"])
    order_run = (len(words) - 1,) if words[-1] != "Luh" else ()
    start = len(words)
    words.extend((given or rng.choice(lists[f"bali.{_sex_key(sex)}"])).split())
    given_run = tuple(range(start, len(words)))
    others: tuple[tuple[int, ...], ...] = ()
    if order_run:
        others = (order_run, (*order_run, *given_run))
    return _Name(tuple(words), "bali", given_run, (), None, others)


# --- numbers, dates and e-mail addresses --------------------------------------------------

_MOBILE_PREFIXES = (
    "811", "812", "813", "821", "822", "823", "851", "852", "853", "814", "815", "816",
    "855", "856", "857", "858", "817", "818", "819", "859", "877", "878", "831", "832",
    "833", "838", "881", "882", "887", "888", "895", "896", "897", "898", "899",
)  # fmt: skip
#: Landline area codes (without the trunk 0) by province code.
_AREA_CODES: dict[str, tuple[str, ...]] = {
    "11": ("651", "645"), "12": ("61", "622"), "13": ("751", "752"), "14": ("761",),
    "15": ("741",), "16": ("711",), "17": ("736",), "18": ("721",), "19": ("717",),
    "21": ("778", "771"), "31": ("21",), "32": ("22", "251", "231", "266"),
    "33": ("24", "271", "281"), "34": ("274",), "35": ("31", "341", "331"),
    "36": ("254", "21"), "51": ("361",), "52": ("370",), "53": ("380", "381", "387"),
    "61": ("561",), "62": ("536",), "63": ("511",), "64": ("541", "542"), "65": ("551",),
    "71": ("431", "438"), "72": ("451",), "73": ("411", "421"), "74": ("401",),
    "75": ("435",), "76": ("426",), "81": ("911",), "82": ("921",), "91": ("967",),
    "92": ("986",), "93": ("971",), "94": ("984",), "95": ("969",), "96": ("951",),
}  # fmt: skip

_MONTHS = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
    "Oktober", "November", "Desember",
)  # fmt: skip
_MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agt", "Sep", "Okt", "Nov", "Des")
_MONTH_ALT = {2: ("Pebruari", "Peb"), 3: ("Maret", "Mrt"), 8: ("Agustus", "Agust"),
              9: ("September", "Sept"), 11: ("Nopember", "Nop")}  # fmt: skip
_DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
_ROMAN = ("", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")


def _random_date(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    return first + dt.timedelta(days=rng.randint(0, (last - first).days))


def _fmt_date(rng: random.Random, d: dt.date) -> str:
    """A full date as case workers write one (every form has day, month and year)."""
    month, abbr = _MONTHS[d.month - 1], _MONTH_ABBR[d.month - 1]
    if d.month in _MONTH_ALT and rng.random() < 0.3:
        month, abbr = _MONTH_ALT[d.month]
    yy = d.year % 100
    forms = (
        (f"{d.day} {month} {d.year}", 22),
        (f"{d.day:02d} {month} {d.year}", 8),
        (f"{d.day:02d}-{d.month:02d}-{d.year}", 10),
        (f"{d.day:02d}/{d.month:02d}/{d.year}", 10),
        (f"{d.day}/{d.month}/{d.year}", 6),
        (f"{d.day:02d}.{d.month:02d}.{d.year}", 4),
        (f"{d.day:02d}/{d.month:02d}/{yy:02d}", 6),
        (f"{d.day}-{d.month}-{yy:02d}", 4),
        (f"{d.year}-{d.month:02d}-{d.day:02d}", 5),
        (f"{d.day} {abbr} {d.year}", 8),
        (f"{d.day}-{abbr}-{d.year}", 3),
        (f"{d.day} {abbr}. {d.year}", 3),
        (f"{d.day:02d} {abbr} {yy:02d}", 3),
        (f"{d.day} {month} '{yy:02d}", 2),
        (f"{d.day} {month.upper()} {d.year}", 3),
    )
    return rng.choices([f for f, _ in forms], weights=[w for _, w in forms])[0]


def _mobile(rng: random.Random) -> str:
    """National form, "081234567890" (11-13 digits)."""
    length = rng.choices((11, 12, 13), weights=(20, 70, 10))[0]
    prefix = rng.choice(_MOBILE_PREFIXES)
    rest = "".join(rng.choice("0123456789") for _ in range(length - 5))
    return f"0{prefix}{rng.choice('123456789')}{rest}"


def _fmt_mobile(rng: random.Random, national: str) -> str:
    p, r = national[1:4], national[4:]
    forms = (
        (f"0{p}-{r[:4]}-{r[4:]}", 16),
        (f"0{p} {r[:4]} {r[4:]}", 16),
        (f"0{p}{r}", 18),
        (f"+62 {p}-{r[:4]}-{r[4:]}", 6),
        (f"+62 {p} {r[:4]} {r[4:]}", 6),
        (f"+62 ({p}) {r[:4]}-{r[4:]}", 4),
        (f"+62{p}{r}", 7),
        (f"62{p}{r}", 4),
        (f"(0{p}) {r[:4]} {r[4:]}", 4),
        (f"0{p}.{r[:4]}.{r[4:]}", 5),
        (f"0{p}-{r[:3]}-{r[3:6]}-{r[6:]}", 3 if len(r) >= 8 else 0),
        (f"+62-{p}-{r[:4]}-{r[4:]}", 3),
        (f"0{p} {r[:3]} {r[3:]}", 4),
    )
    return rng.choices([f for f, _ in forms], weights=[w for _, w in forms])[0]


def _stored_mobile(rng: random.Random, national: str) -> str:
    """How a record holds a mobile number."""
    r = rng.random()
    if r < 0.6:
        return national
    if r < 0.8:
        return "+62" + national[1:]
    return f"{national[:4]}-{national[4:8]}-{national[8:]}"


def _landline(rng: random.Random, province_code: str) -> str:
    """National form with the area code: "0274512345"."""
    area = rng.choice(_AREA_CODES.get(province_code, ("21",)))
    length = 8 if area == "21" else (7 if len(area) == 2 else rng.choice((6, 7)))
    digits = rng.choice("2345678") + "".join(rng.choice("0123456789") for _ in range(length - 1))
    return f"0{area}|{digits}"  # "|" marks the end of the area code; removed when written


def _fmt_landline(rng: random.Random, landline: str) -> str:
    area, sub = landline.split("|")
    a = area[1:]
    forms = [
        (f"({area}) {sub}", 22),
        (f"{area}-{sub}", 22),
        (f"{area} {sub[:3]} {sub[3:]}", 10),
        (f"+62 {a} {sub}", 8),
        (f"+62-{a}-{sub}", 5),
        (f"{area}.{sub}", 5),
        (f"{area}{sub}", 8),
    ]
    if len(sub) >= 7:
        forms.append((f"({area}) {sub[: len(sub) - 4]}-{sub[-4:]}", 10))
    return rng.choices([f for f, _ in forms], weights=[w for _, w in forms])[0]


def _stored_landline(rng: random.Random, landline: str) -> str:
    area, sub = landline.split("|")
    return f"({area}) {sub}" if rng.random() < 0.4 else area + sub


def _extension(rng: random.Random) -> str:
    n = rng.randint(2, 450)
    return rng.choice((f" ext. {n}", f" ext {n}", f" psw. {n}", f" pes. {n}", f" Ext.{n}"))


def _fmt_sixteen(rng: random.Random, digits: str) -> str:
    """A NIK or KK number as written: plain, in fours, or with the region/date groups."""
    d = digits
    forms = (
        (d, 45),
        (f"{d[:4]} {d[4:8]} {d[8:12]} {d[12:]}", 15),
        (f"{d[:4]}-{d[4:8]}-{d[8:12]}-{d[12:]}", 8),
        (f"{d[:2]}.{d[2:4]}.{d[4:6]}.{d[6:12]}.{d[12:]}", 8),
        (f"{d[:6]}.{d[6:12]}.{d[12:]}", 7),
        (f"{d[:6]} {d[6:12]} {d[12:]}", 7),
        (f"{d[:6]}-{d[6:12]}-{d[12:]}", 5),
        (f"{d[:2]} {d[2:4]} {d[4:6]} {d[6:12]} {d[12:]}", 5),
    )
    return rng.choices([f for f, _ in forms], weights=[w for _, w in forms])[0]


def _kk_number(rng: random.Random, regency: Regency) -> str:
    """Region (6) + issue date DDMMYY + serial (4): no 40 added, the KK has no sex."""
    issued = _random_date(rng, dt.date(2004, 1, 1), dt.date(2023, 12, 31))
    return (
        f"{regency.code}{rng.randint(1, 30):02d}"
        f"{issued.day:02d}{issued.month:02d}{issued.year % 100:02d}{rng.randint(1, 9999):04d}"
    )


def _nik(rng: random.Random, regency: Regency, born: dt.date, sex: str) -> str:
    return make_nik(regency.code, rng.randint(1, 30), born, sex == "F", rng.randint(1, 9999))


_MAIL_DOMAINS = (
    ("gmail.com", 50), ("yahoo.co.id", 12), ("yahoo.com", 9), ("ymail.com", 4),
    ("outlook.com", 5), ("hotmail.com", 4), ("outlook.co.id", 2), ("icloud.com", 3),
    ("rocketmail.com", 2),
)  # fmt: skip


def _slug(words: Sequence[str]) -> str:
    return "".join(c for c in "".join(words).lower() if c.isalpha())


def _email_local(rng: random.Random, name: _Name, born: int) -> str:
    first = _slug(name.run(name.given)) or _slug(name.words)
    last = _slug(name.run(name.last)) if name.last else ""
    yy, n = f"{born % 100:02d}", str(rng.randint(1, 999))
    forms = [f"{first}{n}", f"{first}_{yy}", f"{first}.{yy}{rng.randint(1, 9)}"]
    if last:
        forms += [f"{first}.{last}", f"{first}{last}{yy}", f"{last}.{first}", f"{first[0]}{last}"]
        forms += [f"{first}_{last}{n}", f"{last}{first[:3]}"]
    return rng.choice(forms)


# --- places, addresses, schools ------------------------------------------------------------

#: Villages and urban wards by island group (a province code's first digit).
_VILLAGES: dict[str, tuple[str, ...]] = {
    "1": (
        "Lamreung", "Lampeuneurut", "Meunasah Baro", "Koto Tangah", "Sungai Sapih",
        "Lubuk Buaya", "Tanjung Gusta", "Sei Sikambing", "Simpang Baru", "Rejosari",
        "Talang Banjar", "Sukarami", "Way Halim", "Kedaton", "Air Hitam", "Sei Jang",
    ),
    "2": ("Tiban Indah", "Sei Jang", "Batu Sembilan", "Kijang Kota"),
    "3": (
        "Cimahpar", "Sindangbarang", "Pasirkaliki", "Cigugur Tengah", "Margahayu",
        "Ngestiharjo", "Banguntapan", "Wirokerten", "Caturtunggal", "Karangwaru",
        "Kebonsari", "Jatimulyo", "Purwoharjo", "Sumbersekar", "Gedangan", "Klampis Ngasem",
        "Kalirejo", "Pageruyung", "Kemranjen", "Sidomulyo Barat", "Cipedes", "Kalibaru",
    ),
    "5": (
        "Sading", "Abiansemal", "Batubulan", "Peliatan", "Penatih", "Sesetan", "Sukarara",
        "Kotaraja", "Bertais", "Oesapa", "Oebobo", "Naikolan", "Tarus", "Kambaniru",
        "Prailiu", "Mautapaga", "Paupanda",
    ),
    "6": (
        "Sungai Lulut", "Kelayan Dalam", "Alalak Utara", "Sungai Jawi", "Parit Tokaya",
        "Loa Bakung", "Sempaja", "Sungai Pinang Dalam", "Karang Joang", "Tanjung Selor Hilir",
    ),
    "7": (
        "Tamalanrea", "Paccerakkang", "Bontoala", "Mariso", "Sudiang Raya", "Kakaskasen",
        "Tateli", "Kairagi", "Limba B", "Tilamuta", "Puuwatu", "Talise", "Tondo",
        "Bulotadaa", "Lapadde",
    ),
    "8": ("Batu Merah", "Passo", "Waiheru", "Poka", "Tulehu", "Akehuda", "Sasa", "Galala"),
    "9": ("Hamadi", "Entrop", "Waena", "Abepantai", "Wosi", "Amban", "Klasaman", "Kampung Harapan"),
}  # fmt: skip
_STREETS = (
    "Cendrawasih", "Kakatua", "Kutilang", "Merpati Putih", "Elang Bondol", "Manggis",
    "Rambutan", "Sawo Kecik", "Nangka", "Jambu Air", "Beringin Jaya", "Mahoni", "Trembesi",
    "Cemara Dua", "Pattimura", "Teuku Umar", "Sam Ratulangi", "Pelita", "Pendidikan",
    "Swadaya", "Gotong Royong", "Bhayangkara", "Perintis Kemerdekaan", "Kartini Raya",
    "Anggrek Bulan", "Flamboyan", "Tanjung Harapan", "Padat Karya", "Lintas Timur",
    "Poros Desa", "Sungai Raya Dalam", "Karya Bakti", "Tengku Chik Ditiro", "Dewi Sartika",
    "Ki Hajar Dewantara", "Nusantara", "Soputan", "Lokon", "Tondano Raya", "Salak Pondoh",
)  # fmt: skip
_GANGS = (
    "Masjid", "Buntu", "Langgar", "Sawah", "Kelinci", "Asem", "Pinang", "Rukun", "Damai",
    "Haji Naim", "Sepakat", "Famili", "Mushola", "Kemuning", "Bambu Kuning", "Sukun",
)  # fmt: skip
_DUSUNS = (
    "Ngasem", "Bendo", "Ngemplak Kidul", "Sempu", "Ledok", "Jatirejo", "Sidowayah",
    "Kedungsari", "Watugajah", "Gunungan", "Kalisari", "Ngrandu", "Sumberwaru", "Tegalsari",
    "Karangploso", "Wonokerto", "Pandansari", "Kepuh", "Glagah Wangi", "Sukorejo Lor",
)  # fmt: skip
_KAMPUNGS = (
    "Cikupa Girang", "Babakan Sari", "Pasir Muncang", "Cijeruk Hilir", "Lebak Sari",
    "Kebon Kelapa", "Rawa Bambu", "Sukahurip", "Ciherang Tonggoh", "Bojong Kaum",
    "Pondok Aren Lama", "Ciomas Landeuh",
)  # fmt: skip
_ESTATES = (
    "Griya Permata Hijau", "Bukit Sengkaling Indah", "Taman Mutiara Asri", "Puri Gading Sejahtera",
    "Villa Tamalate Permai", "Citra Garden", "Bumi Panyileukan", "Taman Cipta Karya",
    "Puri Harmoni", "Villa Kencana", "Pesona Khayangan", "Griya Bukit Mas", "Perumnas Kolhua",
    "Bumi Antang Permai", "Grand Sentani", "Permata Biru",
)  # fmt: skip
_BANJARS = ("Kaja", "Kelod", "Tengah", "Anyar", "Dukuh", "Pande", "Sema", "Pekandelan", "Tegeh")
_JORONGS = ("Koto Panjang", "Parik Panjang", "Ladang Laweh", "Subarang", "Kampung Tangah")
_NAGARIS = ("Sungai Tarab", "Pariangan", "Batipuh", "Sulit Air", "Koto Gadang", "Pandai Sikek")
_GAMPONGS = ("Lamteh", "Ie Masen Kaye Adang", "Lambhuk", "Peunayong", "Jeulingke", "Lampulo")
_HUTAS = ("Ginjang", "Tinggi", "Bagasan", "Julu", "Toruan", "Dolok")


@dataclass(frozen=True)
class _Address:
    """The address as the record holds it and other ways of writing the same residence."""

    canonical: str
    variants: tuple[str, ...]


def _village(rng: random.Random, regency: Regency) -> str:
    return rng.choice(_VILLAGES[regency.province_code[0]])


def _address(rng: random.Random, tradition: str, regency: Regency) -> _Address:
    village = _village(rng, regency)
    rt, rw, n = rng.randint(1, 15), rng.randint(1, 12), rng.randint(1, 160)
    no = f"{n}{rng.choice('ABC')}" if rng.random() < 0.12 else str(n)
    street = rng.choice(_STREETS)
    kel = rng.choice(("Kel.", "Kelurahan", "Desa", "Ds."))
    weights = {"street": 40, "gang": 12, "estate": 14, "dusun": 10}
    weights |= {
        "aceh": {"gampong": 40},
        "minang": {"jorong": 40},
        "batak": {"huta": 25},
        "sunda": {"kampung": 40, "gang": 20},
        "betawi": {"kampung": 30, "gang": 30},
        "jawa": {"dusun": 40, "gang": 20},
        "madura": {"dusun": 45},
        "kristen": {"dusun": 20, "gang": 20},
        "bali": {"banjar": 60},
        "makassar": {"lorong": 30, "estate": 25},
        "bugis": {"lorong": 15, "estate": 25},
    }.get(tradition, {})
    kind = rng.choices(list(weights), weights=list(weights.values()))[0]
    if kind == "street":
        canonical = f"Jl. {street} No. {no} RT {rt:02d}/RW {rw:02d}, {kel} {village}"
        variants: tuple[str, ...] = (
            f"Jalan {street} No. {no} RT {rt}/RW {rw}",
            f"Jl. {street} No. {no}",
            f"Jl. {street} no {no} rt {rt:02d} rw {rw:02d}",
            f"Jln. {street} Nomor {no}",
            f"Jl {street} No.{no} RT.{rt:03d} RW.{rw:03d} {kel} {village}",
        )
    elif kind == "gang":
        gang = rng.choice(_GANGS)
        canonical = f"Jl. {street} Gg. {gang} No. {no} RT {rt:02d}/RW {rw:02d}"
        variants = (
            f"Gang {gang} No. {no}, Jl. {street}",
            f"Gg. {gang} RT {rt}/{rw}",
            f"Jl. {street} Gang {gang} no. {no}",
            f"Gg {gang} No {no}",
        )
    elif kind == "estate":
        estate, block = rng.choice(_ESTATES), rng.choice("ABCDEFGHJK")
        k = rng.randint(1, 12)
        canonical = rng.choice(
            (
                f"Perum {estate} Blok {block}{k} No. {no}",
                f"Komplek {estate} Blok {block}{k} No. {no}",
                f"BTN {estate} Blok {block}{k}/{no}",
            )
        )
        variants = (
            f"Perumahan {estate} Blok {block}-{k} No. {no}",
            f"Komp. {estate} Blok {block}{k} No {no}",
            f"Blok {block}{k} No. {no} Perum {estate}",
        )
    elif kind == "dusun":
        dusun = rng.choice(_DUSUNS)
        canonical = f"Dusun {dusun} RT {rt:03d}/RW {rw:03d}, Desa {village}"
        variants = (
            f"Dsn. {dusun} RT {rt:02d} RW {rw:02d} Ds. {village}",
            f"Dusun {dusun}, Desa {village}",
            f"Dusun {dusun} RT {rt}/{rw}",
        )
    elif kind == "kampung":
        kampung = rng.choice(_KAMPUNGS)
        canonical = f"Kp. {kampung} RT {rt:02d}/{rw:02d}, Desa {village}"
        variants = (
            f"Kampung {kampung} RT {rt:02d} RW {rw:02d}",
            f"Kp. {kampung} Desa {village}",
            f"Kp {kampung} rt {rt}/{rw}",
        )
    elif kind == "banjar":
        banjar = rng.choice(_BANJARS)
        canonical = f"Banjar {banjar}, Desa {village}"
        variants = (f"Br. {banjar}, Desa {village}", f"Banjar Dinas {banjar} Desa {village}")
    elif kind == "jorong":
        jorong, nagari = rng.choice(_JORONGS), rng.choice(_NAGARIS)
        canonical = f"Jorong {jorong}, Nagari {nagari}"
        variants = (f"Jr. {jorong} Nagari {nagari}", f"Jorong {jorong} Nagari {nagari}")
    elif kind == "gampong":
        gampong, dusun = (
            rng.choice(_GAMPONGS),
            rng.choice(("Mawar", "Teratai", "Meulu", "Bak Sawo")),
        )
        canonical = f"Dusun {dusun}, Gampong {gampong}"
        variants = (f"Gampong {gampong}, Dusun {dusun}", f"Gp. {gampong} Dsn. {dusun}")
    elif kind == "huta":
        huta = rng.choice(_HUTAS)
        canonical = f"Huta {huta}, Desa {village}"
        variants = (f"Huta {huta} Desa {village}", f"Huta {huta}")
    else:  # lorong
        k = rng.randint(1, 9)
        canonical = f"Jl. {street} Lr. {k} No. {no}"
        variants = (f"Jalan {street} Lorong {k} No. {no}", f"Lr. {k} Jl. {street} no {no}")
    return _Address(canonical, variants)


_ISLAMIC_SCHOOLS = ("Nurul Falah", "Al-Ikhlas", "Darussalam", "Miftahul Jannah", "Al-Amanah")
_SAINTS = ("Santa Ursula", "St. Antonius", "Santo Fransiskus", "Santa Maria", "St. Theresia")
_SMK_MAJORS = ("TKJ", "TKR", "AKL", "Tata Boga", "Farmasi", "TBSM")


def _school(rng: random.Random, age: int, tradition: str, regency: Regency) -> tuple[str, str]:
    """A school for a child of ``age`` and the child's class: ("SDN 4 Oesapa", "kelas 3")."""
    place = _village(rng, regency) if rng.random() < 0.55 else regency.place_name
    n = rng.randint(1, 12)
    letter = rng.choice("ABCDE")
    christian = tradition in ("minahasa", "toraja", "flores", "timor", "sumba", "papua", "maluku")
    if age <= 12:
        grade = max(1, min(6, age - 6))
        options = [f"SDN {n} {place}", f"SD Negeri {n} {place}", f"SD Inpres {place}"]
        options += [f"SD Muhammadiyah {n} {place}", f"MI {rng.choice(_ISLAMIC_SCHOOLS)} {place}"]
        if christian:
            options += [f"SD Katolik {rng.choice(_SAINTS)} {place}", f"SD GMIT {place}"]
            options += [f"SD YPK {place}", f"SD GMIM {n} {place}"]
        classes = [
            f"kelas {grade}",
            f"kls {grade}",
            f"kelas {_ROMAN[grade]}",
            f"kelas {grade}{letter}",
        ]
    elif age <= 15:
        grade = age - 6
        options = [f"SMPN {n} {place}", f"SMP Negeri {n} {place}", f"MTsN {n} {place}"]
        options += [f"MTs {rng.choice(_ISLAMIC_SCHOOLS)} {place}", f"SMP Satu Atap {place}"]
        if christian:
            options += [f"SMP Kristen {place}", f"SMP Katolik {rng.choice(_SAINTS)} {place}"]
        classes = [f"kelas {grade}", f"kelas {_ROMAN[grade]}", f"kelas {_ROMAN[grade]}-{letter}"]
        classes += [f"kls {_ROMAN[grade]}{letter}", f"kelas {grade}{letter}"]
    else:
        grade = max(10, min(12, age - 6))
        roman = _ROMAN[grade]
        classes = [f"kelas {roman}", f"kelas {grade}", f"kls {roman}"]
        if rng.random() < 0.35:  # a vocational school: the class names the major
            options = [f"SMKN {n} {place}", f"SMK Negeri {n} {place}"]
            options.append(f"SMK {rng.choice(_ISLAMIC_SCHOOLS)} {place}")
            major = rng.choice(_SMK_MAJORS)
            classes += [f"kelas {roman} {major}", f"kelas {roman} {major} {rng.randint(1, 3)}"]
        else:
            options = [f"SMAN {n} {place}", f"SMA Negeri {n} {place}", f"MAN {n} {place}"]
            if christian:
                options.append(f"SMA Kristen {place}")
            classes += [
                f"kelas {roman} IPA {rng.randint(1, 4)}",
                f"kelas {roman} IPS {rng.randint(1, 3)}",
            ]
    return rng.choice(options), rng.choice(classes)


# --- vocabulary of the notes --------------------------------------------------------------
# "{city}", "{regency}", "{village}" and "{prov}" are filled in from the record's region.

_HOSPITALS = (
    "RSUP Dr. Sardjito", "RSUD Dr. Moewardi", "RSUD Prof. Dr. W. Z. Johannes",
    "RSUP Prof. Dr. R. D. Kandou", "RSUD dr. Zainoel Abidin", "RSUD Ulin", "RS Bhayangkara {city}",
    "RSUD Sanjiwani", "RSUD Dok II", "RS Stella Maris", "RSJ Prof. Dr. Soerojo",
    "RSUD Dr. M. Haulussy", "RSUP Dr. Wahidin Sudirohusodo", "RSUD Abdoel Wahab Sjahranie",
    "RS Panti Rapih", "RSUD {city}", "Puskesmas {village}", "Puskesmas Pembantu {village}",
    "RSIA Bunda {city}", "Klinik Pratama Kasih Ibu",
)  # fmt: skip
_INSTITUTIONS = (
    "UPTD PPA {regency}", "Dinas Sosial {regency}", "Dinas P3A Provinsi {prov}",
    "Bapas Kelas II {city}", "LPKA Kelas II {city}", "Polres {city}", "Polsek {village}",
    "Pengadilan Negeri {city}", "Pengadilan Agama {city}", "KUA Kecamatan {village}",
    "Disdukcapil {regency}", "KPAD {regency}", "Sentra Handayani", "LKSA Tunas Harapan",
    "LKSA Bina Insani", "Yayasan Sayap Ibu", "Rumah Singgah Kasih Bunda", "PKBM Tunas Mekar",
    "Sanggar Belajar Pelangi", "LBH APIK", "Baznas {regency}", "PMI {regency}",
    "Dinas Pendidikan {regency}", "Kemenag {regency}", "Panti Asuhan Bakti Luhur",
)  # fmt: skip
_PROGRAMMES = (
    "PKH", "BPNT", "KIP", "KIS", "BPJS Kesehatan", "PIP", "ATENSI", "BLT Dana Desa",
    "Kartu Prakerja", "PMT balita", "Kampung KB", "Desa Layak Anak", "Forum Anak Daerah",
    "PATBM", "Bansos Sembako", "Sekolah Ramah Anak", "Program Indonesia Pintar",
)  # fmt: skip
_BRANDS = (
    "Indomie", "Aqua", "Le Minerale", "Telkomsel", "Indosat", "Gojek", "Grab", "Shopee",
    "Tokopedia", "DANA", "OVO", "Alfamart", "Indomaret", "Honda Beat", "Yamaha Mio", "Samsung",
    "Oppo", "Xiaomi", "SGM", "Dancow", "Rinso", "Pepsodent", "Teh Pucuk", "Kapal Api",
    "Ultra Milk", "Mie Sedaap", "Sari Roti", "Bango",
)  # fmt: skip
_HOLIDAYS = (
    "Idul Fitri", "Idul Adha", "Lebaran", "Natal", "Paskah", "Nyepi", "Galungan", "Kuningan",
    "Imlek", "Cap Go Meh", "Waisak", "Maulid Nabi", "Tahun Baru Islam", "Hari Kemerdekaan",
    "Hari Anak Nasional", "Hari Kartini", "Hari Raya Kurban", "Tahun Baru",
)  # fmt: skip
_SIGHTS = (
    "Pantai Losari", "Candi Prambanan", "Danau Sentani", "Jembatan Ampera", "Gunung Bromo",
    "Tugu Khatulistiwa", "Pantai Parangtritis", "Bukit Kasih Kanonang", "Monas", "Danau Toba",
    "Taman Nasional Komodo", "Pantai Kuta", "Benteng Rotterdam", "Kebun Raya Bogor",
)  # fmt: skip
_HEADINGS = (
    "CATATAN KUNJUNGAN", "LAPORAN PERKEMBANGAN", "RINGKASAN KASUS", "TINDAK LANJUT",
    "CATATAN LAPANGAN", "UPDATE", "MONEV BULANAN", "ASESMEN AWAL", "Catatan harian pendamping",
    "KONFIDENSIAL", "Catatan supervisi",
)  # fmt: skip
_HEADING_SEPARATORS = ("\n", "\n\n", ": ", " - ", " | ")

#: Cues before a record person's name, by role (``*M``/``*F``: by sex).
_CUES: dict[str, tuple[str, ...]] = {
    "child": ("An.", "Ananda", "adik", "Dik", "anak", "Nak"),
    "ayah": ("Pak", "Bapak", "Bpk.", "Bpk", "Bp.", "Tn.", "Ayah"),
    "ibu": ("Bu", "Ibu", "Ny.", "Bunda", "Mama", "Ibu"),
    "nenek": ("Nenek", "Nek", "Mbah", "Oma", "Ibu"),
    "kakek": ("Kakek", "Kek", "Mbah", "Opa", "Pak"),
    "paman": ("Om", "Paman", "Pakde", "Pak"),
    "bibi": ("Tante", "Bibi", "Bude", "Bu"),
    "kakakM": ("Kak", "Sdr.", "Bang", "Mas"),
    "kakakF": ("Kak", "Sdri.", "Mbak"),
    "waliM": ("Pak", "Bapak", "Sdr."),
    "waliF": ("Bu", "Ibu", "Sdri."),
    "M": ("Pak", "Bapak", "Bpk.", "Mas", "Bang", "Kak", "Om", "Sdr."),
    "F": ("Bu", "Ibu", "Mbak", "Kak", "Tante", "Sdri.", "Ny."),
}
_REGIONAL_CUES: dict[str, dict[str, tuple[str, ...]]] = {
    "sunda": {"M": ("Kang", "Mang", "Aa"), "F": ("Teh", "Ceu", "Euceu")},
    "jawa": {"M": ("Mas", "Pakde"), "F": ("Mbak", "Bude")},
    "betawi": {"M": ("Bang", "Babe"), "F": ("Mpok", "Nyak")},
    "batak": {"M": ("Amang", "Tulang"), "F": ("Inang", "Namboru")},
    "minahasa": {"M": ("Om",), "F": ("Tante",)},
    "bali": {"M": ("Bli", "Pak"), "F": ("Mbok", "Bu")},
    "minang": {"M": ("Uda", "Mak"), "F": ("Uni", "Etek")},
}
_ROLE_WORDS = {
    "child": "anak",
    "ayah": "ayah",
    "ibu": "ibu",
    "nenek": "nenek",
    "kakek": "kakek",
    "paman": "paman",
    "bibi": "bibi",
    "kakak": "kakak",
    "wali": "wali",
    "sepupu": "sepupu",
}


# --- persons and records ------------------------------------------------------------------


@dataclass
class _Person:
    name: _Name
    sex: str  # "M" / "F"
    role: str  # "child", "ibu", ... for the record; "third", "paman", ... for the others
    dob: dt.date
    nik: str
    phone: str  # national digits, "081234567890"
    landline: str  # "0274|512345"
    email: str
    nick: str | None = None
    stored: dict[str, str] = field(default_factory=dict)  # what the record holds, as held

    @property
    def full(self) -> str:
        return self.name.full


@dataclass
class _Record:
    tradition: str
    regency: Regency
    persons: list[_Person]  # the child first
    kk: str
    kk_held: bool
    address: _Address
    birthplace: str
    school: str
    klass: str
    known: dict[str, list[str]] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)

    @property
    def child(self) -> _Person:
        return self.persons[0]

    @property
    def guardians(self) -> list[_Person]:
        return self.persons[1:]

    def words(self) -> set[str]:
        """Casefolded words (3+ letters) of the record's names and nicknames."""
        out = {w for p in self.persons for w in p.name.folded() if len(w) >= 3}
        out |= {p.nick.casefold() for p in self.persons if p.nick}
        return out


@dataclass(frozen=True)
class _Plant:
    """A word of a clean note that the record must hold as a name part."""

    tradition: str
    kind: str  # "given", "single" (a one-word Javanese name) or "family"
    sex: str | None
    word: str


_GUARDIAN_ROLES = (
    ("ibu", 38), ("ayah", 24), ("nenek", 12), ("kakek", 5), ("bibi", 8), ("paman", 6),
    ("kakak", 4), ("wali", 3),
)  # fmt: skip
_SECOND_ROLE: dict[str, tuple[str, ...]] = {
    "ibu": ("ayah", "ayah", "nenek", "kakek"),
    "ayah": ("ibu", "ibu", "nenek"),
    "nenek": ("kakek", "bibi", "paman"),
    "kakek": ("nenek", "paman"),
    "bibi": ("paman", "nenek"),
    "paman": ("bibi", "nenek"),
    "kakak": ("paman", "bibi", "nenek"),
    "wali": ("ibu", "nenek", "paman"),
}
_ROLE_SEX = {"ayah": "M", "kakek": "M", "paman": "M", "ibu": "F", "nenek": "F", "bibi": "F"}
_THIRD_MAIL_DOMAINS = ("guru.sd.belajar.id", "guru.smp.belajar.id", "kemensos.go.id", "polri.go.id")


def _adult_dob(rng: random.Random, role: str, child: dt.date) -> dt.date:
    span = {
        "ayah": (22, 45), "ibu": (18, 42), "nenek": (40, 68), "kakek": (42, 72),
        "paman": (18, 45), "bibi": (18, 45), "kakak": (8, 14), "wali": (25, 55),
        "sepupu": (4, 20),
    }.get(role, (20, 60))  # fmt: skip
    older = rng.randint(*span) * 365 + rng.randint(0, 364)
    born = child - dt.timedelta(days=older)
    if role in ("kakak", "sepupu"):  # an adult sibling or cousin
        born = min(born, dt.date(2005, 12, 31))
    return max(born, dt.date(1948, 1, 1))


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.issued: set[str] = set()
        self.regencies: dict[str, tuple[Regency, ...]] = {p.code: p.regencies for p in PROVINCES}
        self.provinces = {p.code: p for p in PROVINCES}
        self.corpus_a = corpus_a_names()

    # -- values --

    def unique(self, make: Callable[[], str]) -> str:
        for _ in range(1000):
            value = make()
            if value not in self.issued:
                self.issued.add(value)
                return value
        raise RuntimeError("no unique value")  # pragma: no cover

    def tradition(self) -> str:
        return self.rng.choices(TRADITIONS, weights=[t.weight for t in _TRADITIONS.values()])[0]

    def regency_for(self, tradition: str) -> Regency:
        rng = self.rng
        if rng.random() < 0.85:
            code = rng.choice(_TRADITIONS[tradition].provinces)
        else:
            code = rng.choice(sorted(self.regencies))
        return rng.choice(self.regencies[code])

    def any_regency(self) -> Regency:
        return self.rng.choice(self.regencies[self.rng.choice(sorted(self.regencies))])

    def name(
        self,
        tradition: str,
        sex: str,
        *,
        adult: bool,
        avoid: set[str] | frozenset[str] = frozenset(),
        given: str | None = None,
        family: str | None = None,
        second: str | None = None,
        order: str | None = None,
        need_last: bool = False,
    ) -> _Name:
        """A name that corpus A does not hold and whose own (not forced) words of 3+ letters
        are not in ``avoid``."""
        name = self.try_name(
            tradition, sex, adult=adult, avoid=avoid, given=given, family=family,
            second=second, order=order, need_last=need_last,
        )  # fmt: skip
        if name is None:
            raise RuntimeError(f"no {tradition} name avoiding {sorted(avoid)}")  # pragma: no cover
        return name

    def try_name(
        self,
        tradition: str,
        sex: str,
        *,
        adult: bool,
        avoid: set[str] | frozenset[str] = frozenset(),
        given: str | None = None,
        family: str | None = None,
        second: str | None = None,
        order: str | None = None,
        need_last: bool = False,
    ) -> _Name | None:
        """:meth:`name`, or None when the forced parts leave no name outside corpus A."""
        forced = {
            w.casefold() for part in (given, family, second, order) if part for w in part.split()
        }
        for _ in range(300):
            name = _compose(
                self.rng, tradition, sex, adult=adult, given=given, family=family,
                second=second, order=order, need_last=need_last,
            )  # fmt: skip
            folded = name.folded()
            if " ".join(folded) in self.corpus_a or len(set(folded)) != len(folded):
                continue
            if any(len(w) >= 3 and w not in forced and w in avoid for w in folded):
                continue
            return name
        return None

    def person(
        self, name: _Name, sex: str, role: str, dob: dt.date, regency: Regency, *, office: bool
    ) -> _Person:
        rng = self.rng
        nik = self.unique(lambda: _nik(rng, regency, dob, sex))
        phone = self.unique(lambda: _mobile(rng))
        landline = self.unique(lambda: _landline(rng, regency.province_code))
        domains = [d for d, _ in _MAIL_DOMAINS]
        weights = [w for _, w in _MAIL_DOMAINS]

        def mail() -> str:
            local = _email_local(rng, name, dob.year)
            if office and rng.random() < 0.35:
                return f"{local}@{rng.choice(_THIRD_MAIL_DOMAINS)}"
            return f"{local}@{rng.choices(domains, weights=weights)[0]}"

        email = self.unique(mail)
        return _Person(name, sex, role, dob, nik, phone, landline, email)

    # -- records --

    def record(
        self, guardians: int, *, plant: _Plant | None = None, regency: Regency | None = None
    ) -> _Record:
        rng = self.rng
        lists = name_parts()
        tradition = plant.tradition if plant else self.tradition()
        t = _TRADITIONS[tradition]
        regency = regency or self.regency_for(tradition)
        child_dob = _random_date(rng, dt.date(2007, 1, 1), dt.date(2017, 6, 30))
        roles = [rng.choices([r for r, _ in _GUARDIAN_ROLES], [w for _, w in _GUARDIAN_ROLES])[0]]
        if guardians > 1:
            roles.append(rng.choice(_SECOND_ROLE[roles[0]]))
        # which person carries a planted given name: the child, or a guardian of that sex
        plant_at = -1
        child_sex = rng.choice("MF")
        if plant and plant.kind in ("given", "single"):
            fits = [i + 1 for i, r in enumerate(roles) if _ROLE_SEX.get(r, plant.sex) == plant.sex]
            if plant.kind == "single" or (fits and rng.random() < 0.4):
                if not fits:
                    roles[0] = "ibu" if plant.sex == "F" else "ayah"
                    fits = [1]
                plant_at = rng.choice(fits)
            else:
                plant_at, child_sex = 0, plant.sex or child_sex
        line: str | None = None  # the family name the child carries
        if plant and plant.kind == "family":
            line = plant.word
        elif t.family and rng.random() < t.family_rate:
            line = rng.choice(lists[t.family])
        shares_line = {"ayah": 1.0, "kakek": 0.6, "paman": 0.6, "bibi": 0.4, "kakak": 1.0}
        if t.mother_line:
            shares_line = {"ibu": 1.0, "nenek": 0.6, "bibi": 0.6, "paman": 0.6, "kakak": 1.0}
        persons: list[_Person] = []
        fulls: set[str] = set()

        def planted(i: int) -> str | None:
            return plant.word if plant and plant_at == i else None

        child_name = None
        for _ in range(30):  # a planted given name + the line may be a corpus A name: redraw
            child_name = self.try_name(
                tradition, child_sex, adult=False, given=planted(0), family=line
            )
            if child_name is not None:
                break
            if t.family and not (plant and plant.kind == "family"):
                line = rng.choice(lists[t.family])
        if child_name is None:  # the plant does not fit this tradition's names: drop it
            child_name = self.name(tradition, child_sex, adult=False, family=line)
        persons.append(
            self.person(child_name, child_sex, "child", child_dob, regency, office=False)
        )
        fulls.add(child_name.full.casefold())
        for i, role in enumerate(roles, start=1):
            sex = _ROLE_SEX.get(role) or (plant.sex if plant and plant_at == i else None)
            sex = sex or rng.choice("MF")
            dob = _adult_dob(rng, role, child_dob)
            own = tradition
            if role in ("ibu", "ayah") and plant_at != i and rng.random() < 0.12:
                own = self.tradition()  # a mixed marriage
            family = line if own == tradition and rng.random() < shares_line.get(role, 0) else None
            order = None
            if own == "bali" and role == "ayah" and child_name.other_calls and rng.random() < 0.35:
                order = child_name.run(child_name.other_calls[0])[0]
            # a parent and a child (or two guardians) rarely share a given name
            givens = {
                w.casefold() for p in persons for w in p.name.run(p.name.given) if len(w) >= 3
            }
            name = None
            for _ in range(50):
                name = self.try_name(
                    own, sex, adult=True, avoid=givens, given=planted(i), family=family,
                    order=order,
                )  # fmt: skip
                if name is None:
                    family = order = None
                elif name.full.casefold() not in fulls:
                    break
            if name is None:
                name = self.name(own, sex, adult=True, avoid=givens)
            fulls.add(name.full.casefold())
            home = regency if rng.random() < 0.7 else self.regency_for(own)
            persons.append(self.person(name, sex, role, dob, home, office=False))
        record = _Record(
            tradition=tradition,
            regency=regency,
            persons=persons,
            kk=self.unique(lambda: _kk_number(rng, regency)),
            kk_held=rng.random() < 0.65,
            address=_address(rng, tradition, regency),
            birthplace=regency.place_name if rng.random() < 0.7 else self.any_regency().place_name,
            school="",
            klass="",
        )
        record.school, record.klass = _school(rng, 2024 - child_dob.year, tradition, regency)
        self._nickname(record)
        self._hold(record)
        return record

    def _nickname(self, record: _Record) -> None:
        rng, child = self.rng, record.child
        given = " ".join(child.name.run(child.name.given))
        options = list(nicknames().get(given, ()))
        options += nicknames().get(f"{record.tradition}.{_sex_key(child.sex)}", ())
        words = {w for p in record.persons for w in p.name.folded()}
        options = [o for o in options if o.casefold() not in words]
        if options and rng.random() < 0.6:
            child.nick = rng.choice(options)

    def _hold(self, record: _Record) -> None:
        """What the record holds: ``known`` and ``aliases``, and each person's ``stored``."""
        rng = self.rng
        child = record.child
        names = [p.full for p in record.persons]
        if child.nick and rng.random() < 0.7:
            names.append(child.nick)
            record.aliases[child.nick] = child.full
        teen = 2024 - child.dob.year >= 13
        for p in record.persons:
            is_child = p is child
            if rng.random() < (0.75 if is_child else 0.55):
                p.stored["nik"] = p.nik
            if rng.random() < ((0.3 if teen else 0.0) if is_child else 0.8):
                p.stored["phone"] = _stored_mobile(rng, p.phone)
            if not is_child and rng.random() < 0.3:
                p.stored["landline"] = _stored_landline(rng, p.landline)
            if rng.random() < (0.15 if is_child else 0.6):
                p.stored["email"] = p.email
        known: dict[str, list[str]] = {
            "person_name": names,
            "nik": [p.stored["nik"] for p in record.persons if "nik" in p.stored],
            "kk_number": [record.kk] if record.kk_held else [],
            "phone": [
                p.stored[k] for p in record.persons for k in ("phone", "landline") if k in p.stored
            ],
            "email": [p.stored["email"] for p in record.persons if "email" in p.stored],
            "birth_date": [child.dob.isoformat()]
            + [p.dob.isoformat() for p in record.guardians if rng.random() < 0.25],
            "address": [record.address.canonical],
            "place": [record.birthplace],
        }
        record.known = {k: v for k, v in known.items() if v}


# --- writing a note -----------------------------------------------------------------------

Seg = tuple[str, str | None, str | None]  # text, label, links_to

#: ``<C.full>`` (a record person: C child, G/H guardians), ``<O1f.hon>`` (a third party: O a
#: stranger, R a relative of the child outside the record; optional sex f/m), ``<date>``.
_SLOT = re.compile(r"<(?:([CGH]|[OR]\d[fm]?)\.)?(\w+)>")
_CHOICE = re.compile(r"\[\[([^\[\]]*)\]\]")
_TITLES: dict[str, dict[str, tuple[str, ...]]] = {
    "ustadz": {"M": ("Ustadz", "Ustad", "Ust."), "F": ("Ustadzah", "Ustzh.")},
    "pendeta": {"M": ("Pendeta", "Pdt.", "Romo", "Pastor"), "F": ("Pendeta", "Pdt.", "Suster")},
    "dokter": {"M": ("dr.", "Dokter", "Mantri"), "F": ("dr.", "Dokter", "Bidan")},
    "polisi": {
        "M": ("Bripka", "Aipda", "Brigpol", "Iptu", "AKP"),
        "F": ("Bripda", "Briptu", "Ipda"),
    },
    "hakim": {"M": ("Hakim",), "F": ("Hakim",)},
    "tua": {"M": ("Kakek", "Mbah", "Opa"), "F": ("Nenek", "Mbah", "Oma")},
}
_RELATIVE_ROLES = {
    "m": ("paman",),
    "f": ("bibi",),
    "": ("paman", "bibi", "kakek", "nenek", "sepupu"),
}


def _contains(words: tuple[str, ...], run: tuple[str, ...]) -> bool:
    n = len(run)
    return any(words[i : i + n] == run for i in range(len(words) - n + 1))


def _typo(rng: random.Random, word: str, taken: set[str]) -> str:
    """The word with one letter doubled or dropped (never the first letter)."""
    for _ in range(20):
        i = rng.randint(1, len(word) - 2)
        if not (word[i].isalpha() and word[i - 1].isalpha()):
            continue
        typed = word[:i] + word[i] + word[i:] if rng.random() < 0.5 else word[:i] + word[i + 1 :]
        if typed != word and typed.casefold() not in taken:
            return typed
    return word[:1] + word[1:] + word[-1]  # doubled last letter


class _Writer:
    """Renders one template for one record; third parties are made when first used."""

    def __init__(self, gen: _Generator, record: _Record, trap: bool) -> None:
        self.gen = gen
        self.rng = gen.rng
        self.record = record
        self.trap_wanted = trap
        self.thirds: dict[str, _Person] = {}

    def render(self, template: str) -> tuple[str, list[Span]]:
        template = _CHOICE.sub(lambda m: self.rng.choice(m.group(1).split("|")), template)
        parts: list[str] = []
        spans: list[Span] = []
        pos = last = 0
        segments: list[Seg] = []
        for m in _SLOT.finditer(template):
            segments.append((template[last : m.start()], None, None))
            segments.extend(self._fill(m.group(1), m.group(2)))
            last = m.end()
        segments.append((template[last:], None, None))
        for text, label, links in segments:
            if label is not None:
                spans.append(Span(label, pos, pos + len(text), links))
            parts.append(text)
            pos += len(text)
        return "".join(parts), spans

    def traditions(self) -> tuple[str, ...]:
        persons = [*self.record.persons, *self.thirds.values()]
        return tuple(sorted({p.name.tradition for p in persons}))

    def _fill(self, key: str | None, kind: str) -> list[Seg]:
        if key is None:
            return self._note_slot(kind)
        if key == "C":
            return self._known_slot(self.record.child, kind)
        if key in ("G", "H"):
            guardians = self.record.guardians
            return self._known_slot(guardians[min(len(guardians) - 1, "GH".index(key))], kind)
        return self._third_slot(self._third(key), kind)

    # -- note-level slots --

    def _fill_place(self, text: str) -> str:
        rng, regency = self.rng, self._regency()
        province = self.gen.provinces[regency.province_code]
        kab = regency.name
        if kab.startswith("Kabupaten ") and rng.random() < 0.4:
            kab = "Kab. " + regency.place_name
        return (
            text.replace("{city}", regency.place_name)
            .replace("{regency}", kab)
            .replace("{village}", _village(rng, regency))
            .replace("{prov}", province.name)
        )

    def _regency(self) -> Regency:
        return self.record.regency if self.rng.random() < 0.6 else self.gen.any_regency()

    def _address_mention(self) -> str:
        address, r = self.record.address, self.rng.random()
        if r < 0.5:
            return address.canonical
        if r < 0.95:
            return self.rng.choice(address.variants)
        return address.canonical.upper()

    def _note_slot(self, kind: str) -> list[Seg]:
        rng, record = self.rng, self.record
        vocab = {
            "hosp": _HOSPITALS, "inst": _INSTITUTIONS, "prog": _PROGRAMMES, "brand": _BRANDS,
            "holiday": _HOLIDAYS, "sight": _SIGHTS, "heading": _HEADINGS,
        }  # fmt: skip
        if kind in vocab:
            return [(self._fill_place(rng.choice(vocab[kind])), None, None)]
        if kind == "date":
            visit = _random_date(rng, dt.date(2023, 1, 2), dt.date(2025, 6, 30))
            return [(_fmt_date(rng, visit), "DOB", None)]
        if kind == "addr":
            return [(self._address_mention(), "ADDRESS", None)]
        if kind == "kk":
            return [(_fmt_sixteen(rng, record.kk), "KK", record.kk if record.kk_held else None)]
        if kind == "kk_old":
            old = self.gen.unique(lambda: _kk_number(rng, record.regency))
            return [(_fmt_sixteen(rng, old), "KK", None)]
        if kind == "school":
            text = f"{record.klass} {record.school}"
            if rng.random() < 0.3:
                text = f"{record.school} {record.klass}"
            return [(text, "SCHOOL", None)]
        if kind == "school_bare":
            age = 2024 - record.child.dob.year  # another school of the child's level
            return [(_school(rng, age, record.tradition, self._regency())[0], None, None)]
        simple = {
            "city": lambda: self._regency().place_name,
            "regency": lambda: self._fill_place("{regency}"),
            "prov": lambda: self._fill_place("{prov}"),
            "village": lambda: _village(rng, self._regency()),
            "month": lambda: rng.choice(_MONTHS),
            "day": lambda: rng.choice(_DAYS),
            "n": lambda: str(rng.randint(2, 9)),
            "year": lambda: str(rng.randint(2016, 2024)),
            "monthyear": lambda: f"{rng.choice(_MONTHS)} {rng.randint(2022, 2025)}",
            "time": lambda: f"{rng.randint(7, 20):02d}.{rng.choice(('00', '15', '30', '45'))}",
            "money": lambda: f"Rp {rng.randint(5, 950) * 1000:,}".replace(",", "."),
        }
        if kind in simple:
            return [(simple[kind](), None, None)]
        raise ValueError(f"unknown note slot <{kind}>")

    # -- record persons --

    def _owner(self, words: tuple[str, ...]) -> str | None:
        """The full name a mention denotes, or None when several record persons share it."""
        folded = tuple(w.casefold() for w in words)
        for p in self.record.persons:
            if p.name.folded() == folded:
                return p.full
        owners = [
            p
            for p in self.record.persons
            if _contains(p.name.folded(), folded)
            or (p.nick is not None and (p.nick.casefold(),) == folded)
        ]
        return owners[0].full if len(owners) == 1 else None

    def _call(self, p: _Person) -> tuple[str, ...]:
        calls = p.name.calls
        return p.name.run(self.rng.choices(calls, weights=[4] + [1] * (len(calls) - 1))[0])

    def _name_seg(self, words: tuple[str, ...], variant: str) -> Seg:
        links = self._owner(words)
        text = " ".join(words)
        if variant == "upper":
            text = text.upper()
        elif variant == "lower":
            text = text.lower()
        elif variant == "typo":
            candidates = [
                i
                for i, w in enumerate(words)
                if len(w) >= 5 and w.isalpha() and w.casefold() not in _NAME_PREFIXES
            ]
            if candidates:
                i = self.rng.choice(candidates)
                typed = list(words)
                typed[i] = _typo(self.rng, words[i], self.record.words())
                text = " ".join(typed)
        return (text, "KNOWN_PERSON", links)

    def _variant(self) -> str:
        return self.rng.choices(("plain", "typo", "upper", "lower"), weights=(84, 7, 4, 5))[0]

    def _cue(self, p: _Person) -> str:
        rng = self.rng
        if p.role == "child":
            teen = 2024 - p.dob.year >= 15
            if teen and rng.random() < 0.4:
                return "Sdr." if p.sex == "M" else "Sdri."
            return rng.choice(_CUES["child"])
        regional = _REGIONAL_CUES.get(p.name.tradition)
        if regional and p.role not in ("nenek", "kakek") and rng.random() < 0.25:
            return rng.choice(regional[p.sex])
        key = p.role + p.sex if p.role in ("kakak", "wali") else p.role
        return rng.choice(_CUES.get(key) or _CUES[p.sex])

    def _mention(self, p: _Person, form: str) -> list[Seg]:
        rng, name = self.rng, p.name
        if form == "name":
            weights = (34, 36, 14 if p.nick else 0, 16)
            form = rng.choices(("full", "call", "nick", "hon"), weights=weights)[0]
        if form == "nick":
            if p.nick is None:
                return [self._name_seg(self._call(p), self._variant())]
            text = p.nick.upper() if rng.random() < 0.05 else p.nick
            return [(text, "KNOWN_PERSON", self._owner((p.nick,)))]
        if form == "hon":
            r = rng.random()
            if name.last and p.role != "child" and r < 0.25:
                words = name.run(name.last)
            elif r < 0.65:
                words = self._call(p)
            else:
                words = name.words
            return [(self._cue(p) + " ", None, None), self._name_seg(words, self._variant())]
        if form == "fam":
            words = name.run(name.last) if name.last else self._call(p)
            return [self._name_seg(words, "plain")]
        if form == "call":
            return [self._name_seg(self._call(p), self._variant())]
        if form == "typo":
            words = name.words if rng.random() < 0.6 else self._call(p)
            return [self._name_seg(words, "typo")]
        if form == "caps":
            return [self._name_seg(name.words, "upper")]
        if form == "full":
            return [self._name_seg(name.words, self._variant())]
        raise ValueError(form)

    def _known_slot(self, p: _Person, kind: str) -> list[Seg]:
        rng = self.rng
        if kind in ("name", "full", "call", "nick", "hon", "fam", "typo", "caps"):
            return self._mention(p, kind)
        if kind == "cue":
            return [(self._cue(p), None, None)]
        if kind == "rel":
            return [(_ROLE_WORDS[p.role], None, None)]
        if kind == "nik":
            return [(_fmt_sixteen(rng, p.nik), "NIK", p.stored.get("nik"))]
        if kind == "phone":
            return [(_fmt_mobile(rng, p.phone), "PHONE", p.stored.get("phone"))]
        if kind == "phone_new":
            return [(_fmt_mobile(rng, self.gen.unique(lambda: _mobile(rng))), "PHONE", None)]
        if kind == "tel":
            segs: list[Seg] = [(_fmt_landline(rng, p.landline), "PHONE", p.stored.get("landline"))]
            if rng.random() < 0.1:
                segs.append((_extension(rng), None, None))
            return segs
        if kind == "email":
            text = p.email.upper() if rng.random() < 0.05 else p.email
            return [(text, "EMAIL", p.stored.get("email"))]
        if kind == "dob":
            return [(_fmt_date(rng, p.dob), "DOB", None)]
        if kind == "ttl":
            return [
                (f"{self.record.birthplace}, ", None, None),
                (_fmt_date(rng, p.dob), "DOB", None),
            ]
        if kind == "age":
            age = 2024 - p.dob.year
            return [(f"{age} {rng.choice(('tahun', 'th', 'thn'))}", None, None)]
        if kind == "byear":
            return [(str(p.dob.year), None, None)]
        if kind == "bmonth":
            return [(f"{_MONTHS[p.dob.month - 1]} {p.dob.year}", None, None)]
        if kind == "birthplace":
            return [(self.record.birthplace, None, None)]
        if kind == "sex":
            male = p.sex == "M"
            return [
                (
                    rng.choice(("Laki-laki", "L")) if male else rng.choice(("Perempuan", "P")),
                    None,
                    None,
                )
            ]
        raise ValueError(f"unknown person slot {kind}")

    # -- third parties --

    def _taken(self) -> set[str]:
        taken = self.record.words()
        taken |= {w for p in self.thirds.values() for w in p.name.folded() if len(w) >= 3}
        return taken

    def _third(self, key: str) -> _Person:
        ident, sex_flag = key[:2], key[2:]
        person = self.thirds.get(ident)
        if person is None:
            person = self._relative(sex_flag) if key[0] == "R" else self._stranger(sex_flag)
            self.thirds[ident] = person
        return person

    def _stranger(self, sex_flag: str) -> _Person:
        rng, gen = self.rng, self.gen
        sex = {"m": "M", "f": "F"}.get(sex_flag) or rng.choice("MF")
        dob = _random_date(rng, dt.date(1955, 1, 1), dt.date(2003, 12, 31))
        name = None
        if self.trap_wanted:
            self.trap_wanted = False
            name = self._trap_name(sex)
        if name is None:
            tradition = self.record.tradition if rng.random() < 0.55 else gen.tradition()
            name = gen.name(
                tradition, sex, adult=True, avoid=self._taken(), need_last=rng.random() < 0.7
            )
        return gen.person(name, sex, "third", dob, gen.regency_for(name.tradition), office=True)

    def _relative(self, sex_flag: str) -> _Person:
        """A relative outside the record; one of the family line carries its family name."""
        rng, gen, record = self.rng, self.gen, self.record
        role = rng.choice(_RELATIVE_ROLES[sex_flag])
        sex = _ROLE_SEX.get(role) or {"m": "M", "f": "F"}.get(sex_flag) or rng.choice("MF")
        dob = _adult_dob(rng, role, record.child.dob)
        line = record.child.name.family
        carries = line is not None and role != (
            "kakek" if _TRADITIONS[record.tradition].mother_line else "nenek"
        )
        if carries and rng.random() < 0.8:
            name = gen.name(record.tradition, sex, adult=True, family=line, avoid=self._taken())
        else:
            name = gen.name(
                record.tradition, sex, adult=True, avoid=self._taken(), need_last=rng.random() < 0.6
            )
        return gen.person(name, sex, role, dob, gen.regency_for(name.tradition), office=False)

    def _trap_name(self, sex: str) -> _Name | None:
        """A stranger who shares a first name or a last name with a record person."""
        rng, gen = self.rng, self.gen
        options: list[tuple[_Person, str, str]] = []
        for p in self.record.persons:
            given = p.name.run(p.name.given)
            if len(given) == 1 and len(given[0]) >= 3 and p.sex == sex:
                options.append((p, "given", given[0]))
            last = p.name.run(p.name.last) if p.name.last else ()
            if len(last) == 1 and len(last[0]) >= 3 and p.name.family is not None:
                options.append((p, "family", last[0]))
            elif len(last) == 1 and len(last[0]) >= 3 and p.sex == sex:
                options.append((p, "second", last[0]))
            if p.name.tradition == "bali" and p.name.other_calls:
                options.append((p, "order", p.name.run(p.name.other_calls[0])[0]))
        if not options:
            return None
        target, mode, shared = rng.choice(options)
        fulls = {p.full.casefold() for p in self.record.persons}
        taken = self._taken()
        for _ in range(20):
            tradition = target.name.tradition
            if mode == "given":
                name = gen.name(
                    tradition, sex, adult=True, given=shared, need_last=True, avoid=taken
                )
            elif mode == "family":
                name = gen.name(tradition, sex, adult=True, family=shared, avoid=taken)
            elif mode == "second":
                name = gen.name(tradition, sex, adult=True, second=shared, avoid=taken)
            else:
                name = gen.name("bali", sex, adult=True, order=shared, avoid=taken)
            own = [w for w in name.folded() if len(w) >= 3 and w != shared.casefold()]
            if name.full.casefold() not in fulls and own:
                return name
        return None

    def _third_mention(self, p: _Person, cue: str | None) -> list[Seg]:
        """A full name when it shares a word with the record (a trap), else often a part."""
        rng = self.rng
        shares = any(w in self.record.words() for w in p.name.folded() if len(w) >= 3)
        r = rng.random()
        if shares or r < 0.6 or not p.name.last:
            words = p.name.words
        elif r < 0.8 and cue:
            words = p.name.run(p.name.last)
        else:
            words = p.name.run(p.name.given)
        text = " ".join(words)
        if rng.random() < 0.03:
            text = text.upper()
        segs: list[Seg] = [(cue + " ", None, None)] if cue else []
        segs.append((text, "UNKNOWN_PERSON", None))
        return segs

    def _third_slot(self, p: _Person, kind: str) -> list[Seg]:
        rng = self.rng
        if kind == "name":
            return self._third_mention(p, None)
        if kind == "full":
            return [(p.full, "UNKNOWN_PERSON", None)]
        if kind == "hon":
            cue = rng.choice(_CUES[p.sex]) if rng.random() < 0.93 else None
            return self._third_mention(p, cue)
        if kind == "cue":
            return [(rng.choice(_CUES[p.sex]), None, None)]
        if kind in _TITLES:
            return self._third_mention(p, rng.choice(_TITLES[kind][p.sex]))
        if kind == "rel":
            return [(_ROLE_WORDS.get(p.role, "kerabat"), None, None)]
        if kind == "phone":
            return [(_fmt_mobile(rng, p.phone), "PHONE", None)]
        if kind == "tel":
            segs: list[Seg] = [(_fmt_landline(rng, p.landline), "PHONE", None)]
            if rng.random() < 0.3:
                segs.append((_extension(rng), None, None))
            return segs
        if kind == "email":
            return [(p.email, "EMAIL", None)]
        if kind == "nik":
            return [(_fmt_sixteen(rng, p.nik), "NIK", None)]
        if kind == "dob":
            return [(_fmt_date(rng, p.dob), "DOB", None)]
        if kind == "addr":
            address = _address(rng, p.name.tradition, self.gen.regency_for(p.name.tradition))
            text = address.canonical if rng.random() < 0.6 else rng.choice(address.variants)
            return [(text, "ADDRESS", None)]
        raise ValueError(f"unknown third-party slot {kind}")


# --- templates ----------------------------------------------------------------------------
# Slots: <C.x> the child, <G.x>/<H.x> the guardians, <O1.x> a stranger (<O1f.x>/<O1m.x>: a
# woman/a man), <R1.x> a relative outside the record, <x> a note-level value; [[a|b]] picks
# one. "!upper " / "!lower " at the start: the whole note is written in that case.
# Person forms: name (any), full, call, nick, hon (cue + name), fam, typo, caps, cue, rel, nik,
# phone, phone_new, tel, email, dob, ttl, age, byear, bmonth, birthplace, sex. Third-party
# forms: name, full, hon, cue, ustadz, pendeta, dokter, polisi, hakim, tua, rel, phone, tel,
# email, nik, dob, addr.

IDENTIFIER_TEMPLATES: tuple[str, ...] = (
    # visit reports
    "Kunjungan rumah <date>. Bertemu <G.hon> (<G.rel> dari <C.name>) di <addr>. Anak tampak "
    "sehat, tetapi belum kembali bersekolah sejak [[libur semester|bulan lalu|dua minggu "
    "terakhir]].",
    "Pada <date> petugas mendatangi rumah keluarga di <addr>. <C.full> tinggal bersama "
    "<G.rel>nya, <G.full>, dan [[dua|tiga|empat]] saudara. Rumah semi permanen, lantai masih "
    "tanah.",
    "Home visit ke-<n>: <C.name> ([[usia|umur]] <C.age>) ditemui bersama <G.hon>. Kondisi rumah "
    "lebih rapi dibanding kunjungan sebelumnya; <G.call> sudah mulai berjualan kue di pasar "
    "<village>.",
    "Kunjungan lanjutan tgl <date>. Keluarga pindah; alamat baru: <addr>. <G.hon> minta surat "
    "panggilan dikirim ke alamat tersebut, bukan ke rumah lama.",
    # phone logs
    "Telp masuk dari <G.hon> (<G.phone>) pukul <time>, menanyakan jadwal asesmen psikologis "
    "untuk <C.name>.",
    "Telp keluar ke <G.phone>, tidak diangkat. Dicoba ke telepon rumah <G.tel>, diterima "
    "<O1.hon> yang mengaku tetangga; pesan dititipkan.",
    "Telp masuk dari nomor tak dikenal <O1.phone>. Penelepon mengaku bernama <O1.name> dan "
    "menanyakan keberadaan <C.call>. Identitas belum diverifikasi, info tidak diberikan.",
    "Video call dengan <G.cue> <G.call> lewat WA (<G.phone>); <C.name> ikut bicara sebentar dan "
    "terlihat ceria.",
    "Telp masuk <date> pukul <time> dari kantor desa (<O1.tel>): sekretaris desa <O1.hon> "
    "mengabarkan <G.rel> <C.call> dirawat di <hosp>.",
    # school liaison
    "Koordinasi dengan sekolah: <C.name> terdaftar di <school>. Menurut wali kelas, <O1.hon>, "
    "anak sering terlambat dan [[tiga|lima|enam]] kali alpa pada bulan <month>.",
    "Pertemuan di sekolah <date> dengan guru BK <O1.hon>. Siswa atas nama <C.full>, <school>, "
    "menunjukkan kemajuan membaca. Kontak guru BK: <O1.phone>.",
    "Info dari sekolah: <C.full> naik ke <school>. Wali kelas yang baru, <O1f.hon>, bisa "
    "dihubungi lewat <O1.email>.",
    "Perpindahan sekolah: dari <school_bare> ke <school>. Surat pindah ditandatangani kepala "
    "sekolah <O1.hon>; <G.hon> sudah menerima salinannya.",
    "Teman sekelas <C.call>, <O1.full>, melapor ke guru bahwa <C.call> sering menangis di kelas. "
    "Orang tua <O1.name> juga sudah dihubungi pihak sekolah.",
    # health
    "Rujukan ke <hosp> untuk pemeriksaan gizi. Pasien: <C.full>, tgl lahir <C.dob>, NIK "
    "<C.nik>. Pendamping: <G.hon>, HP <G.phone>.",
    "Hasil timbang di Posyandu <village> oleh bidan <O1f.name>: berat badan <C.call> di bawah "
    "garis merah. Disarankan rujuk ke Puskesmas; <G.rel> setuju.",
    "FORM RUJUKAN KESEHATAN\nNama anak: <C.full>\nTgl lahir: <C.dob>\nNama ortu/wali: "
    "<G.full>\nNo. HP: <G.phone>\nAlamat: <addr>\nKeluhan: demam berulang, batuk lebih dari 2 "
    "minggu.",
    "Catatan imunisasi: <C.full>, lahir di <C.birthplace> pada <C.dob>. Dosis campak terakhir "
    "<date> di <hosp>.",
    "<G.rel> anak, <G.hon>, lahir <G.dob>, mengeluh sakit pinggang dan belum bisa bekerja. "
    "Dirujuk ke <hosp> dengan KIS.",
    # police and court
    "Laporan di Polsek <village>: pelapor <G.hon> (NIK <G.nik>) melaporkan dugaan kekerasan "
    "terhadap anaknya, <C.full>. Terlapor <O1m.full>, tetangga korban, beralamat di <O1.addr>.",
    "Sidang diversi di Pengadilan Negeri <city> tgl <date>. Anak: <C.full>. Hadir <G.rel> anak "
    "(<G.full>), pembimbing kemasyarakatan Bapas <O1.hon>, dan <O2.hakim>.",
    "BAP saksi: <O1.full>, lahir <O1.dob>, NIK <O1.nik>, pekerjaan petani, mengenal keluarga "
    "<C.call> sejak lama. Saksi melihat <C.call> dibawa pergi dengan sepeda motor.",
    "Penyidik <O1.polisi> dari unit PPA Polres <city> meminta salinan KK (<kk>) dan akta "
    "kelahiran <C.full> untuk berkas perkara.",
    # WhatsApp shorthand
    "!lower sdh telp <G.cue> <G.call>, blm bs dtg krn <C.call> sakit. jd dijadwalkan ulang tgl "
    "<date>. no hp baru <G.rel>: <G.phone_new>",
    "!lower info dr tetangga (<O1.name>): ortu <C.call> tdk pulang 3 hari, anak dititip ke "
    "<R1.rel>nya, <R1.name>. utk tindak lanjut hub sdr <O2.name> <O2.phone>",
    'Wa dr <G.hon>: "bu, <C.call> sdh msk sekolah lg, tp blm ada seragam". Nomor WA: <G.phone>.',
    "!lower ok bu, sy sdh ke rmh <G.cue> <G.call> di <addr>. anak2 ada, yg kecil blm mandi. "
    "<C.nick> sdh mau ngobrol dgn sy.",
    "!lower bu mhn dicek, nik <C.call> di dtks <C.nik> tp di kk <kk> beda digit. ortu blm tau "
    "hrs ngurus kmn",
    "otw ke rmh <C.call> bareng <O1.cue> <O1.name> (babinsa). td pagi <G.rel>nya sdh dikabari "
    "lwt <G.phone>.",
    # forms
    "Nama: <C.full>\nTTL: <C.ttl>\nJenis kelamin: <C.sex>\nNIK: <C.nik>\nNo. KK: <kk>\nAlamat: "
    "<addr>\nSekolah: <school>",
    "IDENTITAS ORANG TUA/WALI\nNama : <G.full>\nHubungan : <G.rel>\nTgl lahir : <G.dob>\nNIK : "
    "<G.nik>\nTelepon : <G.phone>\nEmail : <G.email>",
    "Data anak / Nama panggilan: <C.nick> / Nama lengkap: <C.full> / Tgl lahir: <C.dob> / "
    "Alamat: <addr>",
    "Registrasi awal. Anak a.n. <C.full> diantar oleh <G.rel>nya, <G.hon>. Kartu Keluarga no. "
    "<kk>. Sdr <O1.name> dari Dinas Sosial ikut mendampingi.",
    "!upper data penerima bantuan\nnama kk: <G.full>\nno kk: <kk>\nnik: <G.nik>\nanak: "
    "<C.full>, lahir <C.dob>\nhp: <G.phone>",
    # relatives outside the record
    "<C.call> saat ini diasuh pamannya, <R1m.full>, karena <G.rel> bekerja di <city>. Paman "
    "bisa dihubungi di <R1.phone>.",
    "Bibinya, <R1f.full>, menyatakan bersedia menjadi wali sementara. Bibi tinggal di "
    "<R1.addr>. <G.hon> tidak keberatan.",
    "Rapat kasus: hadir <O1.hon> (pekerja sosial), <O2.hon> (psikolog), <G.hon>, dan <R1.hon> "
    "(<R1.rel> anak).",
    # religious life
    "Bimbingan mengaji rutin oleh <O1.ustadz> di musala dekat rumah. <C.call> sudah sampai juz "
    "3. <G.cue> <G.call> mengantar setiap sore.",
    "Pendampingan rohani oleh <O1.pendeta> dari gereja setempat. <C.full> dan <G.rel>nya ikut "
    "ibadah keluarga pada <date>.",
    # nicknames, names at a sentence start, typos
    "<C.nick> (nama lengkap <C.full>) sudah tiga hari tidak pulang. <G.hon> mencari ke rumah "
    "<O1.hon> di <village> tapi tidak ada.",
    "<G.full> datang sendiri ke kantor pada <date>, membawa fotokopi KK <kk> dan akta kelahiran "
    "<C.call>.",
    "<C.call> bercerita bahwa ia takut pulang. <O1.name>, kakak kelasnya, sering meminta uang "
    "jajan.",
    "Anak yang biasa dipanggil <C.nick> itu kini tinggal dengan <G.rel>nya. Nama <C.typo> "
    "tercatat salah ketik di surat keterangan desa.",
    # atas nama, bernama
    "Bantuan <prog> dicairkan atas nama <G.full> ke rekening BRI. Nomor HP terdaftar <G.phone>.",
    "Seorang perempuan bernama <O1f.full> datang mengaku tante <C.call>. Tidak ada dokumen yang "
    "menunjukkan hubungan keluarga; <G.hon> tidak mengenalnya.",
    # e-mail
    "Surel dari <G.email> diterima <date>: <G.cue> <G.call> mengirim foto rapor <C.call>. "
    "Dibalas dengan tembusan ke <O1.email>.",
    "Mohon data dikirim ke email operator sekolah <O1.email> (a.n. <O1.name>), bukan ke email "
    "pribadi.",
    # landlines
    "Nomor kantor desa <O1.tel> (<O1.hon>, kaur umum) bisa dipakai bila HP keluarga <G.phone> "
    "tidak aktif.",
    "Dihubungi via telepon rumah <G.tel> pada <date>. Yang mengangkat <O1.hon>, mengaku sepupu "
    "<G.rel> <C.call>.",
    # KK and NIK
    "Perbaikan data: NIK anak di sistem <C.nik> tidak sesuai dengan KK <kk>. <G.hon> diminta "
    "datang ke Disdukcapil.",
    "KK lama (<kk_old>) sudah diganti. KK baru: <kk>. NIK <G.rel>: <G.nik>.",
    # two guardians
    "Mediasi antara <G.hon> dan <H.hon> tentang pengasuhan <C.name>. Disepakati anak tinggal "
    "dengan <H.rel> selama tahun ajaran ini.",
    "<H.full> (<H.rel>) dan <G.full> (<G.rel>) menandatangani surat pernyataan pengasuhan untuk "
    "<C.full> pada <date>.",
    # whole notes in one case
    "!upper laporan kunjungan\nanak: <C.full>\nalamat: <addr>\ntanggal: <date>\npetugas: <O1.name>",
    "!lower kunjungan td siang, <C.call> lg main di rmh <O1.tua>. <G.rel>nya blm "
    "pulang kerja. no hp <G.rel>: <G.phone>",
    # more third parties
    "Mas <O1m.name> (relawan) mengantar <C.call> ke <hosp>; tagihan dibuat atas nama <G.full>.",
    "Mediasi dengan <O1.hon>, pemilik kontrakan di <addr>, terkait tunggakan sewa keluarga "
    "<G.hon>.",
    "Kak <O1.name>, mahasiswa KKN, mengajar <C.call> dan adik-adiknya membaca setiap Sabtu. "
    "Nomor kak <O1.name>: <O1.phone>.",
    "Dokter jaga, <O1.dokter>, di <hosp> mencatat luka lama di lengan <C.name>. Visum diminta "
    "penyidik pada <date>.",
    "Tetangga, <O1.name>, melihat <C.call> bekerja di bengkel milik <O2.hon> sampai larut malam.",
    "Menurut <G.hon>, <C.call> lahir <C.dob> di <C.birthplace>; akta belum ada karena <G.rel> "
    "tidak punya KK sendiri.",
    "Catatan dari <O1.pendeta>: <C.name> dan <R1.name> (<R1.rel>nya) rajin ikut sekolah minggu; "
    "alamat keluarga <addr>.",
    "Keluarga <G.fam> sudah tiga kali pindah kontrakan tahun ini, sekarang di <addr>. <C.call> "
    "terpaksa pindah sekolah lagi.",
    "!lower rmh kel. <G.fam> kosong, kata tetangga (<O1.name>) mrk pulang kampung ke <city>. "
    "<C.call> ikut, hp <G.rel>nya <G.phone> tdk aktif",
    "Berkas dikirim <G.rel> lewat email <G.email>: salinan akta <C.call> dan KK <kk> diterima "
    "<date>.",
    "!lower email ortu <C.call>: <G.email> (sdh dicek, aktif). kalau tdk dibalas, wa ke <G.phone>",
)

#: Notes without any identifier. Many hold ordinary words that are also name parts of the
#: lists ("Sabar", "Teguh", "Kasih", "damai", "tani", "pasang"): the record of such a note is
#: often given a person with that name (see :func:`_clean_note`).
CLEAN_TEMPLATES: tuple[str, ...] = (
    "Rapat koordinasi PATBM di balai desa <village> hari <day>. Dibahas jadwal Posyandu remaja "
    "dan lomba menyambut <holiday>.",
    "Penyaluran <prog> bulan <month> tertunda karena data belum sinkron dengan <inst>.",
    "!upper pengumuman: kantor tutup selama libur <holiday>. layanan darurat tetap melalui <inst>.",
    "Anak-anak di <inst> menerima paket <brand> dan buku tulis dari donatur. Suasana damai dan "
    "tertib.",
    "!lower td rapat dgn dinsos soal kuota pkh, blm ada keputusan. mgg dpn dilanjut, bawa data "
    "<monthyear>.",
    "Sabar dan teguh dalam mendampingi keluarga adalah kunci; supervisi bulan <month> "
    "menekankan hal itu.",
    "Kegiatan kelompok tani di desa <village> melibatkan remaja putus sekolah. Panen cabai tahun "
    "<year> cukup bagus.",
    "Pelatihan menjahit di <inst> diikuti <n> ibu. Mesin jahit dipinjam dari kecamatan.",
    "Mudik [[Lebaran|Natal|Idul Fitri|akhir tahun]] membuat banyak anak dampingan tidak berada di <city>. Kunjungan dijadwalkan "
    "ulang pada <monthyear>.",
    "Sosialisasi pencegahan perkawinan anak di <school_bare>, dihadiri guru BK dan pengurus OSIS.",
    "Berkat dukungan <inst>, <n> anak kembali bersekolah tahun ajaran ini.",
    "Kasih sayang orang tua menjadi tema kelas parenting di <village>; materi dari modul Kemen "
    "PPPA.",
    "Fajar baru menyingsing ketika tim berangkat ke pedalaman <regency> dengan speedboat. "
    "Perjalanan <n> jam.",
    "Stok susu [[SGM|Dancow|Bebelac|Lactogen]] untuk balita gizi kurang tinggal <n> kaleng; pengadaan berikutnya dari "
    "dana desa.",
    "LAPORAN BULANAN <monthyear>\nKasus baru: <n>\nKasus ditutup: <n>\nRujukan ke <hosp>: <n>",
    "Anak-anak dampingan diajak ke <sight> saat libur <holiday>. Semua pulang dengan selamat.",
    "Bulan <month> hujan deras; banjir setinggi lutut di <village> membuat Posyandu dipindah ke "
    "masjid.",
    "Pembagian rapor hari <day>. Beberapa sekolah mitra, termasuk <school_bare>, meminta data "
    "anak asuh diperbarui.",
    "Tim Forum Anak Daerah <regency> menang lomba video pendek bertema Anak Indonesia Bersatu.",
    "Indah sekali pentas tari pada <holiday>; anak-anak <inst> tampil dengan kostum sumbangan.",
    "!upper jadwal piket: senin sampai rabu tim a, kamis sampai sabtu tim b. minggu libur "
    "kecuali kasus darurat.",
    "Putri-putri binaan LKSA ikut lomba masak nasi goreng memakai kecap [[Bango|ABC|Sedaap]].",
    "Ibadah Paskah bersama anak sekolah minggu di <city> mengangkat tema sukacita dan harapan.",
    "Angin kencang dan air pasang membuat nelayan di <village> tidak melaut <n> hari; beras "
    "disalurkan lewat BPNT.",
    "Rencana kerja <year>: penguatan PATBM, pelatihan konselor sebaya, dan pemutakhiran DTKS di "
    "<regency>.",
    "Banyak kartu KIS keluarga dampingan nonaktif. Diusulkan reaktivasi lewat <inst>.",
    "Guru ngaji di <village> mengeluhkan atap TPA bocor; proposal diajukan ke <inst>.",
    "Harga beras naik menjelang <holiday>; keluarga penerima <prog> mengeluh uang belanja tidak "
    "cukup.",
    "!lower mohon maaf grup, hp sy rusak, pake hp lama dl. rapat <day> tetap jalan ya",
    "Setia pada jadwal, relawan <inst> datang tiap Sabtu membawa buku cerita bergambar.",
    "Anugerah Kabupaten Layak Anak kategori Pratama diterima <regency> pada <year>.",
    "Hadir dalam rapat: perwakilan Polres <city>, Bapas, <inst>, dan <n> pendamping desa.",
    "Selama Ramadan jam layanan <inst> disesuaikan: buka pukul 08.00, tutup pukul <time>.",
    "Lomba tujuh belasan: balap karung, makan kerupuk, tarik tambang. Anak-anak LKSA juara <n>.",
    "CATATAN SUPERVISI\nBerkas kasus bulan <month> sudah lengkap. Perlu diperbaiki: ringkasan "
    "asesmen dan rencana intervensi.",
    "Koordinasi dengan <hosp> soal layanan psikolog anak: antrean sekitar <n> minggu, biaya "
    "ditanggung <prog>.",
    "Terima kasih kepada <inst> atas bantuan <n> karung beras dan [[Indomie|Sarimi|Aqua]] untuk keluarga "
    "terdampak banjir di <village>.",
    "Sadar akan pentingnya akta kelahiran, warga <village> antusias mengikuti layanan jemput "
    "bola Disdukcapil.",
    "Jumat Berkah: pembagian nasi kotak di depan <inst>, dibantu pemuda karang taruna.",
    "Kelompok belajar di <inst> diberi nama bunga: Mawar, Melati dan Anggrek, masing-masing "
    "<n> anak.",
)


# --- the corpus ---------------------------------------------------------------------------


@cache
def _plantable() -> dict[str, tuple[_Plant, ...]]:
    """One-word name parts by casefolded word: what a clean note's word can become."""
    index: dict[str, list[_Plant]] = {}
    for section, entries in name_parts().items():
        tradition, _, kind = section.partition(".")
        if tradition == "jawa1":
            tradition, plant_kind = "jawa", "single"
        elif kind in ("m", "f"):
            plant_kind = "given"
        elif kind in ("fam", "suku"):
            plant_kind = "family"
        else:
            continue
        if tradition not in _TRADITIONS:
            continue
        sex = {"m": "M", "f": "F"}.get(kind)
        for entry in entries:
            if " " not in entry and entry.casefold() not in _NAME_PREFIXES:
                index.setdefault(entry.casefold(), []).append(
                    _Plant(tradition, plant_kind, sex, entry)
                )
    return {w: tuple(p) for w, p in index.items()}


def _decorate(rng: random.Random, template: str, heading_rate: float) -> tuple[str, str | None]:
    """The template without its case flag, perhaps under a heading; and the flag."""
    for flag in ("upper", "lower"):
        if template.startswith(f"!{flag} "):
            return template[len(flag) + 2 :], flag
    if rng.random() < heading_rate:
        heading = rng.choice(_HEADINGS)
        return f"{heading}{rng.choice(_HEADING_SEPARATORS)}{template}", None
    return template, None


def _case(rng: random.Random, text: str, spans: Sequence[Span], flag: str | None) -> str:
    """Apply a note's case: a few unflagged notes are typed in capitals or lower case, the
    others start with a capital (unless they start with a span, written as it is)."""
    if not text.isascii():  # offsets survive upper()/lower() only for ASCII text
        raise ValueError(f"non-ASCII note text: {text!r}")
    r = rng.random()
    if flag == "upper" or (flag is None and r < 0.04):
        return text.upper()
    if flag == "lower" or (flag is None and r < 0.08):
        return text.lower()
    if text[:1].islower() and not any(s.start == 0 for s in spans):
        return text[0].upper() + text[1:]
    return text


def _template_order(rng: random.Random, templates: Sequence[str], count: int) -> list[int]:
    """Template indices, each template (almost) equally often, in a random order."""
    order = [i % len(templates) for i in range(count)]
    rng.shuffle(order)
    return order


def _identifier_note(gen: _Generator, number: int, index: int) -> LabelledNote:
    rng = gen.rng
    template = IDENTIFIER_TEMPLATES[index]
    record = gen.record(2 if "<H." in template or rng.random() < 0.35 else 1)
    trap = re.search(r"<O\d", template) is not None and rng.random() < 0.6
    writer = _Writer(gen, record, trap)
    body, flag = _decorate(rng, template, 0.12)
    text, spans = writer.render(body)
    return LabelledNote(
        note_id=f"B-ID-{number:04d}",
        text=_case(rng, text, spans, flag),
        known=record.known,
        spans=spans,
        kind="identifiers",
        aliases=dict(record.aliases),
        template=f"id{index:02d}",
        groups=writer.traditions(),
    )


def _clean_note(gen: _Generator, number: int, index: int) -> LabelledNote:
    rng = gen.rng
    probe = gen.record(1)
    writer = _Writer(gen, probe, trap=False)
    body, flag = _decorate(rng, CLEAN_TEMPLATES[index], 0.2)
    text, spans = writer.render(body)
    if spans:
        raise AssertionError(f"clean template {index} produced spans")
    record = probe
    if rng.random() < 0.8:  # a record holding a name that is also a word of the note
        plantable = _plantable()
        words = sorted({w.casefold() for w in re.findall(r"[A-Za-z]+", text)} & plantable.keys())
        if words:
            plant = rng.choice(plantable[rng.choice(words)])
            record = gen.record(rng.choice((1, 2)), plant=plant, regency=probe.regency)
    return LabelledNote(
        note_id=f"B-CL-{number:04d}",
        text=_case(rng, text, spans, flag),
        known=record.known,
        spans=[],
        kind="clean",
        aliases=dict(record.aliases),
        template=f"cl{index:02d}",
        groups=tuple(sorted({p.name.tradition for p in record.persons})),
    )


def build_heldout_corpus(
    seed: int = DEFAULT_SEED,
    identifier_notes: int = IDENTIFIER_NOTES,
    clean_notes: int = CLEAN_NOTES,
) -> list[LabelledNote]:
    """Corpus B for ``seed``: identifier notes, then clean notes; the same for the same seed."""
    gen = _Generator(seed)
    notes = [
        _identifier_note(gen, number, index)
        for number, index in enumerate(
            _template_order(gen.rng, IDENTIFIER_TEMPLATES, identifier_notes), start=1
        )
    ]
    notes += [
        _clean_note(gen, number, index)
        for number, index in enumerate(
            _template_order(gen.rng, CLEAN_TEMPLATES, clean_notes), start=1
        )
    ]
    return notes


def is_trap(note: LabelledNote, span: Span) -> bool:
    """Whether an UNKNOWN_PERSON span shares a word of 3+ letters with a known person's name
    (the scorer's definition of a wrong-link trap)."""
    if span.label != "UNKNOWN_PERSON":
        return False
    known = {
        w.casefold()
        for value in note.known.get("person_name", [])
        for w in re.findall(r"\w+", value)
        if len(w) >= 3
    }
    words = {w.casefold() for w in re.findall(r"\w+", note.text[span.start : span.end])}
    return bool(words & known)


def corpus_digest(notes: Sequence[LabelledNote]) -> str:
    """A fingerprint of the whole corpus (texts, records, spans), for determinism checks."""
    h = hashlib.sha256()
    for n in notes:
        h.update(repr((n.note_id, n.text, sorted(n.known.items()), n.spans, n.kind)).encode())
        h.update(repr((sorted(n.aliases.items()), n.template, n.groups)).encode())
    return h.hexdigest()


def stats(notes: Sequence[LabelledNote]) -> str:
    """Counts by kind, label (linked or not), traps, templates and name tradition."""
    kinds = Counter(n.kind for n in notes)
    labels: Counter[str] = Counter()
    linked: Counter[str] = Counter()
    for n in notes:
        for s in n.spans:
            labels[s.label] += 1
            linked[s.label] += s.links_to is not None
    traps = sum(is_trap(n, s) for n in notes for s in n.spans)
    trap_notes = sum(any(is_trap(n, s) for s in n.spans) for n in notes)
    templates = {n.template for n in notes}
    traditions = Counter(g for n in notes for g in n.groups)
    lines = [
        f"notes: {len(notes)} ({kinds['identifiers']} with identifiers, {kinds['clean']} clean)",
        f"templates used: {sum(t.startswith('id') for t in templates)} identifier, "
        f"{sum(t.startswith('cl') for t in templates)} clean",
        f"{'label':<16}{'spans':>7}{'linked':>8}{'unlinked':>10}",
    ]
    for label in LABELS:
        lines.append(
            f"{label:<16}{labels[label]:>7}{linked[label]:>8}{labels[label] - linked[label]:>10}"
        )
    lines.append(f"wrong-link traps: {traps} spans in {trap_notes} notes")
    lines.append("traditions: " + ", ".join(f"{g} {c}" for g, c in traditions.most_common()))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Corpus B, the held-out redaction corpus: statistics, or today's score."
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--score", action="store_true", help="score today's Redactor on it")
    parser.add_argument("--examples", type=int, default=0, help="misses/wrong links to print")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    notes = build_heldout_corpus(args.seed)
    built = time.perf_counter() - started
    if not args.score:
        print(stats(notes))
        print(f"built in {built:.2f} s")
        return 0
    # imported here: building and testing the corpus must not need the redactor
    from tests.support.redaction_scoring import report

    report(f"corpus B (held out), seed {args.seed}", notes, args.examples)
    return 0


if __name__ == "__main__":
    sys.exit(main())
