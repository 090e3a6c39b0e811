"""Per-key limits, a second line behind suppression: requests per minute, distinct queries per
gold snapshot. The numbers are each role's, from the catalog's ``limits:`` block.

Why
---
Suppression is applied per answer. Answers over different windows, breakdowns or filters can
be differenced to recover a hidden cell, and that takes *many different* queries against the
same data. The distinct-query budget bounds how many a key gets per published snapshot; the
requests-per-minute window bounds how fast any key (a leaked one too) can draw on the API.
A repeat of a query the key has already had answered reveals nothing new and is always served.

What counts as one query (:func:`query_fingerprint`)
---------------------------------------------------
The metric, the set of breakdown dimensions (order and a ``grain=`` spelled as a dimension do
not matter), ``from``, ``to`` and the province (a province-scoped key's own province whether or
not it names it). The format does not: CSV and JSON carry the same numbers. Only the raw
request is used — two spellings of one window that the service would accept (``to`` as the
first or as the last day of the last period) count twice, which errs on the safe side (more
budget used, never less).

A query is charged when it is admitted, before any data is read, and refunded if the request
then ends without an answer (403, 422, 503): a typo costs no budget. The charge is written
before the answer leaves; if it cannot be written, no data is returned (503), like the audit
log.

Where the state lives, and why
------------------------------
* Requests per minute: in memory (a sliding log of the admitted requests' times per key, on a
  monotonic clock). A restart forgetting the last minute costs at most one extra minute's worth.
* Distinct queries: in a small SQLite file next to the key store (the API's restricted state
  under the home, 0600), so a restart of the API does not hand every key a fresh budget.
  Chosen over re-deriving the budget from the audit log at start-up: the audit log only grows
  (reading it at every start-up gets slower with every request ever answered), its records hold
  the raw parameters and would tie the budget's rules to the log's format, and a failed
  re-derivation would leave the API either down or unlimited. The SQLite file is small
  (one row per key and distinct query of the last snapshots) and shared by every process on
  the host (each admission is one ``BEGIN IMMEDIATE`` transaction, so two workers cannot both
  take a key's last place). A charge is committed before any data is read (WAL,
  ``synchronous=NORMAL``: it survives the API being killed; a power cut may lose the last few,
  whose answers the fsync'd audit log still records).

The same budget, in a file of its own, counts the different frequency tables a key asks of one
enclave release (:func:`table_fingerprint`, ``RELEASE_BUDGET``): a release is fixed, so its
budget never resets; it keeps the budgets of the ``KEEP_RELEASES`` releases most recently asked
(old releases stay servable, and cycling through releases must not hand an old one a fresh
budget).

Memory and disk stay bounded: only the ``keep_snapshots`` most recently seen snapshots keep
their rows (a rollback of CURRENT to the previous snapshot keeps its budget), each key's cached
set is its current snapshot's and at most its budget long, and at most ``max_keys`` keys are
tracked in memory (least recently seen dropped; their budget stays on disk).
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from metrics_api.catalog import Limits, RoleLimits
from metrics_api.errors import LimitName, TooManyRequests, Unavailable
from metrics_api.state_db import immediate, open_private

__all__ = [
    "RELEASE_BUDGET",
    "SNAPSHOT_BUDGET",
    "BudgetScope",
    "BudgetTicket",
    "Clock",
    "KeyLimiter",
    "QueryBudget",
    "RequestRateLimiter",
    "query_fingerprint",
    "table_fingerprint",
]

Clock = Callable[[], float]
WINDOW_SECONDS = 60.0
MAX_KEYS = 10_000
KEEP_SNAPSHOTS = 2
#: Enclave releases whose table budgets are kept: more than the releases a key can reach in
#: practice (a release per daily run for over two years).
KEEP_RELEASES = 1000


@dataclass(frozen=True)
class BudgetScope:
    """What a budget is counted per, as its 429 says it."""

    noun: str
    limit: LimitName
    resets: str


SNAPSHOT_BUDGET = BudgetScope(
    "snapshot", "distinct_queries_per_snapshot", "when a new gold snapshot is published"
)
RELEASE_BUDGET = BudgetScope(
    "release",
    "distinct_queries_per_release",
    "never for this release (the next enclave release has a budget of its own)",
)


def _day(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    try:
        return date.fromisoformat(raw.strip()).isoformat()
    except ValueError:
        return raw.strip()  # the route refuses it (422) and the charge is refunded


def query_fingerprint(
    metric: str,
    *,
    dimensions: str | None = None,
    grain: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    province: str | None = None,
    scope: str | None = None,
) -> str:
    """One hex digest per distinct question, from the request's raw parameters."""
    names = {part.strip() for part in (dimensions or "").split(",") if part.strip()}
    if grain and grain.strip():
        names.add(grain.strip())
    province = province.strip() if province and province.strip() else None
    canonical = {
        "metric": metric,
        "dimensions": sorted(names),
        "from": _day(date_from),
        "to": _day(date_to),
        "province": province or scope,
    }
    return _digest(canonical)


