"""Case management: cases, their status history, and case-worker notes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, ClassVar

import sqlalchemy as sa

from ingestion.synthetic.context import CaseRecord, ChildRecord, GenerationContext, KeySpace
from ingestion.synthetic.defects import (
    move_to_future,
    plant_duplicates,
    plant_extra_rows,
    point_to_missing,
    set_null,
    set_value,
)
from ingestion.synthetic.people import indonesian_date
from ingestion.synthetic.registry import ServiceGenerator
from ingestion.synthetic.services._common import CODE, ID, Weighted, col, source_table
from ingestion.synthetic.services.case_notes import (
    NoteSubject,
    third_party_sentence,
    write_notes,
)
from ingestion.synthetic.stream import Stream

CASE_TYPES = (
    "neglect",
    "abandonment",
    "physical_abuse",
    "sexual_abuse",
    "exploitation",
    "trafficking",
    "conflict_with_law",
    "economic_hardship",
)
RISK_LEVELS = ("low", "medium", "high", "critical")
STATUS_FLOW = ("open", "assessment", "intervention", "monitoring", "closed")

_CASE_TYPE = Weighted(list(CASE_TYPES), [25, 18, 10, 7, 6, 2, 10, 22])
_SEVERE = frozenset({"physical_abuse", "sexual_abuse", "exploitation", "trafficking"})
_RISK_SEVERE = Weighted(list(RISK_LEVELS), [5, 25, 45, 25])
_RISK_OTHER = Weighted(list(RISK_LEVELS), [35, 40, 20, 5])
_CASES_PER_CHILD = Weighted([1, 2, 3], [80, 17, 3])
_NOTES_PER_CASE = Weighted([1, 2, 3], [30, 40, 30])


@dataclass
class _Case:
    row: dict[str, Any]

    @property
    def status(self) -> str:
        return str(self.row["status"])

    @property
    def closed_at(self) -> dt.date | None:
        value: dt.date | None = self.row["closed_at"]
        return value


class CaseManagementService(ServiceGenerator):
    name: ClassVar[str] = "case_management"
    requires: ClassVar[tuple[str, ...]] = ("institutions", "child_registry")

    def tables(self, metadata: sa.MetaData) -> list[sa.Table]:
        return [
            source_table(
                metadata,
                "cases",
                "case_id",
                col("case_id", ID),
                col("child_id", ID),
                col("case_type", CODE),
                col("risk_level", CODE),
                col("status", CODE),
                col("caseworker_id", ID),
                col("opened_at", sa.Date()),
                col("closed_at", sa.Date()),
                col("created_at", sa.DateTime()),
                indexed=("child_id",),
            ),
            source_table(
                metadata,
                "case_status_history",
                "history_id",
                col("history_id", ID),
                col("case_id", ID),
                col("status", CODE),
                col("changed_at", sa.DateTime()),
                col("changed_by", ID),
                indexed=("case_id",),
            ),
            source_table(
                metadata,
                "case_notes",
                "note_id",
                col("note_id", ID),
                col("case_id", ID),
                col("author_id", ID),
                col("note_text", sa.Text()),
                col("written_at", sa.DateTime()),
                indexed=("case_id",),
            ),
        ]

    def generate(self, ctx: GenerationContext) -> None:
        rng = ctx.rng
        # Each institution has one to three case workers of its own.
        staff: list[list[str]] = []
        for _ in ctx.institutions:
            team = [f"CW-{len(ctx.caseworkers) + i + 1:04d}" for i in range(rng.randint(1, 3))]
            ctx.caseworkers.extend(team)
            staff.append(team)
        ctx.shared["caseworkers_by_institution"] = staff
        # Third parties never share a name with anybody the registry holds.
        taken = {
            name
            for c in ctx.children
            for name in (c.full_name, *(g.full_name for g in c.guardians))
        }

        case_keys = ctx.key_space("cases", "CS-", 7)
        history_keys = ctx.key_space("case_status_history", "HS-", 7)
        note_keys = ctx.key_space("case_notes", "NT-", 7)

        for child in ctx.children:
            team = staff[child.institution_index]
            # A child's cases are numbered in the order they were opened.
            openings = sorted(
                self._opened_at(ctx, child) for _ in range(_CASES_PER_CHILD.pick(rng))
            )
            for opened_at in openings:
                case = self._case(ctx, case_keys.next(), child, rng.choice(team), opened_at)
                last_change = self._history(ctx, case, history_keys)
                last_note = self._notes(ctx, case, child, team, note_keys, taken)
                row = case.row
                row["updated_at"] = ctx.touched_after(max(last_change, last_note), within_days=30)
                ctx.out.add("cases", row)
                child.cases.append(
                    CaseRecord(row["case_id"], child.child_id, row["caseworker_id"],
                               row["opened_at"], row["status"])
                )  # fmt: skip
        legit = case_keys.issued

        def extra_case(key: str) -> dict[str, Any]:
            child = rng.choice(ctx.children)
            team = staff[child.institution_index]
            row = self._case(ctx, key, child, rng.choice(team), self._opened_at(ctx, child)).row
            row["updated_at"] = ctx.touched_after(row["created_at"], within_days=30)
            return row

        plant_extra_rows(
            ctx,
            "cases",
            case_keys,
            legit,
            extra_case,
            {
                "malformed_value": [
                    set_value("case_type", "bullying", "unknown", "penelantaran"),
                    set_value("risk_level", "very_high", "3", "sedang"),
                    set_value("status", "reopened", "archived"),
                ],
                "future_date": [
                    move_to_future(
                        "opened_at", ctx.config.as_of, then={"closed_at": None, "status": "open"}
                    )
                ],
                "orphan_fk": [point_to_missing("child_id", ctx.keys["children"])],
                "missing_required": [
                    set_null(c)
                    for c in ("child_id", "case_type", "risk_level", "status", "opened_at")
                ],
            },
        )
        plant_duplicates(ctx, "cases", "case_id", case_keys, legit)

    def handoff(self, ctx: GenerationContext) -> Any:
        """The case workers and each child's cases (what the access log points at)."""
        cases = [
            [(c.case_id, c.caseworker_id, c.opened_at, c.status) for c in child.cases]
            for child in ctx.children
        ]
        return ctx.caseworkers, cases

    def receive(self, ctx: GenerationContext, handoff: Any) -> None:
        caseworkers, cases = handoff
        ctx.caseworkers[:] = caseworkers
        for child, theirs in zip(ctx.children, cases, strict=True):
            child.cases.extend(CaseRecord(c[0], child.child_id, *c[1:]) for c in theirs)

    @staticmethod
    def _opened_at(ctx: GenerationContext, child: ChildRecord) -> dt.date:
        """Cases open from shortly before admission until the child leaves care."""
        lo = max(child.birth_date, child.admission_date - dt.timedelta(days=90))
        return ctx.date_between(lo, child.exit_date or ctx.last_day)

    @staticmethod
    def _case(
        ctx: GenerationContext, key: str, child: ChildRecord, caseworker: str, opened_at: dt.date
    ) -> _Case:
        """A case row; ``updated_at`` is provisional until its history and notes exist."""
        rng = ctx.rng
        case_type = _CASE_TYPE.pick(rng)
        risk = (_RISK_SEVERE if case_type in _SEVERE else _RISK_OTHER).pick(rng)
        hi = child.exit_date or ctx.last_day
        age_days = (ctx.last_day - opened_at).days
        if child.exit_date is not None:
            status = "closed" if rng.random() < 0.85 else "monitoring"
        elif rng.random() < min(0.75, age_days / 1500):
            status = "closed"
        else:
            # Young cases are still being assessed; old open cases are being monitored.
            stage = min(3, int(age_days / 120 * rng.random() * 2))
            status = STATUS_FLOW[stage]
        closed_at = None
        if status == "closed":
            closed_at = ctx.date_between(min(opened_at + dt.timedelta(days=14), hi), hi)
        created_at = ctx.moment_on(opened_at)
        row = {
            "case_id": key,
            "child_id": child.child_id,
            "case_type": case_type,
            "risk_level": risk,
            "status": status,
            "caseworker_id": caseworker,
            "opened_at": opened_at,
            "closed_at": closed_at,
            "created_at": created_at,
            "updated_at": created_at,
        }
        return _Case(row)

    @staticmethod
    def _window(ctx: GenerationContext, case: _Case) -> tuple[dt.datetime, dt.datetime]:
        start: dt.datetime = case.row["created_at"]
        end_day = case.closed_at or ctx.last_day
        return start, max(start, dt.datetime.combine(end_day, dt.time(19)))

    def _history(self, ctx: GenerationContext, case: _Case, keys: KeySpace) -> dt.datetime:
        """1-4 status changes from ``open`` to the case's current status, in time order."""
        rng = ctx.rng
        final = STATUS_FLOW.index(case.status)
        if final == 0:
            path = ["open"]
        else:
            middle = list(STATUS_FLOW[1:final])
            k = rng.randint(0, min(2, len(middle)))
            path = ["open", *sorted(rng.sample(middle, k), key=STATUS_FLOW.index), case.status]
        start, end = self._window(ctx, case)
        moments = [start, *sorted(ctx.moment_between(start, end) for _ in path[1:])]
        if case.closed_at is not None:
            moments[-1] = max(moments[-2], ctx.moment_on(case.closed_at))
        row = case.row
        for status, moment in zip(path, moments, strict=True):
            ctx.out.add(
                "case_status_history",
                {
                    "history_id": keys.next(),
                    "case_id": row["case_id"],
                    "status": status,
                    "changed_at": moment,
                    "changed_by": row["caseworker_id"],
                    "updated_at": moment,
                },
            )
        return moments[-1]

    @staticmethod
    def _mention_a_third_party(
        ctx: GenerationContext, case_id: str, child: ChildRecord, texts: list[str], taken: set[str]
    ) -> None:
        """Three cases in ten name somebody no table holds in one of their notes.

        A stream of its own per case, so that every other generated value stays as it was.
        """
        rng = Stream(f"{ctx.config.seed}:third-party:{case_id}")
        if not texts or rng.random() >= 0.3:
            return
        sentence, name = third_party_sentence(rng, ctx.people, child.first_name, taken)
        at = rng.randrange(len(texts))
        texts[at] = f"{texts[at]} {sentence}"
        ctx.shared.setdefault("third_party_names", []).append(name)

    def _notes(
        self,
        ctx: GenerationContext,
        case: _Case,
        child: ChildRecord,
        team: list[str],
        keys: KeySpace,
        taken: set[str],
    ) -> dt.datetime:
        rng = ctx.rng
        count = _NOTES_PER_CASE.pick(rng)
        start, end = self._window(ctx, case)
        moments = sorted(ctx.moment_between(start, end) for _ in range(count))
        visits = [indonesian_date(m.date()) for m in moments]
        texts = write_notes(
            rng, ctx.people, NoteSubject(child, case.row["risk_level"]), count, visits
        )
        row = case.row
        self._mention_a_third_party(ctx, row["case_id"], child, texts, taken)
        for text, moment in zip(texts, moments, strict=True):
            author = row["caseworker_id"] if rng.random() < 0.8 else rng.choice(team)
            ctx.out.add(
                "case_notes",
                {
                    "note_id": keys.next(),
                    "case_id": row["case_id"],
                    "author_id": author,
                    "note_text": text,
                    "written_at": moment,
                    "updated_at": ctx.touched_after(moment, within_days=3),
                },
            )
        return moments[-1]
