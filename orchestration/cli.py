"""``merajut``: the command line of the lakehouse."""

from __future__ import annotations

import json
import shutil
import sys
import time
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from orchestration.core.config import ConfigError, Settings, get_settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="MerajutASA Lakehouse")
# Bound to the real stdout: pipeline steps redirect sys.stdout to a log file while they run.
console = Console(file=sys.stdout)


def _settings() -> Settings:
    try:
        return get_settings()
    except ConfigError as exc:
        console.print(f"[bold red]configuration error:[/] {exc}")
        raise typer.Exit(2) from exc


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    )


def _generate(settings: Settings, children: int, seed: int, as_of: date) -> dict[str, int]:
    from ingestion.synthetic import GeneratorConfig, generate_sources

    settings.sources_dir.mkdir(parents=True, exist_ok=True)
    manifest = generate_sources(
        GeneratorConfig(children=children, seed=seed, as_of=as_of),
        settings.resolved_source_urls,
        settings.resolved_drops_dir,
    )
    return dict(manifest.to_dict()["row_counts"])


@app.command()
def generate(
    children: Annotated[int, typer.Option(help="Number of children to generate")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data)")] = 42,
) -> None:
    """Generate the synthetic MerajutASA source databases and the registry drop."""
    settings = _settings()
    with _progress() as progress:
        task = progress.add_task(f"generating sources for {children:,} children", total=1)
        counts = _generate(settings, children, seed, settings.reporting_date)
        progress.advance(task)
    console.print(f"sources in {settings.sources_dir}, drops in {settings.resolved_drops_dir}")
    console.print(counts)


def _run_pipeline(settings: Settings, only: str | None = None) -> bool:
    import dagster as dg

    from orchestration import runner

    home = runner.dagster_home(settings)
    runner.prepare_dbt_manifest()
    defs = runner.load_definitions()
    steps = [s for s in runner.PIPELINE_STEPS if only is None or s.key == only]
    log_path = settings.layout.reports / f"pipeline-{datetime.now(UTC):%Y%m%dT%H%M%S}.log"
    ok = True
    with dg.DagsterInstance.get() as instance, _progress() as progress:
        task = progress.add_task("pipeline", total=len(steps))
        for step in steps:
            progress.update(task, description=step.name)
            started = time.monotonic()
            result = runner.run_step(defs, step, instance, log_path)
            elapsed = time.monotonic() - started
            if not result.success:
                failures = [_failure_line(e) for e in result.all_events if e.is_step_failure]
                progress.stop()
                console.print(f"[bold red]step failed:[/] {step.name} ({elapsed:.1f}s)")
                for failure in failures:
                    console.print(f"  {failure}")
                console.print(
                    f"  run id {result.run_id} — inspect it in the Dagster UI (DAGSTER_HOME={home})"
                )
                console.print(f"  step output: {log_path}")
                ok = False
                break
            progress.console.print(f"[green]✓[/] {step.name} ({elapsed:.1f}s)")
            progress.advance(task)
    return ok


def _failure_line(event: Any) -> str:
    """The innermost error of a failed step: what actually went wrong, in one line."""
    error = getattr(event.event_specific_data, "error", None)
    while error is not None and error.cause is not None:
        error = error.cause
    message = error.message.strip().splitlines()[0] if error is not None else "failed"
    return f"{event.step_key}: {message}"


def _print_summary(settings: Settings) -> None:
    from orchestration.summary import summarize

    summary = summarize(settings.layout)
    table = Table(title="rows per source table")
    table.add_column("table")
    table.add_column("ingested", justify="right")
    table.add_column("quarantined", justify="right")
    table.add_column("quarantine reasons")
    for row in summary.tables:
        table.add_row(
            row["table"],
            f"{row['ingested']:,}",
            f"{row['quarantined']:,}",
            ", ".join(f"{k}={v}" for k, v in row["reasons"].items()),
        )
    console.print(table)
    published = Table(title=f"published in gold snapshot {summary.snapshot_id}")
    published.add_column("mart")
    published.add_column("rows", justify="right")
    for name, rows in summary.published.items():
        published.add_row(name, f"{rows:,}")
    console.print(published)
    console.print(f"checks passed: {', '.join(summary.checks_passed)}")
    console.print(f"gold snapshot: {summary.snapshot_path}")
    console.print(f"CURRENT:       {settings.layout.gold / 'CURRENT'} -> {summary.snapshot_id}")
    console.print(
        f"research release: {summary.release_path}  (privacy: {json.dumps(summary.privacy)})"
    )
    from orchestration.runner import dagster_home

    home = dagster_home(settings)
    console.print(
        "Dagster UI:    "
        f"DAGSTER_HOME={home} .venv/bin/dagster dev -m orchestration.definitions  (http://127.0.0.1:3000)"
    )
    settings.layout.reports.mkdir(parents=True, exist_ok=True)
    (settings.layout.reports / "last_summary.json").write_text(
        json.dumps(summary.to_dict(), indent=2, default=str)
    )