def table_fingerprint(
    release_id: str, dimensions: Sequence[str], filters: Mapping[str, Sequence[str]]
) -> str:
    """One hex digest per distinct frequency table of an enclave release: the set of
    dimensions (any order) and each filtered column's set of values (any order, repeats
    ignored)."""
    canonical = {
        "release": release_id,
        "dimensions": sorted(set(dimensions)),
        "filters": {column: sorted(set(values)) for column, values in filters.items()},
    }
    return _digest(canonical)


def _digest(canonical: Mapping[str, object]) -> str:
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class RequestRateLimiter:
    """Requests per key in any ``window`` seconds: a sliding log of admitted requests' times.

    Refused requests are not logged, so a client that keeps retrying too early does not push
    its own reset further away.
    """

    def __init__(
        self, clock: Clock = time.monotonic, *, window: float = WINDOW_SECONDS,
        max_keys: int = MAX_KEYS,
    ) -> None:  # fmt: skip
        self.clock = clock
        self.window = window
        self.max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key_id: str, role: str, limit: int | None) -> None:
        """Count one request of ``key_id``, or raise :class:`TooManyRequests` (not counted)."""
        if limit is None:
            return
        with self._lock:
            now = self.clock()
            hits = self._hits.get(key_id)
            if hits is None:
                hits = self._hits[key_id] = deque()
            self._hits.move_to_end(key_id)
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= limit:
                # The request that must leave the window before one more fits.
                frees_at = hits[len(hits) - limit] + self.window
                retry_after = max(1, math.ceil(frees_at - now))
                raise TooManyRequests(
                    f"rate limit: role {role!r} may send {limit} data requests per minute; "
                    f"retry in {retry_after} s",
                    limit="requests_per_minute",
                    retry_after=retry_after,
                    resets=f"in {retry_after} s",
                )
            hits.append(now)
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)


class BudgetTicket:
    """One admitted query: :meth:`settle` once it is answered, :meth:`refund` if it is not."""

    def __init__(
        self, budget: QueryBudget | None, key_id: str, snapshot_id: str | None,
        fingerprint: str | None, *, held: bool = False,
    ) -> None:  # fmt: skip
        self._budget = budget
        self.key_id = key_id
        self.snapshot_id = snapshot_id
        self.fingerprint = fingerprint
        self.held = held  # the ticket holds the query's row as in flight
        self.settled = False

    @classmethod
    def free(cls, key_id: str) -> BudgetTicket:
        """A ticket that charges nothing (no budget for the role, or no snapshot to charge)."""
        return cls(None, key_id, None, None)

    def settle(self, snapshot_id: str) -> None:
        """The query was answered from ``snapshot_id``: it is charged there for good."""
        if self._budget is not None:
            self._budget._settle(self, snapshot_id)
        self.settled = True

    def refund(self) -> None:
        """The request ends without an answer: release what this ticket holds (a settled
        ticket keeps its charge)."""
        if self._budget is not None and not self.settled:
            self._budget._release(self)


