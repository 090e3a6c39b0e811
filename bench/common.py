"""What every benchmark shares: where the CLI is, a fresh isolated environment, a timed run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from lakehouse.layout import REPO_ROOT

__all__ = ["MERAJUT", "REPO", "isolated_env", "timed"]

REPO = REPO_ROOT
MERAJUT = str(Path(sys.executable).with_name("merajut"))


def isolated_env(tmp: Path) -> dict[str, str]:
    """This process's environment with its own home, lake and Dagster home under ``tmp``
    (no ``MERAJUT_*`` or ``DAGSTER_*`` setting of the caller leaks in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MERAJUT_", "DAGSTER_"))}
    env.update(
        MERAJUT_HOME=str(tmp / "home"),
        MERAJUT_LAKE_ROOT=str(tmp / "lake"),
        DAGSTER_HOME=str(tmp / "dagster_home"),
        COLUMNS="200",
    )
    return env


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Wall-clock seconds of one run of ``cmd`` and what it printed; raises if it failed."""
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return elapsed, proc.stdout
