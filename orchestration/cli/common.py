"""What every ``merajut`` command shares: the console, settings errors, progress bars."""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from lakehouse.secrets import ConfigError
from lakehouse.settings import Settings, get_settings

# Bound to the real stdout: pipeline steps redirect sys.stdout to a log file while they run.
# Not on a terminal (a log, CI, a pipe) rich would wrap at 80 columns and cut paths and ids in
# two; COLUMNS still wins where it is set.
console = Console(
    file=sys.stdout, width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160
)


def config_error(exc: Exception) -> NoReturn:
    """Exit 2 with what to set: a settings error is the operator's to fix, not a crash."""
    message = str(exc)
    if isinstance(exc, ValidationError):
        message = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
    console.print(f"[bold red]configuration error:[/] {message}")
    raise typer.Exit(2) from exc


def load_settings() -> Settings:
    try:
        return get_settings()
    except (ConfigError, ValidationError) as exc:
        config_error(exc)


def pipeline_settings() -> Settings:
    """Settings of a command that reads or writes the lake's data: the pipeline's keys must
    be there (production refuses to start without them, naming each missing variable)."""
    settings = load_settings()
    try:
        settings.keys  # noqa: B018
    except ConfigError as exc:
        config_error(exc)
    return settings


def progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    )


def verdict(ok: bool, message: str) -> None:
    console.print(("[green]ok[/] " if ok else "[red]broken[/] ") + message)
    if not ok:
        raise typer.Exit(1)
