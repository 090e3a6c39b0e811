"""Shared fixtures. The session's pipeline run is built by ``tests.support.pipeline``; tests
import ``PipelineRun`` from there (never from a conftest: there is more than one in the tree)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.support.pipeline import CHILDREN, REPO, SEED, PipelineRun, pipeline_env

pytest_plugins = ["tests.support.api_fixtures", "tests.support.chdb"]
DEMO_ARGS = ("demo", "--children", str(CHILDREN), "--seed", str(SEED))


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PipelineRun]:
    """``merajut demo`` through the real CLI, its id clock pinned (``tests.support.frozen_ids``)
    so that the published files can be compared with hashes recorded before a refactor."""
    tmp = tmp_path_factory.mktemp("pipeline")
    env = pipeline_env(tmp)
    proc = subprocess.run(
        [sys.executable, "-m", "tests.support.frozen_ids", *DEMO_ARGS],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    run = PipelineRun(tmp / "home", tmp / "lake", env, proc.stdout + proc.stderr, proc.returncode)
    yield run
