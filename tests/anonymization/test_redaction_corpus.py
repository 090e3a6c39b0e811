"""The labelled redaction corpus (tests/support/redaction_corpus.py) and its scorer.

These tests check the *corpus*: determinism, size, label coverage, exact spans, valid numbers,
and independence from the synthetic generator that the redactor was developed against. They
do not judge the redactor (its acceptance thresholds live with the redactor's own tests); the
two scorer tests only check that a perfect detector scores perfectly and that wrong links are
counted.
"""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest
from faker import Faker

from anonymization.tokens import normalize
from ingestion.synthetic.people import PeopleFactory
from ingestion.synthetic.services import institutions as synthetic_institutions
from lakehouse.reference.nik import digits_only, is_valid_nik
from lakehouse.reference.regions import PROVINCE_CODES
from tests.support.redaction_corpus import (
    GROUPS,
    KINDS,
    LABELS,
    LINKED_LABELS,
    LabelledNote,
    Span,
    build_corpus,
    clean_templates,
    identifier_templates,
    name_lists,
    shares_known_word,
    vocabulary,
)
from tests.support.redaction_scoring import Detection, score

#: Given names of ours that Faker's id_ID first-name lists (the synthetic generator's) also
#: hold. Allowed because they are among the commonest Indonesian names, or because the corpus
#: needs them as words ("Putri", "Sari", "Indah"); full names never coincide (see below).
SHARED_FIRST_NAMES = frozenset(
    {"Ayu", "Indah", "Jaya", "Nyoman", "Putri", "Putu", "Rahmat", "Sabri", "Sari", "Suci"}
)
#: Words that announce a person (honorifics, kinship); a name after none of them has no cue.
_CUES = frozenset(
    [
        "ibu", "bu", "pak", "bapak", "bpk.", "sdr.", "sdri.", "kak", "mas", "mbak", "bang", "dik",
        "dek", "om", "tante", "nenek", "nek", "kakek", "kek", "mbah", "oma", "opa", "ustadz",
        "ustad", "ustadzah", "pendeta", "romo", "suster", "mama", "bapa", "teh", "ceu", "kang",
        "aa", "mang", "uda", "uni", "bli", "mbok", "koh", "cik", "ci", "umi", "syarifah", "daeng",
        "teungku", "usi", "bung", "an.", "ananda", "adik", "anak",
    ]
)  # fmt: skip


@pytest.fixture(scope="module")
def corpus() -> list[LabelledNote]:
    return build_corpus()


@pytest.fixture(scope="module")
def faker_names() -> tuple[set[str], set[str]]:
    """(first names, last names) the synthetic generator draws from."""
    people = PeopleFactory(Faker("id_ID"), pool_size=1)
    return (
        set(people.first_male) | set(people.first_female),
        set(people.last_male) | set(people.last_female),
    )


def _text(note: LabelledNote, span: Span) -> str:
    return note.text[span.start : span.end]


def test_deterministic_for_a_seed_and_different_for_another() -> None:
    started = time.perf_counter()
    first = build_corpus(7)
    elapsed = time.perf_counter() - started
    assert build_corpus(7) == first
    other = build_corpus(8)
    same_text = sum(a.text == b.text for a, b in zip(first, other, strict=True))
    assert same_text < len(first) // 20, same_text
    # < 1 s on an idle machine; the bound only catches an accidental blow-up
    assert elapsed < 10, f"{elapsed:.1f} s"


def test_sizes_and_label_coverage(corpus: list[LabelledNote]) -> None:
    kinds = Counter(n.kind for n in corpus)
    assert set(kinds) == set(KINDS)
    assert kinds["identifiers"] >= 1000 and kinds["clean"] >= 300
    assert len({n.note_id for n in corpus}) == len(corpus)
    labels = Counter(s.label for n in corpus for s in n.spans)
    assert set(labels) == set(LABELS)
    assert min(labels.values()) >= 50, labels
    linked = Counter(s.label for n in corpus for s in n.spans if s.links_to is not None)
    unlinked = Counter(s.label for n in corpus for s in n.spans if s.links_to is None)
    for label in LINKED_LABELS:  # both the record's values and third parties' values
        assert linked[label] >= 20 and unlinked[label] >= 20, (label, linked, unlinked)
    assert len(identifier_templates()) >= 60 and len(clean_templates()) >= 40
    used = Counter(n.template[:2] for n in {n.template: n for n in corpus}.values())
    assert used["id"] == len(identifier_templates()) and used["cl"] == len(clean_templates())


def test_every_name_tradition_is_present(corpus: list[LabelledNote]) -> None:
    groups = Counter(g for n in corpus for g in n.groups)
    assert set(groups) == set(GROUPS)
    assert min(groups.values()) >= 50, groups


