"""``merajut audit verify --log vault|api``: check a hash-chained audit log end to end."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from lakehouse.audit_log import verify_log
from orchestration.cli.common import load_settings, verdict

app = typer.Typer(no_args_is_help=True, help="The hash-chained audit logs")


class Log(StrEnum):
    vault = "vault"  # re-identifications through the token vault
    api = "api"  # data-returning requests of the metrics API


@app.command()
def verify(
    log: Annotated[Log, typer.Option(help="vault: re-identifications; api: API requests")],
) -> None:
    """Verify a log's hash chain; names the first line that was edited, removed or reordered."""
    settings = load_settings()
    path = settings.layout.vault_audit_log if log is Log.vault else settings.api_audit_log
    verdict(*verify_log(path))
