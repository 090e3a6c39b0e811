"""The redactor on labelled notes written apart from the synthetic generator (issue #9).

Thresholds of the issue's acceptance: recall ≥ 0.99 for NIK, KK, phones, e-mails, dates of
birth and known persons, ≥ 0.95 for people the record does not hold, ≥ 0.90 for street
addresses; precision ≥ 0.90 over every detection (identifier-free notes included); no wrong
link. The tuning corpus is the one the rules were written against, on two seeds (other names,
numbers and template draws). The held-out corpus was written apart (other templates and
names, by another author who did not read the rules); its first measurement is recorded in
``docs/redaction.md``, and the classes of misses it showed were fixed after, so it now guards
against regressions rather than measuring generalisation.
"""

from __future__ import annotations

import pytest

from anonymization.redaction import Redactor
from anonymization.tokens import Tokenizer
from tests.support.redaction_corpus import LabelledNote, build_corpus
from tests.support.redaction_corpus_heldout import build_heldout_corpus
from tests.support.redaction_scoring import (
    KEY,
    RedactorDetector,
    Scores,
    overall_precision,
    score,
)

RECALL_FLOORS = {
    "NIK": 0.99,
    "KK": 0.99,
    "PHONE": 0.99,
    "EMAIL": 0.99,
    "DOB": 0.99,
    "KNOWN_PERSON": 0.99,
    "UNKNOWN_PERSON": 0.95,
    "ADDRESS": 0.90,
}


@pytest.fixture(scope="module")
def detector() -> RedactorDetector:
    tokenizer = Tokenizer(KEY)
    return RedactorDetector(Redactor(tokenizer, workers=1), tokenizer)


@pytest.fixture(scope="module", params=["tuning:20261204", "tuning:1", "held-out:7"])
def corpus(request: pytest.FixtureRequest) -> list[LabelledNote]:
    kind, seed = request.param.split(":")
    return build_corpus(int(seed)) if kind == "tuning" else build_heldout_corpus(int(seed))


@pytest.fixture(scope="module")
def scores(detector: RedactorDetector, corpus: list[LabelledNote]) -> Scores:
    return score(detector, corpus)


@pytest.mark.parametrize(("label", "floor"), sorted(RECALL_FLOORS.items()))
def test_recall_per_identifier_type(scores: Scores, label: str, floor: float) -> None:
    assert scores.spans[label] >= 50
    missed = [m.text for m in scores.missed if m.label == label][:10]
    assert scores.recall(label) >= floor, (scores.recall(label), missed)


def test_no_wrong_link(scores: Scores) -> None:
    assert scores.trap_spans >= 250
    assert scores.total_wrong_links == 0, [(w.text, w.claimed) for w in scores.wrong[:10]]


def test_precision_over_every_detection_clean_notes_included(
    detector: RedactorDetector, corpus: list[LabelledNote]
) -> None:
    assert sum(n.kind == "clean" for n in corpus) >= 300
    assert overall_precision(detector, corpus) >= 0.90


def test_every_note_reads_back_from_its_redaction(
    detector: RedactorDetector, corpus: list[LabelledNote]
) -> None:
    """The scorer could pair every placeholder with its span: nothing was redacted twice
    or out of place."""
    score(detector, corpus[:200])
    assert detector.unparsed == 0


#: Corpus C (``tests/support/redaction_corpus_third.py``), written after A and B without
#: reading the redactor: its first contact is recorded in ``docs/redaction.md``. Classes of
#: misses it showed were fixed by general rules; what remains below the issue's floors (people
#: named once without a cue at a sentence's start, nicknames the record does not hold) is open work, so these floors
#: are today's level and guard against regressions, not the acceptance.
THIRD_CORPUS_FLOORS = {
    "NIK": 0.99,
    "KK": 0.99,
    "PHONE": 0.99,
    "EMAIL": 0.99,
    "DOB": 0.99,
    "KNOWN_PERSON": 0.98,
    "UNKNOWN_PERSON": 0.93,
    "ADDRESS": 0.95,
    "SCHOOL": 0.98,
}


def test_the_third_corpus_holds_its_level(detector: RedactorDetector) -> None:
    from tests.support.redaction_corpus_third import build_third_corpus

    notes = build_third_corpus()
    scores = score(detector, notes)
    below = {
        label: scores.recall(label)
        for label, floor in THIRD_CORPUS_FLOORS.items()
        if scores.recall(label) < floor
    }
    assert not below, below
    assert scores.total_wrong_links == 0, [(w.text, w.claimed) for w in scores.wrong[:10]]
    assert overall_precision(detector, notes) >= 0.90
