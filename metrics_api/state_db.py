"""The API's own small state databases (the distinct-query budgets, release access): private
SQLite files in the restricted home, written one transaction at a time, where a storage error
is a 503 so that nothing is served that could not be recorded."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from metrics_api.errors import Unavailable

__all__ = ["immediate", "open_private"]


def open_private(path: Path, schema: str) -> sqlite3.Connection:
    """Open (creating it 0600 in a 0700 folder) and apply ``schema``; shared by threads."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))  # SQLite keeps the mode
    db = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    # WAL + NORMAL: a commit survives the process being killed (it is in the OS's cache); only
    # a power cut can lose the last ones, and the fsync'd audit log still records those.
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(schema)
    return db


@contextmanager
def immediate(
    connect: Callable[[], sqlite3.Connection], failure: str
) -> Iterator[sqlite3.Connection]:
    """One write transaction (hold the caller's lock around it); a storage error becomes
    :class:`Unavailable` with ``failure``, any other error rolls back and passes through."""
    try:
        db = connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
    except (sqlite3.Error, OSError) as exc:
        raise Unavailable(failure) from exc
