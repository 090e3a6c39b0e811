"""Corpus C (tests/support/redaction_corpus_third.py) is well formed: size, labels, links, traps.

These tests check the corpus only; they never run the redactor.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from itertools import pairwise

import pytest

from tests.support.redaction_corpus import LabelledNote
from tests.support.redaction_corpus_third import (
    DEFAULT_SEED,
    LABELS,
    build_third_corpus,
    corpus_digest,
    name_words,
    stats,
    trap_spans,
)

#: Record domain of each label whose spans may link to a record value.
LINK_DOMAINS = {"NIK": "nik", "KK": "kk_number", "PHONE": "phone", "EMAIL": "email"}


@pytest.fixture(scope="module")
def notes() -> list[LabelledNote]:
    return build_third_corpus(DEFAULT_SEED)


def _digits(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    return "0" + digits[2:] if digits.startswith("62") else digits


def test_size(notes: list[LabelledNote]) -> None:
    kinds = Counter(n.kind for n in notes)
    assert kinds["identifiers"] >= 1000
    assert kinds["clean"] >= 300
    assert set(kinds) == {"identifiers", "clean"}
    assert len({n.note_id for n in notes}) == len(notes)


def test_identifier_notes_have_spans_and_clean_notes_none(notes: list[LabelledNote]) -> None:
    for n in notes:
        assert bool(n.spans) == (n.kind == "identifiers"), n.note_id
        assert n.known.get("person_name"), n.note_id


def test_spans_are_exact_substrings(notes: list[LabelledNote]) -> None:
    for n in notes:
        for s in n.spans:
            assert s.label in LABELS, (n.note_id, s)
            assert 0 <= s.start < s.end <= len(n.text), (n.note_id, s)
            text = n.text[s.start : s.end]
            assert text == text.strip() and text, (n.note_id, text)
            assert text[0].isalnum() or text[0] in "+(", (n.note_id, text)
            assert text[-1].isalnum() or text[-1] in ".')", (n.note_id, text)


def test_no_overlapping_spans(notes: list[LabelledNote]) -> None:
    for n in notes:
        ordered = sorted(n.spans, key=lambda s: s.start)
        for a, b in pairwise(ordered):
            assert a.end <= b.start, (n.note_id, a, b)


def test_links_point_into_the_record(notes: list[LabelledNote]) -> None:
    for n in notes:
        names = set(n.known["person_name"]) - set(n.aliases)
        for s in n.spans:
            text = n.text[s.start : s.end]
            if s.label == "KNOWN_PERSON" and s.links_to is not None:
                assert s.links_to in names, (n.note_id, text, s.links_to)
            elif s.label in LINK_DOMAINS and s.links_to is not None:
                assert s.links_to in n.known[LINK_DOMAINS[s.label]], (n.note_id, text)
                if s.label == "EMAIL":
                    assert text.lower() == s.links_to.lower(), (n.note_id, text)
                else:
                    assert _digits(text) == _digits(s.links_to), (n.note_id, text, s.links_to)
            else:
                assert s.links_to is None, (n.note_id, s)


def test_known_person_parts_and_strangers(notes: list[LabelledNote]) -> None:
    """A linked mention's name words belong to its person; a stranger is never a record part."""
    for n in notes:
        people = [v for v in n.known["person_name"] if v not in n.aliases]
        for s in n.spans:
            words = name_words(n.text[s.start : s.end])
            if s.label == "KNOWN_PERSON" and s.links_to is not None:
                text = n.text[s.start : s.end]
                if text in n.aliases or text.lower() == s.links_to.lower():
                    continue  # a nickname, or a full name that is also a part of another
                holders = [p for p in people if words <= name_words(p)]
                assert holders in ([], [s.links_to]), (n.note_id, s)  # [] for typos
            if s.label == "UNKNOWN_PERSON":
                assert not any(words <= name_words(p) for p in people), (n.note_id, s)


def test_deterministic_digest(notes: list[LabelledNote]) -> None:
    assert corpus_digest(build_third_corpus(DEFAULT_SEED)) == corpus_digest(notes)
    assert corpus_digest(build_third_corpus(DEFAULT_SEED + 1)) != corpus_digest(notes)


def test_every_label_is_well_represented(notes: list[LabelledNote]) -> None:
    counts = stats(notes).spans
    for label in LABELS:
        assert counts[label] >= 50, (label, counts[label])
    linked = stats(notes).linked
    for label in ("KNOWN_PERSON", "NIK", "KK", "PHONE", "EMAIL"):
        assert linked[label] >= 20, (label, linked[label])
    shared_parts = sum(
        1 for n in notes for s in n.spans if s.label == "KNOWN_PERSON" and s.links_to is None
    )
    assert shared_parts >= 50


def test_wrong_link_traps(notes: list[LabelledNote]) -> None:
    traps = [s for n in notes for s in trap_spans(n)]
    assert len(traps) >= 250
    assert stats(notes).traps == len(traps)


def test_traditions_templates_and_forms(notes: list[LabelledNote]) -> None:
    st = stats(notes)
    assert len(st.traditions) >= 20
    assert len([t for t in st.templates if not t.startswith("c_")]) >= 50
    assert len([t for t in st.templates if t.startswith("c_")]) >= 30
    texts = "\n".join(n.text for n in notes)
    for marker in ("Hadir:", "TTL", "br.", " bin ", "Dg. ", "Umbu ", "Ni ", "La Ode", "Lalu "):
        assert marker in texts, marker
    assert any(n.text == n.text.upper() for n in notes if n.kind == "identifiers")
    assert any(n.text == n.text.lower() for n in notes if n.kind == "identifiers")


def test_clean_notes_reuse_record_words(notes: list[LabelledNote]) -> None:
    """Most clean notes use a word of a record name as an ordinary word ("sabar", "bintang")."""
    reused = 0
    clean = [n for n in notes if n.kind == "clean"]
    for n in clean:
        words = set().union(*(name_words(v) for v in n.known["person_name"]))
        reused += any(re.search(rf"\b{re.escape(w)}\b", n.text.lower()) for w in words)
    assert reused >= len(clean) // 2


def test_generation_is_fast() -> None:
    started = time.perf_counter()
    build_third_corpus(DEFAULT_SEED + 7)
    assert time.perf_counter() - started < 10
