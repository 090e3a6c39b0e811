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

Limitation (documented, not fixable without NER): names of people who are not
in ``known`` (neighbours, teachers) are not detected.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import pandas as pd
from presidio_analyzer import RecognizerResult
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig
from presidio_anonymizer.entities import RecognizerResult as AnonymizerResult

from anonymization.recognizers import (
    ENTITY_DOMAINS,
    EmailRecognizer,
    KkRecognizer,
    KnownValuesRecognizer,
    NikRecognizer,
    PhoneRecognizer,
    TextRecognizer,
    build_recognizers,
)
from anonymization.tokens import Tokenizer, normalize
from lakehouse.ids import TIMESTAMP_ID

__all__ = ["DATE_PLACEHOLDER", "RedactionResult", "Redactor", "resolve_overlaps", "scan_for_pii"]

DATE_PLACEHOLDER = "[date]"

Known = Mapping[str, Iterable[str]]

# Lower value wins when two detections cover exactly the same span with equal score.
_PRIORITY = {"ID_KK": 1, "ID_NIK": 2, "EMAIL_ADDRESS": 3, "ID_PHONE": 4, "ID_DATE": 5}


def _priority(entity_type: str) -> int:
    return 0 if entity_type.startswith("KNOWN_") else _PRIORITY.get(entity_type, 9)


def resolve_overlaps(results: Sequence[RecognizerResult]) -> list[RecognizerResult]:
    """Keep a non-overlapping subset: longest span first, then score, then priority.

    Greedy over a sorted list; n is tiny per note, so O(n^2) is irrelevant.
    """
    ordered = sorted(
        results, key=lambda r: (-(r.end - r.start), -r.score, _priority(r.entity_type), r.start)
    )
    kept: list[RecognizerResult] = []
    for r in ordered:
        if all(r.end <= k.start or r.start >= k.end for k in kept):
            kept.append(r)
    kept.sort(key=lambda r: r.start)
    return kept


@dataclass(frozen=True)
class RedactionResult:
    """Redacted text and the (entity_type, start, end) spans in the ORIGINAL text."""

    text: str
    entities: list[tuple[str, int, int]] = field(default_factory=list)


