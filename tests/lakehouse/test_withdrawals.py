"""Snapshots marked for withdrawal wait for the next publish, which the marks then force."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lakehouse.checks import CheckOutcome
from lakehouse.gold_snapshot import MartOrigin, publish_snapshot
from lakehouse.layout import LakeLayout
from lakehouse.withdrawals import (
    mark_snapshots_for_withdrawal,
    marked_snapshots,
    withdraw_marked_snapshots,
)

FIRST, SECOND = "20260101T000000000000Z", "20260102T000000000000Z"


def _publish(layout: LakeLayout, snapshot_id: str) -> None:
    frame = pd.DataFrame({"placements": [1, 2]})
    checks = [CheckOutcome("dbt_build", True, "ok")]
    publish_snapshot(layout.gold, snapshot_id, {"m": frame}, {"m": MartOrigin()}, checks)


def test_marked_snapshots_wait_until_a_new_one_is_live(tmp_path: Path) -> None:
    layout = LakeLayout(tmp_path)
    assert marked_snapshots(layout) == []
    _publish(layout, FIRST)
    mark_snapshots_for_withdrawal(layout, "counted an erased subject")
    assert marked_snapshots(layout) == [FIRST]
    assert withdraw_marked_snapshots(layout, FIRST) == []  # never the live one
    assert marked_snapshots(layout) == [FIRST]
    _publish(layout, SECOND)
    assert withdraw_marked_snapshots(layout, SECOND) == [FIRST]
    assert marked_snapshots(layout) == []
    assert (layout.gold / "withdrawn" / f"{FIRST}.json").is_file()
