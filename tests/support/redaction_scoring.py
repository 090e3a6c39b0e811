"""Scores a redactor on the labelled corpus of :mod:`tests.support.redaction_corpus`.

Interface
---------
The scorer takes a *detector*: ``detect(text, known) -> [Detection(entity_type, start, end,
domain, canonical)]``, spans in the original text and, per detection, the token domain and the
canonical value whose token the redacted text shows there (both None for a placeholder without
a token: ``[date]``, ``[person]``). Canonicals rather than tokens keep the scorer free of keys;
the domain is carried rather than derived from the entity type because what matters is the
token an analyst sees, whatever recognizer produced it.

:class:`RedactorDetector` adapts a ``Redactor`` by reading its ``redact()`` output, not by
re-implementing it: it pairs each entity of ``RedactionResult.entities`` with the placeholder
that replaced it, and turns the ``[domain:token]`` into the canonical of the record value (or
of the matched text) that has that token; a token of nothing it can name gets an opaque
canonical ("?<token>"), which is never a link and never a wrong link. So the scores stay true
when the redactor's internals change (the in-progress redactor strips phone extensions before
tokenising, and shows unlinked names as ``[person]``).

Measures
--------
* **Recall per label**: a span is *caught* when every alphanumeric character of it lies inside
  some detection (any type: a name hidden as a phone is still hidden).
* **Clean notes**: the share with no detection at all, and detections per clean note.
* **Precision on identifier notes**: the share of detected alphanumeric characters that lie
  inside some labelled span.
* **Links**: of the caught spans that carry ``links_to``, the share that some overlapping
  detection shows with exactly the record value's token (the table's token).
* **Wrong links**, counted once per span: a detection overlapping

  - an ``UNKNOWN_PERSON`` span or a third-party NIK/KK/phone/e-mail (``links_to`` None) that is
    a ``KNOWN_*`` detection or shows the token of a record value;
  - a ``KNOWN_PERSON`` span with ``links_to`` None (a part shared by several known persons)
    that shows one specific known person's token (a full name, or a nickname the record
    holds); the token of the shared word alone ("hasibuan") is the intended non-link;
  - a span with ``links_to`` that shows the token of a *different* record value (another
    person, another number). The same person's nickname token (``aliases``), or a token of a
    value the record does not hold, is a lost link, not a wrong one.

  Wrong links on traps (third parties sharing a first name or surname with a known person)
  are reported separately.
* **Throughput**: notes per second of the detector (for :class:`RedactorDetector`: of
  ``Redactor.redact``) over the whole corpus.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from anonymization.redaction import Redactor
from anonymization.tokens import Tokenizer, normalize
from tests.support.redaction_corpus import (
    DEFAULT_SEED,
    LABELS,
    LINKED_LABELS,
    LabelledNote,
    Span,
    build_corpus,
    shares_known_word,
)

__all__ = ["Detection", "Detector", "RedactorDetector", "Scores", "score"]


class Detection(NamedTuple):
    """One detection; ``domain``/``canonical`` name the token shown there (None: no token)."""

    entity_type: str
    start: int
    end: int
    domain: str | None = None
    canonical: str | None = None


Detector = Callable[[str, dict[str, list[str]]], Sequence[Detection]]
Claim = tuple[str, str]  # (token domain, canonical)

#: Labels whose spans, when ``links_to`` is None, belong to nobody in the record.
_THIRD_PARTY_LABELS = frozenset({"UNKNOWN_PERSON", "NIK", "KK", "PHONE", "EMAIL"})


@dataclass(frozen=True)
class Miss:
    note_id: str
    label: str
    text: str


@dataclass(frozen=True)
class WrongLink:
    note_id: str
    label: str
    text: str
    claimed: str  # "domain:canonical" the detection carries


@dataclass
class Scores:
    """Raw counts, with the rates as properties; ``missed`` and ``wrong`` list the spans."""

    notes: int = 0
    seconds: float = 0.0
    spans: Counter[str] = field(default_factory=Counter)
    caught: Counter[str] = field(default_factory=Counter)
    linked_caught: int = 0
    linked_correct: int = 0
    wrong_links: Counter[str] = field(default_factory=Counter)
    wrong_link_notes: int = 0
    trap_spans: int = 0
    trap_wrong: int = 0
    clean_notes: int = 0
    clean_flagged: int = 0
    clean_detections: Counter[str] = field(default_factory=Counter)
    detected_chars: int = 0
    detected_chars_in_spans: int = 0
    false_attributions: int = 0
    missed: list[Miss] = field(default_factory=list)
    wrong: list[WrongLink] = field(default_factory=list)
    clean_examples: list[tuple[str, str, str]] = field(default_factory=list)

    def recall(self, label: str) -> float:
        return self.caught[label] / self.spans[label] if self.spans[label] else float("nan")

    @property
    def overall_recall(self) -> float:
        total = sum(self.spans.values())
        return sum(self.caught.values()) / total if total else float("nan")

    @property
    def clean_precision(self) -> float:
        """Share of clean notes with no detection at all."""
        if not self.clean_notes:
            return float("nan")
        return (self.clean_notes - self.clean_flagged) / self.clean_notes

    @property
    def detections_per_clean_note(self) -> float:
        if not self.clean_notes:
            return float("nan")
        return sum(self.clean_detections.values()) / self.clean_notes

    @property
    def precision(self) -> float:
        """Share of detected characters (identifier notes) inside labelled spans."""
        if not self.detected_chars:
            return float("nan")
        return self.detected_chars_in_spans / self.detected_chars

    @property
    def link_rate(self) -> float:
        """Share of caught record values that carry the record value's own token."""
        return self.linked_correct / self.linked_caught if self.linked_caught else float("nan")

    @property
    def total_wrong_links(self) -> int:
        return sum(self.wrong_links.values())

    @property
    def notes_per_second(self) -> float:
        return self.notes / self.seconds if self.seconds else float("inf")

    def table(self) -> str:
        lines = [f"{'label':<16}{'spans':>7}{'caught':>8}{'recall':>9}{'wrong links':>13}"]
        for label in LABELS:
            lines.append(
                f"{label:<16}{self.spans[label]:>7}{self.caught[label]:>8}"
                f"{self.recall(label):>9.1%}{self.wrong_links[label]:>13}"
            )
        lines.append(
            f"{'all':<16}{sum(self.spans.values()):>7}{sum(self.caught.values()):>8}"
            f"{self.overall_recall:>9.1%}{self.total_wrong_links:>13}"
        )
        by_type = ", ".join(f"{t} {n}" for t, n in self.clean_detections.most_common())
        lines += [
            "",
            f"clean notes without any detection: {self.clean_notes - self.clean_flagged}"
            f"/{self.clean_notes} ({self.clean_precision:.1%}); detections per clean note "
            f"{self.detections_per_clean_note:.3f} ({by_type or 'none'})",
            f"precision on identifier notes: {self.precision:.1%} of detected characters lie in "
            "labelled spans",
            "detections that attribute a record value to text outside every labelled span "
            f"(clean notes included): {self.false_attributions}",
            f"links: {self.linked_correct}/{self.linked_caught} caught record values carry the "
            f"record value's token ({self.link_rate:.1%})",
            f"wrong links: {self.total_wrong_links} spans in {self.wrong_link_notes} notes; on "
            f"wrong-link traps {self.trap_wrong}/{self.trap_spans}",
            f"throughput: {self.notes_per_second:,.0f} notes/s ({self.notes} notes in "
            f"{self.seconds:.2f} s)",
        ]
        return "\n".join(lines)


