"""``merajut demo | generate | run | summary``: the pipeline and what it leaves in the lake."""

from __future__ import annotations

import json
import shutil
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from lakehouse.ids import timestamp_id
from lakehouse.locks import LockBusy, exclusive_lock
from lakehouse.settings import Settings
from orchestration.cli.common import console, load_settings, pipeline_settings, progress

if TYPE_CHECKING:
    from orchestration.summary import LakeSummary

WaitOption = Annotated[
    bool,
    typer.Option(
        help="When another run of this lake is in progress: wait for it (--wait) or refuse "
        "at once (--no-wait, exit 3)"
    ),
]


class _Stopped(Exception):
    """SIGTERM while waiting for another run: stop waiting, exit cleanly."""


def _stop(signum: int, frame: Any) -> None:
    raise _Stopped


@contextmanager
def pipeline_lock(settings: Settings, purpose: str, wait: bool) -> Iterator[None]:
    """One pipeline run per home at a time. A second run says whom it waits for; Ctrl-C or
    SIGTERM while it waits stops it cleanly (exit 130 / 143), ``--no-wait`` refuses (exit 3)."""
    previous = signal.signal(signal.SIGTERM, _stop)
    acquired = False
    try:
        with exclusive_lock(
            settings.pipeline_lock,
            guards="the pipeline of this lake",
            purpose=purpose,
            wait=wait,
            on_wait=lambda message: console.print(f"[yellow]{message}[/]"),
        ):
            acquired = True
            signal.signal(signal.SIGTERM, previous)
            yield
    except LockBusy as exc:
        console.print(f"[red]refused:[/] {exc}; run again when it has finished, or use --wait")
        raise typer.Exit(3) from exc
    except (KeyboardInterrupt, _Stopped) as exc:
        if acquired:
            raise
        console.print("stopped while waiting for the other run; nothing was changed")
        raise typer.Exit(130 if isinstance(exc, KeyboardInterrupt) else 143) from exc
    finally:
        if not acquired:
            signal.signal(signal.SIGTERM, previous)


def _generate(
    settings: Settings, children: int, seed: int, as_of: date, workers: int | None = None
) -> dict[str, int]:
    from ingestion.synthetic import GeneratorConfig, default_workers, generate_sources

    settings.sources_dir.mkdir(parents=True, exist_ok=True)
    manifest = generate_sources(
        GeneratorConfig(children=children, seed=seed, as_of=as_of),
        settings.resolved_source_urls,
        settings.resolved_drops_dir,
        workers=workers or default_workers(),
    )
    return dict(manifest.to_dict()["row_counts"])


def _refuse_in_production(settings: Settings, what: str) -> None:
    if settings.mode == "production":
        console.print(f"[red]{what} writes synthetic sources and is refused in production mode[/]")
        raise typer.Exit(2)


def generate(
    children: Annotated[int, typer.Option(help="Number of children to generate")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data)")] = 42,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1, help="Processes generating at once (default: one per CPU; same data either way)"
        ),
    ] = None,
) -> None:
    """Generate the synthetic MerajutASA source databases and the registry drop."""
    settings = load_settings()
    _refuse_in_production(settings, "generate")
    with progress() as bar:
        task = bar.add_task(f"generating sources for {children:,} children", total=1)
        counts = _generate(settings, children, seed, settings.reporting_date, workers)
        bar.advance(task)
    console.print(f"sources in {settings.sources_dir}, drops in {settings.resolved_drops_dir}")
    console.print(counts)


def _failure_line(event: Any) -> str:
    """The innermost error of a failed step: what actually went wrong, in one line."""
    error = getattr(event.event_specific_data, "error", None)
    while error is not None and error.cause is not None:
        error = error.cause
    message = error.message.strip().splitlines()[0] if error is not None else "failed"
    return f"{event.step_key}: {message}"


