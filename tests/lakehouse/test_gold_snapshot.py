"""Gold snapshots: the one writer publishes atomically, the one reader trusts nothing unchecked."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lakehouse.checks import CheckOutcome
from lakehouse.gold_snapshot import (
    GoldSnapshots,
    MartOrigin,
    PopulationEntry,
    SnapshotError,
    SnapshotManifest,
    StagedSnapshot,
    new_snapshot_id,
    publish_snapshot,
    stage_snapshot,
)

PASSED = [CheckOutcome("dbt_build", True, "ok", {"tests": np.int64(3)})]
FAILED = [*PASSED, CheckOutcome("small_cells:m", False, "2 small cells")]
ORIGINS = {
    "m": MartOrigin(relation="marts.m", dbt_unique_id="model.merajut.m", audience=("government",))
}


def _frames(rows: int = 3) -> dict[str, pd.DataFrame]:
    return {"m": pd.DataFrame({"province_code": ["32"] * rows, "placements": range(rows)})}


def _publish(gold: Path, snapshot_id: str, checks: list[CheckOutcome] = PASSED, rows: int = 3):
    return publish_snapshot(
        gold,
        snapshot_id,
        _frames(rows),
        ORIGINS,
        checks,
        research_release="research-x",
        warehouse="w",
    )


def test_publish_writes_files_manifest_and_current(tmp_path: Path) -> None:
    result = _publish(tmp_path, "20260101T000000000000Z")
    assert result.published and result.failed_checks == []
    assert (tmp_path / "CURRENT").read_text() == "20260101T000000000000Z\n"
    manifest = json.loads((result.path / "manifest.json").read_text())
    entry = manifest["marts"]["m"]
    assert entry["rows"] == 3 and entry["file"] == "m.parquet"
    assert entry["relation"] == "marts.m" and entry["audience"] == ["government"]
    assert entry["columns"] == {"province_code": "object", "placements": "int64"}
    assert manifest["checks"][0]["metadata"] == {"tests": "3"}  # numpy scalars stored as JSON
    assert manifest["previous_snapshot_id"] is None and manifest["published"] is True
    # Nothing but the snapshot is left in gold: no staging directory, no temp files.
    assert sorted(p.name for p in (tmp_path / "snapshots").iterdir()) == ["20260101T000000000000Z"]
    second = _publish(tmp_path, "20260102T000000000000Z")
    assert second.manifest.previous_snapshot_id == "20260101T000000000000Z"


def test_a_failed_gate_writes_only_the_rejection(tmp_path: Path) -> None:
    _publish(tmp_path, "20260101T000000000000Z")
    result = _publish(tmp_path, "20260102T000000000000Z", FAILED)
    assert not result.published and result.failed_checks == ["small_cells:m"]
    assert result.path == tmp_path / "rejected" / "20260102T000000000000Z.json"
    assert json.loads(result.path.read_text())["marts"] == {}
    assert not (tmp_path / "snapshots" / "20260102T000000000000Z").exists()
    assert (tmp_path / "CURRENT").read_text().strip() == "20260101T000000000000Z"


def test_no_checks_is_not_a_pass(tmp_path: Path) -> None:
    assert not _publish(tmp_path, "20260101T000000000000Z", []).published


def test_ids_are_timestamps_and_others_are_refused(tmp_path: Path) -> None:
    assert GoldSnapshots(tmp_path).current_id() is None
    new = new_snapshot_id()
    assert len(new) == 22 and new.endswith("Z")
    with pytest.raises(ValueError, match="not a snapshot id"):
        _publish(tmp_path, "../../escape")


def test_the_reader_opens_current_and_verifies_files(tmp_path: Path) -> None:
    _publish(tmp_path, "20260101T000000000000Z")
    reader = GoldSnapshots(tmp_path)
    snapshot = reader.open_current()
    assert snapshot is not None and snapshot.id == "20260101T000000000000Z"
    assert isinstance(snapshot.manifest, SnapshotManifest)
    path = reader.mart_file(snapshot, "m")
    assert pd.read_parquet(path)["placements"].tolist() == [0, 1, 2]
    with pytest.raises(SnapshotError, match="does not publish mart"):
        reader.mart_file(snapshot, "other")


@pytest.mark.parametrize("pointer", ["../secrets", "20260101T000000000000Z/../../x", "x" * 300])
def test_a_current_that_is_not_an_id_is_refused_before_the_file_system(
    tmp_path: Path, pointer: str
) -> None:
    _publish(tmp_path, "20260101T000000000000Z")
    (tmp_path / "CURRENT").write_text(pointer)
    with pytest.raises(SnapshotError, match="valid snapshot id"):
        GoldSnapshots(tmp_path).open_current()


def test_a_manifest_of_another_snapshot_or_unpublished_is_refused(tmp_path: Path) -> None:
    result = _publish(tmp_path, "20260101T000000000000Z")
    manifest = json.loads((result.path / "manifest.json").read_text())
    manifest["snapshot_id"] = "20250101T000000000000Z"
    (result.path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SnapshotError, match="does not match its id"):
        GoldSnapshots(tmp_path).open_current()
    manifest.update(snapshot_id="20260101T000000000000Z", published=False)
    (result.path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SnapshotError, match="does not match its id"):
        GoldSnapshots(tmp_path).open_current()
    manifest.update(published=True, unexpected="field")
    (result.path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SnapshotError, match="not a snapshot manifest"):
        GoldSnapshots(tmp_path).open_current()
    (result.path / "manifest.json").unlink()
    with pytest.raises(SnapshotError, match="no readable manifest"):
        GoldSnapshots(tmp_path).open_current()


def test_an_altered_or_missing_mart_file_is_never_handed_out(tmp_path: Path) -> None:
    result = _publish(tmp_path, "20260101T000000000000Z")
    reader = GoldSnapshots(tmp_path)
    snapshot = reader.open_current()
    assert snapshot is not None
    _frames(4)["m"].to_parquet(result.path / "m.parquet")
    with pytest.raises(SnapshotError, match="does not match its manifest"):
        reader.mart_file(snapshot, "m")
    (result.path / "m.parquet").unlink()
    with pytest.raises(SnapshotError, match="does not match its manifest"):
        reader.mart_file(snapshot, "m")


def test_the_same_frames_give_the_same_bytes(tmp_path: Path) -> None:
    """Deterministic snapshots: what the behaviour-unchanged test relies on."""
    first = _publish(tmp_path / "a", "20260101T000000000000Z")
    second = _publish(tmp_path / "b", "20260102T000000000000Z")
    assert first.manifest.marts["m"].sha256 == second.manifest.marts["m"].sha256


def _disk_full_after(calls: int, monkeypatch: pytest.MonkeyPatch, module: object) -> None:
    """The ``calls``-th Parquet write of ``module`` fails as a full disk does, half-way."""
    import errno

    import lakehouse.files

    real = lakehouse.files.write_parquet_atomic
    seen = [0]

    def write(frame: pd.DataFrame, path: Path) -> None:
        seen[0] += 1
        if seen[0] >= calls:
            path.write_bytes(b"PAR1 half")
            raise OSError(errno.ENOSPC, "No space left on device")
        real(frame, path)

    monkeypatch.setattr(module, "write_parquet_atomic", write)


def test_a_full_disk_during_publish_leaves_current_and_gold_as_they_were(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lakehouse.gold_snapshot as gold

    _publish(tmp_path, "20260101T000000000000Z")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    frames = {"m": _frames()["m"], "n": _frames()["m"]}
    _disk_full_after(2, monkeypatch, gold)
    with pytest.raises(OSError, match="No space left"):
        publish_snapshot(tmp_path, "20260102T000000000000Z", frames, ORIGINS, PASSED)
    assert (tmp_path / "CURRENT").read_text().strip() == "20260101T000000000000Z"
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert GoldSnapshots(tmp_path).open_current().id == "20260101T000000000000Z"  # type: ignore[union-attr]


def test_the_manifest_states_each_outputs_purpose_and_each_population(tmp_path: Path) -> None:
    origins = {
        "m": MartOrigin(
            "marts.m", None, ("community",), "community", "children_with_community_consent"
        )
    }
    community = PopulationEntry(
        population="children_with_community_consent",
        requires_consent=True,
        legal_basis="consent",
        audiences=["community"],
        children=40,
        joined=1,
        left=3,
        compared_with="20260101T000000000000Z",
    )
    result = publish_snapshot(
        tmp_path, "20260102T000000000000Z", _frames(), origins, PASSED,
        populations={"community": community},
    )  # fmt: skip
    manifest = json.loads((result.path / "manifest.json").read_text())
    entry = manifest["marts"]["m"]
    assert (entry["purpose"], entry["population"]) == (
        "community",
        "children_with_community_consent",
    )
    assert manifest["populations"]["community"]["left"] == 3
    snapshot = GoldSnapshots(tmp_path).open_current()
    assert snapshot is not None and snapshot.manifest.populations["community"] == community
    # A manifest written before purposes were recorded still reads (no purpose, no population).
    raw = json.loads((result.path / "manifest.json").read_text())
    del raw["populations"]
    for mart in raw["marts"].values():
        del mart["purpose"], mart["population"]
    old = SnapshotManifest.model_validate(raw)
    assert old.populations == {} and old.marts["m"].purpose is None


def _staged(
    gold: Path,
    snapshot_id: str,
    frames: dict[str, pd.DataFrame],
    origins: dict[str, MartOrigin] = ORIGINS,
    populations: dict[str, PopulationEntry] | None = None,
    members_sha256: str | None = None,
) -> StagedSnapshot:
    return stage_snapshot(
        gold, snapshot_id, frames, origins, PASSED, research_release="research-x",
        warehouse="w", populations=populations, members_sha256=members_sha256,
    )  # fmt: skip


def _population(children: int) -> dict[str, PopulationEntry]:
    entry = PopulationEntry(
        population="all_registered_children", requires_consent=False, legal_basis="service",
        audiences=["government"], children=children, joined=0, left=0,
    )  # fmt: skip
    return {"service": entry}


def test_the_content_digest_is_what_is_served_not_when_or_where(tmp_path: Path) -> None:
    first = _publish(tmp_path / "a", "20260101T000000000000Z").manifest
    # Another id, time, lake and warehouse: the same content.
    again = _staged(tmp_path / "b", "20260301T000000000000Z", _frames()).manifest
    assert first.content_sha256 is not None and again.content_sha256 == first.content_sha256
    # One count changed, one audience more, another release gated with it: other content.
    changed = _frames()
    changed["m"].loc[0, "placements"] = 7
    others = [
        _staged(tmp_path / "c", "20260302T000000000000Z", changed),
        _staged(
            tmp_path / "d",
            "20260303T000000000000Z",
            _frames(),
            origins={"m": replace(ORIGINS["m"], audience=("government", "business"))},
        ),
        stage_snapshot(
            tmp_path / "e",
            "20260304T000000000000Z",
            _frames(),
            ORIGINS,
            PASSED,
            research_release="research-y",
            warehouse="w",
        ),
    ]
    assert all(o.manifest.content_sha256 != first.content_sha256 for o in others)


def test_the_content_digest_sees_the_population_members_not_only_their_count(
    tmp_path: Path,
) -> None:
    base = _staged(tmp_path / "a", "20260101T000000000000Z", _frames(),
                   populations=_population(40), members_sha256="m1")  # fmt: skip
    same = _staged(tmp_path / "b", "20260102T000000000000Z", _frames(),
                   populations=_population(40), members_sha256="m1")  # fmt: skip
    swapped = _staged(tmp_path / "c", "20260103T000000000000Z", _frames(),
                      populations=_population(40), members_sha256="m2")  # fmt: skip
    fewer = _staged(tmp_path / "d", "20260104T000000000000Z", _frames(),
                    populations=_population(39), members_sha256="m1")  # fmt: skip
    assert base.manifest.content_sha256 == same.manifest.content_sha256
    assert swapped.manifest.content_sha256 != base.manifest.content_sha256
    assert fewer.manifest.content_sha256 != base.manifest.content_sha256


def test_a_staged_snapshot_is_invisible_until_committed_and_gone_when_discarded(
    tmp_path: Path,
) -> None:
    _publish(tmp_path, "20260101T000000000000Z")
    staged = _staged(tmp_path, "20260102T000000000000Z", _frames())
    reader = GoldSnapshots(tmp_path)
    assert reader.published_ids() == ["20260101T000000000000Z"]
    assert reader.current_id() == "20260101T000000000000Z"
    assert staged.manifest.previous_snapshot_id == "20260101T000000000000Z"
    staged.discard()
    assert sorted(p.name for p in (tmp_path / "snapshots").iterdir()) == ["20260101T000000000000Z"]
    result = _staged(tmp_path, "20260103T000000000000Z", _frames()).commit()
    assert result.published and reader.current_id() == "20260103T000000000000Z"
    assert reader.open_current().manifest.content_sha256 == result.manifest.content_sha256  # type: ignore[union-attr]


def test_only_a_snapshot_that_passed_the_gate_is_staged(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="passed the gate"):
        stage_snapshot(tmp_path, "20260101T000000000000Z", _frames(), ORIGINS, FAILED)
    assert not (tmp_path / "snapshots").exists() or not any((tmp_path / "snapshots").iterdir())


def test_a_manifest_written_before_content_digests_is_still_read(tmp_path: Path) -> None:
    result = _publish(tmp_path, "20260101T000000000000Z")
    path = result.path / "manifest.json"
    raw = json.loads(path.read_text())
    del raw["content_sha256"]
    path.write_text(json.dumps(raw))
    assert GoldSnapshots(tmp_path).open_current().manifest.content_sha256 is None  # type: ignore[union-attr]
