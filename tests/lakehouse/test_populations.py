"""Population members: keyed hashes in the restricted zone, compared from one publish to the
next, the last few snapshots kept."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lakehouse.populations import (
    KEEP_SNAPSHOTS,
    MEMBER_BYTES,
    PopulationChange,
    PopulationMembers,
    compare_populations,
    member_key,
    members_digest,
    members_frame,
)

KEY = member_key(b"t" * 32)


def _members(**purposes: list[str]) -> pd.DataFrame:
    pairs = [(p, child) for p, children in purposes.items() for child in children]
    return members_frame(KEY, [p for p, _ in pairs], [c for _, c in pairs])


def test_members_are_keyed_hashes_never_the_ids() -> None:
    frame = _members(community=["CH-1", "CH-2"], service=["CH-1"])
    assert list(frame["purpose"]) == ["community", "community", "service"]
    assert {len(m) for m in frame["member"]} == {MEMBER_BYTES}
    assert frame["member"][0] == frame["member"][2]  # one child, one member in every purpose
    assert b"CH-1" not in b"".join(frame["member"])
    other = members_frame(member_key(b"u" * 32), ["community"], ["CH-1"])
    assert other["member"][0] != frame["member"][0]  # another key, another hash
    assert member_key(b"t" * 32) != b"t" * 32


def test_children_leaving_and_joining_each_population() -> None:
    before = _members(community=["CH-1", "CH-2", "CH-3"], media=["CH-1"], service=["CH-1"])
    now = _members(community=["CH-1", "CH-4"], media=["CH-1"], service=["CH-1", "CH-4"])
    changes = compare_populations(now, before, ["community", "media", "service", "research"])
    assert changes == {
        "community": PopulationChange(children=2, joined=1, left=2),
        "media": PopulationChange(children=1, joined=0, left=0),
        "service": PopulationChange(children=2, joined=1, left=0),
        "research": PopulationChange(children=0, joined=0, left=0),
    }
    first = compare_populations(now, None, ["community"])
    assert first == {"community": PopulationChange(children=2, joined=None, left=None)}


def test_the_store_writes_reads_and_keeps_the_newest(tmp_path: Path) -> None:
    store = PopulationMembers(tmp_path / "restricted" / "populations")
    assert store.read(None) is None and store.read("20260101T000000000000Z") is None
    frame = _members(community=["CH-1"])
    ids = [f"202601{d:02d}T000000000000Z" for d in range(1, 6)]
    for snapshot_id in ids:
        store.write(snapshot_id, frame)
    pd.testing.assert_frame_equal(store.read(ids[0]), frame)  # type: ignore[arg-type]
    assert store.prune() == ids[:-KEEP_SNAPSHOTS]
    assert sorted(p.stem for p in store.root.iterdir()) == ids[-KEEP_SNAPSHOTS:]
    with pytest.raises(ValueError, match="not a snapshot id"):
        store.read("../../gold/CURRENT")


def test_the_members_digest_is_the_set_of_members_per_purpose() -> None:
    key = member_key(b"t" * 32)
    frame = members_frame(key, ["research", "research", "media"], ["CH-1", "CH-2", "CH-1"])
    digest = members_digest(frame)
    assert members_digest(frame.iloc[::-1].reset_index(drop=True)) == digest
    other = members_frame(key, ["research", "research", "media"], ["CH-1", "CH-3", "CH-1"])
    assert members_digest(other) != digest  # as many children, another one
    moved = members_frame(key, ["research", "media", "media"], ["CH-1", "CH-2", "CH-1"])
    assert members_digest(moved) != digest  # the same children, another purpose
