"""Research releases in the lake: the one writer and the one reader of ``releases/``.

Layout::

    releases/research-<id>/data.parquet, data.csv   the records (k-anonymous, l-diverse)
    releases/research-<id>/data_dictionary.json     what each column means
    releases/research-<id>/privacy_report.json      what protects the records, information loss
    releases/research-<id>/manifest.json            checks, purpose and population, rows, sha256
    releases/rejected/research-<id>.json            manifest of a release that failed its checks

A release is written to a hidden staging directory and renamed into place only after its own
checks passed, so a reader never sees half a release or a failed one. The reader validates the
id against a strict pattern before it touches the file system (a crafted id cannot leave the
directory), serves only releases whose manifest says every check passed, and checks a file's
sha256 against the manifest before handing out its path: record-level child data is the most
dangerous thing we publish, and a file altered after the checks must not reach a researcher.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lakehouse import ids
from lakehouse.checks import CheckOutcome, all_passed
from lakehouse.files import (
    fresh_staging_dir,
    read_json_object,
    sha256_file,
    write_json_atomic,
    write_parquet_atomic,
    write_text_atomic,
)
from lakehouse.ids import TIMESTAMP_ID, timestamp_id

__all__ = [
    "INTERNAL_COLUMNS",
    "RECORD_ID_COLUMN",
    "RECORD_KEY_COLUMN",
    "RELEASE_ID_PATTERN",
    "DownloadFormat",
    "NotDownloadable",
    "Release",
    "ReleaseError",
    "ReleaseManifest",
    "ReleaseResult",
    "ResearchReleases",
    "new_release_id",
    "publish_release",
    "read_manifest",
]

RELEASE_PREFIX = "research-"
RELEASE_ID_PATTERN = rf"^{RELEASE_PREFIX}{TIMESTAMP_ID}$"
_RELEASE_ID = re.compile(RELEASE_ID_PATTERN)
MANIFEST_FILE = "manifest.json"
DATA_FILES: dict[str, str] = {"parquet": "data.parquet", "csv": "data.csv"}
DICTIONARY_FILE = "data_dictionary.json"
PRIVACY_REPORT_FILE = "privacy_report.json"
#: The same report for people: criteria, a risk plot, utility, what each value stands for.
REPORT_FILE = "report.html"
FILES = (
    DATA_FILES["parquet"],
    DATA_FILES["csv"],
    DICTIONARY_FILE,
    PRIVACY_REPORT_FILE,
    REPORT_FILE,
)
DownloadFormat = Literal["csv", "parquet"]
#: Every release's release-specific pseudonym of the child.
RECORD_ID_COLUMN = "record_id"
#: An enclave release's permanent cell-key of each record (0..255, anonymization.cell_key),
#: what its query service perturbs counts with; the file never leaves the enclave.
RECORD_KEY_COLUMN = "record_key"
#: Columns no table is ever broken down or filtered by.
INTERNAL_COLUMNS = (RECORD_ID_COLUMN, RECORD_KEY_COLUMN)


class ReleaseError(RuntimeError):
    """A release file that does not match its manifest."""


class NotDownloadable(ReleaseError):
    """A release whose tier keeps its records inside the enclave."""


_last_release_time: list[datetime] = []
_release_id_lock = threading.Lock()


def new_release_id() -> str:
    """A new id, later than every id this process made before: one run builds a release per
    tier within the same microsecond on a fast machine (or a pinned clock), and ids must stay
    distinct and in creation order."""
    with _release_id_lock:
        now = ids.utc_now()  # through the module: the one clock a test may pin
        if _last_release_time and now <= _last_release_time[0]:
            now = _last_release_time[0] + timedelta(microseconds=1)
        _last_release_time[:] = [now]
        return RELEASE_PREFIX + timestamp_id(now)


class ReleaseManifest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    release_id: str
    created_at: str
    purpose: str
    #: The children the release may hold (lakehouse.reference.purposes), its legal basis and
    #: how many children were in it at build time; None in releases built before they were
    #: recorded.
    population: str | None = None
    legal_basis: str | None = None
    population_children: int | None = None
    #: The release tier (lakehouse.reference.release_tiers) and whether its records may leave
    #: as a file; releases built before tiers were licensed files.
    tier: str = "licensed"
    downloadable: bool = True
    rows: int
    checks: list[dict[str, Any]]
    checks_passed: list[str]
    all_checks_passed: bool
    files: list[str]
    sha256: dict[str, str] = Field(default_factory=dict, description="file -> sha256")
    #: Keyed digest of what the release was built from (its input records, population and
    #: policy, and the code that builds it): a run whose input has the digest of the tier's
    #: latest release builds no new one. None in releases built before it was recorded.
    input_sha256: str | None = None


def read_manifest(folder: Path) -> ReleaseManifest | None:
    """The manifest in ``folder`` (a release, or what retention kept of one); None when it is
    missing or not a release manifest."""
    try:
        return ReleaseManifest.model_validate_json((folder / MANIFEST_FILE).read_bytes())
    except (OSError, ValidationError):
        return None


@dataclass(frozen=True)
class ReleaseResult:
    path: Path | None  # the release directory, or None if its checks failed
    manifest: ReleaseManifest


def publish_release(
    releases_dir: Path,
    release_id: str,
    *,
    data: pd.DataFrame,
    data_csv: str,
    dictionary: Mapping[str, Any],
    privacy_report: Mapping[str, Any],
    purpose: str,
    checks: Sequence[CheckOutcome],
    population: str | None = None,
    legal_basis: str | None = None,
    population_children: int | None = None,
    tier: str = "licensed",
    downloadable: bool = True,
    report_html: str = "",
    input_sha256: str | None = None,
) -> ReleaseResult:
    """Write the release if every check passed; otherwise record only its manifest."""
    if not _RELEASE_ID.match(release_id):
        raise ValueError(f"not a release id: {release_id!r}")
    manifest = ReleaseManifest(
        release_id=release_id,
        created_at=datetime.now(UTC).isoformat(),
        purpose=purpose,
        population=population,
        legal_basis=legal_basis,
        population_children=population_children,
        tier=tier,
        downloadable=downloadable,
        rows=len(data),
        checks=[c.to_dict() for c in checks],
        checks_passed=[c.name for c in checks if c.passed],
        all_checks_passed=all_passed(checks),
        files=list(FILES),
        input_sha256=input_sha256,
    )
    if not manifest.all_checks_passed:
        write_json_atomic(releases_dir / "rejected" / f"{release_id}.json", manifest.model_dump())
        return ReleaseResult(None, manifest)
    staging = fresh_staging_dir(releases_dir, release_id)
    try:
        write_parquet_atomic(data, staging / DATA_FILES["parquet"])
        write_text_atomic(staging / DATA_FILES["csv"], data_csv)
        write_json_atomic(staging / DICTIONARY_FILE, dict(dictionary))
        write_json_atomic(staging / PRIVACY_REPORT_FILE, dict(privacy_report))
        write_text_atomic(staging / REPORT_FILE, report_html)
        sha = {f: sha256_file(staging / f) for f in FILES}
        manifest = manifest.model_copy(update={"sha256": sha})
        write_json_atomic(staging / MANIFEST_FILE, manifest.model_dump())
        final = releases_dir / release_id
        os.replace(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # a full disk or a kill: nothing half-written
        raise
    return ReleaseResult(final, manifest)


@dataclass(frozen=True)
class Release:
    id: str
    path: Path
    manifest: ReleaseManifest = field(repr=False, hash=False, compare=False)


class ResearchReleases:
    """Reads ``releases/``: only published releases whose every check passed."""

    def __init__(self, releases_dir: Path) -> None:
        self.root = releases_dir
        self._verified: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def get(self, release_id: str) -> Release | None:
        if not _RELEASE_ID.match(release_id):
            return None
        path = self.root / release_id
        manifest = read_manifest(path)
        if manifest is None:
            return None
        if manifest.release_id != release_id or manifest.all_checks_passed is not True:
            return None
        return Release(release_id, path, manifest)

    def list(self, tier: str | None = None) -> list[Release]:
        """Servable releases (of ``tier``, or all), newest first (ids sort by creation time)."""
        if not self.root.is_dir():
            return []
        found = (self.get(p.name) for p in sorted(self.root.iterdir(), reverse=True) if p.is_dir())
        return [r for r in found if r is not None and tier in (None, r.manifest.tier)]

    def latest(self, tier: str | None = None) -> Release | None:
        releases = self.list(tier)
        return releases[0] if releases else None

    def _verified_file(self, release: Release, name: str) -> Path:
        path = release.path / name
        key = (release.id, name)
        with self._lock:
            verified = key in self._verified
        if not verified:
            expected = release.manifest.sha256.get(name)
            if expected is None or not path.is_file() or sha256_file(path) != expected:
                raise ReleaseError(f"release {release.id}: {name} does not match its manifest")
            with self._lock:
                self._verified.add(key)
        return path

    def data_file(self, release: Release, fmt: DownloadFormat) -> Path:
        """The records file, after checking its sha256 against the manifest."""
        return self._verified_file(release, DATA_FILES[fmt])

    def download_file(self, release: Release, fmt: DownloadFormat) -> Path:
        """The records file for someone outside the enclave: refused for a release whose tier
        keeps its records inside (query-only)."""
        if not release.manifest.downloadable:
            raise NotDownloadable(
                f"release {release.id} is a {release.manifest.tier} release: its records are "
                "queried inside the enclave, never downloaded"
            )
        return self.data_file(release, fmt)

    def dictionary(self, release: Release) -> dict[str, Any]:
        return read_json_object(self._verified_file(release, DICTIONARY_FILE)) or {}

    def privacy_report(self, release: Release) -> dict[str, Any]:
        return read_json_object(self._verified_file(release, PRIVACY_REPORT_FILE)) or {}
