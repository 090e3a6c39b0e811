"""``merajut retention [--dry-run]``: apply the retention policy of gold snapshots and enclave
extracts now (the publish step applies it at its end; this is for a lake that runs rarely, a
policy just tightened, or a look at what it would remove)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from lakehouse.ids import utc_now
from lakehouse.warehouse import session
from orchestration.cli.common import console, load_settings
from orchestration.cli.pipeline import WaitOption, pipeline_lock
from orchestration.publish.retention import apply_plan, retention_plan


def retention(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be removed and why; remove nothing")
    ] = False,
    wait: WaitOption = True,
) -> None:
    """Remove the gold snapshots and enclave extracts the retention policy (MERAJUT_RETENTION_*)
    no longer keeps. CURRENT, the snapshot before it, every candidate awaiting approval, the
    latest release of each tier and every downloadable release are always kept; each removal
    leaves a record and is audited."""
    settings = load_settings()
    with pipeline_lock(settings, "merajut retention", wait):
        now = utc_now()
        plan = retention_plan(settings, now)
        table = Table(title="retention (" + ("dry run" if dry_run else "applied") + ")")
        for column in ("id", "kind", "", "why"):
            table.add_column(column)
        for removal in plan.remove:
            table.add_row(removal.id, removal.kind, "[red]remove[/]", removal.reason)
        for kept, why in sorted(plan.kept.items()):
            kind = "release" if kept.startswith("research-") else "snapshot"
            table.add_row(kept, kind, "keep", why)
        console.print(table)
        if dry_run or not plan.remove:
            console.print("nothing removed" + (" (dry run)" if plan.remove else ""))
            return
        if plan.ids("snapshot"):
            with session(settings.warehouse_target, purpose="merajut retention") as client:
                removed = apply_plan(settings, plan, now, client=client)
        else:
            removed = apply_plan(settings, plan, now, client=None)
    console.print(f"removed {len(removed)}: {', '.join(removed)}")