def _claim(det: Detection) -> Claim | None:
    return (det.domain, det.canonical) if det.domain and det.canonical is not None else None


def _claims_of(known: dict[str, list[str]]) -> set[Claim]:
    out: set[Claim] = set()
    for domain, values in known.items():
        for value in values:
            canonical = normalize(domain, value)
            if canonical is not None:
                out.add((domain, canonical))
    return out


def _person_claims(note: LabelledNote, full_name: str) -> set[Claim]:
    """Claims that denote the person ``full_name``: the name and the record's nicknames."""
    names = [full_name, *(alias for alias, full in note.aliases.items() if full == full_name)]
    return {("person_name", c) for n in names if (c := normalize("person_name", n)) is not None}


def _expected(span: Span) -> Claim | None:
    if span.links_to is None or span.label not in LINKED_LABELS:
        return None
    domain = LINKED_LABELS[span.label]
    canonical = normalize(domain, span.links_to)
    return (domain, canonical) if canonical is not None else None


def _is_wrong_link(
    note: LabelledNote, span: Span, det: Detection, record: set[Claim], persons: set[Claim]
) -> bool:
    claim = _claim(det)
    if span.links_to is None:
        if span.label == "KNOWN_PERSON":
            return claim is not None and claim in persons
        if span.label not in _THIRD_PARTY_LABELS:
            return False  # an address or a date holds no link
        return det.entity_type.startswith("KNOWN_") or (claim is not None and claim in record)
    if claim is None:
        return False
    same = {_expected(span)}
    if span.label == "KNOWN_PERSON":
        same |= _person_claims(note, span.links_to)
    return claim not in same and claim in record