def _run_pipeline(settings: Settings, only: str | None = None, force: bool = False) -> bool:
    from orchestration import runner

    defs = runner.load_definitions()
    steps = [s for s in runner.PIPELINE_STEPS if only is None or s.key == only]
    log_path = settings.layout.reports / f"pipeline-{timestamp_id()}.log"
    with runner.open_instance(settings) as instance:
        dead = runner.fail_dead_runs(instance)
        if dead:
            console.print(
                f"[yellow]marked {len(dead)} run(s) of a killed earlier merajut as failed "
                "and freed their warehouse slots[/]"
            )
        return _run_steps(settings, defs, steps, instance, log_path, force)


def _run_steps(
    settings: Settings, defs: Any, steps: list[Any], instance: Any, log_path: Path, force: bool
) -> bool:
    from orchestration import runner

    ok = True
    with progress() as bar:
        task = bar.add_task("pipeline", total=len(steps))
        for step in steps:
            bar.update(task, description=step.name)
            started = time.monotonic()
            result = runner.run_step(defs, step, instance, log_path, force=force)
            elapsed = time.monotonic() - started
            if not result.success:
                failures = [_failure_line(e) for e in result.all_events if e.is_step_failure]
                bar.stop()
                console.print(f"[bold red]step failed:[/] {step.name} ({elapsed:.1f}s)")
                for failure in failures:
                    console.print(f"  {failure}")
                console.print(
                    f"  run id {result.run_id} — inspect it in the Dagster UI "
                    f"(DAGSTER_HOME={settings.dagster_home})"
                )
                console.print(f"  step output: {log_path}")
                ok = False
                break
            bar.console.print(f"[green]✓[/] {step.name} ({elapsed:.1f}s)")
            bar.advance(task)
    return ok


def _print_subject_requests(done: dict[str, Any], tables: list[dict[str, Any]]) -> None:
    """The DPO's requests the last run carried out, and the rows ingestion kept out."""
    skipped = {t["table"]: t["skipped_erased"] for t in tables if t.get("skipped_erased")}
    held = {t["table"]: t["held_restricted"] for t in tables if t.get("held_restricted")}
    if done.get("requests"):
        removed = sum(done.get("erased_rows", {}).values())
        moved = sum(done.get("held_rows", {}).values())
        back = sum(done.get("returned_rows", {}).values())
        console.print(
            f"data-subject requests carried out: {done.get('erased', 0)} erased "
            f"({removed:,} rows removed from the lake), {done.get('restricted', 0)} restricted "
            f"({moved:,} rows held out), {done.get('lifted', 0)} lifted ({back:,} rows back); "
            f"releases withdrawn: {', '.join(done.get('releases_withdrawn', [])) or 'none'}; "
            f"snapshots withdrawn once this one was live: "
            f"{', '.join(done.get('snapshots_to_withdraw_after_publish', [])) or 'none'}"
        )
    if skipped or held:
        console.print(
            "rows kept out by the last ingest: "
            + ", ".join(f"{t} {n:,} of erased subjects" for t, n in skipped.items())
            + ("; " if skipped and held else "")
            + ", ".join(f"{t} {n:,} held (restricted)" for t, n in held.items())
        )


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
    for rejected in summary.rejected_drops:
        console.print(
            f"[yellow]rejected drop file[/] ({rejected['table']}, {rejected['reason']}): "
            f"{rejected['detail']} — kept in {settings.layout.restricted / 'rejected_drops'}"
        )
    published = Table(title=f"published in gold snapshot {summary.snapshot_id}")
    published.add_column("mart")
    published.add_column("rows", justify="right")
    for name, rows in summary.published.items():
        published.add_row(name, f"{rows:,}")
    console.print(published)
    _print_subject_requests(summary.subject_requests, summary.tables)
    _print_populations(summary)
    _print_last_run(summary.last_run)
    console.print(f"checks passed: {', '.join(summary.checks_passed)}")
    console.print(f"gold snapshot: {summary.snapshot_path}")
    console.print(f"CURRENT:       {settings.layout.gold / 'CURRENT'} -> {summary.snapshot_id}")
    _print_sign_off(summary)
    console.print(
        f"research release: {summary.release_path}  (privacy: {json.dumps(summary.privacy)})"
    )
    if summary.release_population:
        p = summary.release_population
        console.print(
            f"research release purpose: {p['purpose']}, population {p['population']} "
            f"({p['children']} children at build time; {p['rows']} records released)"
        )
    for tier, t in summary.tiers.items():
        protection = f"k={t['k']}, l={t['l']}" if "l" in t else "pseudonymised, query-only"
        console.print(
            f"  {tier:<11} {t['release_id']}: {t['rows']} records, {protection}"
            + ("" if t["downloadable"] else " (never downloadable)")
        )
    _print_next_steps(settings)
    settings.layout.reports.mkdir(parents=True, exist_ok=True)
    (settings.layout.reports / "last_summary.json").write_text(
        json.dumps(summary.to_dict(), indent=2, default=str)
    )