class QueryBudget:
    """Distinct queries per (key, snapshot), persisted in SQLite (see the module docstring);
    with ``scope=RELEASE_BUDGET`` per (key, enclave release), the release id in the snapshot's
    place.

    One row per (key, snapshot, query): ``answered`` once any request for it was answered,
    ``pending`` the requests admitted for it and not finished yet. Every row counts against the
    budget, so concurrent requests cannot overshoot it; a row that was never answered goes when
    its last request fails (a killed server leaves it pending: charged, the safe side).
    """

    def __init__(
        self, path: Path, *, keep_snapshots: int = KEEP_SNAPSHOTS, max_keys: int = MAX_KEYS,
        scope: BudgetScope = SNAPSHOT_BUDGET,
    ) -> None:  # fmt: skip
        if keep_snapshots < 1:
            raise ValueError("keep_snapshots must be at least 1")
        self.path = path
        self.scope = scope
        self.keep_snapshots = keep_snapshots
        self.max_keys = max_keys
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        # key id -> (snapshot id, fingerprints answered on it): repeats need no database.
        self._answered: OrderedDict[str, tuple[str, set[str]]] = OrderedDict()

    def __repr__(self) -> str:
        return f"QueryBudget({str(self.path)!r})"

    # -- storage ---------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = open_private(
                self.path,
                """
                CREATE TABLE IF NOT EXISTS snapshots (
                    snapshot_id TEXT PRIMARY KEY,
                    seen INTEGER NOT NULL
                );
                CREATE TABLE IF NOT EXISTS queries (
                    key_id TEXT NOT NULL,
                    snapshot_id TEXT NOT NULL,
                    fingerprint TEXT NOT NULL,
                    answered INTEGER NOT NULL DEFAULT 0,
                    pending INTEGER NOT NULL DEFAULT 0,
                    PRIMARY KEY (key_id, snapshot_id, fingerprint)
                ) WITHOUT ROWID;
                """,
            )
        return self._db

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        """One write transaction (under the lock); storage errors become a 503."""
        return immediate(self._connect, "the query budget cannot be recorded; no data is returned")

    def _register_snapshot(self, db: sqlite3.Connection, snapshot_id: str) -> None:
        """Note ``snapshot_id``; when it is new, drop the budgets of all but the newest seen."""
        inserted = db.execute(
            "INSERT OR IGNORE INTO snapshots (snapshot_id, seen) "
            "SELECT ?, coalesce(max(seen), 0) + 1 FROM snapshots",
            (snapshot_id,),
        ).rowcount
        if inserted:
            db.execute(
                "DELETE FROM snapshots WHERE snapshot_id NOT IN "
                "(SELECT snapshot_id FROM snapshots ORDER BY seen DESC LIMIT ?)",
                (self.keep_snapshots,),
            )
            db.execute(
                "DELETE FROM queries WHERE snapshot_id NOT IN (SELECT snapshot_id FROM snapshots)"
            )

    def _remember(self, key_id: str, snapshot_id: str, fingerprint: str) -> None:
        entry = self._answered.get(key_id)
        if entry is None or entry[0] != snapshot_id:
            entry = self._answered[key_id] = (snapshot_id, set())  # a new snapshot: drop the old
        entry[1].add(fingerprint)
        self._answered.move_to_end(key_id)
        while len(self._answered) > self.max_keys:
            self._answered.popitem(last=False)

    def _known(self, key_id: str, snapshot_id: str, fingerprint: str) -> bool:
        entry = self._answered.get(key_id)
        return entry is not None and entry[0] == snapshot_id and fingerprint in entry[1]

    # -- the budget ------------------------------------------------------------------------
    def answered(self, key_id: str, snapshot_id: str, fingerprint: str) -> bool:
        """Whether the query was answered on the snapshot already, as far as this process has
        seen (its admission then needs no database and takes no new place)."""
        with self._lock:
            return self._known(key_id, snapshot_id, fingerprint)

    def admit(
        self, key_id: str, role: str, snapshot_id: str, fingerprint: str, limit: int,
        *, retry_after: int,
    ) -> BudgetTicket:  # fmt: skip
        """A ticket for the query (holding a place in the budget if it is not answered yet),
        or :class:`TooManyRequests` when the budget is spent."""
        row_key = (key_id, snapshot_id, fingerprint)
        with self._lock:
            if self._known(*row_key):
                self._answered.move_to_end(key_id)
                return BudgetTicket(self, key_id, snapshot_id, fingerprint)
            with self._write() as db:
                self._register_snapshot(db, snapshot_id)
                row = db.execute(
                    "SELECT answered FROM queries "
                    "WHERE key_id = ? AND snapshot_id = ? AND fingerprint = ?",
                    row_key,
                ).fetchone()
                if row is not None and row[0]:
                    answered = True  # before a restart, or by another process
                elif row is not None:
                    answered = False  # in flight elsewhere (or left by a killed server)
                    db.execute(
                        "UPDATE queries SET pending = pending + 1 "
                        "WHERE key_id = ? AND snapshot_id = ? AND fingerprint = ?",
                        row_key,
                    )
                else:
                    answered = False
                    (used,) = db.execute(
                        "SELECT count(*) FROM queries WHERE key_id = ? AND snapshot_id = ?",
                        (key_id, snapshot_id),
                    ).fetchone()
                    if used >= limit:
                        noun = self.scope.noun
                        raise TooManyRequests(
                            f"query budget exhausted: role {role!r} may ask {limit} distinct "
                            f"queries per {noun}, and this key has asked them of {noun} "
                            f"{snapshot_id}; queries already answered are still served. "
                            f"The budget resets {self.scope.resets}",
                            limit=self.scope.limit,
                            retry_after=retry_after,
                            resets=self.scope.resets,
                        )
                    db.execute(
                        "INSERT INTO queries (key_id, snapshot_id, fingerprint, pending) "
                        "VALUES (?, ?, ?, 1)",
                        row_key,
                    )
            if answered:
                self._remember(*row_key)
                return BudgetTicket(self, key_id, snapshot_id, fingerprint)
            return BudgetTicket(self, key_id, snapshot_id, fingerprint, held=True)

    def _settle(self, ticket: BudgetTicket, snapshot_id: str) -> None:
        assert ticket.fingerprint is not None
        if snapshot_id != ticket.snapshot_id:
            # A publish between admission and answer: charge the snapshot answered from (over
            # its budget by this one query at most: it was admitted in good faith).
            self._release(ticket)
            ticket.snapshot_id = snapshot_id
        elif not ticket.held:
            return  # answered before: nothing to change
        row_key = (ticket.key_id, snapshot_id, ticket.fingerprint)
        with self._lock:
            with self._write() as db:
                self._register_snapshot(db, snapshot_id)
                db.execute(
                    "INSERT INTO queries (key_id, snapshot_id, fingerprint, answered, pending) "
                    "VALUES (?, ?, ?, 1, 0) ON CONFLICT (key_id, snapshot_id, fingerprint) "
                    "DO UPDATE SET answered = 1, "
                    "pending = max(pending - ?, 0)",
                    (*row_key, int(ticket.held)),
                )
            ticket.held = False
            self._remember(*row_key)

    def _release(self, ticket: BudgetTicket) -> None:
        if not ticket.held:
            return
        row_key = (ticket.key_id, ticket.snapshot_id, ticket.fingerprint)
        with self._lock:
            try:
                with self._write() as db:
                    db.execute(
                        "UPDATE queries SET pending = max(pending - 1, 0) "
                        "WHERE key_id = ? AND snapshot_id = ? AND fingerprint = ?",
                        row_key,
                    )
                    db.execute(
                        "DELETE FROM queries WHERE key_id = ? AND snapshot_id = ? "
                        "AND fingerprint = ? AND answered = 0 AND pending = 0",
                        row_key,
                    )
            except Unavailable:
                return  # the place stays taken: the safe side, and no error is masked
            ticket.held = False

    def used(self, key_id: str, snapshot_id: str) -> int:
        """Distinct queries ``key_id`` has asked (or is asking) of ``snapshot_id``."""
        with self._lock:
            try:
                (count,) = (
                    self._connect()
                    .execute(
                        "SELECT count(*) FROM queries WHERE key_id = ? AND snapshot_id = ?",
                        (key_id, snapshot_id),
                    )
                    .fetchone()
                )
            except (sqlite3.Error, OSError) as exc:
                raise Unavailable("the query budget cannot be read") from exc
        return int(count)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


