"""``merajut audit verify --log vault|api|publication``: check a hash-chained audit log end to
end.
``merajut audit ledger [--role R] [--csv PATH]``: what each role has been served."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from lakehouse.audit_log import verify_log
from lakehouse.disclosure_ledger import ReleasedCells, ServedCells
from orchestration.cli.common import load_settings, verdict

app = typer.Typer(no_args_is_help=True, help="The hash-chained audit logs")


class Log(StrEnum):
    vault = "vault"  # re-identifications through the token vault
    api = "api"  # data-returning requests of the metrics API
    publication = "publication"  # snapshots and releases published, unchanged runs, retention


@app.command()
def verify(
    log: Annotated[
        Log,
        typer.Option(
            help="vault: re-identifications; api: API requests; publication: what each run "
            "published or found unchanged, and what retention removed"
        ),
    ],
) -> None:
    """Verify a log's hash chain; names the first line that was edited, removed or reordered."""
    settings = load_settings()
    path = {
        Log.vault: settings.layout.vault_audit_log,
        Log.api: settings.api_audit_log,
        Log.publication: settings.layout.publication_log,
    }[log]
    verdict(*verify_log(path))


@app.command()
def ledger(
    role: Annotated[str | None, typer.Option(help="Only this role")] = None,
    csv: Annotated[
        Path | None,
        typer.Option(help="Write every served cell (with its table, labels and value) here"),
    ] = None,
) -> None:
    """What each role has been served: cells per snapshot and protected family, from the
    disclosure ledger (every answered cell is recorded before the answer leaves)."""
    settings = load_settings()
    served = ServedCells(settings.layout.served_ledger)
    try:
        cells = served.served(role)
    finally:
        served.close()
    if cells.empty:
        typer.echo("nothing served" + (f" to role {role}" if role else ""))
        return
    summary = (
        cells.groupby(["role", "snapshot_id", "family"])
        .agg(cells=("cell", "size"), keys=("first_key", "nunique"), first=("first_at", "min"))
        .reset_index()
    )
    typer.echo(summary.to_string(index=False))
    if csv is not None:
        released = ReleasedCells(settings.layout.ledger)
        parts = []
        for (snapshot_id, family), group in cells.groupby(["snapshot_id", "family"]):
            frames = released.history(str(family))
            frame = frames[frames["snapshot_id"] == snapshot_id]
            # What was served, not what the ledger keeps to protect the next publish.
            frame = frame.drop(columns=[c for c in frame.columns if c.endswith("__truth")])
            frame = frame.drop(columns="snapshot_id")
            parts.append(group.merge(frame, on="cell", how="left"))
        pd.concat(parts, ignore_index=True).to_csv(csv, index=False)
        typer.echo(f"{len(cells):,} cells written to {csv}")