def _attributes(det: Detection, record: set[Claim]) -> bool:
    """Whether ``det`` says "this is a value of the record"."""
    return det.entity_type.startswith("KNOWN_") or _claim(det) in record


def _alnum_positions(text: str, start: int, end: int) -> list[int]:
    return [i for i in range(start, end) if text[i].isalnum()]


def score(detect: Detector, notes: Sequence[LabelledNote]) -> Scores:
    """Run ``detect`` on every note and score it against the labels (see the module doc)."""
    scores = Scores(notes=len(notes))
    for note in notes:
        text = note.text
        started = time.perf_counter()
        detections = list(detect(text, note.known))
        scores.seconds += time.perf_counter() - started
        covered = bytearray(len(text))
        for det in detections:
            covered[det.start : det.end] = b"\x01" * (det.end - det.start)
        record = _claims_of(note.known)

        if note.kind == "clean":
            scores.clean_notes += 1
            scores.clean_flagged += bool(detections)
            for det in detections:
                scores.clean_detections[det.entity_type] += 1
                scores.false_attributions += _attributes(det, record)
                scores.clean_examples.append(
                    (note.note_id, det.entity_type, text[det.start : det.end])
                )
            continue
        labelled = bytearray(len(text))
        for s in note.spans:
            labelled[s.start : s.end] = b"\x01" * (s.end - s.start)
        for i, ch in enumerate(text):
            if covered[i] and ch.isalnum():
                scores.detected_chars += 1
                scores.detected_chars_in_spans += labelled[i]
        for det in detections:
            if _attributes(det, record) and not any(labelled[det.start : det.end]):
                scores.false_attributions += 1
        persons = set().union(
            *(
                _person_claims(note, v)
                for v in note.known.get("person_name", [])
                if v not in note.aliases
            )
        )
        note_wrong = False
        for span in note.spans:
            span_text = text[span.start : span.end]
            scores.spans[span.label] += 1
            caught = all(covered[i] for i in _alnum_positions(text, span.start, span.end))
            scores.caught[span.label] += caught
            if not caught:
                scores.missed.append(Miss(note.note_id, span.label, span_text))
            overlapping = [d for d in detections if d.start < span.end and d.end > span.start]
            expected = _expected(span)
            if expected is not None and caught:
                scores.linked_caught += 1
                scores.linked_correct += any(_claim(d) == expected for d in overlapping)
            trap = span.label == "UNKNOWN_PERSON" and shares_known_word(note, span)
            scores.trap_spans += trap
            wrong = [d for d in overlapping if _is_wrong_link(note, span, d, record, persons)]
            if wrong:
                note_wrong = True
                scores.wrong_links[span.label] += 1
                scores.trap_wrong += trap
                claim = _claim(wrong[0])
                claimed = f"{claim[0]}:{claim[1]}" if claim else wrong[0].entity_type
                scores.wrong.append(WrongLink(note.note_id, span.label, span_text, claimed))
        scores.wrong_link_notes += note_wrong
    return scores


_PLACEHOLDER = re.compile(r"\[[^\[\]\s]*\]")
_EXTENSION = re.compile(r"\s*(?:ext|ekst|x)\.?\s*\d+\s*$", re.IGNORECASE)