def test_wrong_link_traps(corpus: list[LabelledNote]) -> None:
    trap_notes = [
        n
        for n in corpus
        if any(s.label == "UNKNOWN_PERSON" and shares_known_word(n, s) for s in n.spans)
    ]
    assert len(trap_notes) >= 100
    for note in trap_notes:
        fulls = {v.casefold() for v in note.known["person_name"]}
        for s in note.spans:
            if s.label == "UNKNOWN_PERSON":
                assert _text(note, s).casefold() not in fulls, (note.note_id, _text(note, s))


def test_spans_are_exact_and_do_not_overlap(corpus: list[LabelledNote]) -> None:
    for note in corpus:
        assert note.text.isascii()
        previous_end = 0
        for s in sorted(note.spans, key=lambda s: s.start):
            assert s.label in LABELS
            assert 0 <= previous_end <= s.start < s.end <= len(note.text), note.note_id
            previous_end = s.end
            text = _text(note, s)
            assert text[0].isalnum() or text[0] in "+(", (note.note_id, text)
            assert text[-1].isalnum(), (note.note_id, text)
            assert "\n" not in text, (note.note_id, text)
        if note.kind == "identifiers":
            assert note.spans, note.note_id
        else:
            assert note.spans == [], note.note_id


def test_links_point_at_record_values(corpus: list[LabelledNote]) -> None:
    for note in corpus:
        for s in note.spans:
            text = _text(note, s)
            if s.label not in LINKED_LABELS:
                assert s.links_to is None, (note.note_id, s)
                continue
            domain = LINKED_LABELS[s.label]
            known = note.known.get(domain, [])
            if s.label == "KNOWN_PERSON":
                if s.links_to is not None:
                    assert s.links_to in known and s.links_to not in note.aliases
                continue
            value = normalize(domain, text)
            held = {normalize(domain, v) for v in known}
            if s.links_to is not None:
                assert s.links_to in known and value == normalize(domain, s.links_to), text
            else:  # a third party's number, or one the record lacks
                assert value not in held, (note.note_id, text)


def test_shared_name_parts_are_not_linked(corpus: list[LabelledNote]) -> None:
    """A part of a name that several known persons carry is labelled without a link."""
    unlinked = 0
    for note in corpus:
        names = [
            tuple(w.casefold() for w in v.split())
            for v in note.known.get("person_name", [])
            if v not in note.aliases
        ]
        for s in note.spans:
            if s.label != "KNOWN_PERSON" or s.links_to is not None:
                continue
            unlinked += 1
            words = tuple(_text(note, s).casefold().split())
            owners = [
                n for n in names if any(n[i : i + len(words)] == words for i in range(len(n)))
            ]
            if owners:  # a typo'd mention matches nobody; others must be shared
                assert len(owners) >= 2, (note.note_id, _text(note, s))
    assert unlinked >= 20


def test_numbers_are_valid(corpus: list[LabelledNote]) -> None:
    for note in corpus:
        for nik in note.known.get("nik", []):
            assert is_valid_nik(nik), nik
        for kk in note.known.get("kk_number", []):
            assert len(kk) == 16 and kk.isdigit() and kk[:2] in PROVINCE_CODES, kk
        for s in note.spans:
            digits = digits_only(_text(note, s))
            if s.label == "NIK":
                assert is_valid_nik(digits), (note.note_id, _text(note, s))
            elif s.label == "KK":
                assert len(digits) == 16 and digits[:2] in PROVINCE_CODES
            elif s.label == "PHONE":
                national = normalize("phone", _text(note, s)) or ""
                assert national.startswith("0") and 9 <= len(national) <= 13, _text(note, s)


def test_dates_addresses_and_schools_have_their_parts(corpus: list[LabelledNote]) -> None:
    address_word = re.compile(
        r"\b(jl|jalan|gg|gang|perum|btn|dusun|desa|kp|banjar|gampong|jorong)\b", re.IGNORECASE
    )
    for note in corpus:
        for s in note.spans:
            text = _text(note, s)
            if s.label == "DOB":  # day, month and year: never a year or month-year alone
                assert len(re.findall(r"[0-9]+|[A-Za-z]+", text)) == 3, text
            elif s.label == "ADDRESS":
                assert address_word.search(text), text
            elif s.label == "SCHOOL":
                assert re.search(r"\b(kelas|kls)\b", text, re.IGNORECASE), text


def test_the_forms_case_workers_write(corpus: list[LabelledNote]) -> None:
    caps = sum(n.text == n.text.upper() for n in corpus)
    lower = sum(n.text == n.text.lower() for n in corpus)
    assert caps >= 20 and lower >= 20
    known_words = Counter[str]()
    typos = single_word = uncued = 0
    for note in corpus:
        words = {w.casefold() for v in note.known.get("person_name", []) for w in v.split()}
        single_word += sum(
            1 for v in note.known.get("person_name", []) if " " not in v and v not in note.aliases
        )
        for s in note.spans:
            text = _text(note, s)
            if s.label == "KNOWN_PERSON":
                known_words.update(text.split())
                typos += any(w.casefold() not in words for w in text.split())
            elif s.label == "UNKNOWN_PERSON":
                before = note.text[: s.start].split()
                uncued += not before or before[-1].casefold() not in _CUES
    assert typos >= 20 and single_word >= 20 and uncued >= 50


