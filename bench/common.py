"""What every benchmark shares: where the CLI is, a fresh isolated environment, a timed run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from lakehouse.layout import REPO_ROOT

__all__ = ["MERAJUT", "REPO", "api_key", "isolated_env", "serving", "timed"]

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


def api_key(env: dict[str, str], role: str) -> str:
    """A new API key of ``role`` (``merajut api key create`` prints it last)."""
    proc = subprocess.run(
        [MERAJUT, "api", "key", "create", "--name", f"bench-{role}", "--role", role],
        env=env, cwd=REPO, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return proc.stdout.strip().splitlines()[-1].strip()


@contextmanager
def serving(env: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    """``merajut api serve`` on ``port`` until the block ends, once ``/health`` answers."""
    server = subprocess.Popen(
        [MERAJUT, "api", "serve", "--port", str(port)], env=env, cwd=REPO,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the API did not start")
            time.sleep(0.3)
        yield server
    finally:
        server.terminate()
        server.wait(timeout=30)
