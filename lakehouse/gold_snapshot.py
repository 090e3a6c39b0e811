"""Gold snapshots in the lake: the one writer and the one reader of ``gold/``.

Layout::

    gold/snapshots/<id>/<mart>.parquet   the published marts (immutable once renamed in)
    gold/snapshots/<id>/manifest.json    checks, per-mart rows, columns, sha256, audience,
                                         purpose and population; each purpose's population
    gold/snapshots/<id>/review.json      candidate, approved or rejected (lakehouse.signoff)
    gold/CURRENT                         the id of the live (approved) snapshot (one line)
    gold/rejected/<id>.json              manifest of a snapshot the publish gate refused (no data)
    gold/expired/<id>.json               manifest of a snapshot removed by the retention policy

The writer assembles a snapshot in a hidden staging directory (:func:`stage_snapshot`), renames
it into ``snapshots/<id>/`` (a candidate) and only when a data steward approves it replaces
``CURRENT`` (temp file + ``os.replace``, :func:`move_current`), so a reader sees either the old
snapshot or the complete new one. Before the rename the publish step compares the staged
snapshot's ``content_sha256`` with the live one's (or the candidate's awaiting approval): a
snapshot that would serve exactly that is discarded instead (:meth:`StagedSnapshot.discard`).

The reader is what every consumer uses (the API, the Superset catalog, the CLI summary): it
validates the id in ``CURRENT`` before it touches the file system, checks that the manifest is
the published one of that id, and checks each mart file's sha256 against the manifest before
handing out its path (once per snapshot and process: published snapshots are immutable). This is
the most privacy-critical interface we have: a reader that skipped a check could serve a file the
gate never saw.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lakehouse.checks import CheckOutcome, all_passed
from lakehouse.digests import json_digest
from lakehouse.files import fresh_staging_dir, sha256_file, write_json_atomic, write_parquet_atomic
from lakehouse.ids import TIMESTAMP_ID, timestamp_id

__all__ = [
    "SNAPSHOT_ID_PATTERN",
    "GoldSnapshots",
    "MartEntry",
    "MartOrigin",
    "PopulationEntry",
    "PublishResult",
    "Snapshot",
    "SnapshotError",
    "SnapshotManifest",
    "StagedSnapshot",
    "content_digest",
    "move_current",
    "new_snapshot_id",
    "publish_snapshot",
    "reject_snapshot",
    "stage_snapshot",
]

SNAPSHOT_ID_PATTERN = rf"^{TIMESTAMP_ID}$"
_SNAPSHOT_ID = re.compile(SNAPSHOT_ID_PATTERN)
CURRENT_FILE = "CURRENT"
MANIFEST_FILE = "manifest.json"


class SnapshotError(RuntimeError):
    """A snapshot that cannot be served: bad id, missing or foreign manifest, altered file."""


def new_snapshot_id() -> str:
    return timestamp_id()


# -- manifest ---------------------------------------------------------------------------------


class MartEntry(BaseModel):
    """One published mart: its file and what it holds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    file: str
    rows: int
    columns: dict[str, str] = Field(description="column -> pandas dtype")
    sha256: str
    relation: str | None = Field(default=None, description="the warehouse table it came from")
    dbt_unique_id: str | None = None
    audience: list[str] = Field(default_factory=list, description="who may be served it")
    purpose: str | None = Field(
        default=None, description="what it is served for (lakehouse.reference.purposes)"
    )
    population: str | None = Field(
        default=None, description="the children it counts (the purpose's population)"
    )


