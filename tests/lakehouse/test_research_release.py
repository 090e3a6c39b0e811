"""Research releases: written whole or not at all; served only when every check passed and
every file still matches its sha256."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from lakehouse.checks import CheckOutcome
from lakehouse.research_release import (
    FILES,
    RELEASE_ID_PATTERN,
    ReleaseError,
    ResearchReleases,
    new_release_id,
    publish_release,
)

DATA = pd.DataFrame({"record_id": ["ch_1", "ch_2"], "sex": ["*", "*"], "case_type": ["a", "b"]})
PASSED = [CheckOutcome("k_anonymity", True, "k=5"), CheckOutcome("pii_scan", True, "none")]


def _publish(root: Path, release_id: str, checks: list[CheckOutcome] = PASSED):
    return publish_release(
        root,
        release_id,
        data=DATA,
        data_csv=DATA.to_csv(index=False),
        dictionary={"sex": {"description": "M / F or *"}},
        privacy_report={"k": 5, "release_id": release_id},
        purpose="research",
        checks=checks,
    )


def test_a_release_is_written_with_hashes_of_every_file(tmp_path: Path) -> None:
    result = _publish(tmp_path, "research-20260101T000000000000Z")
    assert result.path == tmp_path / "research-20260101T000000000000Z"
    assert sorted(p.name for p in result.path.iterdir()) == sorted([*FILES, "manifest.json"])
    manifest = json.loads((result.path / "manifest.json").read_text())
    assert set(manifest["sha256"]) == set(FILES) and manifest["rows"] == 2
    assert manifest["all_checks_passed"] and manifest["purpose"] == "research"
    assert manifest["population"] is None  # not given: releases built before it was recorded
    assert not list(tmp_path.glob(".staging-*"))


def test_a_failed_release_leaves_only_its_manifest(tmp_path: Path) -> None:
    failed = [*PASSED, CheckOutcome("l_diversity", False, "l=1")]
    result = _publish(tmp_path, "research-20260101T000000000000Z", failed)
    assert result.path is None
    assert (tmp_path / "rejected" / "research-20260101T000000000000Z.json").exists()
    assert not (tmp_path / "research-20260101T000000000000Z").exists()
    assert ResearchReleases(tmp_path).list() == []


def test_the_reader_lists_newest_first_and_serves_verified_files(tmp_path: Path) -> None:
    _publish(tmp_path, "research-20260101T000000000000Z")
    _publish(tmp_path, "research-20260201T000000000000Z")
    releases = ResearchReleases(tmp_path)
    assert [r.id for r in releases.list()] == [
        "research-20260201T000000000000Z",
        "research-20260101T000000000000Z",
    ]
    latest = releases.latest()
    assert latest is not None and latest.id == "research-20260201T000000000000Z"
    assert pd.read_parquet(releases.data_file(latest, "parquet")).equals(DATA)
    assert releases.data_file(latest, "csv").read_text() == DATA.to_csv(index=False)
    assert releases.privacy_report(latest)["k"] == 5
    assert releases.dictionary(latest)["sex"]["description"] == "M / F or *"


@pytest.mark.parametrize(
    "release_id",
    ["../gold", "research-../../x", "research-2026", "rejected", ".staging-research-x", ""],
)
def test_crafted_ids_never_reach_the_file_system(tmp_path: Path, release_id: str) -> None:
    _publish(tmp_path, "research-20260101T000000000000Z")
    assert ResearchReleases(tmp_path).get(release_id) is None


def test_a_release_whose_manifest_is_foreign_or_failed_is_not_served(tmp_path: Path) -> None:
    result = _publish(tmp_path, "research-20260101T000000000000Z")
    assert result.path is not None
    path = result.path / "manifest.json"
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps({**manifest, "release_id": "research-20250101T000000000000Z"}))
    assert ResearchReleases(tmp_path).get("research-20260101T000000000000Z") is None
    path.write_text(json.dumps({**manifest, "all_checks_passed": False}))
    assert ResearchReleases(tmp_path).get("research-20260101T000000000000Z") is None
    path.write_text("{not json")
    assert ResearchReleases(tmp_path).get("research-20260101T000000000000Z") is None


def test_an_altered_file_is_never_served(tmp_path: Path) -> None:
    result = _publish(tmp_path, "research-20260101T000000000000Z")
    assert result.path is not None
    (result.path / "data.csv").write_text("record_id,sex\nch_1,M\n")  # un-generalised
    releases = ResearchReleases(tmp_path)
    release = releases.get("research-20260101T000000000000Z")
    assert release is not None
    with pytest.raises(ReleaseError, match=r"data\.csv does not match its manifest"):
        releases.data_file(release, "csv")
    releases.data_file(release, "parquet")  # the untouched file is still served


def test_new_ids_match_the_pattern(tmp_path: Path) -> None:
    import re

    assert re.match(RELEASE_ID_PATTERN, new_release_id())
    with pytest.raises(ValueError, match="not a release id"):
        _publish(tmp_path, "research-now")


def test_a_full_disk_while_writing_a_release_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    import lakehouse.research_release as release

    _publish(tmp_path, "research-20260101T000000000000Z")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))

    def full(path: Path, text: str) -> None:
        path.write_text(text[:10])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(release, "write_text_atomic", full)
    with pytest.raises(OSError, match="No space left"):
        _publish(tmp_path, "research-20260201T000000000000Z")
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert [r.id for r in ResearchReleases(tmp_path).list()] == ["research-20260101T000000000000Z"]
