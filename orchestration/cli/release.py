"""``merajut release list | cite | withdraw``: the research release catalog from the command line.

Withdrawing a release is the data protection officer's decision (a disclosure problem found
after publication, a population that should not have been in it). It needs the DPO key, holds
the pipeline lock (the release step writes ``releases/``), deletes the records and keeps the
catalog entry. The publication log records who withdrew which release and why.
"""

from __future__ import annotations

from typing import Annotated

import typer

from lakehouse.audit_log import AuditLogError
from lakehouse.release_catalog import CITATION_STYLES, CitationStyle, ReleaseCatalog, citation
from lakehouse.research_release import ResearchReleases
from lakehouse.withdrawals import withdraw_release
from orchestration.cli.common import console, load_settings
from orchestration.cli.dpo import require_dpo
from orchestration.cli.pipeline import WaitOption, pipeline_lock
from orchestration.core.publication import publication_log

app = typer.Typer(no_args_is_help=True, help="The research release catalog")


def _catalog() -> ReleaseCatalog:
    return ReleaseCatalog(ResearchReleases(load_settings().layout.releases))


@app.command("list")
def list_releases(
    tier: Annotated[str | None, typer.Option(help="public_use, licensed or enclave")] = None,
) -> None:
    """Every release ever published, newest first: id, tier, status, records, until when it
    is handed out (or when it ended), identifier. One line each, tab-separated (scriptable)."""
    entries = _catalog().entries(tier)
    if not entries:
        console.print("no release has been published")
        return
    for e in entries:
        ended = e.ended_at or e.available_until or "-"
        rows = str(e.rows) if e.rows is not None else "-"
        print("\t".join((e.release_id, e.tier, e.status, rows, ended[:10], e.identifier)))


@app.command()
def cite(
    release_id: Annotated[str, typer.Argument(help="e.g. research-20261101T120000000000Z")],
    style: Annotated[str, typer.Option(help="text, bibtex or ris")] = "text",
) -> None:
    """How to cite a release (withdrawn ones too)."""
    styles: dict[str, CitationStyle] = {s: s for s in CITATION_STYLES}
    chosen = styles.get(style)
    if chosen is None:
        console.print(f"[red]unknown style {style!r}: {', '.join(CITATION_STYLES)}[/]")
        raise typer.Exit(2)
    entry = _catalog().entry(release_id)
    if entry is None:
        console.print(f"[red]no published release {release_id!r}[/]")
        raise typer.Exit(1)
    print(citation(entry, chosen))


@app.command()
def withdraw(
    release_id: Annotated[str, typer.Argument(help="The release to take back")],
    reason: Annotated[str, typer.Option(help="Why (shown in the catalog; recorded)")],
    wait: WaitOption = True,
) -> None:
    """Withdraw a release (MERAJUT_DPO_KEY required): its records are deleted, its catalog
    entry and citation stay, marked withdrawn, and the API answers 410 for its data."""
    settings = load_settings()
    key = require_dpo(settings, "withdraw_release", {"release": release_id, "reason": reason})
    catalog = ReleaseCatalog(ResearchReleases(settings.layout.releases))
    with pipeline_lock(settings, "merajut release withdraw", wait):
        entry = catalog.entry(release_id)
        if entry is None:
            console.print(f"[red]no published release {release_id!r}[/]")
            raise typer.Exit(1)
        if entry.status in ("withdrawn", "retired"):
            console.print(f"release {release_id} is already {entry.status}; nothing done")
            return
        log = publication_log(settings.layout)
        try:  # the record first: no withdrawal goes unrecorded
            log.append(
                {"actor": key.actor, "action": "withdraw_release", "release": release_id,
                 "tier": entry.tier, "reason": reason}
            )  # fmt: skip
        except AuditLogError as exc:
            console.print(f"[red]refused: the publication log cannot be written ({exc})[/]")
            raise typer.Exit(1) from exc
        withdraw_release(settings.layout, release_id, reason, actor=key.actor)
    console.print(f"withdrew {release_id} ({entry.tier}); cite it as {entry.identifier}")