class Redactor:
    """Reusable redactor: recognizers and the anonymizer engine are built once."""

    def __init__(self, tokenizer: Tokenizer, *, redact_dates: bool = True) -> None:
        self._tokenizer = tokenizer
        self._recognizers: list[TextRecognizer] = build_recognizers(include_dates=redact_dates)
        self._engine = AnonymizerEngine()
        self._replacement_cache: dict[tuple[str, str], str] = {}
        self._operators: dict[str, OperatorConfig] = {
            entity: OperatorConfig("custom", {"lambda": self._token_replacer(domain)})
            for entity, domain in ENTITY_DOMAINS.items()
        }
        self._operators["ID_DATE"] = OperatorConfig("replace", {"new_value": DATE_PLACEHOLDER})
        # Unknown entity types must never leak: fall back to a generic placeholder.
        self._operators["DEFAULT"] = OperatorConfig("replace", {"new_value": "[redacted]"})

    def _replacement(self, domain: str, normalized: str) -> str:
        key = (domain, normalized)
        out = self._replacement_cache.get(key)
        if out is None:
            if len(self._replacement_cache) > 200_000:  # bound memory on huge batches
                self._replacement_cache.clear()
            token = self._tokenizer.token_of_normalized(domain, normalized)
            out = self._replacement_cache[key] = f"[{domain}:{token}]"
        return out

    def _token_replacer(self, domain: str) -> Callable[[str], str]:
        def replace(matched: str) -> str:
            normalized = normalize(domain, matched)
            return self._replacement(domain, normalized) if normalized else "[redacted]"

        return replace

    def analyze(self, text: str, known: Known | None = None) -> list[RecognizerResult]:
        """All detections in ``text`` after overlap resolution."""
        results: list[RecognizerResult] = []
        for recognizer in self._recognizers:
            results.extend(recognizer.analyze(text, recognizer.supported_entities, None))
        if known:
            results.extend(KnownValuesRecognizer(known).analyze(text))
        return resolve_overlaps(results)

    def redact(self, text: str | None, known: Known | None = None) -> RedactionResult:
        """Redact one note; None is treated as the empty string."""
        if not text:
            return RedactionResult("", [])
        results = self.analyze(text, known)
        if not results:
            return RedactionResult(text, [])
        operators = dict(self._operators)
        for r in results:
            if r.entity_type.startswith("KNOWN_") and r.entity_type not in operators:
                operators[r.entity_type] = OperatorConfig(
                    "custom", {"lambda": self._known_replacer(results, r.entity_type, text)}
                )
        engine_input = [AnonymizerResult(r.entity_type, r.start, r.end, r.score) for r in results]
        redacted = self._engine.anonymize(
            text, engine_input, operators, merge_entities_with_spaces=False
        )
        return RedactionResult(redacted.text, [(r.entity_type, r.start, r.end) for r in results])

    def _known_replacer(
        self, results: Sequence[RecognizerResult], entity_type: str, text: str
    ) -> Callable[[str], str]:
        """Map each matched string of a known-value type to its canonical token."""
        by_text: dict[str, str] = {}
        for r in results:
            if r.entity_type != entity_type:
                continue
            meta = r.recognition_metadata or {}
            by_text[text[r.start : r.end]] = self._replacement(meta["domain"], meta["canonical"])

        def replace(matched: str) -> str:
            return by_text.get(matched, "[redacted]")

        return replace

    def redact_series(
        self, texts: pd.Series, known_per_row: Sequence[Known | None] | None = None
    ) -> pd.Series:
        """Redact a column of notes; ``known_per_row`` aligns positionally with ``texts``."""
        if known_per_row is not None and len(known_per_row) != len(texts):
            raise ValueError("known_per_row must have one entry per text")
        out: list[str | None] = []
        for i, text in enumerate(texts.tolist()):
            if text is None or (isinstance(text, float) and text != text):
                out.append(None)
                continue
            known = known_per_row[i] if known_per_row is not None else None
            out.append(self.redact(str(text), known).text)
        return pd.Series(out, index=texts.index, name=texts.name, dtype=object)


# --- publish-gate scan -------------------------------------------------------

# Long hex runs (our own tokens, hashes) can contain 16-digit stretches that look
# like a NIK; mask them so the gate is not tripped by pseudonyms. Our own ids
# (20261202T081530123456Z) hold a 12-digit run that reads as an Indonesian mobile
# whenever the hour is 08: a release made between 08:00 and 08:59 UTC failed its scan.
_HEX_RUN = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{20,}(?![0-9A-Za-z])")
_OUR_IDS = re.compile(rf"(?<![0-9A-Za-z]){TIMESTAMP_ID}(?![0-9A-Za-z])")


@lru_cache(maxsize=1)
def _scan_recognizers() -> tuple[TextRecognizer, ...]:
    return (KkRecognizer(), NikRecognizer(), PhoneRecognizer(), EmailRecognizer())


def scan_for_pii(text: str | None) -> list[str]:
    """Entity types of direct identifiers (NIK, KK, phone, e-mail) found in ``text``.

    Returns one entry per detection and deliberately NOT the matched values, so
    that gate reports and logs never carry the identifiers they found.
    """
    if not text:
        return []
    masked = _OUR_IDS.sub(lambda m: "x" * len(m.group()), text)
    masked = _HEX_RUN.sub(lambda m: "x" * len(m.group()), masked)
    results: list[RecognizerResult] = []
    for recognizer in _scan_recognizers():
        results.extend(recognizer.analyze(masked, recognizer.supported_entities, None))
    return [r.entity_type for r in resolve_overlaps(results)]
