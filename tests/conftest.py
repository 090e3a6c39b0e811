"""Shared fixtures. The session's pipeline run is built by ``pipeline_support``; tests import
``PipelineRun`` from there (never from a conftest: there is more than one in the tree)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
from pipeline_support import CHILDREN, MERAJUT, REPO, PipelineRun, pipeline_env


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PipelineRun]:
    tmp = tmp_path_factory.mktemp("pipeline")
    env = pipeline_env(tmp)
    proc = subprocess.run(
        [MERAJUT, "demo", "--children", str(CHILDREN), "--seed", "7"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    run = PipelineRun(tmp / "home", tmp / "lake", env, proc.stdout + proc.stderr, proc.returncode)
    yield run
