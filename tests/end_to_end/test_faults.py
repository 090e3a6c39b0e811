"""Faults: a run killed in any step never stops the next one, and never half-publishes.

One small synthetic world (its own sources, fixed keys and reporting date) is run twice:
- once cleanly, for the reference snapshot;
- once as a chain of runs, each killed with SIGKILL in the middle of a different step (ingest,
  load, dbt, release, publish; see ``tests.support.kill_at``), each next run recovering from
  the previous death, and a last clean run. Its snapshot, once a data steward approves it, must
  be the reference's, file by file.
Two runs of one lake at once: the second waits (saying for whom) or refuses, and stops cleanly
when told.
"""

from __future__ import annotations

import hashlib
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lakehouse.gold_snapshot import GoldSnapshots
from lakehouse.signoff import REVIEW_FILE
from tests.support.pipeline import MERAJUT, REPO, approve, pipeline_env
from tests.support.processes import process_state, read_until

CHILDREN = 200
SEED = 11
KILL_POINTS = ("ingest", "load", "dbt", "release", "publish")


@dataclass
class Lake:
    root: Path
    env: dict[str, str]

    @property
    def gold(self) -> Path:
        return self.root / "lake" / "gold"

    def merajut(self, *args: str, kill_at: str | None = None) -> subprocess.CompletedProcess[str]:
        command = (
            [sys.executable, "-m", "tests.support.kill_at", kill_at, *args]
            if kill_at
            else [MERAJUT, *args]
        )
        return subprocess.run(
            command, env=self.env, cwd=REPO, capture_output=True, text=True, timeout=900
        )

    def snapshot_hashes(self) -> dict[str, str]:
        snapshot = GoldSnapshots(self.gold).open_current()
        assert snapshot is not None and snapshot.path is not None
        return {
            f.name: hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(snapshot.path.iterdir())
            if f.name not in ("manifest.json", REVIEW_FILE)
        }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sources (databases and the registry drop) generated once, copied into every lake."""
    root = tmp_path_factory.mktemp("fault_world")
    env = pipeline_env(root)
    proc = subprocess.run(
        [MERAJUT, "generate", "--children", str(CHILDREN), "--seed", str(SEED)],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root / "home"


def _lake(world: Path, tmp_path_factory: pytest.TempPathFactory, name: str) -> Lake:
    root = tmp_path_factory.mktemp(name)
    shutil.copytree(world, root / "home")
    return Lake(root, pipeline_env(root))


@pytest.fixture(scope="module")
def reference(world: Path, tmp_path_factory: pytest.TempPathFactory) -> Lake:
    lake = _lake(world, tmp_path_factory, "fault_reference")
    proc = lake.merajut("run")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    approve(lake.env)
    return lake


def test_a_run_killed_in_each_step_is_recovered_by_the_next(
    world: Path, reference: Lake, tmp_path_factory: pytest.TempPathFactory
) -> None:
    lake = _lake(world, tmp_path_factory, "fault_chain")
    for n, point in enumerate(KILL_POINTS):
        proc = lake.merajut("run", kill_at=point)
        assert proc.returncode == -signal.SIGKILL, (point, proc.stdout[-3000:], proc.stderr[-3000:])
        # Nothing was published by any of the killed runs.
        assert not (lake.gold / "CURRENT").exists(), point
        if n:  # the previous run died holding Dagster's pool slot: this run freed it
            assert "killed earlier merajut as failed" in proc.stdout, (point, proc.stdout[-2000:])
    assert not list((lake.root / "lake").rglob(".staging-*"))  # the publish kill's staging?
    proc = lake.merajut("run")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # The candidate the publish kill left is complete: this run found nothing new in it.
    assert "nothing new since candidate" in proc.stdout, proc.stdout[-3000:]
    approve(lake.env)
    assert lake.snapshot_hashes() == reference.snapshot_hashes()
    # Each table ingested once: as many bronze rows as the reference run has.
    bronze = sorted(
        p.relative_to(lake.root / "lake") for p in (lake.root / "lake").glob("bronze/*/*")
    )
    ref_bronze = sorted(
        p.relative_to(reference.root / "lake") for p in (reference.root / "lake").glob("bronze/*/*")
    )
    assert bronze == ref_bronze
    assert _rows(lake, "bronze") == _rows(reference, "bronze")
    assert _rows(lake, "quarantine") == _rows(reference, "quarantine")


def _rows(lake: Lake, zone: str) -> dict[str, int]:
    import pandas as pd

    out: dict[str, int] = {}
    for table in sorted((lake.root / "lake" / zone).glob("*/*")):
        out[table.name] = sum(len(pd.read_parquet(f)) for f in table.glob("*.parquet"))
    return out


@pytest.fixture
def resume(tmp_path: Path) -> Path:
    """The file whose existence lets the paused run below go on."""
    return tmp_path / "resume"


@pytest.fixture
def running(reference: Lake, resume: Path) -> Iterator[subprocess.Popen[str]]:
    """A run of the reference lake in progress (holding its pipeline lock), paused before it
    renames its candidate into place until ``resume`` exists: a run that merely takes long would end before the
    waiters below on a loaded machine, and they would then wait for nothing. Forced: it
    publishes although nothing is new."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.kill_at", "pause", "run", "--force"],
        env={**reference.env, "MERAJUT_TEST_RESUME": str(resume)}, cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lock = Path(reference.env["MERAJUT_HOME"]) / "locks" / "pipeline.lock"
    deadline = time.monotonic() + 120
    while f"pid={proc.pid}" not in (lock.read_text() if lock.exists() else ""):
        assert time.monotonic() < deadline and proc.poll() is None, "the run never took its lock"
        time.sleep(0.2)
    yield proc
    resume.touch()  # a failed test must not leave it paused
    proc.wait(timeout=900)


def test_a_second_run_refuses_or_waits_and_stops_when_told(
    reference: Lake, running: subprocess.Popen[str], resume: Path
) -> None:
    refused = reference.merajut("run", "--no-wait")
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert f"held by pid {running.pid} (merajut run)" in refused.stdout

    for sig, code in ((signal.SIGTERM, 143), (signal.SIGINT, 130)):
        waiter = subprocess.Popen(
            [sys.executable, "-m", "tests.support.foreground", MERAJUT, "run"],
            env=reference.env, cwd=REPO, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        said = read_until(waiter.stdout, "waiting for the pipeline of this lake", timeout=120)
        assert f"waiting for the pipeline of this lake, held by pid {running.pid}" in said
        assert waiter.poll() is None, "the second run should be waiting"
        waiter.send_signal(sig)
        # The run it waits for is paused: stopping within the bound is the signal's doing.
        try:
            out, err = waiter.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            state = process_state(waiter.pid)
            waiter.kill()
            raise AssertionError(f"{sig.name} did not stop the waiting run: {state}") from None
        assert waiter.returncode == code, said + out + err
        assert "stopped while waiting" in out
        assert "Traceback" not in out + err

    resume.touch()
    running.wait(timeout=900)
    assert running.returncode == 0
