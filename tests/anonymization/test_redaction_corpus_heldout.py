"""Corpus B, the held-out redaction corpus (``tests/support/redaction_corpus_heldout.py``).

These tests check the corpus itself (sizes, exact spans, labels that follow corpus A's rules,
determinism, independence from corpus A's names); they never run the redactor.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from anonymization.tokens import normalize
from lakehouse.reference.nik import digits_only, is_valid_nik
from tests.support.redaction_corpus_heldout import (
    CLEAN_TEMPLATES,
    CORPUS_A_NAMES_FILE,
    DEFAULT_SEED,
    IDENTIFIER_TEMPLATES,
    LABELS,
    LabelledNote,
    Span,
    build_heldout_corpus,
    corpus_a_names,
    corpus_digest,
    is_trap,
    main,
    nicknames,
)

REPO = Path(__file__).resolve().parents[2]
DOMAINS = {"person_name", "nik", "kk_number", "phone", "email", "birth_date", "address", "place"}
LINKED = {"KNOWN_PERSON": "person_name", "NIK": "nik", "KK": "kk_number", "PHONE": "phone"}
LINKED |= {"EMAIL": "email"}
MONTHS = (
    "januari|februari|pebruari|maret|april|mei|juni|juli|agustus|september|oktober|november|"
    "nopember|desember|jan|feb|peb|mar|mrt|apr|jun|jul|agt|agust|sep|sept|okt|nov|nop|des"
)
FULL_DATE = re.compile(
    rf"\b\d{{1,2}}[ ./-](?:\d{{1,2}}|(?:{MONTHS})\.?)[ ./-]'?\d{{2,4}}\b|\b\d{{4}}-\d{{2}}-\d{{2}}\b",
    re.IGNORECASE,
)


_SCHOOLS = r"\b(SD|SDN|MI|SMP|SMPN|MTs|MTsN|SMA|SMAN|SMK|SMKN|MAN)\b"
SCHOOL_WITH_CLASS = re.compile(
    rf"\b(kelas|kls)\s+[\dIVX]+\b[^.]*{_SCHOOLS}|{_SCHOOLS}[^.]*\b(kelas|kls)\s+[\dIVX]", re.I
)


@pytest.fixture(scope="module")
def corpus() -> list[LabelledNote]:
    return build_heldout_corpus(DEFAULT_SEED)


def _identifier_notes(corpus: list[LabelledNote]) -> list[LabelledNote]:
    return [n for n in corpus if n.kind == "identifiers"]


def _words(text: str) -> tuple[str, ...]:
    return tuple(w.casefold() for w in text.split())


def _one_letter_apart(a: str, b: str) -> bool:
    """``a`` is ``b`` with one letter doubled or dropped (or the other way round)."""
    if abs(len(a) - len(b)) != 1:
        return False
    long, short = (a, b) if len(a) > len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _run_in(words: tuple[str, ...], run: tuple[str, ...], typo: bool) -> bool:
    n = len(run)
    for i in range(len(words) - n + 1):
        window = words[i : i + n]
        if window == run:
            return True
        if typo and all(
            w == r or _one_letter_apart(w, r) for w, r in zip(window, run, strict=True)
        ):
            return True
    return False


# --- size and coverage --------------------------------------------------------------------


def test_sizes_and_templates(corpus: list[LabelledNote]) -> None:
    kinds = Counter(n.kind for n in corpus)
    assert kinds["identifiers"] >= 600
    assert kinds["clean"] >= 200
    assert set(kinds) == {"identifiers", "clean"}
    assert len(IDENTIFIER_TEMPLATES) >= 40
    assert len(CLEAN_TEMPLATES) >= 30
    used = Counter(n.template for n in corpus)
    assert {f"id{i:02d}" for i in range(len(IDENTIFIER_TEMPLATES))} <= set(used)
    assert {f"cl{i:02d}" for i in range(len(CLEAN_TEMPLATES))} <= set(used)
    assert len({n.note_id for n in corpus}) == len(corpus)


def test_every_label_is_well_represented(corpus: list[LabelledNote]) -> None:
    labels = Counter(s.label for n in corpus for s in n.spans)
    assert set(labels) == set(LABELS)
    assert all(labels[label] >= 30 for label in LABELS), labels
    linked = Counter(s.label for n in corpus for s in n.spans if s.links_to is not None)
    unlinked = Counter(s.label for n in corpus for s in n.spans if s.links_to is None)
    for label in ("NIK", "KK", "PHONE", "EMAIL"):  # record values and third-party values
        assert linked[label] >= 10 and unlinked[label] >= 10, label
    assert linked["KNOWN_PERSON"] >= 500
    assert unlinked["KNOWN_PERSON"] >= 5  # parts shared by several known persons


def test_wrong_link_traps(corpus: list[LabelledNote]) -> None:
    traps = [(n, s) for n in corpus for s in n.spans if is_trap(n, s)]
    assert len(traps) >= 100
    for note, span in traps:
        fulls = {v.casefold() for v in note.known["person_name"]}
        assert span.label == "UNKNOWN_PERSON" and span.links_to is None
        text = note.text[span.start : span.end]
        assert len(text.split()) >= 2, (note.note_id, text)  # written with their own other part
        assert text.casefold() not in fulls, (note.note_id, text)


# --- exact spans and labels ---------------------------------------------------------------


def test_spans_are_exact_and_disjoint(corpus: list[LabelledNote]) -> None:
    for note in corpus:
        assert note.text.isascii()
        previous_end = 0
        for span in note.spans:
            assert isinstance(span, Span)
            assert span.label in LABELS
            assert previous_end <= span.start < span.end <= len(note.text), note.note_id
            previous_end = span.end
            text = note.text[span.start : span.end]
            assert text == text.strip(), (note.note_id, text)
            assert text[0].isalnum() or text[0] in "+(", (note.note_id, text)
            assert text[-1].isalnum() or text[-1] == ")", (note.note_id, text)
            if span.label not in LINKED:
                assert span.links_to is None


SHAPES = {
    "NIK": re.compile(r"[\d .\-]+"),
    "KK": re.compile(r"[\d .\-]+"),
    "PHONE": re.compile(r"\+?[\d() .\-]+"),
    "EMAIL": re.compile(r"[\w.+\-]+@[\w\-]+(\.[\w\-]+)+"),
    "DOB": FULL_DATE,
    "ADDRESS": re.compile(
        r"(jl|jln|jalan|gg|gang|perum|perumahan|komplek|komp|btn|blok|dusun|dsn|kp|kampung|"
        r"banjar|br|jorong|jr|gampong|gp|huta|lr|lorong)\b.*",
        re.IGNORECASE,
    ),
    "SCHOOL": re.compile(
        r"(kelas|kls) \S+.*\b(SD|SDN|MI|SMP|SMPN|MTs|MTsN|SMA|SMAN|SMK|SMKN|MAN)\b.*"
        r"|.*\b(SD|SDN|MI|SMP|SMPN|MTs|MTsN|SMA|SMAN|SMK|SMKN|MAN)\b.* (kelas|kls) \S+.*",
        re.IGNORECASE,
    ),
}


def test_identifier_spans_have_the_shape_of_their_label(corpus: list[LabelledNote]) -> None:
    for note in corpus:
        for span in note.spans:
            text = note.text[span.start : span.end]
            shape = SHAPES.get(span.label)
            if shape is not None:
                assert shape.fullmatch(text), (note.note_id, span.label, text)
            if span.label in ("NIK", "KK"):
                assert len(digits_only(text)) == 16, (note.note_id, text)
            if span.label == "PHONE":
                national = normalize("phone", text)
                assert national is not None and national.startswith("0"), text
                assert 9 <= len(national) <= 14, text


def test_nik_values_are_valid(corpus: list[LabelledNote]) -> None:
    niks = [
        digits_only(n.text[s.start : s.end]) for n in corpus for s in n.spans if s.label == "NIK"
    ]
    niks += [v for n in corpus for v in n.known.get("nik", [])]
    assert len(niks) >= 30
    assert all(is_valid_nik(nik) for nik in niks), [k for k in niks if not is_valid_nik(k)]


def test_linked_values_are_the_records_own(corpus: list[LabelledNote]) -> None:
    """A linked number or e-mail is the record's value in another spelling; an unlinked one
    (a third party's, or one the record lacks) is none of the record's values."""
    for note in corpus:
        for span in note.spans:
            if span.label not in ("NIK", "KK", "PHONE", "EMAIL"):
                continue
            domain = LINKED[span.label]
            held = {normalize(domain, v) for v in note.known.get(domain, [])}
            value = normalize(domain, note.text[span.start : span.end])
            if span.links_to is not None:
                assert span.links_to in note.known[domain], (note.note_id, span)
                assert value == normalize(domain, span.links_to), (note.note_id, span)
            else:
                assert value not in held, (note.note_id, span)


def test_known_person_links_follow_the_rules(corpus: list[LabelledNote]) -> None:
    """links_to names the one record person a mention can denote; None when the mentioned
    part occurs in several known names. Typos are one letter doubled or dropped."""
    nicks = {n.casefold() for values in nicknames().values() for n in values}
    for note in _identifier_notes(corpus):
        persons = [v for v in note.known["person_name"] if v not in note.aliases]
        for span in note.spans:
            if span.label != "KNOWN_PERSON":
                continue
            words = _words(note.text[span.start : span.end])
            owners = [p for p in persons if _run_in(_words(p), words, typo=False)]
            owners += [
                note.aliases[a] for a in note.aliases if _words(a) == words and a not in owners
            ]
            if not owners and len(words) == 1 and words[0] in nicks:
                continue  # a nickname the record does not hold (its owner is the generator's)
            typo = not owners
            if typo:  # a typed name: the persons whose name it misspells
                owners = [p for p in persons if _run_in(_words(p), words, typo=True)]
            if span.links_to is None:
                assert len(set(owners)) >= 2, (note.note_id, words, persons)
                continue
            assert span.links_to in persons, (note.note_id, span.links_to)
            if owners:
                exact = [p for p in persons if _words(p) == words]
                if typo:
                    exact = [p for p in persons if len(_words(p)) == len(words) and p in owners]
                assert set(exact or owners) == {span.links_to}, (note.note_id, words, owners)
            else:
                raise AssertionError((note.note_id, words, persons))


def test_unknown_persons_are_not_record_persons(corpus: list[LabelledNote]) -> None:
    for note in corpus:
        fulls = {_words(v) for v in note.known.get("person_name", [])}
        for span in note.spans:
            if span.label == "UNKNOWN_PERSON":
                assert span.links_to is None
                assert _words(note.text[span.start : span.end]) not in fulls, note.note_id


def test_known_records_have_the_ingestion_format(corpus: list[LabelledNote]) -> None:
    for note in corpus:
        assert set(note.known) <= DOMAINS
        assert {"person_name", "birth_date", "address", "place"} <= set(note.known)
        for values in note.known.values():
            assert values and all(isinstance(v, str) and v for v in values)
        for value in note.known["birth_date"]:
            dt.date.fromisoformat(value)
        for alias, full in note.aliases.items():
            assert alias in note.known["person_name"] and full in note.known["person_name"]


# --- clean notes --------------------------------------------------------------------------


def test_clean_notes_hold_no_identifier(corpus: list[LabelledNote]) -> None:
    clean = [n for n in corpus if n.kind == "clean"]
    for note in clean:
        assert note.spans == []
        assert "@" not in note.text
        assert not FULL_DATE.search(note.text), note.text
        assert not re.search(r"\d[\d .\-]{7,}\d", note.text), note.text  # no phone or NIK
        assert not re.search(r"\b(jl|jalan|gg|gang|rt|rw|no)\b\.?\s*\d", note.text, re.I)
        assert not SCHOOL_WITH_CLASS.search(note.text), note.text
    # in many clean notes the record holds a name that is also a word of the note
    collisions = 0
    for note in clean:
        words = {w.casefold() for w in re.findall(r"[A-Za-z]+", note.text)}
        names = {w.casefold() for v in note.known["person_name"] for w in v.split()}
        collisions += bool(words & names)
    assert collisions >= len(clean) // 4


# --- determinism and independence ---------------------------------------------------------


def test_deterministic_per_seed(corpus: list[LabelledNote]) -> None:
    digest = corpus_digest(corpus)
    assert corpus_digest(build_heldout_corpus(DEFAULT_SEED)) == digest
    assert corpus_digest(build_heldout_corpus(DEFAULT_SEED + 1)) != digest
    # and across processes (string hashing is salted per process)
    code = (
        "from tests.support.redaction_corpus_heldout import build_heldout_corpus, corpus_digest;"
        f"print(corpus_digest(build_heldout_corpus({DEFAULT_SEED})))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == digest


def _corpus_a_entries() -> set[str]:
    """Corpus A's name entries, read here independently of the module under test."""
    entries: set[str] = set()
    for raw in CORPUS_A_NAMES_FILE.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("["):
            entries.update(" ".join(e.split()).casefold() for e in line.split(",") if e.strip())
    return entries


def test_full_names_are_disjoint_from_corpus_a(corpus: list[LabelledNote]) -> None:
    entries = _corpus_a_entries()
    composed = corpus_a_names()
    assert entries <= composed and len(composed) > len(entries)
    fulls = {v for n in corpus for v in n.known["person_name"] if v not in n.aliases}
    fulls |= {
        n.text[s.start : s.end]
        for n in corpus
        for s in n.spans
        if s.label == "UNKNOWN_PERSON" and is_trap(n, s)
    }
    assert len(fulls) > 1000
    clashes = sorted(f for f in fulls if " ".join(f.split()).casefold() in composed)
    assert clashes == []


def test_no_name_part_is_a_faker_last_name(corpus: list[LabelledNote]) -> None:
    """The synthetic generator's full names end in a Faker ``id_ID`` last name: no word of
    ours is one, so no name of corpus B is one the generator can produce."""
    person = pytest.importorskip("faker.providers.person.id_ID")
    provider = person.Provider
    last = {w.casefold() for w in (*provider.last_names_male, *provider.last_names_female)}
    fulls = {v for n in corpus for v in n.known["person_name"] if v not in n.aliases}
    fulls |= {n.text[s.start : s.end] for n in corpus for s in n.spans if is_trap(n, s)}
    assert sorted(f for f in fulls if any(w.casefold() in last for w in f.split())) == []


def test_statistics_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "wrong-link traps" in out and "KNOWN_PERSON" in out
