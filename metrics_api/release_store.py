"""Research releases as published by the pipeline under ``lake/releases/research-<id>/``.

Only directories whose name is a release id and whose manifest says every check passed are
listed; staging directories and rejected releases (``releases/rejected``) are never served.
Release ids are matched against a strict pattern before they touch the file system, so a
crafted id cannot leave the releases directory.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

__all__ = ["RELEASE_ID_PATTERN", "DownloadFormat", "ReleaseStore"]

RELEASE_ID_PATTERN = r"^research-[0-9]{8}T[0-9]{6,12}Z$"
_RELEASE_ID = re.compile(RELEASE_ID_PATTERN)
DownloadFormat = Literal["csv", "parquet"]
_FILES: dict[str, str] = {"csv": "data.csv", "parquet": "data.parquet"}


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


class ReleaseStore:
    def __init__(self, releases_dir: Path) -> None:
        self.root = releases_dir

    def _dir(self, release_id: str) -> Path | None:
        if not _RELEASE_ID.match(release_id):
            return None
        path = self.root / release_id
        manifest = _read_json(path / "manifest.json")
        if manifest is None or manifest.get("release_id") != release_id:
            return None
        if manifest.get("all_checks_passed") is not True:
            return None
        return path

    def list(self) -> list[dict[str, Any]]:
        """Manifests of the servable releases, newest first."""
        if not self.root.is_dir():
            return []
        out = []
        for path in sorted(self.root.iterdir(), reverse=True):
            if path.is_dir() and self._dir(path.name) is not None:
                manifest = _read_json(path / "manifest.json")
                if manifest is not None:
                    out.append(manifest)
        return out

    def get(self, release_id: str) -> dict[str, Any] | None:
        """Manifest, data dictionary and privacy report of one release, or None."""
        path = self._dir(release_id)
        if path is None:
            return None
        return {
            "manifest": _read_json(path / "manifest.json") or {},
            "data_dictionary": _read_json(path / "data_dictionary.json") or {},
            "privacy_report": _read_json(path / "privacy_report.json") or {},
        }

    def data_file(self, release_id: str, fmt: DownloadFormat) -> Path | None:
        path = self._dir(release_id)
        if path is None:
            return None
        file = path / _FILES[fmt]
        return file if file.is_file() else None
