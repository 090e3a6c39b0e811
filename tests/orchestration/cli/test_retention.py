"""``merajut retention``: says what the policy removes and why; --dry-run removes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pandas as pd

from lakehouse.checks import CheckOutcome
from lakehouse.gold_snapshot import MartOrigin, publish_snapshot
from lakehouse.ids import timestamp_id, utc_now
from lakehouse.layout import LakeLayout
from lakehouse.research_release import ResearchReleases, publish_release

PASSED = [CheckOutcome("dbt_build", True, "ok")]


def _lake(root: Path) -> tuple[list[str], list[str]]:
    """Two recent snapshots and three enclave extracts, the oldest 400 days old."""
    layout = LakeLayout(root)
    now = utc_now()
    snapshots = [timestamp_id(now - timedelta(days=d)) for d in (2, 1)]
    for snapshot_id in snapshots:
        publish_snapshot(
            layout.gold, snapshot_id, {"m": pd.DataFrame({"n": [1]})}, {"m": MartOrigin()}, PASSED
        )
    extracts = ["research-" + timestamp_id(now - timedelta(days=d)) for d in (400, 200, 1)]
    data = pd.DataFrame({"record_id": ["r1"], "case_type": ["neglect"]})
    for release_id in extracts:
        publish_release(
            layout.releases, release_id, data=data, data_csv=data.to_csv(index=False),
            dictionary={}, privacy_report={}, purpose="research", checks=PASSED,
            tier="enclave", downloadable=False,
        )  # fmt: skip
    return snapshots, extracts


def test_a_dry_run_says_what_would_go_and_an_applied_run_removes_it(
    tmp_path: Path, run_cli: Callable[..., tuple[int, str]]
) -> None:
    snapshots, extracts = _lake(tmp_path / "lake")
    env = {"MERAJUT_HOME": str(tmp_path / "home"), "MERAJUT_LAKE_ROOT": str(tmp_path / "lake")}
    code, out = run_cli(["retention", "--dry-run"], env)
    assert code == 0, out
    assert "nothing removed (dry run)" in out and "older than 180 days" in out
    assert f"{snapshots[1]}" in out and "CURRENT" in out and "the latest of its tier" in out
    reader = ResearchReleases(tmp_path / "lake" / "releases")
    assert len(reader.list("enclave")) == 3
    code, out = run_cli(["retention"], env)
    assert code == 0, out
    assert f"removed 2: {extracts[0]}, {extracts[1]}" in out
    assert [r.id for r in reader.list("enclave")] == [extracts[2]]
    assert (tmp_path / "lake" / "releases" / "expired" / extracts[0] / "manifest.json").is_file()
    code, out = run_cli(["audit", "verify", "--log", "publication"], env)
    assert code == 0 and "ok: 2 records" in out, out
