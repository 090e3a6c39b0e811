"""The publish ledger at publish time: what earlier snapshots gave each audience.

The protected families of a new snapshot are protected against every family frame released
before (:class:`lakehouse.disclosure_ledger.ReleasedCells`), and the new frames are entered in
the ledger before CURRENT moves. A lake published before the ledger existed has its snapshots
entered the first time (they were released all the same).
"""

from __future__ import annotations

import pandas as pd

from lakehouse.disclosure_ledger import ReleasedCells
from lakehouse.gold_snapshot import GoldSnapshots, SnapshotError
from metrics_api.protected import PREFIX

__all__ = ["enter_earlier_snapshots"]


def enter_earlier_snapshots(released: ReleasedCells, gold: GoldSnapshots) -> list[str]:
    """Enter every protected family of every snapshot on disk that the ledger does not hold
    yet; returns the ``family@snapshot`` entries added. A snapshot that cannot be read (a
    tampered file) fails loudly: its cells were released, and the ledger must not miss them."""
    added = []
    for snapshot_id in gold.published_ids():
        try:
            snapshot = gold.open(snapshot_id)
        except SnapshotError:
            continue  # never published (no manifest): nothing of it was released
        for name in snapshot.manifest.marts:
            if not name.startswith(PREFIX) or snapshot_id in released.snapshots(name):
                continue
            frame = pd.read_parquet(gold.mart_file(snapshot, name))
            released.record(snapshot_id, {name: frame})
            added.append(f"{name}@{snapshot_id}")
    return added