class RedactorDetector:
    """A ``Redactor`` as a detector, read from what ``redact()`` writes (see the module doc).

    ``unparsed`` counts notes whose output could not be paired with the entities (then every
    detection of the note is scored without a token).
    """

    def __init__(self, redactor: Redactor, tokenizer: Tokenizer) -> None:
        self.redactor = redactor
        self.tokenizer = tokenizer
        self.unparsed = 0
        self._tokens: dict[Claim, str] = {}

    def _token(self, claim: Claim) -> str:
        token = self._tokens.get(claim)
        if token is None:
            token = self._tokens[claim] = self.tokenizer.token_of_normalized(*claim)
        return token

    def __call__(self, text: str, known: dict[str, list[str]]) -> list[Detection]:
        result = self.redactor.redact(text, known)
        entities = sorted(result.entities, key=lambda e: (e[1], e[2]))
        replacements = _replacements(text, result.text, entities)
        if replacements is None:
            self.unparsed += 1
            return [Detection(t, s, e) for t, s, e in entities]
        record = _claims_of(known)
        out = []
        for (entity_type, start, end), placeholder in zip(entities, replacements, strict=True):
            inner = placeholder[1:-1]
            if ":" not in inner:
                out.append(Detection(entity_type, start, end))
                continue
            domain, token = inner.split(":", 1)
            matched = text[start:end]
            candidates = [c for d, c in sorted(record) if d == domain]
            candidates += [
                c
                for value in (matched, _EXTENSION.sub("", matched))
                if (c := normalize(domain, value)) is not None
            ]
            canonical = next(
                (c for c in candidates if self._token((domain, c)) == token), f"?{token}"
            )
            out.append(Detection(entity_type, start, end, domain, canonical))
        return out


def _replacements(
    text: str, redacted: str, entities: Sequence[tuple[str, int, int]]
) -> list[str] | None:
    """The placeholder that replaced each entity, or None if the output does not parse."""
    out: list[str] = []
    pos = prev = 0
    for _, start, end in entities:
        gap = text[prev:start]
        if start < prev or not redacted.startswith(gap, pos):
            return None
        m = _PLACEHOLDER.match(redacted, pos + len(gap))
        if m is None:
            return None
        out.append(m.group())
        pos, prev = m.end(), end
    return out if redacted[pos:] == text[prev:] else None


# Same key as tests/anonymization/test_redaction.py: a test key, never a real one.
KEY = b"redaction-test-key-32-bytes-long"


def overall_precision(detect: Detector, notes: Sequence[LabelledNote]) -> float:
    """Detections that overlap a labelled identifier, of all detections (clean notes too)."""
    right = total = 0
    for note in notes:
        for d in detect(note.text, note.known):
            total += 1
            right += any(s.start < d.end and d.start < s.end for s in note.spans)
    return right / total if total else float("nan")


def report(title: str, notes: Sequence[LabelledNote], examples: int = 0) -> None:
    """Score today's Redactor on ``notes`` and print the table (and ``examples`` of each
    kind of miss, wrong link and clean-note detection)."""
    tokenizer = Tokenizer(KEY)
    detector = RedactorDetector(Redactor(tokenizer, workers=1), tokenizer)
    detector("warm-up 0812 3456 7890", {"person_name": ["Warm Up"]})  # lazy loads off the clock
    scores = score(detector, notes)
    print(f"{title}: {len(notes)} notes; detector: Redactor.redact")
    print(scores.table())
    print(f"notes whose redact() output could not be paired with its entities: {detector.unparsed}")
    if examples:
        for label in LABELS:
            for miss in [m for m in scores.missed if m.label == label][:examples]:
                print(f"missed  {label:<15} {miss.note_id} {miss.text!r}")
        for wrong in scores.wrong[:examples]:
            print(f"wrong   {wrong.label:<15} {wrong.note_id} {wrong.text!r} -> {wrong.claimed}")
        for note_id, entity, text in scores.clean_examples[:examples]:
            print(f"clean   {entity:<15} {note_id} {text!r}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Score today's Redactor on the corpus.")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--examples", type=int, default=0, help="misses/wrong links to print")
    args = parser.parse_args(argv)
    report(f"corpus seed {args.seed}", build_corpus(args.seed), args.examples)
    return 0


if __name__ == "__main__":
    sys.exit(main())
