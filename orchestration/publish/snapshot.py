"""Gold snapshots and the CURRENT pointer.

A snapshot is assembled in a hidden staging directory, checked, then renamed into
``gold/snapshots/<id>/`` and only then is ``gold/CURRENT`` replaced (write a temp file, then
``os.replace``), so a reader sees either the old snapshot or the complete new one. A rejected
snapshot leaves only its check results under ``gold/rejected/<id>.json`` — never its data.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ingestion.lake import write_json_atomic, write_parquet_atomic
from orchestration.publish.gate import CheckOutcome, all_passed


@dataclass(frozen=True)
class PublishResult:
    snapshot_id: str
    published: bool
    path: Path
    failed_checks: list[str]


def new_snapshot_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return now.strftime("%Y%m%dT%H%M%S%fZ")


def current_snapshot_id(gold: Path) -> str | None:
    pointer = gold / "CURRENT"
    if not pointer.exists():
        return None
    value = pointer.read_text(encoding="utf-8").strip()
    return value or None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _point_current_at(gold: Path, snapshot_id: str) -> None:
    tmp = gold / f".CURRENT.{os.getpid()}"
    tmp.write_text(snapshot_id + "\n", encoding="utf-8")
    os.replace(tmp, gold / "CURRENT")


def publish_snapshot(
    gold: Path,
    marts: Mapping[str, pd.DataFrame],
    mart_meta: Mapping[str, Mapping[str, Any]],
    checks: Sequence[CheckOutcome],
    extra: Mapping[str, Any],
    snapshot_id: str | None = None,
) -> PublishResult:
    snapshot_id = snapshot_id or new_snapshot_id()
    snapshots = gold / "snapshots"
    final = snapshots / snapshot_id
    failed = [c.name for c in checks if not c.passed]
    manifest: dict[str, Any] = {
        "snapshot_id": snapshot_id,
        "created_at": datetime.now(UTC).isoformat(),
        "previous_snapshot_id": current_snapshot_id(gold),
        "checks": [c.to_dict() for c in checks],
        "checks_passed": [c.name for c in checks if c.passed],
        "all_checks_passed": all_passed(checks),
        **extra,
    }
    if not all_passed(checks):
        manifest["published"] = False
        write_json_atomic(gold / "rejected" / f"{snapshot_id}.json", manifest)
        return PublishResult(snapshot_id, False, gold / "rejected" / f"{snapshot_id}.json", failed)

    staging = snapshots / f".staging-{snapshot_id}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    entries = {}
    for name, frame in marts.items():
        path = staging / f"{name}.parquet"
        write_parquet_atomic(frame, path)
        entries[name] = {
            "file": path.name,
            "rows": len(frame),
            "columns": {c: str(t) for c, t in frame.dtypes.items()},
            "sha256": _sha256(path),
            **dict(mart_meta.get(name, {})),
        }
    manifest["marts"] = entries
    manifest["published"] = True
    write_json_atomic(staging / "manifest.json", manifest)
    os.replace(staging, final)
    _point_current_at(gold, snapshot_id)
    return PublishResult(snapshot_id, True, final, [])
