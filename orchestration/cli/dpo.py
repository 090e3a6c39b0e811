"""The data protection officer's credential, as every ``merajut subject`` and ``merajut vault``
command checks it: from ``MERAJUT_DPO_KEY``, against the hashed store, refusals audited."""

from __future__ import annotations

from typing import Any

import typer

from lakehouse.audit_log import AuditLogError, HashChainedLog
from lakehouse.dpo_keys import DpoKey, DpoKeyStore
from lakehouse.settings import Settings
from orchestration.cli.common import console
from orchestration.cli.credentials import require_key


def dpo_store(settings: Settings) -> DpoKeyStore:
    """The store of DPO key hashes; its pepper needs the vault key (required in production)."""
    return DpoKeyStore.for_vault(settings.dpo_key_store, settings.keys.vault_key)


def dpo_log(settings: Settings) -> HashChainedLog:
    """The hash-chained log of re-identifications and data-subject requests."""
    return HashChainedLog(settings.layout.vault_audit_log)


def audit(settings: Settings, event: dict[str, Any]) -> None:
    """Append to the DPO log; fail closed (exit 1) when it cannot be written."""
    try:
        dpo_log(settings).append(event)
    except AuditLogError as exc:
        console.print(f"[red]refused: the audit log cannot be written ({exc}); nothing done[/]")
        raise typer.Exit(1) from exc


def require_dpo(settings: Settings, action: str, about: dict[str, Any]) -> DpoKey:
    """The DPO key's record, or exit 2 after an audited refusal."""
    presented = settings.dpo_key.get_secret_value() if settings.dpo_key is not None else ""
    return require_key(
        dpo_store(settings),
        presented,
        variable="MERAJUT_DPO_KEY",
        create="merajut subject key create --name NAME",
        action=action,
        about=about,
        audit=lambda event: audit(settings, event),
    )
