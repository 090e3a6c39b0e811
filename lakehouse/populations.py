"""Who was in each purpose's population at each publish: the one writer and reader of
``restricted/populations/``.

Layout::

    restricted/populations/<snapshot id>.parquet   purpose, member (one row per child)

A member is a keyed hash of the child's id (HMAC-SHA256 under a key derived from the token key,
truncated to 16 bytes), never the id itself: enough to tell, at the next publish, which children
left or joined a population since the snapshot before (a revocation, an erasure, a new consent),
and useless to whoever reads the file without the key. The counts go into the gold manifest
(:class:`lakehouse.gold_snapshot.PopulationEntry`); the members stay here. Only the files of
the last few snapshots are kept: the next publish compares with the live one only.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from lakehouse.files import write_parquet_atomic
from lakehouse.ids import TIMESTAMP_ID

__all__ = [
    "KEEP_SNAPSHOTS",
    "MEMBER_BYTES",
    "PopulationChange",
    "PopulationMembers",
    "compare_populations",
    "member_key",
    "member_of",
    "members_digest",
    "members_frame",
]

MEMBER_BYTES = 16
#: Population files kept (newest snapshot ids): the live snapshot's is the one compared with.
KEEP_SNAPSHOTS = 3
_SNAPSHOT_ID = re.compile(rf"^{TIMESTAMP_ID}$")


def member_key(token_key: bytes) -> bytes:
    """The key of the member hashes, derived from the pipeline's token key (its own domain)."""
    return hmac.new(token_key, b"merajut-population-members", hashlib.sha256).digest()


def member_of(key: bytes, child_id: str) -> bytes:
    """A child's member hash (16 bytes of HMAC-SHA256 of the id)."""
    return hmac.digest(key, str(child_id).encode(), "sha256")[:MEMBER_BYTES]


def members_frame(key: bytes, purposes: Iterable[str], child_ids: Iterable[str]) -> pd.DataFrame:
    """``purpose``, ``member`` (16-byte keyed hash of the child id), one row per pair given."""
    members = [member_of(key, child) for child in child_ids]
    return pd.DataFrame({"purpose": list(purposes), "member": members})


def members_digest(members: pd.DataFrame) -> str:
    """sha256 of every (purpose, member) pair in order: the same digest, the same children in
    every population (the members are keyed hashes already; this says nothing more)."""
    digest = hashlib.sha256()
    pairs = sorted(zip(members["purpose"].astype(str), members["member"], strict=True))
    for purpose, member in pairs:
        digest.update(purpose.encode() + b"\0" + bytes(member))
    return digest.hexdigest()


@dataclass(frozen=True)
class PopulationChange:
    """One purpose's population now, and how it moved since the snapshot compared with."""

    children: int
    #: None when there was nothing to compare with (the first publish with population files).
    joined: int | None
    left: int | None


def compare_populations(
    now: pd.DataFrame, before: pd.DataFrame | None, purposes: Iterable[str]
) -> dict[str, PopulationChange]:
    """Per purpose: the children in ``now``, those not in ``before`` (joined) and those of
    ``before`` no longer in ``now`` (left)."""
    out = {}
    for purpose in purposes:
        current = set(now.loc[now["purpose"] == purpose, "member"])
        if before is None:
            out[purpose] = PopulationChange(len(current), None, None)
            continue
        previous = set(before.loc[before["purpose"] == purpose, "member"])
        out[purpose] = PopulationChange(
            len(current), len(current - previous), len(previous - current)
        )
    return out


class PopulationMembers:
    """Reads and writes ``restricted/populations/`` (the pipeline's publish step only)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _file(self, snapshot_id: str) -> Path:
        if not _SNAPSHOT_ID.match(snapshot_id):
            raise ValueError(f"not a snapshot id: {snapshot_id!r}")
        return self.root / f"{snapshot_id}.parquet"

    def write(self, snapshot_id: str, members: pd.DataFrame) -> None:
        """Written before CURRENT moves: a publish that fails after it leaves a file of an
        unpublished snapshot (never compared with, pruned later), never a published snapshot
        without its members."""
        write_parquet_atomic(members[["purpose", "member"]], self._file(snapshot_id))

    def read(self, snapshot_id: str | None) -> pd.DataFrame | None:
        """The members recorded for ``snapshot_id``, or None (no id, no file: a snapshot
        published before populations were recorded)."""
        if snapshot_id is None:
            return None
        path = self._file(snapshot_id)
        return pd.read_parquet(path) if path.is_file() else None

    def holding(self, member: bytes) -> list[str]:
        """The snapshot ids whose member file lists ``member``."""
        if not self.root.is_dir():
            return []
        return [
            p.stem
            for p in sorted(self.root.glob("*.parquet"))
            if (pd.read_parquet(p, columns=["member"])["member"] == member).any()
        ]

    def forget(self, member: bytes) -> list[str]:
        """Remove an erased child's member hash from every file (rewritten atomically);
        returns the snapshot ids whose file changed."""
        changed = []
        for snapshot_id in self.holding(member):
            frame = pd.read_parquet(self._file(snapshot_id))
            self.write(snapshot_id, frame[frame["member"] != member].reset_index(drop=True))
            changed.append(snapshot_id)
        return changed

    def prune(self, keep: Iterable[str | None] = ()) -> list[str]:
        """Remove all but the newest ``KEEP_SNAPSHOTS`` files and those of ``keep`` (the live
        snapshot: the next candidate is compared with it, however many candidates came since);
        returns the ids removed."""
        if not self.root.is_dir():
            return []
        ids = sorted(p.stem for p in self.root.glob("*.parquet") if _SNAPSHOT_ID.match(p.stem))
        old = ids[:-KEEP_SNAPSHOTS] if len(ids) > KEEP_SNAPSHOTS else []
        kept = set(keep)
        removed = [i for i in old if i not in kept]
        for snapshot_id in removed:
            self._file(snapshot_id).unlink(missing_ok=True)
        return removed
