"""A person's credential, as every command that acts in a role checks it: the key from its
environment variable, against the role's hashed store; a refusal is audited before the command
exits, naming no one (the DPO's ``merajut subject`` / ``vault`` commands, the data steward's
``merajut publish approve`` / ``reject``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table

from lakehouse.key_store import KeyStoreError, PersonalKey, PersonalKeyStore
from lakehouse.settings import Settings
from orchestration.cli.common import console, pipeline_settings

K = TypeVar("K", bound=PersonalKey)


def require_key(
    store: PersonalKeyStore[K],
    presented: str,
    *,
    variable: str,
    create: str,
    action: str,
    about: dict[str, Any],
    audit: Callable[[dict[str, Any]], None],
) -> K:
    """The key's record, or exit 2 after an audited refusal. ``variable``: where the key is
    given; ``create``: the command that makes one."""
    record = store.authenticate(presented) if presented else None
    if record is not None and not record.revoked:
        return record
    what = store.what
    if not presented:
        outcome, message = "refused_no_key", f"set {variable} to your {what}"
    elif record is None:
        outcome, message = "refused_invalid_key", f"{variable} is not a valid {what}"
    else:
        outcome, message = "refused_revoked_key", f"{what} {record.id} has been revoked"
    key_id = store.parse_id(presented) if presented else None
    audit(
        {"actor": f"(no valid {what})", "action": action, "key_id": key_id, **about,
         "outcome": outcome}
    )  # fmt: skip
    console.print(
        f"[red]refused:[/] {message} (create one with `{create}`); "
        "the refusal is recorded in the audit log"
    )
    raise typer.Exit(2)


T = TypeVar("T")


def _or_exit(change: Callable[[], T]) -> T:
    """A key store change, or exit 2 with what was wrong (a bad name, an unknown id)."""
    try:
        return change()
    except KeyStoreError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc


def key_commands(
    *,
    role: str,
    kind: str,
    variable: str,
    store: Callable[[Settings], PersonalKeyStore[Any]],
    audit: Callable[[Settings, dict[str, Any]], None],
) -> typer.Typer:
    """``key create|list|revoke`` for one role's keys: shown once, kept as peppered hashes
    (the store needs the vault key: in production, from the environment); creating and revoking
    are audited (``<kind>_key_created``, ``<kind>_key_revoked``) with the key's owner as the
    actor."""
    app = typer.Typer(no_args_is_help=True, help=f"{role} keys (stored only as peppered hashes)")

    @app.command("create")
    def key_create(
        name: Annotated[str, typer.Option(help="Who holds the key (the actor in audit records)")],
    ) -> None:
        """Create a key and print it once."""
        settings = pipeline_settings()
        keys = store(settings)
        record, plaintext = _or_exit(lambda: keys.create(name))
        audit(settings, {"actor": record.actor, "action": f"{kind}_key_created",
                         "outcome": "created"})  # fmt: skip
        console.print(f"created {keys.what} [bold]{record.id}[/] for {record.name}")
        console.print(f"store it now; it cannot be shown again (give it as {variable}):")
        console.print(plaintext, markup=False, highlight=False, soft_wrap=True)

    @app.command("list")
    def key_list() -> None:
        """The keys (never their secrets)."""
        table = Table("id", "name", "created", "revoked")
        for k in store(pipeline_settings()).list():
            table.add_row(k.id, k.name, k.created_at, k.revoked_at or "")
        console.print(table)

    @app.command("revoke")
    def key_revoke(key_id: Annotated[str, typer.Argument(help="The key's public id")]) -> None:
        """Revoke a key at once."""
        settings = pipeline_settings()
        keys = store(settings)
        record = _or_exit(lambda: keys.revoke(key_id))
        audit(settings, {"actor": record.actor, "action": f"{kind}_key_revoked",
                         "outcome": "revoked"})  # fmt: skip
        console.print(f"revoked {keys.what} {record.id} ({record.name})")

    return app
