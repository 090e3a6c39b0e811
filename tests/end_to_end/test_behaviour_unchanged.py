"""The ground-floor refactor changed no published byte.

``tests/fixtures/golden_outputs.json`` holds the sha256 of every gold snapshot file and every
research release file that ``merajut demo`` published on commit f070cd3 (before the refactor;
a snapshot's sign-off ``review.json``, which did not exist then, and its manifest are left out),
with the seed, size, reporting date, keys and release id the session's run uses. A refactor that
changes what the marts hold, how a snapshot is written, how records are generalised, shuffled or
re-tokenized, or how a release's dictionary and privacy report read, fails here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from lakehouse.signoff import REVIEW_FILE
from tests.support.pipeline import GOLDEN, PipelineRun


def _hashes(directory: Path) -> dict[str, str]:
    return {
        f.name: hashlib.sha256(f.read_bytes()).hexdigest()
        for f in sorted(directory.iterdir())
        if f.is_file() and f.name not in ("manifest.json", REVIEW_FILE)
    }


def _first_snapshot(run: PipelineRun) -> Path:
    """The run's own snapshot (other tests may publish later ones; marts would match anyway)."""
    snapshots = sorted((run.lake / "gold" / "snapshots").iterdir())
    return snapshots[0]


def test_the_session_run_is_the_recorded_configuration(pipeline_run: PipelineRun) -> None:
    assert pipeline_run.returncode == 0, pipeline_run.stdout[-3000:]
    for name, value in GOLDEN["keys"].items():
        assert pipeline_run.env[name] == value
    assert pipeline_run.env["MERAJUT_AS_OF"] == GOLDEN["as_of"]


def test_gold_snapshot_files_hash_as_before(pipeline_run: PipelineRun) -> None:
    assert pipeline_run.returncode == 0, pipeline_run.stdout[-3000:]
    assert _hashes(_first_snapshot(pipeline_run)) == GOLDEN["gold_snapshot_files"]


def test_research_release_files_hash_as_before(pipeline_run: PipelineRun) -> None:
    """One release per tier, each file as recorded."""
    assert pipeline_run.returncode == 0, pipeline_run.stdout[-3000:]
    for release_id, recorded in GOLDEN["research_releases"].items():
        release = pipeline_run.lake / "releases" / release_id
        assert _hashes(release) == recorded["files"], recorded["tier"]