def _print_sign_off(summary: LakeSummary) -> None:
    """Who approved CURRENT, and what waits for a data steward."""
    approval = summary.approval
    if approval is not None:
        console.print(
            f"approved by:   {approval['actor']} at {approval['at']} "
            f"({approval['acknowledged']} finding(s) acknowledged)",
            highlight=False,
        )
    for waiting in summary.awaiting_approval:
        console.print(
            f"[bold]awaiting approval:[/] {waiting['snapshot_id']} ({waiting['findings']} "
            f"finding(s)): merajut publish show {waiting['snapshot_id']}",
            highlight=False,
        )


def _print_next_steps(settings: Settings) -> None:
    """What a new user can do with the published lake, as commands to copy."""
    steps = [
        ("an API key", '.venv/bin/merajut api key create --name "my laptop" --role government'),
        ("the metrics API", ".venv/bin/merajut api serve   (then http://127.0.0.1:8000/docs)"),
        ("the research releases", ".venv/bin/merajut release list"),
        ("Superset, once", "make superset"),
        (
            "Superset, start",
            "SUPERSET_ADMIN_PASSWORD=change-me .venv/bin/python -m dashboards.superset_server "
            "--home .superset --port 8088 &",
        ),
        (
            "the dashboards",
            "SUPERSET_ADMIN_PASSWORD=change-me .venv/bin/python -m dashboards.provision "
            "--url http://127.0.0.1:8088 --user admin",
        ),
        (
            "the Dagster UI",
            f"DAGSTER_HOME={settings.dagster_home} .venv/bin/dagster dev -m "
            "orchestration.definitions   (http://127.0.0.1:3000)",
        ),
    ]
    console.print("[bold]next steps[/]")
    for what, command in steps:
        console.print(f"  {what + ':':<24}{command}", markup=False, highlight=False)


def _print_last_run(steps: dict[str, dict[str, Any]]) -> None:
    """What the last run built and published, or that it found nothing new, in plain words."""
    dbt = steps.get("dbt")
    if dbt is not None:
        console.print(
            "dbt models: " + ("rebuilt" if dbt.get("rebuilt") else "not rebuilt")
            + f" ({dbt.get('reason')})"
        )  # fmt: skip
    release = steps.get("release")
    if release is not None:
        console.print(
            "research releases: "
            + ", ".join(
                f"{tier} {step.get('outcome')} ({step.get('release_id')})"
                for tier, step in release.get("tiers", {}).items()
            )
        )
    publish = steps.get("publish")
    if publish is not None:
        outcome, snapshot_id = publish.get("outcome"), publish.get("snapshot_id")
        if outcome == "unchanged":
            console.print(f"[bold]{publish.get('reason')}[/] (nothing published)")
        elif outcome == "candidate":
            console.print(
                f"candidate snapshot {snapshot_id}: {publish.get('reason')}; CURRENT moves when "
                f"a data steward approves it (merajut publish show {snapshot_id})",
                highlight=False,
            )
        else:
            by = publish.get("approved_by")
            console.print(
                f"published snapshot {snapshot_id}: {publish.get('reason')}"
                + (f" (approved by {by})" if by else ""),
                highlight=False,
            )
        if publish.get("expired"):
            console.print(f"removed by the retention policy: {', '.join(publish['expired'])}")
        quality = publish.get("quality")
        if quality is not None:
            found = quality["violations"] + quality["outliers"]
            console.print(
                f"snapshot quality: {quality['violations']} rule violations, "
                f"{quality['outliers']} outliers"
                + (
                    f" (to look at before anyone approves it: {quality['report']})" if found else ""
                ),
                markup=False,
            )


