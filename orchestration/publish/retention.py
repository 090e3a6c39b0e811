"""Applying the retention policy (:mod:`lakehouse.retention`) where the pipeline lock is held:
at the end of every publish step, and by ``merajut retention``.

Besides the files, a removed snapshot's immutable tables in the warehouse's ``gold`` database
go too (the warehouse keeps only the last few anyway), and every removal is a record in the
publication log.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from lakehouse import gold_tables
from lakehouse.gold_snapshot import SnapshotError
from lakehouse.ids import utc_now
from lakehouse.retention import RetentionPlan, apply_retention, plan_retention
from lakehouse.settings import Settings
from orchestration.core.publication import actor, publication_log

__all__ = ["apply_at_publish", "apply_plan", "retention_plan"]


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


def apply_at_publish(
    settings: Settings, client: Any, run_id: str | None, report: Callable[[str], None]
) -> list[str]:
    """The retention policy at the end of a publish step or an approval; a failure is reported
    (``report``), never undoes what was published (``merajut retention`` applies it again)."""
    if not settings.retention.at_publish:
        return []
    now = utc_now()
    try:
        plan = retention_plan(settings, now)
        return apply_plan(settings, plan, now, client=client, run_id=run_id)
    except (OSError, ValueError, SnapshotError) as exc:
        report(f"retention not applied: {exc}; run `merajut retention` to apply it")
        return []
