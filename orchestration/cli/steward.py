"""The data steward's credential and what the sign-off commands print, shared by ``merajut
publish`` and ``merajut demo`` (which signs its own candidate off as a demo steward it creates
for that one approval, says so, and revokes the key at once)."""

from __future__ import annotations

from typing import Any

import typer

from lakehouse.audit_log import AuditLogError
from lakehouse.gold_snapshot import GoldSnapshots
from lakehouse.settings import Settings
from lakehouse.signoff import Finding, Review, SignoffError, SnapshotReviews
from lakehouse.steward_keys import StewardKey, StewardKeyStore
from orchestration.cli.common import console
from orchestration.cli.credentials import require_key
from orchestration.core.publication import publication_log

DEMO_STEWARD = "demo data steward (merajut demo)"


def steward_store(settings: Settings) -> StewardKeyStore:
    """The store of steward key hashes; its pepper needs the vault key (as the DPO's)."""
    return StewardKeyStore.for_vault(settings.steward_key_store, settings.keys.vault_key)


def audit(settings: Settings, event: dict[str, Any]) -> None:
    """Append to the publication log (where approvals are); fail closed (exit 1)."""
    try:
        publication_log(settings.layout).append(event)
    except AuditLogError as exc:
        console.print(
            f"[red]refused: the publication log cannot be written ({exc}); nothing done[/]"
        )
        raise typer.Exit(1) from exc


def require_steward(settings: Settings, action: str, about: dict[str, Any]) -> StewardKey:
    """The steward key's record (from ``MERAJUT_STEWARD_KEY``), or exit 2 after an audited
    refusal."""
    presented = settings.steward_key.get_secret_value() if settings.steward_key else ""
    return require_key(
        steward_store(settings),
        presented,
        variable="MERAJUT_STEWARD_KEY",
        create="merajut publish key create --name NAME",
        action=action,
        about=about,
        audit=lambda event: audit(settings, event),
    )


def print_findings(review: Review, findings: list[Finding]) -> None:
    """Each finding with its id, what it is, its value and what was expected."""
    if not findings:
        console.print(f"snapshot {review.snapshot_id}: no rule violation, no outlier")
        return
    console.print(
        f"snapshot {review.snapshot_id}: {len(findings)} finding(s), each to be acknowledged "
        "by its id before it goes live"
    )
    for finding in findings:
        console.print(f"  [bold]{finding.id}[/]  ({finding.kind})", highlight=False)
        for label in ("what", "value", "expected"):
            text = getattr(finding, label)
            console.print(f"      {label + ':':<10}{text}", markup=False, highlight=False)


def sign_off_as_demo_steward(settings: Settings) -> None:
    """What ``merajut demo`` does after its run (holding the pipeline lock): print the new
    candidate's findings, then approve it through the one approval path as a demo steward whose
    key it creates for this approval and revokes after it, acknowledging each finding by id, and
    say so. A demo must end with a live snapshot; ``merajut demo`` is refused in production."""
    from orchestration.publish.signoff import Approver, approvable, approve

    current = GoldSnapshots(settings.layout.gold).current_id()
    awaiting = SnapshotReviews(settings.layout).awaiting(current)
    if not awaiting:
        return  # nothing new was published (or the run approved its own candidate)
    snapshot_id = awaiting[0].snapshot_id
    try:
        review, findings = approvable(settings, snapshot_id)
    except SignoffError as exc:
        console.print(f"[red]the demo cannot approve {snapshot_id}: {exc}[/]")
        raise typer.Exit(1) from exc
    console.print("[bold]sign-off[/] (a data steward approves each snapshot before it goes live)")
    print_findings(review, findings)
    store = steward_store(settings)
    record, _ = store.create(DEMO_STEWARD)
    audit(settings, {"actor": record.actor, "action": "steward_key_created", "outcome": "created",
                     "note": "created by merajut demo for one approval, revoked after it"})  # fmt: skip
    try:
        approve(
            settings,
            snapshot_id,
            [f.id for f in findings],
            Approver.steward(record),
            report=console.print,
        )
    except SignoffError as exc:
        console.print(f"[red]the demo cannot approve {snapshot_id}: {exc}[/]")
        raise typer.Exit(1) from exc
    finally:
        store.revoke(record.id)
        audit(settings, {"actor": record.actor, "action": "steward_key_revoked",
                         "outcome": "revoked"})  # fmt: skip
    console.print(
        f"approved {snapshot_id} as {record.actor}: a key merajut demo created for this "
        f"approval and revoked after it, acknowledging each of the {len(findings)} finding(s) "
        "above. Outside the demo a data steward reads each finding and acknowledges it by id: "
        f"merajut publish show {snapshot_id}, then merajut publish approve {snapshot_id} "
        "--acknowledge ID ...",
        markup=False,
        highlight=False,
    )
