"""Who may have which research release, on what terms: the catalog's rules, enforced per key.

The tier declares the terms (:class:`lakehouse.reference.release_tiers.AccessTerms`), the catalog
says what became of a release (:mod:`lakehouse.release_catalog`), and this module decides a
request, in the order a person would check it: does the release exist, is it still handed out
(withdrawn, retired or expired: 410, with its identifier so a citation still resolves), may
this key's role have its tier, has this key accepted the data-use agreement for this release,
and has it taken fewer copies than the tier allows.

Acceptances and download counts live in SQLite next to the key store (restricted home),
because enforcement must read them on every request. The hash-chained audit log records every
acceptance and download as well, and it is the record a data protection officer reads. A
download is counted before its bytes leave; if the file then cannot be served (it fails its
sha256), the count is given back.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from lakehouse.reference.release_tiers import TIERS, AccessTerms
from lakehouse.release_catalog import CatalogEntry
from lakehouse.research_release import Release
from metrics_api.errors import Forbidden, Gone, NotFound, Unavailable
from metrics_api.service import Caller
from metrics_api.state_db import immediate, open_private

__all__ = [
    "Acceptance",
    "AccessRecords",
    "Agreement",
    "agreement_path",
    "handed_out",
    "require_agreement",
    "terms_of",
]


@dataclass(frozen=True)
class Agreement:
    """The data-use agreement's text; a key accepts these exact bytes (their sha256)."""

    text: str
    sha256: str

    @classmethod
    def packaged(cls) -> Agreement:
        data = resources.files("lakehouse.reference").joinpath("data_use_agreement.md").read_bytes()
        return cls(data.decode("utf-8"), hashlib.sha256(data).hexdigest())


@dataclass(frozen=True)
class Acceptance:
    key_id: str
    release_id: str
    agreement_sha256: str
    project: str
    accepted_at: str


def agreement_path(key_store: Path) -> Path:
    """The SQLite file of acceptances and downloads: next to the key store."""
    return key_store.with_name("release_access.sqlite")


