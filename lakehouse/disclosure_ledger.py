"""What each audience has been given, kept apart from the snapshots it came from.

Why a ledger: protection that holds inside one snapshot can be undone across snapshots. A cell
an audience saw last month is still known to it this month, so this month's pattern must be
protected against it too, and a cell that changed by a few children since it was shown gives
those children away when shown again. Snapshots are immutable but not forever (a withdrawal
removes one); what an audience has seen cannot be withdrawn. So the ledger keeps its own copy.

Two books, both under ``restricted/ledger/``:

* :class:`ReleasedCells` — at publish, every protected family's cells as they are about to be
  made available (API, Superset: whole tables), one Parquet file per family and snapshot,
  written *before* CURRENT moves (a publish that then fails leaves an entry too many, never one
  too few), with each cell's true counts beside (restricted: how the next publish tells an
  unchanged hidden cell from one that moved). The next publish protects against all of it.
* :class:`ServedCells` — at query time, the cells each role was actually served, with the
  snapshot, the family, the first key and when (SQLite, one row per cell and role): what the
  data protection officer asks for ("what has this audience been given?"), and the set of
  snapshots a role holds cells of, which the API checks before it answers.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from lakehouse.files import write_parquet_atomic

__all__ = ["LedgerError", "ReleasedCells", "ServedCells"]

_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


class LedgerError(RuntimeError):
    """The ledger cannot be read or written: serving or publishing must stop, not go blind."""


def _checked(name: str, what: str) -> str:
    if not _NAME.match(name):
        raise LedgerError(f"{what} {name!r} is not a plain name")
    return name


class ReleasedCells:
    """Every protected family's published cells, per snapshot (the publish ledger)."""

    def __init__(self, root: Path) -> None:
        self.root = root / "released"

    def _file(self, family: str, snapshot_id: str) -> Path:
        return (
            self.root / _checked(family, "family") / f"{_checked(snapshot_id, 'snapshot')}.parquet"
        )

    def record(self, snapshot_id: str, frames: Mapping[str, pd.DataFrame]) -> None:
        """Keep ``frames`` (family name -> its published frame) as released with
        ``snapshot_id``; rewriting the same snapshot's entry is harmless."""
        for family, frame in frames.items():
            write_parquet_atomic(frame, self._file(family, snapshot_id))

    def snapshots(self, family: str) -> list[str]:
        """The snapshots ``family`` was released with, oldest first."""
        folder = self.root / _checked(family, "family")
        return sorted(p.stem for p in folder.glob("*.parquet")) if folder.is_dir() else []

    def history(self, family: str, before: str | None = None) -> pd.DataFrame:
        """Every released frame of ``family`` (of snapshots before ``before``, if given), one
        above the other with a ``snapshot_id`` column; empty if it was never released."""
        parts = []
        for snapshot_id in self.snapshots(family):
            if before is not None and snapshot_id >= before:
                continue
            try:
                frame = pd.read_parquet(self._file(family, snapshot_id))
            except (OSError, ValueError) as exc:
                raise LedgerError(f"released cells of {family} @ {snapshot_id}: {exc}") from exc
            parts.append(frame.assign(snapshot_id=snapshot_id))
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


_SCHEMA = """
create table if not exists served (
    role text not null,
    snapshot_id text not null,
    family text not null,
    cell integer not null,
    first_key text not null,
    first_at text not null,
    primary key (role, snapshot_id, family, cell)
) without rowid;
create table if not exists coverage (
    family text not null,
    snapshot_id text not null,
    audited_with text not null,
    primary key (family, snapshot_id)
) without rowid;
"""


