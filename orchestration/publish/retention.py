"""Applying the retention policy (:mod:`lakehouse.retention`) where the pipeline lock is held:
at the end of every publish step, and by ``merajut retention``.

Besides the files, a removed snapshot's immutable tables in the warehouse's ``gold`` database
go too (the warehouse keeps only the last few anyway), and every removal is a record in the
publication log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lakehouse import gold_tables
from lakehouse.retention import RetentionPlan, apply_retention, plan_retention
from lakehouse.settings import Settings
from orchestration.core.publication import actor, publication_log

__all__ = ["apply_plan", "retention_plan"]


def retention_plan(settings: Settings, now: datetime) -> RetentionPlan:
    return plan_retention(settings.layout, settings.retention.policy(), now)


def apply_plan(
    settings: Settings,
    plan: RetentionPlan,
    now: datetime,
    *,
    client: Any | None,
    run_id: str | None = None,
) -> list[str]:
    """Remove what ``plan`` says, drop the removed snapshots' gold tables with ``client`` (if
    given), audit each removal; returns the ids removed."""
    if not plan.remove:
        return []
    apply_retention(settings.layout, plan, now)
    if client is not None:
        gold_tables.drop_withdrawn(client, plan.ids("snapshot"))
    log = publication_log(settings.layout)
    for removal in plan.remove:
        log.append(
            {"actor": actor(run_id), "action": f"expire_{removal.kind}", removal.kind: removal.id,
             "reason": f"retention: {removal.reason}"}
        )  # fmt: skip
    return [r.id for r in plan.remove]