class PopulationEntry(BaseModel):
    """One purpose's population at publish: who the snapshot's outputs for it may count."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    population: str
    requires_consent: bool
    legal_basis: str
    audiences: list[str]
    children: int = Field(description="children in the population at build time")
    joined: int | None = Field(
        default=None, description="children in it now and not at the snapshot compared with"
    )
    left: int | None = Field(
        default=None, description="children in it at the snapshot compared with and not now"
    )
    compared_with: str | None = Field(
        default=None, description="the published snapshot joined / left are counted against"
    )


class SnapshotManifest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    snapshot_id: str
    created_at: str
    previous_snapshot_id: str | None
    checks: list[dict[str, object]]
    checks_passed: list[str]
    all_checks_passed: bool
    published: bool
    research_release: str | None = None
    warehouse: str | None = None
    marts: dict[str, MartEntry] = Field(default_factory=dict)
    #: Purpose -> its population (lakehouse.reference.purposes); empty in snapshots published
    #: before purposes were recorded.
    populations: dict[str, PopulationEntry] = Field(default_factory=dict)
    #: What the snapshot serves, as one digest (:func:`content_digest`): equal digests, the same
    #: content. None in snapshots published before it was recorded (never equal to anything).
    content_sha256: str | None = None
    #: The reporting date the snapshot was made for: a period ending after it was not complete
    #: (the API marks its rows partial). Not part of the content digest: the same data on a
    #: later day is not new data. None in snapshots published before it was recorded.
    reporting_date: str | None = None


#: The population fields that say who a snapshot counts (not how it moved since the last one).
_POPULATION_CONTENT = frozenset(
    {"population", "requires_consent", "legal_basis", "audiences", "children"}
)


def content_digest(
    marts: Mapping[str, MartEntry],
    research_release: str | None,
    populations: Mapping[str, PopulationEntry],
    members_sha256: str | None,
) -> str:
    """What a snapshot serves, and nothing about when or where it was made: every mart's bytes
    (its sha256), columns and who it is for, the research release it was gated with, and each
    purpose's population (its size, and a digest of its keyed members: the same count of other
    children is not the same population)."""
    return json_digest(
        {
            "marts": {
                name: entry.model_dump(mode="json", exclude={"file"})
                for name, entry in sorted(marts.items())
            },
            "research_release": research_release,
            "populations": {
                name: entry.model_dump(mode="json", include=set(_POPULATION_CONTENT))
                for name, entry in sorted(populations.items())
            },
            "members_sha256": members_sha256,
        }
    )


@dataclass(frozen=True)
class MartOrigin:
    """Where a mart about to be published comes from, who it is for and why (from dbt meta)."""

    relation: str | None = None
    dbt_unique_id: str | None = None
    audience: Sequence[str] = ()
    purpose: str | None = None
    population: str | None = None


@dataclass(frozen=True)
class PublishResult:
    snapshot_id: str
    published: bool
    path: Path  # the snapshot directory, or the rejected manifest
    failed_checks: list[str]
    manifest: SnapshotManifest


# -- writer -----------------------------------------------------------------------------------


def _point_current_at(gold: Path, snapshot_id: str) -> None:
    tmp = gold / f".{CURRENT_FILE}.{os.getpid()}"
    tmp.write_text(snapshot_id + "\n", encoding="utf-8")
    os.replace(tmp, gold / CURRENT_FILE)


def move_current(gold: Path, snapshot_id: str) -> None:
    """Point ``CURRENT`` at a snapshot already in ``snapshots/`` (atomically): what a data
    steward's approval does (:mod:`lakehouse.signoff`)."""
    if not _SNAPSHOT_ID.match(snapshot_id):
        raise ValueError(f"not a snapshot id: {snapshot_id!r}")
    if not (gold / "snapshots" / snapshot_id / MANIFEST_FILE).is_file():
        raise SnapshotError(f"snapshot {snapshot_id} is not on disk")
    _point_current_at(gold, snapshot_id)


def _move_into_place(staging: Path, final: Path) -> None:
    os.replace(staging, final)


@dataclass(frozen=True)
class StagedSnapshot:
    """A complete snapshot in its hidden staging directory: not published until committed."""

    gold: Path
    path: Path
    manifest: SnapshotManifest

    @property
    def snapshot_id(self) -> str:
        return self.manifest.snapshot_id

    def promote(self) -> PublishResult:
        """Rename it into ``snapshots/<id>/`` without moving ``CURRENT``: a candidate, complete
        and readable by id, that goes live only when approved (:mod:`lakehouse.signoff`)."""
        final = self.gold / "snapshots" / self.snapshot_id
        _move_into_place(self.path, final)
        return PublishResult(self.snapshot_id, True, final, [], self.manifest)

    def commit(self) -> PublishResult:
        """Rename it into ``snapshots/<id>/``, then point ``CURRENT`` at it, with no sign-off:
        for lakes built directly (test fixtures, benchmarks); the pipeline promotes a candidate
        and leaves ``CURRENT`` to the approval."""
        result = self.promote()
        _point_current_at(self.gold, self.snapshot_id)
        return result

    def discard(self) -> None:
        """Remove it: nothing of it was ever visible to a reader."""
        shutil.rmtree(self.path, ignore_errors=True)