@app.command()
def run(
    step: Annotated[
        str | None, typer.Option(help="Run only one step: ingest, load, dbt, release or publish")
    ] = None,
) -> None:
    """Run the whole pipeline once (or one step of it) on the configured sources and warehouse."""
    from orchestration.runner import PIPELINE_STEPS

    if step is not None and step not in {s.key for s in PIPELINE_STEPS}:
        console.print(f"[red]unknown step {step!r}[/]; one of {[s.key for s in PIPELINE_STEPS]}")
        raise typer.Exit(2)
    settings = _settings()
    if not _run_pipeline(settings, step):
        raise typer.Exit(1)
    _print_summary(settings)


@app.command()
def demo(
    children: Annotated[int, typer.Option(help="Number of children to generate")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed")] = 42,
    fresh: Annotated[
        bool, typer.Option(help="Start from an empty lake and new sources (dev only)")
    ] = True,
) -> None:
    """Generate synthetic sources, run the whole pipeline on embedded chDB, print a summary."""
    settings = _settings()
    if settings.mode == "production":
        console.print("[red]demo generates synthetic sources and is refused in production mode[/]")
        raise typer.Exit(2)
    if fresh:
        # A demo mixes nothing with an earlier one: new sources, empty lake. Keys are kept.
        for path in (settings.layout.root, settings.sources_dir, settings.resolved_drops_dir):
            if path.exists():
                console.print(f"removing {path}")
                shutil.rmtree(path)
    with _progress() as progress:
        task = progress.add_task(f"generating sources for {children:,} children", total=1)
        _generate(settings, children, seed, settings.reporting_date)
        progress.advance(task)
    if not _run_pipeline(settings):
        raise typer.Exit(1)
    _print_summary(settings)


@app.command()
def summary() -> None:
    """Print what the lake holds now."""
    _print_summary(_settings())


@app.command()
def reidentify(
    token: Annotated[str, typer.Argument(help="Token to resolve, e.g. nm_…")],
    actor: Annotated[str, typer.Option(help="Who asks (recorded in the audit log)")],
    reason: Annotated[str, typer.Option(help="Why (case number, legal basis; recorded)")],
) -> None:
    """Admin only: reveal a token's original value from the vault. Every call is audited."""
    from anonymization.vault import TokenVault, VaultIntegrityError

    settings = _settings()
    vault = TokenVault(settings.layout.vault, settings.keys.vault_key)
    try:
        value = vault.reveal(token, actor=actor, reason=reason)
    except (KeyError, ValueError, VaultIntegrityError) as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    console.print(value)


@app.command("verify-audit")
def verify_audit() -> None:
    """Verify the hash chain of the re-identification audit log."""
    from anonymization.vault import verify_audit_log

    settings = _settings()
    log = settings.layout.vault.parent / "reidentification_audit.jsonl"
    ok, message = verify_audit_log(log)
    console.print(("[green]ok[/] " if ok else "[red]broken[/] ") + message)
    if not ok:
        raise typer.Exit(1)


# -- metrics API -------------------------------------------------------------------------------

api_key_app = typer.Typer(
    no_args_is_help=True, help="API keys of the metrics API (stored only as peppered hashes)"
)
app.add_typer(api_key_app, name="api-key")

if TYPE_CHECKING:  # the API's modules load only when an API command runs
    from metrics_api.core.config import ApiSettings
    from metrics_api.keys import KeyStore


def _api_settings() -> ApiSettings:
    """The metrics API's settings, sharing mode, home and lake root with the pipeline's."""
    from metrics_api.core.config import ApiSettings

    try:
        return ApiSettings.from_lakehouse(_settings())
    except ValueError as exc:  # pydantic's ValidationError and ApiConfigError are ValueErrors
        console.print(f"[bold red]configuration error:[/] {exc}")
        raise typer.Exit(2) from exc


def _key_store() -> KeyStore:
    from metrics_api.keys import KeyStore

    api = _api_settings()
    try:
        return KeyStore(api.resolved_key_store, api.pepper())
    except ValueError as exc:
        console.print(f"[bold red]configuration error:[/] {exc}")
        raise typer.Exit(2) from exc


@api_key_app.command("create")
def api_key_create(
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


@api_key_app.command("revoke")
def api_key_revoke(
    key_id: Annotated[str, typer.Argument(help="Key id, as in `api-key list`")],
) -> None:
    """Revoke a key; the running server refuses it from its next request on."""
    from metrics_api.keys import KeyStoreError

    try:
        record = _key_store().revoke(key_id)
    except KeyStoreError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    console.print(f"revoked {record.id} ({record.name}, {record.role}) at {record.revoked_at}")


@api_key_app.command("list")
def api_key_list() -> None:
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
) -> None:
    """Serve the metrics API (uvicorn) over the current gold snapshot; OpenAPI at /docs."""
    import uvicorn

    from metrics_api.main import create_app

    api = _api_settings()
    try:
        application = create_app(api)
    except ValueError as exc:
        console.print(f"[bold red]cannot start the API:[/] {exc}")
        raise typer.Exit(2) from exc
    console.print(f"metrics API on http://{host}:{port}  (docs: http://{host}:{port}/docs)")
    uvicorn.run(application, host=host, port=port)


@app.command("api-audit-verify")
def api_audit_verify() -> None:
    """Verify the hash chain of the metrics API's audit log."""
    from metrics_api.audit import verify_audit_chain

    ok, message = verify_audit_chain(_api_settings().resolved_audit_log)
    console.print(("[green]ok[/] " if ok else "[red]broken[/] ") + message)
    if not ok:
        raise typer.Exit(1)


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())
