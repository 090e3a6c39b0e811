"""``merajut subject ...``: the data protection officer's data-subject rights.

key create|list|revoke     the DPO credentials (shown once, kept as peppered hashes)
erase SUBJECT_ID           tombstone + crypto-shred now; every zone at the next run
restrict / unrestrict      hold the subject out of every output (from the next run) / lift it
export SUBJECT_ID          everything held about the subject, decrypted, JSON + data dictionary
verify SUBJECT_ID          search every zone for the subject's ids, tokens and clear values
status                     the requests in the register and whether a run carried them out

Every command but ``key`` needs ``MERAJUT_DPO_KEY``; every call, refused or not, is recorded in
the hash-chained audit log with the key's owner as the actor. A subject is named by the child
registry's id; the register and the audit log keep only its keyed reference.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.table import Table

from lakehouse.settings import Settings
from orchestration.cli.common import console, pipeline_settings
from orchestration.cli.credentials import key_commands
from orchestration.cli.dpo import audit, dpo_store, require_dpo

if TYPE_CHECKING:
    from anonymization.vault import TokenVault
    from ingestion.subjects import SubjectRules
    from lakehouse.populations import PopulationMembers
    from lakehouse.subject_register import SubjectRegister

app = typer.Typer(no_args_is_help=True, help="Data-subject rights (data protection officer only)")
app.add_typer(
    key_commands(
        role="Data protection officer",
        kind="dpo",
        variable="MERAJUT_DPO_KEY",
        store=dpo_store,
        audit=audit,
    ),
    name="key",
)

SubjectId = Annotated[str, typer.Argument(help="The child registry's id of the child")]
Reason = Annotated[str, typer.Option(help="Why (request number, legal basis; recorded)")]


# -- shared ---------------------------------------------------------------------------------------


class _Subject:
    """The tools one subject command uses, opened once and closed together."""

    def __init__(self, settings: Settings, stack: ExitStack) -> None:
        from anonymization.tokens import Tokenizer
        from anonymization.vault import TokenVault
        from ingestion.contracts import load_contracts
        from lakehouse.subject_register import SubjectRegister

        layout = settings.layout
        self.settings = settings
        self.tokenizer = Tokenizer(settings.keys.token_key)
        self.contracts = load_contracts()
        self.register: SubjectRegister = stack.enter_context(
            SubjectRegister(layout.subject_register)
        )
        self.vault: TokenVault = stack.enter_context(
            TokenVault(layout.vault, settings.keys.vault_key, layout.vault_audit_log)
        )

    def populations(self) -> PopulationMembers:
        from lakehouse.populations import PopulationMembers

        return PopulationMembers(self.settings.layout.populations)

    def member(self, subject_id: str) -> bytes:
        """The child's hash in the population files (lakehouse.populations)."""
        from lakehouse.populations import member_key, member_of

        return member_of(member_key(self.settings.keys.token_key), subject_id)

    def ref(self, subject_id: str) -> str:
        from ingestion.subjects import SUBJECT_DOMAIN

        token = self.tokenizer.token(SUBJECT_DOMAIN, subject_id.strip())
        if token is None:
            console.print("[red]a subject id must be non-empty[/]")
            raise typer.Exit(2)
        return token

    def in_lake(self, subject_id: str) -> bool:
        """Whether the child's registry row is in bronze or held (a lake older than the
        vault's subject keys has no key to tell)."""
        import duckdb

        from ingestion.lake import bronze_and_held_files
        from ingestion.subjects import SUBJECT_COLUMN, SUBJECT_TABLE

        files = bronze_and_held_files(self.settings.layout, self.contracts[SUBJECT_TABLE])
        if not files:
            return False
        row = (
            duckdb.connect()
            .execute(
                f"select count(*) from read_parquet(?) where {SUBJECT_COLUMN} = ?",
                [[str(f) for f in files], subject_id],
            )
            .fetchone()
        )
        return bool(row and row[0])

    def known(self, subject_id: str, ref: str) -> bool:
        return self.vault.has_subject(ref) or self.in_lake(subject_id)

    def unique_identifiers(self, ref: str) -> list[str]:
        """The subject's NIK tokens (theirs and their guardians') no other subject holds."""
        from ingestion.subjects import UNIQUE_IDENTIFIER_DOMAINS

        mine = [t for d, t in self.vault.subject_tokens(ref) if d in UNIQUE_IDENTIFIER_DOMAINS]
        owners = self.vault.owners_of(mine)
        return sorted(t for t in mine if owners.get(t, set()) <= {ref})

    def rules_for(self, ref: str, identifiers: list[str]) -> SubjectRules:
        from ingestion.subjects import SubjectRules, subject_links

        return SubjectRules(
            self.tokenizer,
            restricted=frozenset({ref}),
            restricted_identifiers=frozenset(identifiers),
            links=subject_links(self.contracts),
        )