def test_names_do_not_come_from_the_synthetic_generator(
    corpus: list[LabelledNote], faker_names: tuple[set[str], set[str]]
) -> None:
    """Our lists share no last name with the generator's, so no full name of ours can be one
    it makes (its full names are first [+ middle] + last, from these lists); checked on the
    corpus's own full names too. A few common first names are shared (SHARED_FIRST_NAMES)."""
    firsts, lasts = faker_names
    ours = {name for names in name_lists().values() for name in names}
    assert not ours & lasts, sorted(ours & lasts)
    assert ours & firsts == SHARED_FIRST_NAMES

    def synthetic(full: str) -> bool:
        words = full.split()
        return (
            len(words) in (2, 3)
            and words[0] in firsts
            and words[-1] in lasts
            and all(w in firsts for w in words[1:-1])
        )

    for note in corpus:
        for value in note.known.get("person_name", []):
            assert not synthetic(value), value
        for s in note.spans:
            if s.label in ("KNOWN_PERSON", "UNKNOWN_PERSON"):
                assert not synthetic(_text(note, s).title()), _text(note, s)


def test_institutions_are_not_the_synthetic_generators() -> None:
    theirs = [
        *synthetic_institutions._GENERAL_NAMES,
        *synthetic_institutions._RELIGIOUS_NAMES,
        *synthetic_institutions._DISABILITY_NAMES,
    ]
    pattern = re.compile("|".join(re.escape(n) for n in theirs), re.IGNORECASE)
    voc = vocabulary()
    ours = [*voc["institution"], *voc["office"], *voc["hospital"], *voc["islamic_school"]]
    ours += voc["saint"]
    assert not [name for name in ours if pattern.search(name)]


def test_clean_notes_tempt_a_redactor(corpus: list[LabelledNote]) -> None:
    """Clean notes are full of name-like words, and often their record's names are words of
    the note ("Panti Asuhan Bunga Bangsa" and a child named Bunga)."""
    clean = [n for n in corpus if n.kind == "clean"]
    tempted = 0
    for note in clean:
        text = note.text.casefold()
        words = {w.casefold() for v in note.known.get("person_name", []) for w in v.split()}
        tempted += any(re.search(rf"\b{re.escape(w)}\b", text) for w in words if len(w) >= 3)
    assert tempted >= len(clean) // 5
    capitalised = sum(len(re.findall(r"\b[A-Z][a-z]+", n.text)) for n in clean)
    assert capitalised >= 3 * len(clean)


# --- the scorer -------------------------------------------------------------------------------


def _oracle(note: LabelledNote) -> list[Detection]:
    """What a perfect redactor would report for ``note``."""
    out = []
    for s in note.spans:
        text = _text(note, s)
        if s.label == "KNOWN_PERSON":
            canonical = normalize("person_name", s.links_to or text)
            out.append(Detection("KNOWN_PERSON_NAME", s.start, s.end, "person_name", canonical))
        elif s.label in LINKED_LABELS:
            domain = LINKED_LABELS[s.label]
            value = normalize(domain, s.links_to or text)
            out.append(Detection(f"ID_{s.label}", s.start, s.end, domain, value))
        else:
            out.append(Detection(f"ID_{s.label}", s.start, s.end))
    return out


def test_a_perfect_detector_scores_perfectly(corpus: list[LabelledNote]) -> None:
    by_text = {n.text: n for n in corpus}
    scores = score(lambda text, known: _oracle(by_text[text]), corpus)
    assert scores.overall_recall == 1.0 and scores.precision == 1.0
    assert scores.clean_precision == 1.0 and scores.detections_per_clean_note == 0
    assert scores.link_rate == 1.0 and scores.total_wrong_links == 0
    assert scores.trap_spans >= 100 and scores.false_attributions == 0


def test_wrong_links_are_counted(corpus: list[LabelledNote]) -> None:
    """Give every third party the first known person's token: every one is a wrong link."""
    by_text = {n.text: n for n in corpus}

    def careless(text: str, known: dict[str, list[str]]) -> list[Detection]:
        note = by_text[text]
        first = normalize("person_name", known["person_name"][0])
        return [
            Detection("KNOWN_PERSON_NAME", d.start, d.end, "person_name", first)
            if d.entity_type == "ID_UNKNOWN_PERSON"
            else d
            for d in _oracle(note)
        ]

    scores = score(careless, corpus)
    assert scores.wrong_links["UNKNOWN_PERSON"] == scores.spans["UNKNOWN_PERSON"]
    assert scores.trap_wrong == scores.trap_spans
    assert scores.total_wrong_links == scores.spans["UNKNOWN_PERSON"]
    assert scores.overall_recall == 1.0
