"""``merajut api key create|list|revoke`` and ``merajut api serve``: the metrics API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from lakehouse.secrets import ConfigError
from lakehouse.settings import Settings
from orchestration.cli.common import config_error, console, load_settings

if TYPE_CHECKING:  # the API's modules load only when an API command runs
    from metrics_api.keys import KeyStore

app = typer.Typer(no_args_is_help=True, help="The metrics REST API: its keys and its server")
key_app = typer.Typer(
    no_args_is_help=True, help="API keys (stored only as peppered hashes; shown once)"
)
app.add_typer(key_app, name="key")


def _pepper(settings: Settings) -> bytes:
    try:
        return settings.api_pepper()
    except ConfigError as exc:
        config_error(exc)


def _key_store() -> KeyStore:
    from metrics_api.keys import KeyStore

    settings = load_settings()
    return KeyStore(settings.api_key_store, _pepper(settings))


@key_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="Who the key is for (shown in audit records)")],
    role: Annotated[
        str,
        typer.Option(help="government, business, researcher, community, media or admin"),
    ],
    province: Annotated[
        str | None, typer.Option(help="Limit the key to one province (two-digit BPS code)")
    ] = None,
) -> None:
    """Create an API key and print it once: only its hash is stored."""
    from metrics_api.keys import KeyStoreError

    store = _key_store()
    try:
        record, plaintext = store.create(name, role, province)
    except KeyStoreError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    scope = f", province {record.province}" if record.province else ""
    console.print(f"created key [bold]{record.id}[/] ({record.role}{scope}) for {record.name}")
    console.print("store it now; it cannot be shown again:")
    # Plain print: rich would wrap or style the key, and scripts capture this line.
    print(plaintext, file=console.file, flush=True)


@key_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="Key id, as in `merajut api key list`")],
) -> None:
    """Revoke a key; the running server refuses it from its next request on."""
    from metrics_api.keys import KeyStoreError

    try:
        record = _key_store().revoke(key_id)
    except KeyStoreError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    console.print(f"revoked {record.id} ({record.name}, {record.role}) at {record.revoked_at}")


@key_app.command("list")
def list_keys() -> None:
    """List keys (ids, names, roles, scopes, status) — never the keys themselves."""
    table = Table(title="metrics API keys")
    for column in ("id", "name", "role", "province", "created_at", "status"):
        table.add_column(column)
    for key in _key_store().list():
        status = f"revoked {key.revoked_at}" if key.revoked else "active"
        table.add_row(key.id, key.name, key.role, key.province or "-", key.created_at, status)
    console.print(table)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Server processes (default MERAJUT_API_WORKERS, 1)"),
    ] = None,
    access_log: Annotated[
        bool,
        typer.Option(
            help="Also print uvicorn's line per request (the audit log records every request "
            "with its key, query, status and rows either way)"
        ),
    ] = False,
) -> None:
    """Serve the metrics API (uvicorn) over the current gold snapshot; OpenAPI at /docs."""
    import uvicorn

    from metrics_api.main import create_app

    settings = load_settings()
    try:
        # Built here even with several workers: a missing secret or a bad catalog is reported
        # once, before any process starts.
        application = create_app(settings)
    except ValueError as exc:  # ConfigError, CatalogError: the message says what to fix
        config_error(exc)
    processes = workers or settings.api.workers
    console.print(
        f"metrics API on http://{host}:{port}  (docs: http://{host}:{port}/docs)"
        + (f", {processes} workers" if processes > 1 else "")
    )
    if processes == 1:
        uvicorn.run(application, host=host, port=port, access_log=access_log)
    else:  # each worker builds its own app from the same environment
        uvicorn.run(
            "metrics_api.main:create_app", factory=True, host=host, port=port, workers=processes,
            access_log=access_log,
        )  # fmt: skip