class _Request:
    """One DPO request about one subject: the tools, the key that asked, what the register
    says of the subject; every outcome is audited through :meth:`record`."""

    def __init__(self, s: _Subject, action: str, subject_id: str, reason: str | None) -> None:
        self.s = s
        self.action = action
        self.subject_id = subject_id
        self.ref = s.ref(subject_id)
        about = {"subject": self.ref, **({"reason": reason} if reason is not None else {})}
        self.key = require_dpo(s.settings, action, about)
        self.reason = _reason(reason) if reason is not None else ""
        self.current = s.register.get(self.ref)

    @property
    def status(self) -> str:
        return self.current.status if self.current is not None else "active"

    def record(self, outcome: str, **extra: object) -> None:
        event = {"actor": self.key.actor, "action": self.action, "subject": self.ref}
        if self.reason:
            event["reason"] = self.reason
        audit(self.s.settings, {**event, **extra, "outcome": outcome})

    def refuse(self, outcome: str, message: str) -> NoReturn:
        self.record(outcome)
        console.print(f"[red]{message}[/] (nothing done)")
        raise typer.Exit(1)

    def require_known(self) -> None:
        if self.current is None and not self.s.known(self.subject_id, self.ref):
            self.refuse("unknown_subject", f"no data subject {self.subject_id!r} in this lakehouse")

    def refuse_if_erased(self, what: str) -> None:
        if self.status == "erased":
            self.refuse("refused_erased", f"{self.subject_id} is erased: {what}")


@contextmanager
def _request(action: str, subject_id: str, reason: str | None) -> Iterator[_Request]:
    settings = pipeline_settings()
    with ExitStack() as stack:
        yield _Request(_Subject(settings, stack), action, subject_id, reason)


def _reason(reason: str) -> str:
    if not reason.strip():
        console.print("[red]--reason must say why (request number, legal basis)[/]")
        raise typer.Exit(2)
    return reason.strip()


# -- requests -------------------------------------------------------------------------------------


@app.command()
def erase(subject_id: SubjectId, reason: Reason) -> None:
    """Erase a child and everything derived from them (guardians, cases, notes, placements,
    consents, access events). The vault's originals are crypto-shredded now; the next run
    removes them from every zone and withdraws the releases and snapshots that hold them."""
    with _request("erase", subject_id, reason) as r:
        if r.current is not None and r.current.status == "erased":
            r.record("no_op_already_erased")
            applied = r.current.applied_at
            state = f"carried out {applied}" if applied else "pending the next run"
            console.print(
                f"[yellow]no-op:[/] {subject_id} was already erased on "
                f"{r.current.requested_at} ({state}); nothing changed"
            )
            return
        r.require_known()
        identifiers = r.s.unique_identifiers(r.ref)
        r.record("requested")
        r.s.register.erase(r.ref, actor=r.key.actor, reason=r.reason, identifier_tokens=identifiers)
        shredded = r.s.vault.shred_subject(r.ref, actor=r.key.actor, reason=r.reason)
        forgotten = r.s.populations().forget(r.s.member(subject_id))
        r.record("population_members_removed", snapshots=len(forgotten))
    console.print(
        f"[green]erased[/] {subject_id}: tombstoned, and {shredded} vault value(s) crypto-shredded "
        "(their data key is destroyed: no copy or backup of the vault can reveal them). The next "
        "run (`merajut run`) removes the child from bronze, quarantine, the warehouse, new "
        "snapshots and releases, withdraws earlier ones, and skips them in every later ingest."
    )


@app.command()
def restrict(subject_id: SubjectId, reason: Reason) -> None:
    """Restrict processing: from the next run the child is in no output (the vault keeps them)."""
    with _request("restrict", subject_id, reason) as r:
        r.require_known()
        r.refuse_if_erased("there is nothing left to restrict")
        identifiers = r.s.unique_identifiers(r.ref)
        changed = r.s.register.restrict(
            r.ref, actor=r.key.actor, reason=r.reason, identifier_tokens=identifiers
        )
        r.record("requested" if changed else "no_op_already_restricted")
    if changed:
        console.print(f"[green]restricted[/] {subject_id}: out of every output from the next run")
    else:
        console.print(f"[yellow]no-op:[/] {subject_id} is already restricted")


@app.command()
def unrestrict(subject_id: SubjectId, reason: Reason) -> None:
    """Lift a restriction: the next run brings the child's held rows back."""
    with _request("unrestrict", subject_id, reason) as r:
        changed = r.s.register.lift(r.ref, actor=r.key.actor, reason=r.reason)
        r.record("requested" if changed else "no_op_not_restricted")
    if changed:
        console.print(
            f"[green]lifted[/] the restriction of {subject_id}: back in outputs from the next run"
        )
    else:
        console.print(f"[yellow]no-op:[/] {subject_id} is not restricted")


