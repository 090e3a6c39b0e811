"""``merajut``: the command line of the lakehouse, one sub-command per concern.

merajut demo | generate | run [--step ...] [--force] | summary   the pipeline and the lake
merajut publish candidates | show ID | approve ID --acknowledge F ... | reject ID | key
                                                         sign-off (data steward key)
merajut retention [--dry-run]                            how long snapshots and extracts stay
merajut release list | cite ID | withdraw ID --reason   the research release catalog
merajut api key create|list|revoke, merajut api serve    the metrics API
merajut audit verify --log vault|api|publication         the hash-chained audit logs
merajut audit ledger [--role R] [--csv PATH]             what each role has been served
merajut vault reveal TOKEN --reason                      audited re-identification (DPO key)
merajut subject key|erase|restrict|unrestrict|export|verify|status   data-subject rights (DPO)
merajut reference seeds [--check]                        dbt seeds from reference data
"""

from __future__ import annotations

import typer

from orchestration.cli import (
    api,
    audit,
    pipeline,
    publish,
    reference,
    release,
    retention,
    subject,
    vault,
)

app = typer.Typer(add_completion=False, no_args_is_help=True, help="MerajutASA Lakehouse")
app.command()(pipeline.demo)
app.command()(pipeline.generate)
app.command()(pipeline.run)
app.command()(pipeline.summary)
app.command()(retention.retention)
app.add_typer(publish.app, name="publish")
app.add_typer(release.app, name="release")
app.add_typer(api.app, name="api")
app.add_typer(audit.app, name="audit")
app.add_typer(vault.app, name="vault")
app.add_typer(subject.app, name="subject")
app.add_typer(reference.app, name="reference")

__all__ = ["app"]
