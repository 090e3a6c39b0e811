"""Free-text redaction of case notes with Presidio and keyed tokens.

Detected identifiers are replaced by ``[<domain>:<token>]`` where the token is
exactly what :class:`~anonymization.tokens.Tokenizer` produces for the same
value in the structured tables (after normalisation). An analyst can therefore
still see "the note mentions this guardian's phone" and join it, without the
note ever containing the phone. Full dates become ``[date]`` (no token: a
date-of-birth token in a note adds linkage but no analytical value).

Per note: shared pattern recognizers + a per-record
:class:`~anonymization.recognizers.KnownValuesRecognizer` -> our own overlap
resolution (longest span, then highest score, then a fixed priority) ->
``presidio_anonymizer.AnonymizerEngine`` with per-entity ``custom`` operators.
Overlaps are resolved *before* the engine (and its whitespace merging is off)
so that two adjacent names are never fused into one token.

Names of people the record does not hold (a neighbour, a teacher) are found by
:class:`~anonymization.person_names.PersonNameRecognizer` and become ``[person]``. A name is
linked to a known person's token only when it is that person unambiguously (:func:`link_names`):
a wrong link is worse than none, since an analyst then believes the guardian is mentioned while
the third party's surname would stay in clear.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import re
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise

import pandas as pd
from presidio_analyzer import RecognizerResult

from anonymization.person_names import (
    PERSON_ENTITY,
    PersonNameRecognizer,
    institution_spans,
    name_lexicon,
    note_is_cased,
    shared_person_recognizer,
)
from anonymization.places import (
    ADDRESS_ENTITY,
    SCHOOL_ENTITY,
    AddressRecognizer,
    SchoolRecognizer,
)
from anonymization.recognizers import (
    ENTITY_DOMAINS,
    IdDateRecognizer,
    IdEmailRecognizer,
    IdPhoneRecognizer,
    KkRecognizer,
    KnownValuesRecognizer,
    NikRecognizer,
    TextRecognizer,
    build_recognizers,
    without_extension,
)
from anonymization.tokens import Tokenizer, normalize
from lakehouse.ids import TIMESTAMP_ID
from lakehouse.worker_processes import exit_with_parent

__all__ = [
    "DATE_PLACEHOLDER",
    "PERSON_PLACEHOLDER",
    "RedactionResult",
    "Redactor",
    "link_names",
    "resolve_overlaps",
    "scan_for_pii",
]

DATE_PLACEHOLDER = "[date]"
PERSON_PLACEHOLDER = "[person]"
_PLACEHOLDERS = {
    "ID_DATE": DATE_PLACEHOLDER,
    PERSON_ENTITY: PERSON_PLACEHOLDER,
    ADDRESS_ENTITY: "[address]",
    SCHOOL_ENTITY: "[school]",
}
_KNOWN_PERSON = "KNOWN_PERSON_NAME"
_REMAINDER = "REDACTED"  # the part of a detection that sticks out of the one that won
#: A single word of a known name links to that person only if it is this rare among names
#: (KPU's 2024 candidate list, 257,208 people): "Siti" or "Agus" alone is anyone.
_DISTINCTIVE_BELOW = 1000
#: Balinese birth-order names and name prefixes say nothing about who is meant.
_NEVER_DISTINCTIVE = frozenset(
    [
        "wayan",
        "made",
        "nyoman",
        "ketut",
        "putu",
        "kadek",
        "komang",
        "gede",
        "luh",
        "ni",
        "i",
        "gusti",
        "ayu",
        "bagus",
    ]
)

Known = Mapping[str, Iterable[str]]
#: Record values not looked for in notes: a birthplace is a regency ("Sleman", "Padang"),
#: which a note names for a hundred other reasons; it identifies nobody without the birth
#: date, and every full date is replaced anyway.
_NOT_MATCHED_IN_NOTES = frozenset({"place"})

# Lower value wins when two detections cover exactly the same span with equal score.
_PRIORITY = {"ID_KK": 1, "ID_NIK": 2, "EMAIL_ADDRESS": 3, "ID_PHONE": 4, "ID_DATE": 5}


def _priority(entity_type: str) -> int:
    return 0 if entity_type.startswith("KNOWN_") else _PRIORITY.get(entity_type, 9)


def resolve_overlaps(results: Sequence[RecognizerResult]) -> list[RecognizerResult]:
    """Keep a non-overlapping subset: longest span first, then score, then priority.

    Greedy over a sorted list; n is tiny per note, so O(n^2) is irrelevant.
    """
    by_start = sorted(results, key=_start)
    if all(a.end <= b.start for a, b in pairwise(by_start)):
        return by_start  # nothing overlaps (most notes): nothing to choose
    ordered = sorted(
        results, key=lambda r: (-(r.end - r.start), -r.score, _priority(r.entity_type), r.start)
    )
    return _greedy(ordered)


def _greedy(ordered: Sequence[RecognizerResult]) -> list[RecognizerResult]:
    kept: list[RecognizerResult] = []
    dropped: list[RecognizerResult] = []
    for r in ordered:
        if all(r.end <= k.start or r.start >= k.end for k in kept):
            kept.append(r)
        else:
            dropped.append(r)
    # A detection that lost to an overlapping longer one may stick out of it (".co.id" of an
    # e-mail half inside a name span): what sticks out is redacted too, never left in clear.
    for r in dropped:
        position = r.start
        for k in sorted((k for k in kept if k.start < r.end and r.start < k.end), key=_start):
            if k.start > position:
                kept.append(RecognizerResult(_REMAINDER, position, k.start, r.score))
            position = max(position, k.end)
        if position < r.end:
            kept.append(RecognizerResult(_REMAINDER, position, r.end, r.score))
    kept.sort(key=_start)
    return kept


def _start(r: RecognizerResult) -> int:
    return int(r.start)


def _distinctive(written: str) -> bool:
    """Whether one word of a known name, as written, can only mean that person."""
    lex = name_lexicon()
    word = written.casefold()
    if word in _NEVER_DISTINCTIVE:
        return False
    if word in lex.collisions and not written[:1].isupper():
        return False  # "budi pekerti", "sari buah": the word, not the person
    return max(lex.given.get(word, 0), lex.surnames.get(word, 0)) < _DISTINCTIVE_BELOW


def _covered(start: int, end: int, spans: Sequence[RecognizerResult], text: str) -> bool:
    """Every letter and digit of text[start:end] lies inside one of ``spans``."""
    return all(
        not text[i].isalnum() or any(s.start <= i < s.end for s in spans) for i in range(start, end)
    )


def _generic(start: int, end: int, score: float = 0.9) -> RecognizerResult:
    return RecognizerResult(PERSON_ENTITY, start, end, score)


def link_names(results: Sequence[RecognizerResult], text: str) -> list[RecognizerResult]:
    """Decide, for every name found, whether it denotes one known person or just "a person".

    A known person's token replaces a span only when the span is that person's whole name,
    or one word of it that no other known person carries and that is rare among names. A name
    span that holds a known word and more ("Siti Nurhaliza" when the guardian is "Siti
    Rahmawati") is somebody else, or cannot be told apart: the whole span becomes
    ``[person]``, so that neither a wrong token nor the surname is left.
    """
    known = [r for r in results if r.entity_type == _KNOWN_PERSON]
    if not known:
        return resolve_overlaps(results)  # nobody to link: names stay [person]
    lexicon = name_lexicon()
    institutions: list[tuple[int, int]] | None = None
    cased = note_is_cased(text)
    whole_names = [r for r in known if not (r.recognition_metadata or {}).get("part")]
    known = [  # a word of a name found whole says nothing more
        r
        for r in known
        if not (r.recognition_metadata or {}).get("part")
        or not any(w.start <= r.start and r.end <= w.end for w in whole_names)
    ]
    names = [r for r in results if r.entity_type == PERSON_ENTITY]
    others = [r for r in results if r.entity_type not in (_KNOWN_PERSON, PERSON_ENTITY)]
    kept_known: list[RecognizerResult] = []
    unlinked: list[RecognizerResult] = []
    for k in known:
        meta = k.recognition_metadata or {}
        if meta.get("exact") is False:
            unlinked.append(_generic(k.start, k.end))  # a typo: a person, not surely this one
            continue
        if not meta.get("part"):
            if meta.get("shared"):
                # "Faridah" when the record holds "Faridah" and "Mahani Faridah": either.
                unlinked.append(_generic(k.start, k.end))
            else:
                kept_known.append(k)
            continue
        word = text[k.start : k.end]
        if (
            cased
            and not word[:1].isupper()
            and (word.casefold() in lexicon.collisions or len(word) < 3)
        ):
            continue  # "kasih sayang", "putri sulung": the word, not the person
        if institutions is None:
            institutions = institution_spans(text)
        if any(a <= k.start and k.end <= b for a, b in institutions):
            continue  # "Yayasan Mutiara Nusantara" is not the guardian Mutiara Sari
        shared = meta.get("canonical") == word.casefold()  # carried by several known people
        if not shared and _distinctive(word):
            kept_known.append(k)
        else:
            unlinked.append(_generic(k.start, k.end))  # a known word, but not which person
    # A known name with more name right next to it ("Luhat Lerang" for a known "Luhat Lawai")
    # is somebody else, or cannot be told apart: a person, not that person.
    widener = shared_person_recognizer()
    full = [(r.start, r.end) for r in kept_known if not (r.recognition_metadata or {}).get("part")]
    still: list[RecognizerResult] = []
    for k in kept_known:
        barriers = [b for b in full if b != (k.start, k.end)]
        start, end = widener.widen(text, k.start, k.end, barriers)
        if (start, end) == (k.start, k.end):
            still.append(k)
        else:
            names.append(_generic(start, end, k.score))
    kept_known = still
    # Merge each name span with the known spans it overlaps but that do not cover it.
    linked: list[RecognizerResult] = []
    generic: list[RecognizerResult] = []
    for n in sorted(names, key=lambda r: (r.start, -r.end)):
        start, end = n.start, n.end
        covering = [k for k in kept_known if k.start <= start and end <= k.end]
        if covering:
            continue  # the known span is at least as long: it decides
        inner = [k for k in kept_known if k.start < end and start < k.end]
        pieces = inner + [u for u in unlinked if u.start < end and start < u.end]
        whole = [k for k in inner if not (k.recognition_metadata or {}).get("part")]
        if (
            inner
            and (len(pieces) == 1 or len(whole) == len(inner))
            and _covered(start, end, pieces, text)
        ):
            # One known name, or whole known names side by side ("Budi Santoso Siti Aminah"):
            # each keeps its own. Words of different people run together ("Lidia
            # Sulistyowati" from "Lidia Murniati" and "Lilik Sulistyowati") are somebody else.
            continue
        for k in inner:
            start, end = min(start, k.start), max(end, k.end)
        generic.append(_generic(start, end, n.score))
    for k in kept_known:
        if not any(g.start <= k.start and k.end <= g.end for g in generic):
            linked.append(k)
    return resolve_overlaps([*others, *linked, *generic, *unlinked])


@dataclass(frozen=True)
class RedactionResult:
    """Redacted text and the (entity_type, start, end) spans in the ORIGINAL text."""

    text: str
    entities: list[tuple[str, int, int]] = field(default_factory=list)


#: A detection as it crosses a process boundary: (entity type, start, end, domain, canonical).
Span = tuple[str, int, int, str | None, str | None]


_ANY_DIGIT = re.compile(r"\d")
_NEED_A_DIGIT = (KkRecognizer, NikRecognizer, IdPhoneRecognizer, IdDateRecognizer)

_long_lived_frozen = False


def _freeze_long_lived() -> None:
    """Move what is alive now (the imported libraries, the gazetteer) out of the collector's
    sight, once per process.

    Presidio and spaCy leave ~360,000 tracked objects; every full collection walked them
    again, and redacting a batch of notes allocates enough to trigger one every few hundred
    notes: measured, 180 microseconds a note of the 550 a note cost when each note's record
    was new. What is frozen is still freed by reference counting; only cycles among these
    objects, which live as long as the process, are no longer looked for.
    """
    global _long_lived_frozen
    if not _long_lived_frozen:
        _long_lived_frozen = True
        gc.collect()
        gc.freeze()


#: How many records' recognizers a :class:`NoteAnalyzer` keeps by identity (see ``_for``):
#: a batch comes grouped by child, so the last few are all that is asked for again.
_RECORDS_BY_IDENTITY = 64


class NoteAnalyzer:
    """Finds what to redact in a note, without any key: the part that runs in worker
    processes (no key material leaves the process that holds the tokenizer)."""

    def __init__(self, *, redact_dates: bool = True) -> None:
        self._recognizers: list[TextRecognizer] = build_recognizers(include_dates=redact_dates)
        self._recognizers += [PersonNameRecognizer(), AddressRecognizer(), SchoolRecognizer()]
        self._no_digit_recognizers = [
            r for r in self._recognizers if not isinstance(r, _NEED_A_DIGIT)
        ]
        self._by_identity: dict[int, tuple[Known, KnownValuesRecognizer]] = {}
        _freeze_long_lived()

    def _for(self, known: Known) -> KnownValuesRecognizer:
        """The record's recognizer. Ingestion hands every note of a child the same mapping
        object (and a pickled chunk keeps that sharing), and ``redact_series`` puts a child's
        notes side by side, so the last few records, by identity, are all that is kept: every
        kept recognizer is objects that each full collection of the garbage collector walks
        (4,096 kept by value cost 10% of the time)."""
        entry = self._by_identity.get(id(known))
        if entry is not None and entry[0] is known:
            return entry[1]
        if len(self._by_identity) >= _RECORDS_BY_IDENTITY:
            self._by_identity.clear()
        recognizer = KnownValuesRecognizer(
            {d: v for d, v in known.items() if d not in _NOT_MATCHED_IN_NOTES}
        )
        self._by_identity[id(known)] = (known, recognizer)  # the mapping kept: id stays its
        return recognizer

    def analyze(self, text: str, known: Known | None = None) -> list[RecognizerResult]:
        """All detections in ``text`` after linking names and resolving overlaps."""
        results: list[RecognizerResult] = []
        # Numbers, phones and dates all need a digit: a third of notes have none.
        recognizers = self._recognizers if _ANY_DIGIT.search(text) else self._no_digit_recognizers
        for recognizer in recognizers:
            results.extend(recognizer.analyze(text, recognizer.supported_entities, None))
        if known:
            results.extend(self._for(known).analyze(text))
        return link_names(results, text)

    def spans(self, text: str, known: Known | None = None) -> list[Span]:
        out: list[Span] = []
        for r in self.analyze(text, known):
            meta = r.recognition_metadata or {}
            out.append((r.entity_type, r.start, r.end, meta.get("domain"), meta.get("canonical")))
        return out


_worker_analyzer: NoteAnalyzer | None = None


def _start_worker(redact_dates: bool, parent_pid: int | None = None) -> None:
    global _worker_analyzer
    if parent_pid is not None:
        exit_with_parent(parent_pid)  # a killed pipeline must not leave its workers behind
    _worker_analyzer = NoteAnalyzer(redact_dates=redact_dates)
    gc.set_threshold(*_BATCH_GC_THRESHOLDS)  # a worker does nothing else


#: Collector thresholds while notes are redacted. A note makes a few hundred short-lived,
#: acyclic objects (tokens, detections) that reference counting frees; at the default 700
#: allocations a young collection ran every few notes and walked the caches too: measured,
#: 10% of the time (191 -> 168 microseconds a note in one process).
_BATCH_GC_THRESHOLDS = (20_000, 20, 20)


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """The batch thresholds in this process for the duration of one batch, then the caller's."""
    before = gc.get_threshold()
    gc.set_threshold(*_BATCH_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _spans_of_chunk(chunk: list[tuple[str, Known | None]]) -> list[list[Span]]:
    assert _worker_analyzer is not None
    return [_worker_analyzer.spans(text, known) for text, known in chunk]


#: Below this many notes a batch is redacted in-process (starting workers costs ~2 s).
PARALLEL_MIN_NOTES = 10_000
_CHUNK = 2_000


class Redactor:
    """Reusable redactor: recognizers are built once; large batches use every core.

    Replacements are spliced in directly rather than through Presidio's
    ``AnonymizerEngine``: the spans are already resolved, and the engine's per-note
    operator set-up cost more than the splice (measured on the corpus, 15% of the time).
    """

    def __init__(
        self, tokenizer: Tokenizer, *, redact_dates: bool = True, workers: int | None = None
    ) -> None:
        self._tokenizer = tokenizer
        self._redact_dates = redact_dates
        self._analyzer = NoteAnalyzer(redact_dates=redact_dates)
        self._workers = workers if workers is not None else len(os.sched_getaffinity(0))
        self._replacement_cache: dict[tuple[str, str], str] = {}
        self._pool: ProcessPoolExecutor | None = None

    def _replacement(self, domain: str, normalized: str) -> str:
        key = (domain, normalized)
        out = self._replacement_cache.get(key)
        if out is None:
            if len(self._replacement_cache) > 200_000:  # bound memory on huge batches
                self._replacement_cache.clear()
            token = self._tokenizer.token_of_normalized(domain, normalized)
            out = self._replacement_cache[key] = f"[{domain}:{token}]"
        return out

    def analyze(self, text: str, known: Known | None = None) -> list[RecognizerResult]:
        """All detections in ``text`` after linking names and resolving overlaps."""
        return self._analyzer.analyze(text, known)

    def redact(self, text: str | None, known: Known | None = None) -> RedactionResult:
        """Redact one note; None is treated as the empty string."""
        if not text:
            return RedactionResult("", [])
        return self._splice(text, self._analyzer.spans(text, known))

    def _splice(self, text: str, spans: Sequence[Span]) -> RedactionResult:
        return RedactionResult(self._spliced(text, spans), [(e, a, b) for e, a, b, _, _ in spans])

    def _spliced(self, text: str, spans: Sequence[Span]) -> str:
        if not spans:
            return text
        # Spans do not overlap (link_names resolved them): splice the replacements in.
        pieces: list[str] = []
        position = 0
        for entity, start, end, domain, canonical in spans:
            pieces.append(text[position:start])
            pieces.append(self._replace(entity, text[start:end], domain, canonical))
            position = end
        pieces.append(text[position:])
        return "".join(pieces)

    def _replace(self, entity: str, matched: str, domain: str | None, canonical: str | None) -> str:
        if entity.startswith("KNOWN_") and domain and canonical:
            return self._replacement(domain, canonical)
        domain = ENTITY_DOMAINS.get(entity)
        if domain is not None:
            if domain == "phone":
                matched = without_extension(matched)  # the number's token, as in the tables
            normalized = normalize(domain, matched)
            return self._replacement(domain, normalized) if normalized else "[redacted]"
        # Unknown entity types must never leak: a generic placeholder.
        return _PLACEHOLDERS.get(entity, "[redacted]")

    def redact_series(
        self, texts: pd.Series, known_per_row: Sequence[Known | None] | None = None
    ) -> pd.Series:
        """Redact a column of notes; ``known_per_row`` aligns positionally with ``texts``.

        From :data:`PARALLEL_MIN_NOTES` notes on, worker processes (one per core) find the
        spans and this process, which alone holds the key, puts the tokens in.
        """
        if known_per_row is not None and len(known_per_row) != len(texts):
            raise ValueError("known_per_row must have one entry per text")
        rows: list[tuple[int, str, Known | None]] = []
        out: list[str | None] = [None] * len(texts)
        for i, text in enumerate(texts.tolist()):
            if text is None or (isinstance(text, float) and text != text):
                continue
            known = known_per_row[i] if known_per_row is not None else None
            rows.append((i, str(text), known))
        # A child's notes side by side: the record's recognizer is built once per batch, and
        # its notes go to one worker, however the source interleaves children.
        rows.sort(key=lambda row: id(row[2]))
        with _fewer_collections():
            if self._workers > 1 and len(rows) >= PARALLEL_MIN_NOTES:
                # Tokens go in here while the workers analyse the next chunks.
                spans = self._spans_in_workers([(text, known) for _, text, known in rows])
                for (i, text, _), found in zip(rows, spans, strict=True):
                    out[i] = self._spliced(text, found)
            else:
                for i, text, known in rows:
                    out[i] = self._spliced(text, self._analyzer.spans(text, known))
        return pd.Series(out, index=texts.index, name=texts.name, dtype=object)

    def _spans_in_workers(self, notes: list[tuple[str, Known | None]]) -> Iterator[list[Span]]:
        chunks = [notes[k : k + _CHUNK] for k in range(0, len(notes), _CHUNK)]
        for chunk in self._worker_pool().map(_spans_of_chunk, chunks):
            yield from chunk

    def _worker_pool(self) -> ProcessPoolExecutor:
        """Workers started once per redactor and kept (their gazetteer and per-record caches
        with them) for every later batch; shut down when the redactor goes."""
        if self._pool is None:
            # A fork server: workers are forked from a clean process that imported this
            # module once (no fork of a threaded caller; no 3 s Presidio/spaCy import each).
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([__name__])
            self._pool = ProcessPoolExecutor(
                max_workers=self._workers,
                mp_context=context,
                initializer=_start_worker,
                initargs=(self._redact_dates, os.getpid()),
            )
            weakref.finalize(self, self._pool.shutdown, wait=False, cancel_futures=True)
        return self._pool


# --- publish-gate scan -------------------------------------------------------

# Long hex runs (our own tokens, hashes) can contain 16-digit stretches that look
# like a NIK; mask them so the gate is not tripped by pseudonyms. Our own ids
# (20261202T081530123456Z) hold a 12-digit run that reads as an Indonesian mobile
# whenever the hour is 08: a release made between 08:00 and 08:59 UTC failed its scan.
_HEX_RUN = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{20,}(?![0-9A-Za-z])")
_OUR_IDS = re.compile(rf"(?<![0-9A-Za-z]){TIMESTAMP_ID}(?![0-9A-Za-z])")


@lru_cache(maxsize=1)
def _scan_recognizers() -> tuple[TextRecognizer, ...]:
    return (KkRecognizer(), NikRecognizer(), IdPhoneRecognizer(), IdEmailRecognizer())


@lru_cache(maxsize=1)
def _prose_recognizers() -> tuple[TextRecognizer, ...]:
    return (shared_person_recognizer(), AddressRecognizer(), SchoolRecognizer())


def scan_for_pii(text: str | None, *, prose: bool = True) -> list[str]:
    """Entity types of identifiers found in ``text``: NIK, KK, phone, e-mail, and with
    ``prose`` the person names, addresses and schools the redactor looks for in notes, so
    that a name that escaped redaction blocks publication.

    ``prose=False`` is for documents the platform writes itself in English (data
    dictionaries, reports), where the name rules, made for Indonesian, would take English
    words for names. Returns one entry per detection and deliberately NOT the matched
    values, so that gate reports and logs never carry the identifiers they found.
    """
    if not text:
        return []
    masked = _OUR_IDS.sub(lambda m: "x" * len(m.group()), text)
    masked = _HEX_RUN.sub(lambda m: "x" * len(m.group()), masked)
    recognizers = _scan_recognizers()
    # A one-word value is a code, a token or a category, not a sentence that could name
    # somebody; codes in snake_case are not names either.
    if prose and " " in masked.strip():
        recognizers += _prose_recognizers()
    results: list[RecognizerResult] = []
    for recognizer in recognizers:
        results.extend(recognizer.analyze(masked, recognizer.supported_entities, None))
    return [r.entity_type for r in resolve_overlaps(results)]
