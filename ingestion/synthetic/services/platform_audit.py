"""Access audit log of the operational platform: who opened which child's record, when.

Events are generated day by day over the twelve months before ``as_of``, so event ids are in
time order as in a real append-only log, and nothing has to be sorted in memory.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect
from typing import Any, ClassVar

import sqlalchemy as sa

from ingestion.synthetic.context import ChildRecord, GenerationContext
from ingestion.synthetic.defects import (
    move_to_future,
    plant_duplicates,
    plant_extra_rows,
    set_null,
    set_value,
)
from ingestion.synthetic.registry import ServiceGenerator
from ingestion.synthetic.services._common import CODE, ID, Weighted, col, source_table

ACTOR_ROLES = ("caseworker", "supervisor", "institution_admin", "auditor", "system")
ACTIONS = ("view", "update", "export", "print")
RESOURCE_TYPES = ("child", "case", "placement", "consent")
EVENTS_PER_CHILD = 5
WINDOW_DAYS = 365

_ROLE = Weighted(list(ACTOR_ROLES), [60, 15, 15, 5, 5])
_ACTION = Weighted(list(ACTIONS), [75, 15, 5, 5])
_READ_ONLY_ACTION = Weighted(["view", "export"], [85, 15])
_RESOURCE = Weighted(list(RESOURCE_TYPES), [40, 35, 10, 15])
_HOUR_STARTS = [dt.time(hour) for hour in range(24)]
_MICRO = dt.timedelta(microseconds=1)
# Office hours dominate; the hour weights make night-time access rare but present.
_HOUR = Weighted(
    list(range(24)), [1, 1, 1, 1, 1, 2, 4, 8, 12, 12, 12, 10, 8, 11, 12, 11, 9, 6, 4, 3, 3, 2, 2, 1]
)


class PlatformAuditService(ServiceGenerator):
    name: ClassVar[str] = "platform_audit"
    requires: ClassVar[tuple[str, ...]] = (
        "child_registry",
        "case_management",
        "placements",
        "consent",
    )

    def tables(self, metadata: sa.MetaData) -> list[sa.Table]:
        return [
            source_table(
                metadata,
                "access_log",
                "event_id",
                col("event_id", ID),
                col("occurred_at", sa.DateTime()),
                col("actor_id", ID),
                col("actor_role", CODE),
                col("action", CODE),
                col("resource_type", CODE),
                col("resource_id", ID),
                col("child_id", ID),
                col("institution_id", ID),
                indexed=("child_id",),
            )
        ]

    def generate(self, ctx: GenerationContext) -> None:
        rng = ctx.rng
        children = ctx.children
        if not children:
            raise RuntimeError("platform_audit needs children")
        n_users = max(10, len(children) // 20)
        roles = _ROLE.sample(rng, n_users)
        keys = ctx.key_space("access_log", "EV-", 7)
        total = EVENTS_PER_CHILD * len(children)
        first_day = ctx.config.as_of - dt.timedelta(days=WINDOW_DAYS)
        per_day, extra_days = divmod(total, WINDOW_DAYS)

        horizon = ctx.horizon
        # Five events per child: the draws below are ``rng.choice(children)``,
        # ``rng.randrange(3)`` and ``Weighted.pick`` written out, one Python frame less each
        # (the same Mersenne Twister words, in the same order).
        getrandbits, random = rng.getrandbits, rng.random
        n_children = len(children)
        child_bits = n_children.bit_length()
        hours, hour_weights, last_hour = _HOUR.items, _HOUR.cum_weights, len(_HOUR.items) - 1
        hour_total = hour_weights[-1]

        def event(key: str, day: dt.date) -> dict[str, Any]:
            for _ in range(4):  # prefer children already admitted on that day (3 retries)
                pick = getrandbits(child_bits)
                while pick >= n_children:
                    pick = getrandbits(child_bits)
                child = children[pick]
                if child.admission_date <= day:
                    break
            if random() < 0.85:  # staff of the child's institution
                staff = getrandbits(2)
                while staff >= 3:
                    staff = getrandbits(2)
                user = (child.institution_index * 3 + staff) % n_users
            else:
                user = rng.randrange(n_users)
            role = roles[user]
            action = (_READ_ONLY_ACTION if role in ("auditor", "system") else _ACTION).pick(rng)
            resource_type, resource_id = _resource(rng, child)
            hour = hours[bisect(hour_weights, random() * hour_total, 0, last_hour)]
            moment = dt.datetime.combine(day, _HOUR_STARTS[hour])
            moment = min(moment + _MICRO * rng.randrange(3_600_000_000), horizon)
            return {
                "event_id": key,
                "occurred_at": moment,
                "actor_id": f"USR-{user + 1:04d}",
                "actor_role": role,
                "action": action,
                "resource_type": resource_type,
                "resource_id": resource_id,
                "child_id": child.child_id,
                "institution_id": child.institution_id,
                "updated_at": moment,
            }

        for offset in range(WINDOW_DAYS):
            day = first_day + dt.timedelta(days=offset)
            count = per_day + (1 if offset < extra_days else 0)
            events = [event("", day) for _ in range(count)]
            events.sort(key=lambda e: e["occurred_at"])
            for e in events:
                e["event_id"] = keys.next()
                ctx.out.add("access_log", e)
        legit = keys.issued

        def extra(key: str) -> dict[str, Any]:
            return event(key, first_day + dt.timedelta(days=rng.randrange(WINDOW_DAYS)))

        plant_extra_rows(
            ctx,
            "access_log",
            keys,
            legit,
            extra,
            {
                "malformed_value": [
                    set_value("action", "delete", "download", "VIEW"),
                    set_value("actor_role", "admin", "root", "guest"),
                ],
                "future_date": [move_to_future("occurred_at", ctx.config.as_of, timestamp=True)],
                "missing_required": [set_null(c) for c in ("actor_id", "action", "occurred_at")],
            },
        )
        plant_duplicates(ctx, "access_log", "event_id", keys, legit)


def _resource(rng: Any, child: ChildRecord) -> tuple[str, str]:
    kind = _RESOURCE.pick(rng)
    if kind == "case" and child.cases:
        return kind, rng.choice(child.cases).case_id
    if kind == "placement" and child.placement_ids:
        return kind, rng.choice(child.placement_ids)
    if kind == "consent" and child.consent_ids:
        return kind, rng.choice(child.consent_ids)
    return "child", child.child_id