class ServedCells:
    """The cells each role was served (the query-time ledger), in SQLite.

    Every cell is written once per role and snapshot (a repeat costs a set lookup, not a
    write); several API workers may share the file (WAL, busy timeout). A write that fails
    raises :class:`LedgerError`: an answer that cannot be recorded is not given."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        #: Cells this process knows are recorded, per (role, snapshot, family): a repeated
        #: answer's cells are told apart from new ones by one set difference.
        self._known: dict[tuple[str, str, str], set[int]] = {}
        self._snapshots: dict[tuple[str, str], set[str]] | None = None
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
                conn.execute("pragma journal_mode=wal")
                conn.execute("pragma synchronous=normal")
                conn.executescript(_SCHEMA)
            except (OSError, sqlite3.Error) as exc:
                raise LedgerError(
                    f"the served-cells ledger {self.path} cannot be opened: {exc}"
                ) from exc
            self._conn = conn
        return self._conn

    def _load_snapshots(self) -> dict[tuple[str, str], set[str]]:
        if self._snapshots is None:
            rows = (
                self._connection()
                .execute("select distinct role, family, snapshot_id from served")
                .fetchall()
            )
            out: dict[tuple[str, str], set[str]] = {}
            for role, family, snapshot_id in rows:
                out.setdefault((role, family), set()).add(snapshot_id)
            self._snapshots = out
        return self._snapshots

    def snapshots(self, role: str, family: str) -> set[str]:
        """The snapshots ``role`` holds cells of ``family`` from (this process's view plus
        what other processes had written when this one first asked)."""
        with self._lock:
            return set(self._load_snapshots().get((role, family), set()))

    def record(
        self, role: str, key_id: str, snapshot_id: str, family: str, cells: Iterable[int]
    ) -> int:
        """Record ``cells`` as served to ``role``; returns how many were new."""
        with self._lock:
            known = self._known.setdefault((role, snapshot_id, family), set())
            new_cells = set(cells) - known  # numpy integers hash and compare as ints
            if not new_cells:
                return 0
            fresh = [(role, snapshot_id, family, int(c)) for c in sorted(new_cells)]
            now = datetime.now(UTC).isoformat(timespec="seconds")
            try:
                conn = self._connection()
                with conn:
                    conn.executemany(
                        "insert or ignore into served values (?, ?, ?, ?, ?, ?)",
                        [(*row, key_id, now) for row in fresh],
                    )
            except sqlite3.Error as exc:
                raise LedgerError(f"the served-cells ledger {self.path}: {exc}") from exc
            known.update(new_cells)
            self._load_snapshots().setdefault((role, family), set()).add(snapshot_id)
            return len(fresh)

    def remember_coverage(self, family: str, snapshot_id: str, covered: Iterable[str]) -> None:
        """Keep which snapshots ``family`` of ``snapshot_id`` was audited against, so the check
        can read it after the snapshot itself is gone."""
        text = json.dumps(sorted(covered))
        with self._lock:
            try:
                conn = self._connection()
                with conn:
                    conn.execute(
                        "insert or ignore into coverage values (?, ?, ?)",
                        (family, snapshot_id, text),
                    )
            except sqlite3.Error as exc:
                raise LedgerError(f"the served-cells ledger {self.path}: {exc}") from exc

    def coverage(self, family: str, snapshot_id: str) -> frozenset[str]:
        """What ``remember_coverage`` kept (just the snapshot itself if nothing was)."""
        with self._lock:
            try:
                row = (
                    self._connection()
                    .execute(
                        "select audited_with from coverage where family = ? and snapshot_id = ?",
                        (family, snapshot_id),
                    )
                    .fetchone()
                )
            except sqlite3.Error as exc:
                raise LedgerError(f"the served-cells ledger {self.path}: {exc}") from exc
        return frozenset(json.loads(row[0])) if row else frozenset([snapshot_id])

    def served(self, role: str | None = None) -> pd.DataFrame:
        """Every recorded cell (of ``role``, if given): role, snapshot_id, family, cell,
        first_key, first_at."""
        query = "select * from served"
        args: tuple[str, ...] = ()
        if role is not None:
            query += " where role = ?"
            args = (role,)
        with self._lock:
            conn = self._connection()
            return pd.read_sql_query(
                query + " order by role, snapshot_id, family, cell", conn, params=args
            )

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