@app.command()
def export(
    subject_id: SubjectId,
    reason: Reason,
    out: Annotated[
        Path | None,
        typer.Option(help="Where to write the JSON (mode 0600); default <home>/exports/"),
    ] = None,
) -> None:
    """Everything held about the child, decrypted, as JSON with a data dictionary (audited)."""
    from ingestion.subject_access import export_subject, write_export

    with _request("export", subject_id, reason) as r:
        r.refuse_if_erased("nothing is held about them any more")
        r.require_known()
        document = export_subject(
            r.s.settings.layout,
            r.s.contracts,
            r.s.rules_for(r.ref, r.s.unique_identifiers(r.ref)),
            r.s.vault,
            subject_id=subject_id,
            status=r.status,
            actor=r.key.actor,
            reason=r.reason,
        )
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = out or r.s.settings.home.resolve() / "exports" / f"subject-{r.ref}-{stamp}.json"
        write_export(document, path)
        r.record("exported", sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    rows = sum(len(v) for v in document["records"].values())
    console.print(
        f"exported {rows} record(s) of {len(document['records'])} table(s) to {path} (mode 0600)"
    )


@app.command()
def verify(
    subject_id: SubjectId,
    superset_db: Annotated[
        Path | None, typer.Option(help="Superset's metadata database to search too")
    ] = None,
) -> None:
    """Search every zone for the child's ids, tokens and clear values; exit 1 if an erased or
    restricted child is found anywhere they must not be."""
    from ingestion.subject_footprint import (
        Finding,
        scan_lake,
        scan_sqlite,
        scan_warehouse,
        subject_needles,
    )
    from lakehouse.research_release import ResearchReleases
    from lakehouse.warehouse import session
    from orchestration.cli.pipeline import pipeline_lock
    from orchestration.release.build import release_key

    with _request("verify", subject_id, None) as r:
        s, settings, ref = r.s, r.s.settings, r.ref
        layout = settings.layout
        needles = subject_needles(
            settings.resolved_source_urls, s.contracts, s.tokenizer, subject_id
        )
        releases = {
            r.id: release_key(settings.keys.release_key, r.id)
            for r in ResearchReleases(layout.releases).list()
        }
        record_ids = needles.release_ids(releases)
        skip = [layout.warehouse, layout.restricted / "vault", layout.subjects / "register.sqlite",
                layout.api_audit_log, layout.restricted / "ledger"]  # fmt: skip
        findings = scan_lake(layout.root, needles, record_ids, skip=skip)
        findings += scan_sqlite(layout.vault, needles, "restricted/vault")
        findings += scan_sqlite(layout.served_ledger, needles, "restricted/ledger")
        # Superset's metadata: the one named, or the dev server's (README: --home .superset).
        candidates = [superset_db] if superset_db else [
            settings.home.resolve() / "superset" / "superset.db", Path(".superset/superset.db")
        ]  # fmt: skip
        for superset in candidates:
            findings += scan_sqlite(superset.resolve(), needles, "superset")
        with (
            pipeline_lock(settings, "merajut subject verify", wait=True),
            session(settings.warehouse_target, purpose="subject verify") as client,
        ):
            findings += scan_warehouse(client, needles, record_ids)
        findings += [
            Finding(
                "restricted/populations", f"populations/{snapshot_id}.parquet", "member hash", 1
            )
            for snapshot_id in s.populations().holding(s.member(subject_id))
        ]
        key_left = s.vault.has_subject(ref)
        status = r.status
        must_be_gone = status in ("erased", "restricted")
        # A restricted subject stays in the vault and in the held files; nowhere else.
        held_ok = [
            f
            for f in findings
            if status == "restricted"
            and f.zone in ("restricted/subjects", "restricted/vault", "restricted/populations")
        ]
        bad = len([f for f in findings if f not in held_ok]) if must_be_gone else 0
        bad += int(status == "erased" and key_left)
        outcome = ("clean" if not bad else "found") if must_be_gone else "present"
        r.record(outcome, status=status, findings=len(findings))
    table = Table("zone", "where", "what", "count")
    for f in findings:
        table.add_row(f.zone, f.location, f.kind, str(f.count))
    if key_left:
        table.add_row("restricted/vault", "subject_keys", "the subject's data key", "1")
    searched = (
        f"searched for {len(needles.exact)} value(s) of {subject_id} ({sum(needles.rows.values())} "
        f"source rows in {len(needles.rows)} table(s); {sum(needles.shared.values())} value(s) "
        "other people share were not searched)"
    )
    if findings or key_left:
        console.print(table)
    console.print(searched)
    if not must_be_gone:
        console.print(f"{subject_id} is {status}: {len(findings)} place(s) hold them, as expected")
        return
    if bad:
        console.print(f"[red]{subject_id} is {status} but {bad} place(s) above still hold them[/]")
        raise typer.Exit(1)
    kept = " (kept in the vault and held in the restricted zone)" if held_ok else ""
    console.print(f"[green]clean:[/] {subject_id} is {status} and no output holds them{kept}")


@app.command()
def status() -> None:
    """The register: requests by keyed reference, who asked, and whether a run carried them out."""
    from lakehouse.subject_register import SubjectRegister

    settings = pipeline_settings()
    key = require_dpo(settings, "status", {})
    table = Table("subject (keyed ref)", "status", "requested", "by", "carried out")
    with SubjectRegister(settings.layout.subject_register) as register:
        for e in register.entries():
            table.add_row(
                e.subject_ref, e.status, e.requested_at, e.requested_by, e.applied_at or "pending"
            )
    audit(settings, {"actor": key.actor, "action": "status", "outcome": "listed"})
    console.print(table)
