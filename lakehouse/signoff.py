"""Sign-off before publication: a snapshot that passed the publish gate is a *candidate* until a
data steward approves it, and only then does ``CURRENT`` move to it.

Why: the gate proves that a snapshot is safe to publish (small cells, disclosure, purposes, PII),
not that its numbers are right. A doubled import or a province whose placements drop to zero
passes every privacy check and would go out to every audience. The validation rules and
outliers (:mod:`lakehouse.snapshot_quality`) find such numbers; a person must look at each one
before the snapshot goes live, and say so, one finding at a time: approving "everything" in one
word is how findings get waved through.

Layout (beside the snapshot's data, in its own folder)::

    gold/snapshots/<id>/review.json   status (candidate, approved, rejected), the findings' ids,
                                      the quality report's sha256; who decided, when, what they
                                      acknowledged, why they rejected

The review is written into the staging directory before the snapshot is renamed into place, so
a snapshot appears together with its review; a decision rewrites the file atomically. It is the
one file of a snapshot folder that changes after the rename (the marts and the manifest never
do). A snapshot folder without a review was published before sign-off existed.

The findings are read from the quality report (``reports/quality/<id>.json``) whose sha256 the
review recorded when the candidate was made: a report changed since cannot be approved from.
Each finding has an id that says what it is and stays the same for the same defect in the next
candidate (``rule:<rule>``, ``outlier:<series>:<group...>:<period>``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lakehouse.files import read_json_object, sha256_file, write_json_atomic
from lakehouse.gold_snapshot import SNAPSHOT_ID_PATTERN
from lakehouse.layout import LakeLayout
from lakehouse.reference.quality_rules import OUTLIER_SERIES, VALIDATION_RULES

__all__ = [
    "REVIEW_FILE",
    "Finding",
    "Review",
    "ReviewStatus",
    "SignoffError",
    "SnapshotReviews",
    "check_acknowledged",
    "findings_of",
    "write_review",
]

REVIEW_FILE = "review.json"
ReviewStatus = Literal["candidate", "approved", "rejected"]
#: A snapshot folder without a review: published before sign-off existed.
BEFORE_SIGNOFF = "published before sign-off"
_SNAPSHOT_ID = re.compile(SNAPSHOT_ID_PATTERN)
#: Places of a violated rule shown in a finding (the report keeps up to 20, and their count).
_PLACES_SHOWN = 3


class SignoffError(ValueError):
    """A sign-off that cannot be done as asked; the message says why and what to do."""


class Review(BaseModel):
    """A snapshot's sign-off state."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    snapshot_id: str
    status: ReviewStatus
    created_at: str
    quality_report_sha256: str = Field(description="the report the findings are read from")
    findings: list[str] = Field(description="every finding's id, in the report's order")
    decided_at: str | None = None
    actor: str | None = Field(default=None, description="the steward key's owner who decided")
    acknowledged: list[str] = Field(default_factory=list)
    reason: str | None = Field(default=None, description="why it was rejected")
    replaced: str | None = Field(
        default=None, description="the snapshot CURRENT named when this one was approved"
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_review(folder: Path, review: Review) -> None:
    """Write ``review`` into a snapshot folder (or its staging directory) atomically."""
    write_json_atomic(folder / REVIEW_FILE, review.model_dump(mode="json"))


# -- findings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One thing the approver must look at: a violated rule or an outlier."""

    id: str
    kind: Literal["rule violation", "outlier"]
    what: str
    value: str
    expected: str

    def to_dict(self) -> dict[str, str]:
        return {
            "id": self.id,
            "kind": self.kind,
            "what": self.what,
            "value": self.value,
            "expected": self.expected,
        }


_SERIES = {s.name: s for s in OUTLIER_SERIES}
_RULES = {r.name: r for r in VALIDATION_RULES}


def _number(value: Any) -> str:
    try:
        return f"{float(value):g}"
    except (TypeError, ValueError):
        return str(value)


def _token(value: Any) -> str:
    """A group value or period as one word of a finding id."""
    return re.sub(r"\s+", "_", str(value)) or "-"


def _place(example: Mapping[str, Any], level: Sequence[str]) -> str:
    """``province_code 32, quarter_start 2025-04-01: placements 22 vs 11``: where, then the two
    sides of the rule."""
    where = ", ".join(f"{k} {example[k]}" for k in level if k in example)
    sides = [f"{k} {_number(v)}" for k, v in example.items() if k not in level]
    return f"{where}: {' vs '.join(sides)}" if where else " vs ".join(sides)


def _violation(raw: Mapping[str, Any]) -> Finding:
    examples = list(raw["examples"])
    declared = _RULES.get(str(raw["rule"]))
    level = declared.level if declared is not None else ()
    shown = "; ".join(_place(e, level) for e in examples[:_PLACES_SHOWN])
    places = int(raw["places"])
    more = f" (and {places - _PLACES_SHOWN} more)" if places > _PLACES_SHOWN else ""
    return Finding(
        f"rule:{raw['rule']}",
        "rule violation",
        f"rule {raw['rule']} fails in {places} place(s)",
        shown + more,
        str(raw["description"]),
    )


def _outlier(raw: Mapping[str, Any]) -> Finding:
    series, period, reason = str(raw["series"]), str(raw["period"]), str(raw["reason"])
    group = dict(raw["group"])
    where = ", ".join(f"{k} {v}" for k, v in group.items()) or "national"
    median, score = raw.get("median"), raw.get("score")
    if median is None:  # out of bounds: the reason is the range
        expected = reason.replace("outside", "within", 1)
    elif reason == "drop to zero":
        expected = f"about {_number(median)} (the median of the periods before); dropped to zero"
    elif score is None:
        expected = f"about {_number(median)}; {reason}"
    else:
        declared = _SERIES.get(series)
        bound = f", beyond ±{declared.threshold:g}" if declared is not None else ""
        expected = (
            f"near the median {_number(median)} of the periods before: modified z-score "
            f"{float(score):.1f}{bound}"
        )
    measure = f" {_SERIES[series].measure}" if series in _SERIES else ""
    return Finding(
        ":".join(["outlier", series, *(_token(v) for v in group.values()), _token(period)]),
        "outlier",
        f"{series}, {where}, period {period}",
        _number(raw["value"]) + measure,
        expected,
    )


def findings_of(report: Mapping[str, Any]) -> list[Finding]:
    """Every rule violation, then every outlier, of a quality report (its JSON form), each with
    an id unique within the report. SignoffError if it is not a report."""
    try:
        found = [_violation(v) for v in report["violations"]]
        found += [_outlier(o) for o in report["outliers"]]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SignoffError(f"not a quality report ({type(exc).__name__}: {exc})") from exc
    seen: dict[str, int] = {}
    unique = []
    for finding in found:
        n = seen[finding.id] = seen.get(finding.id, 0) + 1
        unique.append(finding if n == 1 else _renamed(finding, f"{finding.id}#{n}"))
    return unique


def _renamed(finding: Finding, new_id: str) -> Finding:
    return Finding(new_id, finding.kind, finding.what, finding.value, finding.expected)


def check_acknowledged(
    snapshot_id: str, findings: Sequence[str], acknowledged: Iterable[str]
) -> list[str]:
    """The acknowledged ids in the findings' order, when they are exactly the findings (a
    repeat is harmless); otherwise SignoffError naming the ids that are not findings of this
    snapshot and every finding still unacknowledged."""
    given = list(dict.fromkeys(a.strip() for a in acknowledged))
    unknown = [a for a in given if a not in findings]
    missing = [f for f in findings if f not in given]
    problems = []
    if unknown:
        problems.append(f"not a finding of snapshot {snapshot_id}: {', '.join(unknown)}")
    if missing:
        problems.append(
            f"{len(missing)} of {len(findings)} finding(s) not acknowledged: {', '.join(missing)}"
        )
    if problems:
        raise SignoffError(
            "; ".join(problems) + f" (see `merajut publish show {snapshot_id}`; acknowledge each "
            "finding with --acknowledge ID)"
        )
    return [f for f in findings if f in given]


# -- the reviews of a lake --------------------------------------------------------------------


class SnapshotReviews:
    """Reads and writes the reviews of ``gold/snapshots/``; the publish step, the sign-off
    commands, retention and the API's preview all ask it what a snapshot's status is."""

    def __init__(self, layout: LakeLayout) -> None:
        self.layout = layout

    def folder(self, snapshot_id: str) -> Path:
        if not _SNAPSHOT_ID.match(snapshot_id):
            raise SignoffError(f"not a snapshot id: {snapshot_id!r}")
        return self.layout.gold / "snapshots" / snapshot_id

    def read(self, snapshot_id: str) -> Review | None:
        """The snapshot's review; None when its folder has none (or does not exist).
        SignoffError when the file is there but is not a review: it is never taken for one."""
        path = self.folder(snapshot_id) / REVIEW_FILE
        if not path.exists():
            return None
        raw = read_json_object(path)
        try:
            review = Review.model_validate(raw)
        except ValidationError as exc:
            raise SignoffError(f"snapshot {snapshot_id}: {REVIEW_FILE} is not a review") from exc
        if review.snapshot_id != snapshot_id:
            raise SignoffError(f"snapshot {snapshot_id}: {REVIEW_FILE} is another snapshot's")
        return review

    def status(self, snapshot_id: str) -> str:
        """candidate, approved, rejected, "published before sign-off", or "unknown" (no such
        snapshot on disk, or a review that cannot be read)."""
        try:
            if not self.folder(snapshot_id).is_dir():
                return "unknown"
            review = self.read(snapshot_id)
        except SignoffError:
            return "unknown"
        return BEFORE_SIGNOFF if review is None else review.status

    def write(self, review: Review) -> None:
        folder = self.folder(review.snapshot_id)
        if not folder.is_dir():
            raise SignoffError(f"no snapshot {review.snapshot_id} on disk")
        write_review(folder, review)

    def all(self) -> list[Review]:
        """Every readable review on disk, newest first."""
        folder = self.layout.gold / "snapshots"
        if not folder.is_dir():
            return []
        out = []
        for path in sorted(folder.iterdir(), reverse=True):
            if not _SNAPSHOT_ID.match(path.name):
                continue
            try:
                review = self.read(path.name)
            except SignoffError:
                continue
            if review is not None:
                out.append(review)
        return out

    def awaiting(self, current_id: str | None) -> list[Review]:
        """The snapshots that may still go live, newest first: candidates newer than
        ``current_id``, and approved ones newer than it (an approval interrupted before CURRENT
        moved; approving again finishes it)."""
        return [
            r
            for r in self.all()
            if r.status in ("candidate", "approved")
            and (current_id is None or r.snapshot_id > current_id)
        ]

    # -- candidates -----------------------------------------------------------------------------
    def candidate(self, snapshot_id: str, report_path: Path) -> Review:
        """A new candidate's review, from the quality report just written for it."""
        report = read_json_object(report_path)
        if report is None:
            raise SignoffError(f"snapshot {snapshot_id}: no quality report at {report_path}")
        return Review(
            snapshot_id=snapshot_id,
            status="candidate",
            created_at=_now(),
            quality_report_sha256=sha256_file(report_path),
            findings=[f.id for f in findings_of(report)],
        )

    def findings(self, review: Review) -> list[Finding]:
        """The review's findings, read from the quality report it recorded; SignoffError when
        the report is missing or is not the one the candidate was made with."""
        path = self.layout.quality_report(review.snapshot_id)
        if not path.is_file():
            raise SignoffError(f"snapshot {review.snapshot_id}: its quality report {path} is gone")
        if sha256_file(path) != review.quality_report_sha256:
            raise SignoffError(
                f"snapshot {review.snapshot_id}: its quality report {path} has changed since the "
                "candidate was made; it cannot be approved from"
            )
        found = findings_of(read_json_object(path) or {})
        if [f.id for f in found] != review.findings:
            raise SignoffError(
                f"snapshot {review.snapshot_id}: the findings of its quality report are not the "
                "ones its review recorded"
            )
        return found

    def decided(
        self,
        review: Review,
        status: ReviewStatus,
        actor: str,
        *,
        acknowledged: Sequence[str] = (),
        reason: str | None = None,
        replaced: str | None = None,
    ) -> Review:
        """Record a decision on ``review`` (atomically) and return the new review."""
        new = review.model_copy(
            update={
                "status": status,
                "decided_at": _now(),
                "actor": actor,
                "acknowledged": list(acknowledged),
                "reason": reason,
                "replaced": replaced,
            }
        )
        self.write(new)
        return new