def _header(
    gold: Path,
    snapshot_id: str,
    checks: Sequence[CheckOutcome],
    research_release: str | None,
    warehouse: str | None,
    populations: Mapping[str, PopulationEntry] | None,
) -> dict[str, object]:
    if not _SNAPSHOT_ID.match(snapshot_id):
        raise ValueError(f"not a snapshot id: {snapshot_id!r}")
    return {
        "snapshot_id": snapshot_id,
        "created_at": datetime.now(UTC).isoformat(),
        "previous_snapshot_id": GoldSnapshots(gold).current_id(),
        # Check metadata may hold numpy scalars: store what JSON makes of them.
        "checks": json.loads(json.dumps([c.to_dict() for c in checks], default=str)),
        "checks_passed": [c.name for c in checks if c.passed],
        "all_checks_passed": all_passed(checks),
        "research_release": research_release,
        "warehouse": warehouse,
        "populations": dict(populations or {}),
    }


def reject_snapshot(
    gold: Path,
    snapshot_id: str,
    checks: Sequence[CheckOutcome],
    *,
    research_release: str | None = None,
    warehouse: str | None = None,
    populations: Mapping[str, PopulationEntry] | None = None,
) -> PublishResult:
    """Record a snapshot the gate refused: its checks only, no data."""
    header = _header(gold, snapshot_id, checks, research_release, warehouse, populations)
    manifest = SnapshotManifest.model_validate({**header, "published": False})
    path = gold / "rejected" / f"{snapshot_id}.json"
    write_json_atomic(path, manifest.model_dump(mode="json"))
    return PublishResult(
        snapshot_id, False, path, [c.name for c in checks if not c.passed], manifest
    )


def stage_snapshot(
    gold: Path,
    snapshot_id: str,
    marts: Mapping[str, pd.DataFrame],
    origins: Mapping[str, MartOrigin],
    checks: Sequence[CheckOutcome],
    *,
    research_release: str | None = None,
    warehouse: str | None = None,
    populations: Mapping[str, PopulationEntry] | None = None,
    members_sha256: str | None = None,
    reporting_date: date | None = None,
) -> StagedSnapshot:
    """Write ``marts`` and the manifest (with its ``content_sha256``) to a hidden staging
    directory; only a snapshot every check passed may be staged."""
    header = _header(gold, snapshot_id, checks, research_release, warehouse, populations)
    if not header["all_checks_passed"]:
        raise ValueError(f"snapshot {snapshot_id}: only a snapshot that passed the gate is staged")
    staging = fresh_staging_dir(gold / "snapshots", snapshot_id)
    try:
        entries = {}
        for name, frame in marts.items():
            path = staging / f"{name}.parquet"
            write_parquet_atomic(frame, path)
            origin = origins.get(name, MartOrigin())
            entries[name] = MartEntry(
                file=path.name,
                rows=len(frame),
                columns={c: str(t) for c, t in frame.dtypes.items()},
                sha256=sha256_file(path),
                relation=origin.relation,
                dbt_unique_id=origin.dbt_unique_id,
                audience=list(origin.audience),
                purpose=origin.purpose,
                population=origin.population,
            )
        content = content_digest(entries, research_release, populations or {}, members_sha256)
        manifest = SnapshotManifest.model_validate(
            {**header, "published": True, "marts": entries, "content_sha256": content,
             "reporting_date": reporting_date.isoformat() if reporting_date else None}
        )  # fmt: skip
        write_json_atomic(staging / MANIFEST_FILE, manifest.model_dump(mode="json"))
    except BaseException:
        # A full disk or a kill mid-write: nothing half-written stays, CURRENT never moved.
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return StagedSnapshot(gold, staging, manifest)


def publish_snapshot(
    gold: Path,
    snapshot_id: str,
    marts: Mapping[str, pd.DataFrame],
    origins: Mapping[str, MartOrigin],
    checks: Sequence[CheckOutcome],
    *,
    research_release: str | None = None,
    warehouse: str | None = None,
    populations: Mapping[str, PopulationEntry] | None = None,
    members_sha256: str | None = None,
    reporting_date: date | None = None,
) -> PublishResult:
    """Publish ``marts`` as snapshot ``snapshot_id`` if every check passed, else record the
    rejection (checks only, no data). ``CURRENT`` moves only after the snapshot is complete.

    No sign-off: this writes a lake directly (test fixtures, benchmarks). The pipeline stages,
    promotes a candidate and moves ``CURRENT`` only on a data steward's approval."""
    if not all_passed(checks):
        return reject_snapshot(
            gold, snapshot_id, checks, research_release=research_release, warehouse=warehouse,
            populations=populations,
        )  # fmt: skip
    return stage_snapshot(
        gold, snapshot_id, marts, origins, checks, research_release=research_release,
        warehouse=warehouse, populations=populations, members_sha256=members_sha256,
        reporting_date=reporting_date,
    ).commit()  # fmt: skip


