"""The research release catalog: every release ever published, what became of it, how to cite it.

A researcher cites a release in a paper that outlives the file. So the catalog keeps an entry
for every release, not only for those on disk, the way NADA and the UK Data Service do:

* ``available``: on disk, every check passed, within its tier's availability;
* ``expired``: on disk, but its tier's availability (``AccessTerms.available_days``) has
  ended, so the catalog no longer hands it out (a newer release of the tier replaces it);
* ``withdrawn``: taken back (an erasure or restriction of a child it held, or a disclosure
  problem found after publication, ``merajut release withdraw``); its records are deleted and
  ``releases/withdrawn/<id>.json`` says when, why and what it was;
* ``retired``: removed by the retention policy; ``releases/expired/<id>/`` keeps its
  manifest, privacy report and dictionary, never its records.

Each entry has a persistent identifier, ``merajutasa:research/<tier>/<timestamp>.<check>``. The
check is eight hex digits of the sha256 of the records file as the manifest states it, so a
citation pins the exact data, and two releases never share an identifier. The identifier works
like a DOI: it names the release for good, whatever became of the file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from lakehouse.files import read_json_object
from lakehouse.reference.release_tiers import TIERS
from lakehouse.research_release import (
    DATA_FILES,
    RELEASE_ID_PATTERN,
    RELEASE_PREFIX,
    Release,
    ReleaseManifest,
    ResearchReleases,
    read_manifest,
)
from lakehouse.retention import EXPIRED_DIR

__all__ = [
    "CITATION_STYLES",
    "WITHDRAWN_DIR",
    "CatalogEntry",
    "CitationStyle",
    "ReleaseCatalog",
    "Status",
    "catalog_metadata",
    "citation",
    "identifier",
]

Status = Literal["available", "expired", "withdrawn", "retired"]
CitationStyle = Literal["text", "bibtex", "ris"]
CITATION_STYLES: tuple[CitationStyle, ...] = ("text", "bibtex", "ris")
WITHDRAWN_DIR = "withdrawn"
PUBLISHER = "MerajutASA"
_RELEASE_ID = re.compile(RELEASE_ID_PATTERN)
#: What an entry keeps of its manifest once the records are gone.
_KEPT = ("tier", "created_at", "purpose", "population", "rows", "downloadable")


def identifier(manifest: ReleaseManifest) -> str:
    """The release's persistent identifier (see the module docstring)."""
    records = manifest.sha256.get(DATA_FILES["parquet"], manifest.release_id)
    check = hashlib.sha256(records.encode()).hexdigest()[:8]
    return _identifier(manifest.tier, manifest.release_id, check)


def _identifier(tier: str, release_id: str, check: str | None) -> str:
    """Without ``check`` for a release whose manifest is gone (withdrawn before the catalog
    kept it): still unique, no longer bound to the records."""
    stamp = release_id.removeprefix(RELEASE_PREFIX)
    return f"merajutasa:research/{tier}/{stamp}" + (f".{check}" if check else "")


@dataclass(frozen=True)
class CatalogEntry:
    release_id: str
    status: Status
    tier: str
    identifier: str
    created_at: str | None
    purpose: str | None
    population: str | None
    rows: int | None
    downloadable: bool
    #: The end of the tier's availability (ISO 8601); None: no end.
    available_until: str | None = None
    #: When and why it stopped being handed out (withdrawn or retired).
    ended_at: str | None = None
    reason: str | None = None
    #: The servable release (its files checked against the manifest on use); None once gone.
    release: Release | None = None

    @property
    def year(self) -> str:
        return (self.created_at or self.release_id.removeprefix(RELEASE_PREFIX))[:4]

    @property
    def title(self) -> str:
        tier = TIERS.get(self.tier)
        kind = tier.title if tier is not None else self.tier
        population = (self.population or self.purpose or "children in care").replace("_", " ")
        return f"Children in care in Indonesia, record-level research data: {kind} ({population})"


