"""Presidio recognizers for Indonesian identifiers, usable without any NLP model.

Why pattern recognizers only
----------------------------
The lakehouse runs offline and no spaCy/transformer model may be downloaded,
so there is no NER. Everything here is a Presidio ``PatternRecognizer`` or a
small ``EntityRecognizer`` subclass that needs no ``nlp_artifacts`` and is
called directly (``recognizer.analyze(text, entities, None)``). Presidio
2.2.366's ``AnalyzerEngine`` does work offline with ``NoOpNlpEngine`` and these
recognizers in a ``RecognizerRegistry`` (checked), but it costs ~0.4 ms per
300-character note against ~0.14 ms for the direct calls, and its context
enhancement needs tokens that the no-op engine does not produce anyway.

Names cannot be found reliably by patterns, so names are handled by
:class:`KnownValuesRecognizer`: ingestion knows, for each case note, the
child's and guardians' names (and phone, NIK ...) from the structured tables
and passes them in. Unknown third-party names in notes are NOT detected; that
residual risk is why notes are only released in aggregate/never raw.

Identifier rules
----------------
* NIK (Nomor Induk Kependudukan): 16 digits = province(2) regency(2)
  district(2) birth day(2, +40 for women) month(2) year(2) serial(4). A
  16-digit number whose province/day/month cannot be a NIK is not reported as
  a NIK (order numbers, account numbers), which keeps notes readable.
* KK (Kartu Keluarga, family card) numbers have the same length; without a
  "KK"/"kartu keluarga" cue they cannot be told apart from other numbers, so
  they are reported only with that cue (and win over NIK when the cue is there).
* Phones: Indonesian mobiles (+62 / 62 / 0, then 8), 10-13 digits nationally.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, NamedTuple, Protocol

import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult

from anonymization.tokens import normalize
from lakehouse.reference.nik import KK_LENGTH, NIK_LENGTH, digits_only, is_valid_nik

__all__ = [
    "ENTITY_DOMAINS",
    "LANGUAGE",
    "IdDateRecognizer",
    "IdEmailRecognizer",
    "IdPhoneRecognizer",
    "KkRecognizer",
    "KnownValuesRecognizer",
    "ModelFreeRecognizer",
    "NikRecognizer",
    "TextRecognizer",
    "build_recognizers",
    "known_entity_type",
]

LANGUAGE = "id"

#: Entity type -> token domain used in the replacement ``[<domain>:<token>]``.
ENTITY_DOMAINS: dict[str, str] = {
    "ID_NIK": "nik",
    "ID_KK": "kk_number",
    "ID_PHONE": "phone",
    "EMAIL_ADDRESS": "email",
}

_SEP = r"[ .\-]?"
# NIK and KK numbers as written in text: 16 digits (both lengths), optionally grouped.
_SIXTEEN_DIGITS = r"\d(?:" + _SEP + r"\d){" + str(max(NIK_LENGTH, KK_LENGTH) - 1) + "}"


class TextRecognizer(Protocol):
    """What the redactor needs from a recognizer: no NLP artifacts required."""

    supported_entities: list[str]

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]: ...


class ModelFreeRecognizer(EntityRecognizer):
    """A recognizer that needs no NLP model: nothing to load, Indonesian, called directly."""

    def __init__(self, entities: list[str], name: str) -> None:
        super().__init__(supported_entities=entities, name=name, supported_language=LANGUAGE)

    def load(self) -> None:
        return None


class RegexRecognizer(ModelFreeRecognizer):
    """Compiled patterns called directly: Presidio's ``PatternRecognizer`` adds context
    scoring and result bookkeeping that cost more than the match itself on short notes."""

    #: A string every match contains (checked first: most notes hold no e-mail).
    needle: str | None = None

    def __init__(self, entity: str, name: str, patterns: list[tuple[str, float]]) -> None:
        self._entity = entity
        self._patterns = [
            (re.compile(p, re.IGNORECASE | re.MULTILINE | re.DOTALL), score)
            for p, score in patterns
        ]
        super().__init__([entity], name)

    def valid(self, matched: str) -> bool:
        """Whether a match is really the entity (a NIK's structure, for instance)."""
        return True

    def analyze(
        self, text: str, entities: list[str] | None = None, nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        if self.needle is not None and self.needle not in text:
            return []
        best: dict[tuple[int, int], float] = {}
        for pattern, score in self._patterns:
            for m in pattern.finditer(text):
                if m.end() > m.start() and self.valid(m.group()):
                    best[m.span()] = max(score, best.get(m.span(), 0.0))
        return [
            RecognizerResult(self._entity, start, end, score)
            for (start, end), score in sorted(best.items())
        ]


class NikRecognizer(RegexRecognizer):
    """16-digit NIK, optionally grouped with spaces, dots or dashes."""

    def __init__(self) -> None:
        super().__init__(
            # A digit first: the scan skips letters at once (a lookbehind first is tried at
            # every position).
            "ID_NIK",
            "IdNikRecognizer",
            [(r"(?=\d)(?<!\d)" + _SIXTEEN_DIGITS + r"(?!\d)", 0.5)],
        )

    def valid(self, matched: str) -> bool:
        # Not a NIK's structure: an order number, an account number.
        return is_valid_nik(digits_only(matched))

    def analyze(
        self, text: str, entities: list[str] | None = None, nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        results = []
        for m in self._patterns[0][0].finditer(text):
            if self.valid(m.group()):
                results.append(RecognizerResult("ID_NIK", m.start(), m.end(), 0.5))
            elif _NIK_CUE.search(text, max(0, m.start() - 30), m.start()):
                # After "NIK"/"KTP" any sixteen digits are one, even miswritten ("NIK anak
                # tertulis 5104026221150068; yang benar ..."): a typo makes it no less personal.
                results.append(RecognizerResult("ID_NIK", m.start(), m.end(), 0.8))
        return results


_NIK_CUE = re.compile(
    r"(?:\bnik\b|\bktp\b|\bnomor\s+induk\s+kependudukan\b)[^\d\n]{0,25}$", re.IGNORECASE
)


class KkRecognizer(ModelFreeRecognizer):
    """Family-card numbers: 16 digits right after a "KK"/"kartu keluarga" cue."""

    _PATTERN = re.compile(
        r"(?=[kK])(?:\bkk\b|\bkartu\s+keluarga\b)[^\d\n]{0,25}?(?<!\d)("
        + _SIXTEEN_DIGITS
        + r")(?!\d)",
        re.IGNORECASE,
    )

    def __init__(self) -> None:
        super().__init__(["ID_KK"], "IdKkRecognizer")

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        return [
            RecognizerResult("ID_KK", m.start(1), m.end(1), 1.0)
            for m in self._PATTERN.finditer(text)
        ]


class IdPhoneRecognizer(ModelFreeRecognizer):
    """Indonesian phones as people write them: mobiles and landlines, any grouping.

    ``0812-3456-7890``, ``(0812) 34567890``, ``+62 (812) 3456 7890``, ``0812.3456.7890``,
    ``62812...``, ``0812-3456-7890 ext 12``, ``(021) 7654321``, ``0274-512345``. A candidate
    is any run of digit groups (spaces, dots, dashes, a bracketed area code) that starts like a
    phone; it is kept when its digits, in the national form, are a mobile (08, 10-13 digits)
    or a landline (0 + area code 2-4 digits, 9-12 digits in all). An extension stays inside
    the span but not in the number whose token replaces it.
    """

    _CANDIDATE = regex.compile(
        # Starts at "+", "(" or a digit (the scan skips everything else); a separator only
        # after a country or trunk prefix: "0 812", "+62-812".
        r"(?=[+(\d])(?<![\w+])(?:(?:\(\s?\+?\s?62\s?\)|\+\s?62|62|0)[ .\-]?)?"
        r"(?:\(\s?0?\d{2,4}\s?\)|\d{2,4})"
        r"(?:[ .\-]{0,2}\d{2,6}){1,4}(?!\d)"
        r"(?:\s?(?:ext|ext\.|x|psw|pes)\s?\d{1,5}(?!\d))?",
        regex.IGNORECASE,
    )

    def __init__(self) -> None:
        super().__init__(["ID_PHONE"], "IdPhoneRecognizer")

    def analyze(
        self, text: str, entities: list[str] | None = None, nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        out = []
        for m in self._CANDIDATE.finditer(text):
            start, end = m.span()
            while start < end and text[start] in " .-":
                start += 1
            cued = _PHONE_CUE.search(text[max(0, start - 24) : start]) is not None
            if national_phone_digits(text[start:end], cued=cued) is not None:
                out.append(RecognizerResult("ID_PHONE", start, end, 0.7))
        return out


_EXTENSION = re.compile(r"\s?(?:ext|ext\.|x|psw|pes)\s?\d{1,5}$", re.IGNORECASE)


def without_extension(written: str) -> str:
    """The phone number itself: "0812-3456-7890 ext 12" -> "0812-3456-7890"."""
    return _EXTENSION.sub("", written)


_PHONE_CUE = re.compile(
    r"\b(?:telp|tlp|telepon|telpon|hp|wa|whatsapp|kantor|rumah|hubungi|dihubungi|kontak|fax)\b",
    re.IGNORECASE,
)


def national_phone_digits(written: str, *, cued: bool = False) -> str | None:
    """Digits of a written phone in national form (0...), or None if it is not a phone.

    A landline written as one run of digits ("02188124430") counts only after a phone word
    ("telp", "kantor", "hubungi"): alone it could be any number that starts with 0."""
    core = without_extension(written.strip())
    digits = digits_only(core)
    international = core.lstrip().startswith("+") or (
        digits.startswith("62") and not core.lstrip().startswith("0")
    )
    if international:
        if not digits.startswith("62"):
            return None
        digits = "0" + digits[2:]
    elif not digits.startswith("0"):
        return None
    if digits.startswith("08"):
        return digits if 10 <= len(digits) <= 13 else None
    # Landline: area codes start 02..07 or 09 (no 01, 00); the area code is bracketed or
    # separated from the subscriber number when written nationally.
    if digits[1] in "234567" or digits[1] == "9":
        separated = bool(re.match(r"\s*(?:\+\s?62[ .\-]?)?\(?0?\d{2,4}\)?[ .\-)]", core))
        return digits if 9 <= len(digits) <= 12 and (separated or international or cued) else None
    return None


class IdEmailRecognizer(RegexRecognizer):
    """E-mail addresses (no TLD list look-up: that would need the network)."""

    needle = "@"

    def __init__(self) -> None:
        super().__init__(
            "EMAIL_ADDRESS",
            "IdEmailRecognizer",
            [
                (
                    r"(?<![\w.%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*"
                    r"\.[A-Za-z]{2,}\b",
                    0.9,
                )
            ],
        )


_MONTHS = (
    "januari|februari|pebruari|maret|april|mei|juni|juli|agustus|september|oktober|"
    "november|nopember|desember|january|february|march|may|june|july|august|october|"
    "december|agust|sept|agus|peb|nop|jan|feb|mar|apr|jun|jul|agu|agt|ags|aug|sep|okt|oct|nov|"
    "des|dec|mrt|agst|sept"
)
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_MONTH_NUM = r"(?:0?[1-9]|1[0-2])"
_YEAR = r"(?:19|20)\d{2}"


class IdDateRecognizer(RegexRecognizer):
    """Full dates: "12 Januari 2015", "3 Agt. 2020", 12/01/2015, 2015-01-12, "2-Feb-1977",
    "25 Nov '10", "16-01-08".

    One pattern of alternatives (one scan of the note, not five), the forms with a four-digit
    year first so that "12-03-2014" is not read as "12-03-20".
    """

    def __init__(self) -> None:
        forms = [
            rf"\b{_DAY}\s+(?:{_MONTHS})\.?,?\s+{_YEAR}\b",
            rf"\b{_DAY}[/.\-]{_MONTH_NUM}[/.\-]{_YEAR}\b",
            rf"\b{_DAY} ?[/.\-] ?{_MONTH_NUM} ?[/.\-] ?{_YEAR}\b",  # "2 - 04 - 2022"
            # "tgl 29 bln 9 thn 2023"
            rf"\b{_DAY}\s+(?:bln|bulan)\.?\s+{_MONTH_NUM}\s+(?:thn|tahun)\.?\s+{_YEAR}\b",
            rf"\b{_YEAR}-{_MONTH_NUM}-{_DAY}\b",
            rf"\b{_DAY}(?:\s+|[\-/.])(?:{_MONTHS})\.?(?:\s+|[\-/.])(?:{_YEAR}\b|['’]?\d{{2}}\b)",
            # day, month and a two-digit year
            rf"(?<![\d/.\-]){_DAY}[/.\-]{_MONTH_NUM}[/.\-]\d{{2}}(?![\d/\-]|\.\d)",
            # the month first, as in English ("Oct 25, 2025"): the month is checked after
            rf"(?<![\d/.\-])(?P<month_first>{_DAY},?\s+{_YEAR})\b",
        ]
        # Every form starts with a digit: the lookahead lets the scan skip letters at once
        # (17 -> 4 microseconds a note, the same matches).
        pattern = r"(?=\d)(?:" + "|".join(forms) + ")"
        super().__init__("ID_DATE", "IdDateRecognizer", [(pattern, 0.7)])

    def analyze(
        self, text: str, entities: list[str] | None = None, nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        results = []
        for m in self._patterns[0][0].finditer(text):
            start = m.start()
            if m.lastgroup == "month_first":
                # "Oct 25, 2025", "September 11, 2023": found from its digits (a scan from
                # every letter would cost more than all the other forms together).
                month = _MONTH_BEFORE.search(text, max(0, start - 12), start)
                if month is None:
                    continue
                start = month.start()
            results.append(RecognizerResult("ID_DATE", start, m.end(), 0.7))
        return results


_MONTH_BEFORE = re.compile(rf"\b(?:{_MONTHS})\.?\s+$", re.IGNORECASE)


def known_entity_type(domain: str) -> str:
    """Entity type used for a per-record known value of ``domain``."""
    return "KNOWN_" + domain.upper()


_WORD = re.compile(r"\w+")
_WS = re.compile(r"\s+")
_DIGIT_RUN = re.compile(r"\d(?:[ .\-]?\d)*")
_DIGIT_DOMAINS = frozenset({"nik", "kk_number", "phone"})
_MIN_NAME_PART = 2  # "Ai", "Uti": Sundanese and Papuan names are short
_MIN_DIGITS = 6  # shorter "identifiers" would redact ordinary numbers


class _WordsAlternative(NamedTuple):
    """A value as a word sequence plus the (whitespace-normalised) gaps between words.

    A tuple, not a frozen dataclass: a record makes a dozen, and a frozen dataclass costs
    four times as much to make."""

    domain: str
    words: tuple[str, ...]
    gaps: tuple[str, ...]
    canonical: str  # normalised value whose token replaces the match
    part: bool = False  # one word of a known name, not the whole value
    #: A whole name that may as well denote another person of the record: the same name
    #: twice, or every word of it in another's name ("Faridah" beside "Mahani Faridah").
    shared: bool = False


class _DigitsAlternative(NamedTuple):
    domain: str
    variants: tuple[str, ...]  # digit strings that denote the value (e.g. 0812.. / 62812..)
    canonical: str


_DOUBLED = re.compile(r"(\w)\1+")


def _collapse(word: str) -> str:
    """ "muhhtar" -> "muhtar", "paat" -> "pat": a doubled letter is the commonest typo."""
    return _DOUBLED.sub(r"\1", word)


@lru_cache(maxsize=1 << 12)
def _accepted_forms(alt: _WordsAlternative) -> tuple[frozenset[str], ...]:
    """How each word of a known name may be written in a note: as it is, with a letter
    doubled or undoubled, or (words of five letters or more) with one letter dropped
    ("Petonela" for "Petronela"). Other domains (addresses) match exactly."""
    if alt.domain != "person_name":
        return tuple(frozenset((w,)) for w in alt.words)
    return tuple(_typo_forms(w) for w in alt.words)


@lru_cache(maxsize=1 << 16)
def _typo_forms(word: str) -> frozenset[str]:
    """Names recur from child to child ("Siti", "Hutapea"): their forms are made once."""
    forms = {word, _collapse(word)}
    # One letter written twice ("Muhhtar"): looked up as written, so that a note's words are
    # never collapsed one by one (that was a tenth of the redactor's time).
    forms.update(word[: k + 1] + word[k:] for k in range(len(word)))
    if len(word) >= 5:
        forms.update(word[:k] + word[k + 1 :] for k in range(len(word)))
    return frozenset(forms)


@lru_cache(maxsize=1 << 16)
def _typo_index(word: str) -> dict[str, str]:
    """Each way ``word`` may be written -> ``word``. Shared: never to be changed."""
    return dict.fromkeys(_typo_forms(word), word)


def _gap_differs(written: str, expected: str) -> bool:
    """Whether the characters between two words differ from the value's (any whitespace
    counts as one space; most gaps are one space and need no more)."""
    return written != expected and _WS.sub(" ", written).casefold() != expected


def _split_words(value: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    words = tuple(w.casefold() for w in _WORD.findall(value))
    gaps = tuple(g if g == " " else _WS.sub(" ", g).casefold() for g in _WORD.split(value)[1:-1])
    return words, gaps


def _alternatives(
    known: Mapping[str, Iterable[str]],
) -> tuple[list[_WordsAlternative], list[_DigitsAlternative]]:
    words_alts: list[_WordsAlternative] = []
    digit_alts: list[_DigitsAlternative] = []
    part_owners: dict[str, set[str]] = {}
    for domain, values in known.items():
        if domain == "birth_date" or domain.endswith("_date") or domain == "email":
            # Every full date is already replaced by ``[date]``, and every e-mail by the
            # token of its value, the record's or not.
            continue
        if isinstance(values, str):  # {"person_name": "Budi"} must not iterate characters
            values = [values]
        for raw in values:
            canonical = normalize(domain, raw)
            if canonical is None:
                continue
            if domain in _DIGIT_DOMAINS:
                if len(canonical) < _MIN_DIGITS:
                    continue
                variants: tuple[str, ...] = (canonical,)
                if domain == "phone" and canonical.startswith("0"):
                    variants = (canonical, "62" + canonical[1:])
                digit_alts.append(_DigitsAlternative(domain, variants, canonical))
                continue
            words, gaps = _split_words(str(raw))
            if not words:
                continue
            words_alts.append(_WordsAlternative(domain, words, gaps, canonical))
            if domain == "person_name":
                for word in words:
                    if len(word) >= _MIN_NAME_PART:
                        part_owners.setdefault(word, set()).add(canonical)
    names = [a for a in words_alts if a.domain == "person_name"]
    if len(names) > 1:
        for i, alt in enumerate(words_alts):
            if alt.domain == "person_name" and any(
                o is not alt and set(alt.words) <= set(o.words) for o in names
            ):
                words_alts[i] = alt._replace(shared=True)
    full_names = {a.canonical for a in names}
    for word, owners in part_owners.items():
        if word in full_names:
            continue
        # A first name used alone maps to the person's full-name token when only
        # one known person carries it; a shared word (family name) gets its own.
        canonical = next(iter(owners)) if len(owners) == 1 else word
        words_alts.append(_WordsAlternative("person_name", (word,), (), canonical, part=True))
    return words_alts, digit_alts


class KnownValuesRecognizer(ModelFreeRecognizer):
    """Exact per-record values (names, phones, NIK ...) known from the tables.

    Built per record, so it must be cheap: no regex is compiled per record (that
    dominated the cost); text values are matched as case-insensitive word
    sequences on word boundaries (any whitespace between words), digit
    identifiers on the digit stream, so "0812 3456-7890" and "+62 812..." match
    a known "081234567890". Overlaps (full name vs. first name) are left to the
    caller's overlap resolution, which keeps the longest.
    """

    def __init__(self, known: Mapping[str, Iterable[str]]) -> None:
        self._words_alts, self._digit_alts = _alternatives(known)
        # The values a word of a note may start: other values by their exact first word, names
        # by every way their first word may be written. The forms of the other words are made
        # only when a note has the first.
        self._exact_first: dict[str, list[_WordsAlternative]] = {}
        self._name_first: dict[str, list[_WordsAlternative]] = {}
        for alt in self._words_alts:
            by = self._name_first if alt.domain == "person_name" else self._exact_first
            by.setdefault(alt.words[0], []).append(alt)
        # Written form -> first word, merged from one cached mapping per name word (names
        # recur from child to child); forms two first words share are merged one by one.
        merged: dict[str, str] = {}
        for first in self._name_first:
            merged.update(_typo_index(first))
        self._name_forms: dict[str, str] = merged  # written form -> key of self._name_alts
        self._name_alts = self._name_first
        if len(merged) != sum(len(_typo_index(first)) for first in self._name_first):
            self._name_alts = {}
            for first, alts in self._name_first.items():
                for form in _typo_index(first):
                    self._name_alts.setdefault(form, []).extend(alts)
            self._name_forms = {form: form for form in self._name_alts}
        domains = {a.domain for a in self._words_alts} | {a.domain for a in self._digit_alts}
        super().__init__(sorted(known_entity_type(d) for d in domains), "KnownValuesRecognizer")

    @staticmethod
    def _result(
        domain: str, canonical: str, start: int, end: int, part: bool = False, shared: bool = False
    ) -> RecognizerResult:
        meta = {"domain": domain, "canonical": canonical, "part": part}
        if shared:
            meta["shared"] = True
        return RecognizerResult(
            known_entity_type(domain), start, end, 1.0, recognition_metadata=meta
        )

    def analyze(
        self, text: str, entities: list[str] | None = None, nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        results: list[RecognizerResult] = []
        if self._words_alts:
            results.extend(self._match_words(text))
        if self._digit_alts:
            results.extend(self._match_digits(text))
        return results

    def _match_words(self, text: str) -> list[RecognizerResult]:
        lowered = text.casefold()
        if len(lowered) == len(text):
            words = _WORD.findall(lowered)
        else:  # casefolding changed the note's length ("İ", "ß"): word by word instead
            words = [w.casefold() for w in _WORD.findall(text)]
        by_exact, by_name = self._exact_first, self._name_forms
        if by_exact.keys().isdisjoint(words) and by_name.keys().isdisjoint(words):
            return []  # no value of the record starts anywhere in this note
        spans = [m.span() for m in _WORD.finditer(text)]
        results = []
        for i, word in enumerate(words):
            candidates = by_exact.get(word)
            key = by_name.get(word)
            named = self._name_alts[key] if key is not None else None
            if named:
                candidates = candidates + named if candidates else named
            elif not candidates:
                continue
            for alt in candidates:
                n = len(alt.words)
                if i + n > len(words):
                    continue
                exact = tuple(words[i : i + n]) == alt.words
                if not exact:
                    forms = _accepted_forms(alt)
                    if any(
                        words[i + j] not in forms[j] and _collapse(words[i + j]) not in forms[j]
                        for j in range(1, n)
                    ):
                        continue
                if any(
                    _gap_differs(text[spans[i + j][1] : spans[i + j + 1][0]], alt.gaps[j])
                    for j in range(n - 1)
                ):
                    continue
                result = self._result(
                    alt.domain,
                    alt.canonical,
                    spans[i][0],
                    spans[i + n - 1][1],
                    alt.part,
                    alt.shared,
                )
                if not exact:
                    # Written with a typo: certainly a name, but maybe another person's
                    # ("Hasnah" is a name of its own, one letter from "Hasniah").
                    result.recognition_metadata["exact"] = False
                results.append(result)
        return results

    def _match_digits(self, text: str) -> list[RecognizerResult]:
        results = []
        for m in _DIGIT_RUN.finditer(text):
            if m.end() - m.start() < _MIN_DIGITS:
                continue  # a day, a house number: shorter than any number looked for
            run_start = m.start()
            positions = [run_start + k for k, ch in enumerate(m.group()) if ch.isdigit()]
            digits = "".join(text[p] for p in positions)
            for alt in self._digit_alts:
                for variant in alt.variants:
                    o = digits.find(variant)
                    while o != -1:
                        stop = o + len(variant)  # exclusive index into positions
                        first, last = positions[o], positions[stop - 1]
                        # whole number only: no digit directly before/after the match
                        glued_before = o > 0 and positions[o - 1] == first - 1
                        glued_after = stop < len(positions) and positions[stop] == last + 1
                        if not (glued_before or glued_after):
                            start = first - 1 if first > 0 and text[first - 1] == "+" else first
                            results.append(self._result(alt.domain, alt.canonical, start, last + 1))
                        o = digits.find(variant, o + 1)
        return results


def build_recognizers(*, include_dates: bool = True) -> list[TextRecognizer]:
    """The shared, stateless recognizers (build once; reuse for every text)."""
    recognizers: list[TextRecognizer] = [
        KkRecognizer(),
        NikRecognizer(),
        IdPhoneRecognizer(),
        IdEmailRecognizer(),
    ]
    if include_dates:
        recognizers.append(IdDateRecognizer())
    return recognizers