class AccessRecords:
    """Acceptances of the agreement and copies taken, per (key, release)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = open_private(
                self.path,
                """
                CREATE TABLE IF NOT EXISTS agreements (
                    key_id TEXT NOT NULL,
                    release_id TEXT NOT NULL,
                    agreement_sha256 TEXT NOT NULL,
                    project TEXT NOT NULL,
                    accepted_at TEXT NOT NULL,
                    PRIMARY KEY (key_id, release_id, agreement_sha256)
                ) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS downloads (
                    key_id TEXT NOT NULL,
                    release_id TEXT NOT NULL,
                    taken INTEGER NOT NULL,
                    PRIMARY KEY (key_id, release_id)
                ) WITHOUT ROWID;
                """,
            )
        return self._db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One transaction under the lock; storage errors become a 503 (nothing is served)."""
        with (
            self._lock,
            immediate(
                self._connect,
                "the release access records cannot be read or written; nothing is served",
            ) as db,
        ):
            yield db

    @staticmethod
    def _accepted(
        db: sqlite3.Connection, key_id: str, release_id: str, sha256: str
    ) -> Acceptance | None:
        row = db.execute(
            "SELECT project, accepted_at FROM agreements "
            "WHERE key_id = ? AND release_id = ? AND agreement_sha256 = ?",
            (key_id, release_id, sha256),
        ).fetchone()
        return None if row is None else Acceptance(key_id, release_id, sha256, row[0], row[1])

    @staticmethod
    def _taken(db: sqlite3.Connection, key_id: str, release_id: str) -> int:
        row = db.execute(
            "SELECT taken FROM downloads WHERE key_id = ? AND release_id = ?",
            (key_id, release_id),
        ).fetchone()
        return 0 if row is None else int(row[0])

    def acceptance(self, key_id: str, release_id: str, sha256: str) -> Acceptance | None:
        with self._transaction() as db:
            return self._accepted(db, key_id, release_id, sha256)

    def accept(self, key_id: str, release_id: str, sha256: str, project: str) -> Acceptance:
        """Record the acceptance; accepting again keeps the first (its date and project)."""
        at = datetime.now(UTC).isoformat(timespec="seconds")
        with self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO agreements VALUES (?, ?, ?, ?, ?)",
                (key_id, release_id, sha256, project, at),
            )
            accepted = self._accepted(db, key_id, release_id, sha256)
        assert accepted is not None  # inserted, or there already
        return accepted

    def downloads(self, key_id: str, release_id: str) -> int:
        with self._transaction() as db:
            return self._taken(db, key_id, release_id)

    def take_download(self, key_id: str, release_id: str, limit: int | None) -> int:
        """Count one more copy, or refuse (403) when ``limit`` are taken; returns the count."""
        with self._transaction() as db:
            taken = self._taken(db, key_id, release_id)
            if limit is not None and taken >= limit:
                raise Forbidden(
                    f"this key has taken {taken} copies of release {release_id}, the most its "
                    "tier allows one key: use the copies you have (each copy is one more place "
                    "the records must be protected)"
                )
            db.execute(
                "INSERT INTO downloads VALUES (?, ?, 1) ON CONFLICT (key_id, release_id) "
                "DO UPDATE SET taken = taken + 1",
                (key_id, release_id),
            )
        return taken + 1

    def give_back_download(self, key_id: str, release_id: str) -> None:
        """A counted copy that was not served after all (its file failed its sha256)."""
        with self._transaction() as db:
            db.execute(
                "UPDATE downloads SET taken = taken - 1 "
                "WHERE key_id = ? AND release_id = ? AND taken > 0",
                (key_id, release_id),
            )

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def terms_of(entry: CatalogEntry) -> AccessTerms:
    tier = TIERS.get(entry.tier)
    if tier is None:
        raise Unavailable(f"release {entry.release_id} declares an unknown tier {entry.tier!r}")
    return tier.terms


def handed_out(entry: CatalogEntry | None, release_id: str, caller: Caller, verb: str) -> Release:
    """The release, if the catalog still hands it out and ``caller``'s role may have its tier;
    ``verb`` says what the caller asked (``download``, ``query``) in the refusal."""
    if entry is None:
        raise NotFound(f"no published release {release_id!r}")
    if entry.status in ("withdrawn", "retired"):
        raise Gone(
            f"release {release_id} was {entry.status} on {(entry.ended_at or '?')[:10]}: "
            f"{entry.reason or 'no reason recorded'}. Its catalog entry stays; cite it as "
            f"{entry.identifier}, and use a current {entry.tier} release for new work"
        )
    if entry.status == "expired" or entry.release is None:
        raise Gone(
            f"release {release_id}'s availability ended on {(entry.available_until or '?')[:10]}"
            f": ask for the newest {entry.tier} release instead (GET /v1/releases)"
        )
    terms = terms_of(entry)
    if not terms.admits(caller.role):
        roles = ", ".join(sorted(terms.roles or ()))
        raise Forbidden(
            f"role {caller.role!r} may not {verb} {entry.tier} releases; {roles} keys only"
        )
    return entry.release


def require_agreement(
    entry: CatalogEntry, caller: Caller, records: AccessRecords, agreement: Agreement
) -> Acceptance | None:
    """The key's acceptance of the agreement for this release; a 403 saying how to accept
    when the tier needs one and the key has not accepted this text; None when not needed."""
    if not terms_of(entry).agreement:
        return None
    accepted = records.acceptance(caller.key_id, entry.release_id, agreement.sha256)
    if accepted is None:
        raise Forbidden(
            f"accept the data-use agreement for release {entry.release_id} first: read it at "
            f"GET /v1/releases/{entry.release_id}/agreement and accept it with a POST there "
            "(naming your project); the acceptance is recorded against your key"
        )
    return accepted
