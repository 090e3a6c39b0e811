"""The one approval path refuses what it must before anything is written: the pipeline's own
automatic approval unless dev mode asked for it (production never can), and a snapshot that is
not a candidate awaiting approval. (Approvals that move CURRENT: tests/end_to_end/test_signoff.py,
which has a warehouse to move it in.)"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lakehouse.settings import Settings
from orchestration.publish.signoff import Approver, SignoffError, approvable, approve
from tests.support.api_fixtures import SNAPSHOT_ID, PublishGold, make_cube

CANDIDATE = "20250201T000000000000Z"


def _settings(lake: Path, **values: object) -> Settings:
    return Settings(home=lake.parent / "home", lake_root=lake, **values)


def test_automatic_approval_only_where_dev_mode_asked_for_it(
    lake: Path, candidate: PublishGold, compliance: pd.DataFrame, no_merajut_env: None
) -> None:
    candidate(CANDIDATE, make_cube(seed=9), compliance)
    review, findings = approvable(_settings(lake), CANDIDATE)
    ids = [f.id for f in findings]
    assert ids == review.findings
    # Not asked for (the default), and production (whose settings refuse 'automatic', so the
    # approval path is reached at most with the default): refused, nothing recorded.
    for settings in (_settings(lake), _settings(lake, mode="production")):
        with pytest.raises(SignoffError, match="automatic approval is refused"):
            approve(settings, CANDIDATE, ids, Approver.pipeline("0123456789abcdef"))
    assert not settings.layout.publication_log.exists()
    assert (lake / "gold" / "CURRENT").read_text().strip() == SNAPSHOT_ID


def test_an_approval_that_cannot_be_written_to_the_log_moves_nothing(
    lake: Path, candidate: PublishGold, compliance: pd.DataFrame, no_merajut_env: None
) -> None:
    candidate(CANDIDATE, make_cube(seed=9), compliance)
    settings = _settings(lake)
    _, findings = approvable(settings, CANDIDATE)
    log = settings.layout.publication_log
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("not a chained record\n")  # a broken tail: the chain refuses to append
    with pytest.raises(SignoffError, match="publication log cannot be written"):
        approve(
            settings, CANDIDATE, [f.id for f in findings], Approver("Siti (data-steward key x)")
        )
    assert (lake / "gold" / "CURRENT").read_text().strip() == SNAPSHOT_ID
    assert log.read_text() == "not a chained record\n"
    review, _ = approvable(settings, CANDIDATE)
    assert review.status == "candidate"
