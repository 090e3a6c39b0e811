"""Placements: family-based care after (or instead of) the institution.

Placements follow the child's story: a child who left the institution since 2022 left *into*
a placement starting on the exit date; a child still in care may have had a placement that
broke down (returned to care). Start dates therefore spread over 2022 .. as_of, so every
quarter has placements to report on.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

import sqlalchemy as sa

from ingestion.synthetic.context import ChildRecord, GenerationContext
from ingestion.synthetic.defects import (
    move_to_future,
    plant_duplicates,
    plant_extra_rows,
    point_to_missing,
    set_null,
    set_value,
)
from ingestion.synthetic.registry import ServiceGenerator
from ingestion.synthetic.services._common import CODE, ID, Weighted, col, source_table

PLACEMENT_TYPES = (
    "family_reunification",
    "kinship_care",
    "foster_care",
    "adoption",
    "independent_living",
)
OUTCOMES = ("stable", "disrupted", "returned_to_care", "ongoing")
#: Placements are recorded on the platform from 2022 on (earlier for a world dated before 2025).
PLACEMENTS_SINCE = dt.date(2022, 1, 1)
INDEPENDENT_LIVING_MIN_AGE = 15

_TYPE_ANY_AGE = Weighted(list(PLACEMENT_TYPES[:4]), [35, 25, 20, 8])
_TYPE_OLDER = Weighted(list(PLACEMENT_TYPES), [30, 22, 16, 4, 28])
_DAY = dt.timedelta(days=1)


class PlacementsService(ServiceGenerator):
    name: ClassVar[str] = "placements"
    requires: ClassVar[tuple[str, ...]] = ("child_registry",)

    def tables(self, metadata: sa.MetaData) -> list[sa.Table]:
        return [
            source_table(
                metadata,
                "placements",
                "placement_id",
                col("placement_id", ID),
                col("child_id", ID),
                col("placement_type", CODE),
                col("start_date", sa.Date()),
                col("end_date", sa.Date()),
                col("outcome", CODE),
                col("created_at", sa.DateTime()),
                indexed=("child_id",),
            )
        ]

    def generate(self, ctx: GenerationContext) -> None:
        rng = ctx.rng
        keys = ctx.key_space("placements", "PL-", 7)
        last = ctx.last_day
        since = min(PLACEMENTS_SINCE, ctx.config.as_of - dt.timedelta(days=3 * 365))
        for child in ctx.children:
            floor = max(since, child.admission_date)
            if floor > last - dt.timedelta(days=30):
                continue
            rows: list[dict[str, Any]] = []
            exit_date = child.exit_date
            if exit_date is not None and exit_date >= since:
                # An earlier attempt that broke down, then the placement the child left into.
                if rng.random() < 0.15 and exit_date - floor > dt.timedelta(days=120):
                    start = ctx.date_between(floor, exit_date - dt.timedelta(days=90))
                    ended = ctx.date_between(start + 14 * _DAY, exit_date - 30 * _DAY)
                    outcome = rng.choice(("disrupted", "returned_to_care"))
                    rows.append(self._row(ctx, keys.next(), child, start, ended, outcome))
                end: dt.date | None = None
                outcome = "ongoing"
                if rng.random() < 0.4 and exit_date + 30 * _DAY <= last:
                    end = ctx.date_between(exit_date + 30 * _DAY, last)
                    outcome = "stable" if rng.random() < 0.8 else "disrupted"
                rows.append(self._row(ctx, keys.next(), child, exit_date, end, outcome))
            elif exit_date is None:
                roll = rng.random()
                if roll < 0.4:  # a placement that did not hold: back in the institution
                    start = ctx.date_between(floor, last - 30 * _DAY)
                    ended = ctx.date_between(start + 14 * _DAY, last)
                    outcome = "returned_to_care" if rng.random() < 0.6 else "disrupted"
                    rows.append(self._row(ctx, keys.next(), child, start, ended, outcome))
                elif roll < 0.45:  # a trial placement still running
                    start = ctx.date_between(floor, last)
                    rows.append(self._row(ctx, keys.next(), child, start, None, "ongoing"))
            for row in rows:
                ctx.out.add("placements", row)
                child.placement_ids.append(row["placement_id"])
        legit = keys.issued

        def extra(key: str) -> dict[str, Any]:
            child = rng.choice(ctx.children)
            start = ctx.date_between(max(since, child.admission_date), last)
            return self._row(ctx, key, child, start, None, "ongoing")

        plant_extra_rows(
            ctx,
            "placements",
            keys,
            legit,
            extra,
            {
                "malformed_value": [
                    set_value("placement_type", "panti", "orphanage", "foster"),
                    set_value("outcome", "unknown", "gagal", "success"),
                ],
                "future_date": [
                    move_to_future(
                        "start_date",
                        ctx.config.as_of,
                        then={"end_date": None, "outcome": "ongoing"},
                    )
                ],
                "orphan_fk": [point_to_missing("child_id", ctx.keys["children"])],
                "missing_required": [
                    set_null(c) for c in ("child_id", "placement_type", "start_date", "outcome")
                ],
            },
        )
        plant_duplicates(ctx, "placements", "placement_id", keys, legit)

    def handoff(self, ctx: GenerationContext) -> Any:
        """Each child's placement ids (what the access log points at)."""
        return [child.placement_ids for child in ctx.children]

    def receive(self, ctx: GenerationContext, handoff: Any) -> None:
        for child, ids in zip(ctx.children, handoff, strict=True):
            child.placement_ids.extend(ids)

    @staticmethod
    def _row(
        ctx: GenerationContext,
        key: str,
        child: ChildRecord,
        start: dt.date,
        end: dt.date | None,
        outcome: str,
    ) -> dict[str, Any]:
        """``outcome`` is ``ongoing`` exactly when ``end`` is None."""
        rng = ctx.rng
        older = child.age_on(start) >= INDEPENDENT_LIVING_MIN_AGE
        placement_type = (_TYPE_OLDER if older else _TYPE_ANY_AGE).pick(rng)
        created_at = ctx.moment_on(start)
        last_event = ctx.moment_on(end) if end else created_at
        return {
            "placement_id": key,
            "child_id": child.child_id,
            "placement_type": placement_type,
            "start_date": start,
            "end_date": end,
            "outcome": outcome,
            "created_at": created_at,
            "updated_at": ctx.touched_after(last_event, within_days=60),
        }