class KeyLimiter:
    """Both limits with the catalog's numbers: what the API's dependencies call."""

    def __init__(self, limits: Limits, budget_path: Path, clock: Clock = time.monotonic) -> None:
        self.limits = limits
        self.requests = RequestRateLimiter(clock)
        self.budget = QueryBudget(budget_path)
        # A file of its own: a release seen must not push a snapshot out of the snapshots' file.
        self.tables = QueryBudget(
            budget_path.with_name("release_query_budget.sqlite"),
            keep_snapshots=KEEP_RELEASES,
            scope=RELEASE_BUDGET,
        )

    def for_role(self, role: str) -> RoleLimits:
        return self.limits.for_role(role)

    def hit(self, key_id: str, role: str) -> None:
        """One data request of ``key_id``, or :class:`TooManyRequests` (rate limit)."""
        self.requests.hit(key_id, role, self.for_role(role).requests_per_minute)

    def admit_query(
        self, key_id: str, role: str, snapshot_id: str | None, fingerprint: str
    ) -> BudgetTicket:
        """A ticket for one metric query on ``snapshot_id`` (None: nothing to charge yet)."""
        limit = self.for_role(role).distinct_queries_per_snapshot
        if limit is None or snapshot_id is None:
            return BudgetTicket.free(key_id)
        return self.budget.admit(
            key_id, role, snapshot_id, fingerprint, limit,
            retry_after=self.limits.budget_retry_after_seconds,
        )  # fmt: skip

    def admit_table(
        self, key_id: str, role: str, release_id: str, fingerprint: str, limit: int
    ) -> BudgetTicket:
        """A ticket for one frequency table of an enclave release (``limit``: the tier's
        budget per key and release, not the role's)."""
        return self.tables.admit(
            key_id, role, release_id, fingerprint, limit,
            retry_after=self.limits.budget_retry_after_seconds,
        )  # fmt: skip

    def used(self, key_id: str, role: str, snapshot_id: str | None) -> int | None:
        """Distinct queries charged on the snapshot (None when the role has no budget)."""
        if self.for_role(role).distinct_queries_per_snapshot is None or snapshot_id is None:
            return None
        return self.budget.used(key_id, snapshot_id)
