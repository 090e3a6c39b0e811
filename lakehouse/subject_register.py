"""The register of data-subject requests: tombstones of erased children and restrictions.

Why a register in the restricted zone
-------------------------------------
An erasure has to outlive the data it removed: the operational services keep their records (the
lakehouse is not their system of record), so the next extract would bring an erased child back.
The tombstone is what every ingest checks. A restriction has to be lifted one day, so it is a
state, not a deletion. Both are requested by the data protection officer's command and carried
out by the next pipeline run (``applied_at`` is set then), which is why the register is a small
transactional store (SQLite, mode 0600) beside the vault and not a file in the lake.

Subjects are named by their keyed reference (the ``data_subject`` token of the child id), never
by the child id itself: a tombstone that kept the id would be the one trace of the child left.

States: ``erased`` (final), ``restricted`` (held out of every output), ``lifted`` (a restriction
whose lifting the next run still has to carry out; the row is then removed).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Literal, cast

__all__ = ["SubjectEntry", "SubjectRegister", "SubjectStatus"]

SubjectStatus = Literal["erased", "restricted", "lifted"]

_SCHEMA = """
create table if not exists subjects (
    subject_ref text primary key,
    status text not null check (status in ('erased', 'restricted', 'lifted')),
    requested_at text not null,
    requested_by text not null,
    reason text not null,
    applied_at text,
    identifier_tokens text not null default '[]'
)
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class SubjectEntry:
    subject_ref: str
    status: SubjectStatus
    requested_at: str
    requested_by: str
    reason: str
    applied_at: str | None
    #: Unique identifier tokens (NIKs) only this subject holds: how rows without a platform id
    #: (the government registry's) are recognised as theirs.
    identifier_tokens: tuple[str, ...] = ()

    @property
    def pending(self) -> bool:
        return self.applied_at is None


class SubjectRegister:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)
        self._conn = sqlite3.connect(path, timeout=30)
        with self._conn:
            self._conn.execute(_SCHEMA)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> SubjectRegister:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------------
    def get(self, subject_ref: str) -> SubjectEntry | None:
        row = self._conn.execute(
            "select * from subjects where subject_ref = ?", (subject_ref,)
        ).fetchone()
        return None if row is None else self._entry(row)

    def entries(self) -> list[SubjectEntry]:
        rows = self._conn.execute("select * from subjects order by requested_at, subject_ref")
        return [self._entry(r) for r in rows]

    def pending(self) -> list[SubjectEntry]:
        return [e for e in self.entries() if e.pending]

    @staticmethod
    def _entry(row: tuple[object, ...]) -> SubjectEntry:
        ref, status, at, by, reason, applied, identifiers = row
        return SubjectEntry(
            str(ref),
            cast(SubjectStatus, status),
            str(at),
            str(by),
            str(reason),
            None if applied is None else str(applied),
            tuple(json.loads(str(identifiers))),
        )

    # -- requests (the DPO's commands) ------------------------------------------------------
    def _set(
        self,
        subject_ref: str,
        status: SubjectStatus,
        actor: str,
        reason: str,
        identifier_tokens: Iterable[str] | None = None,
    ) -> None:
        tokens = None if identifier_tokens is None else json.dumps(sorted(set(identifier_tokens)))
        with self._conn:
            self._conn.execute(
                "insert into subjects values (?, ?, ?, ?, ?, null, coalesce(?, '[]')) "
                "on conflict(subject_ref) do update set status = excluded.status, "
                "requested_at = excluded.requested_at, requested_by = excluded.requested_by, "
                "reason = excluded.reason, applied_at = null, "
                "identifier_tokens = coalesce(?, identifier_tokens)",
                (subject_ref, status, _now(), actor, reason, tokens, tokens),
            )

    def erase(
        self,
        subject_ref: str,
        *,
        actor: str,
        reason: str,
        identifier_tokens: Iterable[str] | None = None,
    ) -> bool:
        """Tombstone the subject; False (nothing changes) if they are erased already."""
        current = self.get(subject_ref)
        if current is not None and current.status == "erased":
            return False
        self._set(subject_ref, "erased", actor, reason, identifier_tokens)
        return True

    def restrict(
        self,
        subject_ref: str,
        *,
        actor: str,
        reason: str,
        identifier_tokens: Iterable[str] | None = None,
    ) -> bool:
        """Hold the subject out of every output; False if restricted already.

        Raises ValueError for an erased subject (nothing is left to restrict)."""
        current = self.get(subject_ref)
        if current is not None and current.status == "erased":
            raise ValueError("the subject is erased; there is nothing left to restrict")
        if current is not None and current.status == "restricted":
            return False
        if current is not None and current.status == "lifted" and current.pending:
            # The lifting was never carried out: the rows are still held; restricted again.
            with self._conn:
                self._conn.execute(
                    "update subjects set status = 'restricted', requested_at = ?, "
                    "requested_by = ?, reason = ?, applied_at = ? where subject_ref = ?",
                    (_now(), actor, reason, _now(), subject_ref),
                )
            return True
        self._set(subject_ref, "restricted", actor, reason, identifier_tokens)
        return True

    def lift(self, subject_ref: str, *, actor: str, reason: str) -> bool:
        """Lift a restriction (carried out at the next run); False if not restricted."""
        current = self.get(subject_ref)
        if current is None or current.status != "restricted":
            return False
        if current.pending:  # never carried out: nothing was held, nothing to bring back
            with self._conn:
                self._conn.execute("delete from subjects where subject_ref = ?", (subject_ref,))
            return True
        self._set(subject_ref, "lifted", actor, reason)
        return True

    # -- the run that carries requests out ---------------------------------------------------
    def mark_applied(self, refs: Iterable[str]) -> None:
        """Record that the run carried these requests out (a lifted restriction is forgotten)."""
        now = _now()
        refs = list(refs)
        with self._conn:
            self._conn.executemany(
                "delete from subjects where subject_ref = ? and status = 'lifted'",
                [(r,) for r in refs],
            )
            self._conn.executemany(
                "update subjects set applied_at = ? where subject_ref = ? and applied_at is null",
                [(now, r) for r in refs],
            )
