"""What every benchmark shares: where the CLI is, a fresh isolated environment, a timed run."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import numpy as np
import yaml

from lakehouse.layout import REPO_ROOT

__all__ = [
    "MERAJUT",
    "REPO",
    "api_key",
    "demo_lake",
    "isolated_env",
    "regency_weights",
    "serving",
    "serving_process",
    "timed",
    "timed_with_memory",
    "without_limits",
]

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


def without_limits(env: dict[str, str], tmp: Path) -> dict[str, str]:
    """``env`` with the API reading the packaged catalog whose per-key limits are lifted: the
    serving benchmarks measure answering, not the 429 that a single key gets past its limit
    (`tests/metrics_api/test_limits.py` covers that)."""
    from metrics_api.catalog import PACKAGED_CATALOG

    raw = yaml.safe_load(PACKAGED_CATALOG.read_text(encoding="utf-8"))
    for role, limits in raw["limits"]["roles"].items():
        # Only admin may be unlimited (null): the loader refuses that for any other role.
        lifted = None if role == "admin" else 10**9
        limits.update(requests_per_minute=lifted, distinct_queries_per_snapshot=lifted)
    path = tmp / "catalog-without-limits.yml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return {**env, "MERAJUT_API_CATALOG_PATH": str(path)}


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Wall-clock seconds of one run of ``cmd`` and what it printed; raises if it failed."""
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return elapsed, proc.stdout


def timed_with_memory(cmd: list[str], env: dict[str, str]) -> tuple[float, str, int, int]:
    """:func:`timed`, plus the peak resident memory (bytes) of the command's process tree,
    sampled every 0.2 s: the largest single process, and all of them together (the workers
    the pipeline starts included)."""
    import threading

    import psutil

    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peaks = [0, 0]
    done = threading.Event()

    def sample() -> None:
        root = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                tree = [root, *root.children(recursive=True)]
                sizes = []
                for p in tree:
                    with suppress(psutil.Error):
                        sizes.append(p.memory_info().rss)
                peaks[0] = max(peaks[0], max(sizes, default=0))
                peaks[1] = max(peaks[1], sum(sizes))
            except psutil.Error:
                pass
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = proc.communicate()
    done.set()
    sampler.join()
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{stdout[-4000:]}\n{stderr[-4000:]}")
    return elapsed, stdout, peaks[0], peaks[1]


def _merajut(checkout: Path) -> str:
    """The CLI of a checkout of this repository (with its ``.venv`` installed)."""
    return MERAJUT if checkout == REPO else str(checkout / ".venv" / "bin" / "merajut")


@contextmanager
def demo_lake(
    children: int, prefix: str, *, limits: bool = True, checkout: Path = REPO
) -> Iterator[tuple[Path, dict]]:
    """A temporary folder with a lake published by ``merajut demo``, and its environment
    (``limits=False``: the API's per-key limits lifted, see :func:`without_limits`)."""
    with tempfile.TemporaryDirectory(prefix=prefix) as d:
        tmp = Path(d)
        env = isolated_env(tmp) if limits else without_limits(isolated_env(tmp), tmp)
        subprocess.run(
            [_merajut(checkout), "demo", "--children", str(children)], env=env, cwd=checkout,
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        yield tmp, env


def api_key(env: dict[str, str], role: str, checkout: Path = REPO) -> str:
    """A new API key of ``role`` (``merajut api key create`` prints it last)."""
    proc = subprocess.run(
        [_merajut(checkout), "api", "key", "create", "--name", f"bench-{role}", "--role", role],
        env=env, cwd=checkout, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return proc.stdout.strip().splitlines()[-1].strip()


@contextmanager
def serving(
    env: dict[str, str], port: int, checkout: Path = REPO
) -> Iterator[subprocess.Popen[bytes]]:
    """``merajut api serve`` on ``port`` until the block ends, once ``/health`` answers."""
    command = [_merajut(checkout), "api", "serve", "--port", str(port)]
    with serving_process(command, env, checkout, f"http://127.0.0.1:{port}/health") as server:
        yield server


@contextmanager
def serving_process(
    command: list[str], env: dict[str, str], cwd: Path, ready_url: str, timeout: float = 60
) -> Iterator[subprocess.Popen[bytes]]:
    """A server process until the block ends, once ``ready_url`` answers 200 (and the process
    is still alive half a second later: another server may have answered on that port)."""
    server = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(ready_url, timeout=2).status_code == 200:
                    time.sleep(0.5)
                    if server.poll() is not None:
                        raise RuntimeError(f"{ready_url}: the port is taken by another process")
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(f"{' '.join(command[:4])} did not start")
            time.sleep(0.3)
        yield server
    finally:
        server.terminate()
        server.wait(timeout=30)


def regency_weights() -> tuple[list[str], list[float]]:
    """Every regency of the region list and its weight (not normalised): its province's
    population, split within the province by 1/rank (the first regency the largest), as the
    anonymisation benches' synthetic children are placed."""
    from lakehouse.reference.regions import PROVINCES

    codes: list[str] = []
    weights: list[float] = []
    for province in PROVINCES:
        rank = 1 / np.arange(1, len(province.regencies) + 1)
        for regency, share in zip(province.regencies, rank / rank.sum(), strict=True):
            codes.append(regency.code)
            weights.append(province.weight * share)
    return codes, weights
