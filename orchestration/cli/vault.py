"""``merajut vault reveal``: the data protection officer's audited re-identification."""

from __future__ import annotations

from typing import Annotated

import typer

from orchestration.cli.common import console, pipeline_settings
from orchestration.cli.dpo import require_dpo

app = typer.Typer(no_args_is_help=True, help="The token vault (data protection officer only)")


@app.command()
def reveal(
    token: Annotated[str, typer.Argument(help="Token to resolve, e.g. nm_…")],
    reason: Annotated[str, typer.Option(help="Why (case number, legal basis; recorded)")],
) -> None:
    """Reveal a token's original value (MERAJUT_DPO_KEY required). Every call is audited, with
    the key's owner as the actor, before anything is decrypted."""
    from anonymization.vault import TokenVault, VaultIntegrityError
    from lakehouse.audit_log import AuditLogError

    settings = pipeline_settings()
    key = require_dpo(settings, "reveal", {"token": token, "reason": reason})
    layout = settings.layout
    try:
        with TokenVault(layout.vault, settings.keys.vault_key, layout.vault_audit_log) as vault:
            value = vault.reveal(token, actor=key.actor, reason=reason)
    except AuditLogError as exc:  # fail closed: nothing is revealed unaudited
        console.print(f"[red]refused: the audit log cannot be written ({exc}); nothing revealed[/]")
        raise typer.Exit(1) from exc
    except (KeyError, ValueError, VaultIntegrityError) as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    console.print(value)
