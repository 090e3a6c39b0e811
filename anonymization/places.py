"""Where a child lives and learns, as case workers write it: street addresses and schools.

Neither is a direct identifier, but both narrow a child down to a household or a classroom:
"Jl. Merdeka No. 12 RT 03/RW 05" or "kelas 4 SDN 2 Sukamaju" next to an age and a case type
is enough for a neighbour to know who is meant. They are replaced by ``[address]`` and
``[school]`` (no token: an address written ten ways has no canonical form worth joining on).

Addresses start at a head word (Jl./Jalan, Gg./Gang, Lr., Komp./Perum., Kp./Kampung, Dusun,
Desa, Kelurahan/Kel., Dukuh, Banjar, Jorong, Nagari, Gampong, Lingkungan, Blok, RT/RW) followed
by a name or a number, and run on through the parts that usually follow (No., RT/RW, Blok,
another head). A bare regency or province name is not an address. A school counts when a
class is written with it ("kelas 4 SDN 2 Sukamaju", "kelas VII SMP Negeri 1 Bantul"): the
school alone ("SDN 2 Sukamaju mengadakan lomba") is an institution of hundreds of children.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import regex
from presidio_analyzer import RecognizerResult

from anonymization.recognizers import ModelFreeRecognizer

__all__ = ["ADDRESS_ENTITY", "SCHOOL_ENTITY", "AddressRecognizer", "SchoolRecognizer"]

ADDRESS_ENTITY = "ID_ADDRESS"
SCHOOL_ENTITY = "ID_SCHOOL"

#: The words an address part opens with, once for both patterns below.
_HEAD_NAMES = (
    r"jl|jln|jalan|gg|gang|lr|lorong|komp|komplek|kompleks|perum|perumahan|kp|kampung|"
    r"dusun|dsn|desa|ds|kelurahan|kel|dukuh|banjar|jorong|nagari|gampong|lingkungan|ling|"
    r"asrama|blok|btn|perumnas|huta|padukuhan|rusunawa|rusun|lembang"
)
_HEAD = rf"(?i:{_HEAD_NAMES})"
# The word that opens the next part ("No.", "RT", "Kel."), not a word of this part's name;
# a keyword before another name word is one of its words ("Kel. Kampung Tengah", "Kec. Kota
# Baru", "kel. kota baru").
_KEYWORD = (
    rf"(?:(?i:no|nomor|nmr|rt|rw|blok)(?![\p{{L}}])"
    rf"|(?:{_HEAD}|(?i:kec|kab|kota))(?![\p{{L}}])(?!\s[A-Z](?![A-Z]*\.?\s?\d)|\s[a-z]{{2}}))"
)
# A name word: capitalised (an abbreviation may end in a dot: "H.", "Dr."), or a number, a
# Roman numeral, a block code ("C2"); never the keyword that starts the next part ("Blok",
# "No.", "RT"). A full stop after a longer word ends the sentence, not the word.
_NAME_WORD = (
    rf"(?!{_KEYWORD})(?:[A-Z][A-Za-z]{{0,3}}\.|[A-Z][\p{{L}}'’\-]*|\d{{1,4}}(?:-\d{{1,4}})?[A-Za-z]?"
    rf"|[IVX]{{1,5}}\b"
    rf"|[A-Z]\d{{0,3}})"
)
_LOWER_WORD = rf"(?!{_KEYWORD}|(?:itu|ini|tersebut|sana|sini|yang|dan)\b)(?:[a-z][\p{{L}}'’\-]*)"
_NUMBER_PART = (
    r"(?:(?i:no|nomor|nmr)\.?\s?\d{1,4}[A-Za-z]?(?:\s?/\s?\d{1,4})?"
    r"|(?i:rt)\.?\s?\d{1,3}(?:\s?/\s?(?:(?i:rw)\.?\s?)?\d{1,3})?"
    r"|(?i:rw)\.?\s?\d{1,3}"
    r"|(?i:blok)\s(?:[A-Z0-9]{1,3}|[a-z]\d{0,3}(?![\p{L}]))(?:[\-/]?\d{1,3}[A-Za-z]?)?)"
)
_HEAD_SEP = r"(?:\.\s?|\s)"
# Wider areas that close an address ("..., Kel. Tenda, Kec. Sipatana", "Distrik Wamena",
# "Negeri Rumah Tiga" in Maluku): parts of it after a head, never heads themselves.
_AREA = r"(?i:kecamatan|kec|distrik|kabupaten|kab|negeri)"
_LOWER_NAME = rf"{_LOWER_WORD}(?:\s{_LOWER_WORD}){{0,2}}"
_PARTS = (
    rf"(?:,?\s{_NUMBER_PART}"
    rf"|,?\s(?:{_HEAD}|{_AREA}){_HEAD_SEP}{_NAME_WORD}(?:\s{_NAME_WORD}){{0,3}}"
    rf"|,\s(?:{_HEAD}|{_AREA}){_HEAD_SEP}{_LOWER_NAME})"
)
_ADDRESS = regex.compile(
    rf"(?<![\p{{L}}\d\-])(?:"
    # head + proper name (+ parts): "Jl. Merdeka No. 12", "Dusun Krajan"
    rf"{_HEAD}{_HEAD_SEP}{_NAME_WORD}(?:\s{_NAME_WORD}){{0,4}}{_PARTS}*"
    # head + lower-case name + at least one number part: "jalan kenanga no. 7"
    rf"|{_HEAD}{_HEAD_SEP}{_LOWER_WORD}(?:\s{_LOWER_WORD}){{0,3}}"
    rf"(?:,?\s{_NUMBER_PART}|,\s(?:{_HEAD}|{_AREA}){_HEAD_SEP}{_LOWER_NAME})+{_PARTS}*"
    # RT/RW alone, or a block and house number
    rf"|(?i:rt)\.?\s?\d{{1,3}}\s?/\s?(?:(?i:rw)\.?\s?)?\d{{1,3}}"
    rf"|(?i:blok)\s[A-Z0-9]{{1,3}}(?:[\-/]?\d{{1,3}})?{_PARTS}*"
    # a Minahasa jaga is numbered: "Jaga III, Desa Kembes"
    rf"|(?i:jaga)\s(?:(?i:[ivx]{{1,4}})|\d{{1,2}})(?![\p{{L}}\d]){_PARTS}*"
    rf")(?![\p{{L}}\d])"
)
# Every address starts at one of these words (or RT/RW, or Blok): the full pattern is tried
# only where one stands: _HEAD's words and RT/RW and Jaga, which open the pattern's other
# forms, for Python's faster ``re``, on the lower-cased note (a case-insensitive scan was 2.5
# times slower).
_HEAD_WORDS = rf"(?:{_HEAD_NAMES}|rt|rw|jaga)"
_ANY_HEAD = re.compile(rf"(?=[abdghjklnpr])(?<![^\W\d_]){_HEAD_WORDS}(?![^\W\d_])")
_ANY_HEAD_ANY_CASE = re.compile(rf"(?<![^\W\d_]){_HEAD_WORDS}(?![^\W\d_])", re.IGNORECASE)
_ANY_CLASS = re.compile(r"(?=[kKgGT])(?:(?i:kelas|kls|kelompok|grade)|TK [AB]\b)")
_VILLAGE_AS_INSTITUTION = frozenset(
    {"balai", "kantor", "kepala", "aparat", "perangkat", "pasar", "pemerintah", "dana", "bumdes"}
)
_WEAK_HEADS = frozenset({"desa", "ds", "kampung", "lingkungan", "ling", "asrama", "banjar", "blok"})

_SCHOOL_TYPES = (
    r"(?:(?i:sdn|sdit|sdk|sds|sd|smpn|smpit|smpk|smp|sman|smait|smak|sma|smkn|smk|min|mis|mi|"
    r"mtsn|mts|man|ma|slb|tk|paud|sekolah\sdasar|sekolah\smenengah\s(?:pertama|atas|kejuruan)|"
    r"madrasah\s(?:ibtidaiyah|tsanawiyah|aliyah))|RA)"  # RA: a Raudhatul Athfal kindergarten
)
# What may follow the type: status, foundation, number, name ("Negeri 7", "GMIT Sukarame",
# "YPPK Santa Theresia", "Al-Ma'arif", "MUHAMMADIYAH 7 AMBON").
_SCHOOL_WORD = r"(?:[A-Z][a-z]?\.(?=\s[A-Z])|[A-Z][\p{L}'’\-]*|\d{1,6}|(?i:negeri|swasta|inpres))"
_SCHOOL_NAME = rf"{_SCHOOL_TYPES}(?:\s{_SCHOOL_WORD}){{0,5}}"
_CLASS = (
    # "kelas 4", "kls. VII-B", "kelas X TKJ 1", "kelas XI MIPA 3", "grade 6"
    r"(?:(?i:kelas|kls\.?|grade)\s(?:\d{1,2}|[IVX]{1,4}|(?i:satu|dua|tiga|empat|lima|enam))"
    r"(?:[\s\-]?[A-Fa-f](?![\p{L}]))?(?:\s(?:(?i:ipa|ips|bahasa|agama)|[A-Z]{2,4})(?:\s\d)?)?"
    # a kindergarten's group: "kelompok A", "TK B"
    r"|(?i:kelompok)\s[AB](?![\p{L}])|TK\s[AB](?![\p{L}]))"
)
_SCHOOL = regex.compile(
    rf"(?<![\p{{L}}\d])(?:{_CLASS},?\s(?:(?i:di)\s)?{_SCHOOL_NAME}|{_SCHOOL_NAME},?\s{_CLASS})"
    rf"(?![\p{{L}}\d])"
)


class AddressRecognizer(ModelFreeRecognizer):
    """Street and village addresses (``ID_ADDRESS``)."""

    def __init__(self) -> None:
        super().__init__([ADDRESS_ENTITY], "IdAddressRecognizer")

    def analyze(
        self, text: str, entities: list[str] | None = None, nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        out: list[RecognizerResult] = []
        for m in self._matches(text):
            start, end = m.start(), _trim_full_stop(text, m.start(), m.end())
            head = regex.match(r"\p{L}+", m.group())
            words = text[start:end].split()
            before = text[max(0, start - 12) : start].split()
            if (
                before
                and before[-1].casefold() in _VILLAGE_AS_INSTITUTION
                and not regex.search(r"\d", text[start:end])
            ):
                continue  # "balai Desa Sidomulyo", "pasar Kampung Baru": a hall, a market
            if (
                head is not None
                and head.group().casefold() in _WEAK_HEADS
                and head.group()[0].islower()
                and len(words) == 2
            ):
                continue  # "desa Sukamaju" in prose about villages: a place, not a home
            out.append(RecognizerResult(ADDRESS_ENTITY, start, end, 0.75))
        return out

    @staticmethod
    def _matches(text: str) -> Iterator[regex.Match[str]]:
        """What ``_ADDRESS.finditer`` finds, tried only where a head word stands."""
        lowered = text.lower()
        heads = (
            _ANY_HEAD.finditer(lowered)
            if len(lowered) == len(text)
            else _ANY_HEAD_ANY_CASE.finditer(text)  # lower-casing moved the positions
        )
        taken = 0
        for head in heads:
            if head.start() < taken:
                continue  # inside the address just found
            m = _ADDRESS.match(text, head.start())
            if m is not None:
                taken = m.end()
                yield m


def _trim_full_stop(text: str, start: int, end: int) -> int:
    """A match ending in "Wamena." ends before the sentence's full stop (not after "Jl.")."""
    if end - start > 1 and text[end - 1] == "." and regex.search(r"\p{L}{4,}\.$", text[start:end]):
        return end - 1
    return end


class SchoolRecognizer(ModelFreeRecognizer):
    """A school written with the child's class (``ID_SCHOOL``)."""

    def __init__(self) -> None:
        super().__init__([SCHOOL_ENTITY], "IdSchoolRecognizer")

    def analyze(
        self, text: str, entities: list[str] | None = None, nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        if not _ANY_CLASS.search(text):
            return []  # a school counts only with the child's class
        return [
            RecognizerResult(SCHOOL_ENTITY, m.start(), _trim_full_stop(text, *m.span()), 0.75)
            for m in _SCHOOL.finditer(text)
        ]