def _print_populations(summary: LakeSummary) -> None:
    """Who each purpose's outputs count, and who left or joined since the snapshot before."""
    if not summary.populations:
        return
    compared = {p["compared_with"] for p in summary.populations.values()} - {None}
    since = f"since {', '.join(sorted(compared))}" if compared else "nothing to compare with"
    of = f" in candidate {summary.populations_of}" if summary.populations_of_candidate else ""
    table = Table(title=f"populations per purpose{of} ({since})")
    for column in ("purpose", "population", "audiences"):
        table.add_column(column)
    for column in ("children", "joined", "left"):
        table.add_column(column, justify="right")
    for purpose, p in summary.populations.items():
        table.add_row(
            purpose,
            p["population"],
            ", ".join(p["audiences"]),
            f"{p['children']:,}",
            "-" if p["joined"] is None else f"{p['joined']:,}",
            "-" if p["left"] is None else f"{p['left']:,}",
        )
    console.print(table)
    left = {k: p["left"] for k, p in summary.populations.items() if p["left"]}
    if left:
        console.print(
            "children leaving a population (revoked consent, erasure, left the registry): "
            + ", ".join(f"{k} {v:,}" for k, v in left.items())
        )


def run(
    step: Annotated[
        str | None,
        typer.Option(help="Run only one step: subjects, ingest, load, dbt, release or publish"),
    ] = None,
    wait: WaitOption = True,
    force: Annotated[
        bool,
        typer.Option(
            help="Rebuild the dbt models and publish a snapshot and releases even if nothing "
            "they are made from has changed"
        ),
    ] = False,
) -> None:
    """Run the whole pipeline once (or one step of it) on the configured sources and warehouse.

    A run with nothing new (no new or changed source rows or drops, no data-subject request,
    the same code and reference data) rebuilds no dbt model and publishes no snapshot or
    release: CURRENT and the releases stay as they were, and the summary says so."""
    from orchestration.runner import PIPELINE_STEPS  # loads Dagster: only when a run is asked

    keys = [s.key for s in PIPELINE_STEPS]
    if step is not None and step not in keys:
        console.print(f"[red]unknown step {step!r}[/]; one of {keys}")
        raise typer.Exit(2)
    settings = pipeline_settings()
    with pipeline_lock(settings, "merajut run" + (f" --step {step}" if step else ""), wait):
        if not _run_pipeline(settings, step, force):
            raise typer.Exit(1)
    _print_summary(settings)


def demo(
    children: Annotated[int, typer.Option(help="Number of children to generate")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed")] = 42,
    fresh: Annotated[
        bool, typer.Option(help="Start from an empty lake and new sources (dev only)")
    ] = True,
    wait: WaitOption = True,
) -> None:
    """Generate synthetic sources, run the whole pipeline on embedded chDB, sign the snapshot off
    as a demo data steward (its findings printed, each acknowledged), print a summary."""
    settings = pipeline_settings()
    _refuse_in_production(settings, "demo")
    with pipeline_lock(settings, "merajut demo", wait):
        if fresh:
            # A demo mixes nothing with an earlier one: new sources, empty lake. Keys are kept.
            for path in (settings.layout.root, settings.sources_dir, settings.resolved_drops_dir):
                if path.exists():
                    console.print(f"removing {path}")
                    shutil.rmtree(path)
        with progress() as bar:
            task = bar.add_task(f"generating sources for {children:,} children", total=1)
            _generate(settings, children, seed, settings.reporting_date)
            bar.advance(task)
        if not _run_pipeline(settings):
            raise typer.Exit(1)
        from orchestration.cli.steward import sign_off_as_demo_steward

        sign_off_as_demo_steward(settings)
    _print_summary(settings)


def summary() -> None:
    """Print what the lake holds now."""
    _print_summary(load_settings())
