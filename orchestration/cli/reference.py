"""``merajut reference seeds``: write the dbt seeds from the reference data."""

from __future__ import annotations

from typing import Annotated

import typer

from lakehouse.layout import DBT_PROJECT_DIR
from lakehouse.reference.seeds import stale_seeds, write_seeds
from orchestration.cli.common import console

app = typer.Typer(no_args_is_help=True, help="Reference data (regions, audiences, services)")


@app.command()
def seeds(
    check: Annotated[
        bool, typer.Option(help="Only report seeds that differ; write nothing")
    ] = False,
) -> None:
    """(Re)write dbt_project/seeds/*.csv from lakehouse.reference, or check they are current."""
    seed_dir = DBT_PROJECT_DIR / "seeds"
    if check:
        stale = stale_seeds(seed_dir)
        if stale:
            console.print(
                f"[red]stale seeds:[/] {', '.join(stale)} (run `merajut reference seeds`)"
            )
            raise typer.Exit(1)
        console.print("[green]seeds match the reference data[/]")
        return
    for path in write_seeds(seed_dir):
        console.print(f"wrote {path}")