# -- reader -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """A published snapshot: its id, its directory (None when it lives in the warehouse) and
    its manifest."""

    id: str
    path: Path | None
    manifest: SnapshotManifest = field(repr=False, hash=False, compare=False)

    def mart(self, name: str) -> MartEntry | None:
        return self.manifest.marts.get(name)


def parse_manifest(raw: str | bytes, snapshot_id: str) -> SnapshotManifest:
    """The manifest of a published snapshot ``snapshot_id``, or SnapshotError."""
    try:
        manifest = SnapshotManifest.model_validate_json(raw)
    except ValidationError as exc:
        raise SnapshotError(f"snapshot {snapshot_id}: manifest is not a snapshot manifest") from exc
    if manifest.snapshot_id != snapshot_id or not manifest.published:
        raise SnapshotError(f"snapshot {snapshot_id}: manifest does not match its id")
    return manifest


class GoldSnapshots:
    """Reads ``gold/``; safe to share between threads (the API's workers)."""

    def __init__(self, gold: Path) -> None:
        self.gold = gold
        #: Published snapshots are immutable: each is opened (its manifest parsed) once.
        self._opened: dict[str, Snapshot] = {}
        self._verified: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        #: CURRENT's (inode, size, mtime, ctime) when last read, and the id it held.
        self._current: tuple[tuple[int, int, int, int], str] | None = None

    def current_id(self) -> str | None:
        """The id ``CURRENT`` holds (None if nothing is published); SnapshotError if garbage.

        A reader asks for every answer; the file is read again only when its inode, size or
        times moved (a publish replaces it), so an unchanged pointer costs one ``stat``."""
        path = self.gold / CURRENT_FILE
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        version = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        with self._lock:
            if self._current is not None and self._current[0] == version:
                return self._current[1]
        try:
            value = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        if not value:
            return None
        if not _SNAPSHOT_ID.match(value):
            raise SnapshotError(f"{CURRENT_FILE} does not hold a valid snapshot id")
        with self._lock:
            self._current = (version, value)
        return value

    def open(self, snapshot_id: str) -> Snapshot:
        if not _SNAPSHOT_ID.match(snapshot_id):
            raise SnapshotError(f"not a snapshot id: {snapshot_id!r}")
        with self._lock:
            opened = self._opened.get(snapshot_id)
        if opened is not None:
            return opened
        path = self.gold / "snapshots" / snapshot_id
        try:
            raw = (path / MANIFEST_FILE).read_bytes()
        except OSError as exc:
            raise SnapshotError(f"snapshot {snapshot_id} has no readable manifest") from exc
        opened = Snapshot(snapshot_id, path, parse_manifest(raw, snapshot_id))
        with self._lock:
            self._opened[snapshot_id] = opened
        return opened

    def published_ids(self) -> list[str]:
        """Every snapshot on disk, oldest first (ids sort by time); staging dirs excluded."""
        folder = self.gold / "snapshots"
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if _SNAPSHOT_ID.match(p.name))

    def open_current(self) -> Snapshot | None:
        """The live snapshot, or None if nothing has been published yet."""
        snapshot_id = self.current_id()
        return None if snapshot_id is None else self.open(snapshot_id)

    def mart_file(self, snapshot: Snapshot, mart: str) -> Path:
        """The path of ``mart``'s file, after checking its sha256 against the manifest."""
        entry = snapshot.mart(mart)
        if entry is None or snapshot.path is None:
            raise SnapshotError(f"snapshot {snapshot.id} does not publish mart {mart!r}")
        path = snapshot.path / Path(entry.file).name
        key = (snapshot.id, mart)
        with self._lock:
            verified = key in self._verified
        if not verified:
            if not path.is_file() or sha256_file(path) != entry.sha256:
                raise SnapshotError(f"snapshot {snapshot.id}: {mart} does not match its manifest")
            with self._lock:
                self._verified.add(key)
        return path