def citation(entry: CatalogEntry, style: CitationStyle = "text") -> str:
    """How to cite ``entry``: plain text (APA's form for a data set), BibTeX or RIS."""
    version = (entry.created_at or "")[:10] or entry.release_id.removeprefix(RELEASE_PREFIX)[:8]
    rows = f"; {entry.rows:,} records" if entry.rows is not None else ""
    if style == "text":
        note = "" if entry.status == "available" else f" {entry.status.capitalize()}."
        return (
            f"{PUBLISHER} ({entry.year}). {entry.title} (Version {version}; release "
            f"{entry.release_id}{rows}) [Data set]. MerajutASA Lakehouse. {entry.identifier}.{note}"
        )
    if style == "bibtex":
        key = "merajutasa_" + entry.release_id.removeprefix(RELEASE_PREFIX).lower()
        return "\n".join(
            [
                f"@misc{{{key},",
                f"  author = {{{{{PUBLISHER}}}}},",
                f"  title = {{{entry.title}}},",
                f"  year = {{{entry.year}}},",
                f"  version = {{{version}}},",
                "  publisher = {MerajutASA Lakehouse},",
                "  type = {Data set},",
                f"  note = {{Release {entry.release_id}{rows}; {entry.status}}},",
                f"  howpublished = {{{entry.identifier}}}",
                "}",
            ]
        )
    lines = [
        ("TY", "DATA"),
        ("AU", PUBLISHER),
        ("TI", entry.title),
        ("PY", entry.year),
        ("ET", version),
        ("PB", "MerajutASA Lakehouse"),
        ("ID", entry.identifier),
        ("N1", f"Release {entry.release_id}{rows}; {entry.status}"),
        ("ER", ""),
    ]
    return "\n".join(f"{tag}  - {value}".rstrip() for tag, value in lines)


def catalog_metadata(manifest: ReleaseManifest) -> dict[str, Any]:
    """What the catalog keeps of a release whose records are gone (no record, no subject)."""
    return {
        **{name: getattr(manifest, name) for name in _KEPT},
        "identifier": identifier(manifest),
    }


class ReleaseCatalog:
    """Every release's entry, from ``releases/`` (see the module docstring)."""

    def __init__(
        self, releases: ResearchReleases, now: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.releases = releases
        self.now = now

    @property
    def root(self) -> Path:
        return self.releases.root

    def _on_disk(self, release: Release) -> CatalogEntry:
        manifest = release.manifest
        tier = TIERS.get(manifest.tier)
        days = tier.terms.available_days if tier is not None else None
        until = None
        status: Status = "available"
        if days is not None:
            end = datetime.fromisoformat(manifest.created_at) + timedelta(days=days)
            until = end.isoformat()
            if self.now() >= end:
                status = "expired"
        kept = catalog_metadata(manifest)
        return CatalogEntry(
            release_id=release.id, status=status, available_until=until, release=release,
            **kept,
        )  # fmt: skip

    def _ended(self, release_id: str) -> CatalogEntry | None:
        """The entry of a withdrawn or retired release, from what its removal kept."""
        withdrawn = read_json_object(self.root / WITHDRAWN_DIR / f"{release_id}.json")
        if withdrawn is not None:
            kept = withdrawn.get("release") or {}
            status: Status = "withdrawn"
            ended_at, reason = withdrawn.get("withdrawn_at"), withdrawn.get("reason")
        else:
            folder = self.root / EXPIRED_DIR / release_id
            record = read_json_object(folder / "expired.json")
            if record is None:
                return None
            manifest = read_manifest(folder)
            kept = catalog_metadata(manifest) if manifest is not None else {}
            status = "retired"
            ended_at = record.get("expired_at")
            reason = f"removed by the retention policy ({record.get('reason', 'no reason kept')})"
        tier = str(kept.get("tier") or "unknown")
        return CatalogEntry(
            release_id=release_id,
            status=status,
            tier=tier,
            identifier=str(kept.get("identifier") or _identifier(tier, release_id, None)),
            created_at=kept.get("created_at"),
            purpose=kept.get("purpose"),
            population=kept.get("population"),
            rows=kept.get("rows"),
            downloadable=bool(kept.get("downloadable", True)),
            ended_at=ended_at,
            reason=reason,
        )

    def entry(self, release_id: str) -> CatalogEntry | None:
        """The release's entry; None for an id the catalog never published."""
        if not _RELEASE_ID.match(release_id):
            return None
        ended = self._ended(release_id)
        if ended is not None:
            return ended  # a withdrawal wins over files a crash may have left
        release = self.releases.get(release_id)
        return self._on_disk(release) if release is not None else None

    def entries(self, tier: str | None = None) -> list[CatalogEntry]:
        """Every entry (of ``tier``, or all), newest first."""
        ids: set[str] = set()
        if self.root.is_dir():
            ids |= {p.name for p in self.root.iterdir() if _RELEASE_ID.match(p.name)}
            ids |= {p.stem for p in (self.root / WITHDRAWN_DIR).glob("*.json")}
            ids |= {p.name for p in (self.root / EXPIRED_DIR).glob("*") if p.is_dir()}
        found = (self.entry(i) for i in sorted(ids, reverse=True))
        return [e for e in found if e is not None and tier in (None, e.tier)]
