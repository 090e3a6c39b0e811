"""Withdrawing published snapshots and releases that hold an erased or restricted subject.

A research release is record level: the one that holds the subject is withdrawn as soon as the
run that carries out the request starts (its files are deleted; the API lists only releases on
disk). Which releases hold whom is known exactly, because the release step records each
release's members (keyed subject references, restricted zone) when it writes the release; a
release without that record is treated as holding everyone.

A gold snapshot is aggregate: every snapshot built while the subject was in the warehouse
counted them. Withdrawing the live one before its replacement exists would leave every
dashboard and API key with nothing, so the run marks the snapshots published before it; the
publish step withdraws every one that is not live at once, and the live one once the new
snapshot (built without the subject) is approved and ``CURRENT``.
A withdrawal leaves a small record (``withdrawn/<id>.json``: when and why, no subject) so that
an auditor can see what was published once and taken back.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from lakehouse.files import write_json_atomic
from lakehouse.gold_snapshot import SNAPSHOT_ID_PATTERN, GoldSnapshots
from lakehouse.layout import LakeLayout
from lakehouse.release_catalog import WITHDRAWN_DIR, catalog_metadata
from lakehouse.research_release import RELEASE_ID_PATTERN, read_manifest

__all__ = [
    "mark_snapshots_for_withdrawal",
    "marked_snapshots",
    "record_release_members",
    "releases_holding",
    "withdraw_marked_snapshots",
    "withdraw_release",
]

_RELEASE_ID = re.compile(RELEASE_ID_PATTERN)
_SNAPSHOT_ID = re.compile(SNAPSHOT_ID_PATTERN)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _private_json(path: Path, payload: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_json_atomic(path, payload)
    os.chmod(path, 0o600)


# -- research releases ----------------------------------------------------------------------------


def record_release_members(layout: LakeLayout, release_id: str, refs: Iterable[str]) -> Path:
    """Remember which subjects a release holds (restricted zone, keyed references only)."""
    path = layout.release_members / f"{release_id}.json"
    _private_json(path, {"release_id": release_id, "members": sorted(set(refs))})
    return path


def releases_holding(layout: LakeLayout, refs: Iterable[str]) -> list[str]:
    """Releases on disk that hold any of ``refs`` (or whose members were never recorded)."""
    wanted = set(refs)
    if not wanted or not layout.releases.is_dir():
        return []
    found = []
    for folder in sorted(layout.releases.iterdir()):
        if not folder.is_dir() or not _RELEASE_ID.match(folder.name):
            continue
        members_file = layout.release_members / f"{folder.name}.json"
        try:
            members = set(json.loads(members_file.read_text(encoding="utf-8"))["members"])
        except (OSError, ValueError, KeyError):
            members = None  # unknown: it may hold anyone
        if members is None or members & wanted:
            found.append(folder.name)
    return found


def withdraw_release(
    layout: LakeLayout, release_id: str, reason: str, actor: str | None = None
) -> Path:
    """Delete a release's files and leave the record of its withdrawal, with what the catalog
    keeps showing of it (tier, dates, rows, identifier: a citation must still resolve). The
    record is written first: a crash in between leaves files the catalog never serves again."""
    if not _RELEASE_ID.match(release_id):
        raise ValueError(f"not a release id: {release_id!r}")
    folder = layout.releases / release_id
    manifest = read_manifest(folder)
    kept = catalog_metadata(manifest) if manifest is not None else {}
    record = layout.releases / WITHDRAWN_DIR / f"{release_id}.json"
    write_json_atomic(
        record,
        {"release_id": release_id, "withdrawn_at": _now(), "reason": reason, "actor": actor,
         "release": kept},
    )  # fmt: skip
    shutil.rmtree(folder, ignore_errors=True)
    (layout.release_members / f"{release_id}.json").unlink(missing_ok=True)
    return record


# -- gold snapshots ---------------------------------------------------------------------------------


def _marked_file(layout: LakeLayout) -> Path:
    return layout.subjects / "snapshots_to_withdraw.json"


def mark_snapshots_for_withdrawal(layout: LakeLayout, reason: str) -> list[str]:
    """Mark every snapshot now on disk for withdrawal after the next successful publish."""
    ids = GoldSnapshots(layout.gold).published_ids()
    path = _marked_file(layout)
    marked: dict[str, str] = {}
    if path.exists():
        marked = json.loads(path.read_text(encoding="utf-8"))
    marked.update({i: reason for i in ids if i not in marked})
    _private_json(path, marked)
    return ids


def marked_snapshots(layout: LakeLayout) -> list[str]:
    """The snapshots waiting to be withdrawn by the next publish: while there are any, that
    publish must happen even if it would serve what ``CURRENT`` serves (the live snapshot may
    be one of them)."""
    path = _marked_file(layout)
    if not path.exists():
        return []
    return sorted(json.loads(path.read_text(encoding="utf-8")))


def withdraw_marked_snapshots(layout: LakeLayout, current_id: str | None) -> list[str]:
    """Withdraw the marked snapshots (never ``current_id``, the live one, which stays marked
    until a snapshot without the subject replaces it); returns the ids withdrawn. The publish
    step calls it when it makes a candidate (every marked snapshot but the live one goes: none
    is served, and a marked candidate must never be approved) and when a candidate goes live."""
    path = _marked_file(layout)
    if not path.exists():
        return []
    marked: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    done = []
    for snapshot_id, reason in sorted(marked.items()):
        if snapshot_id == current_id or not _SNAPSHOT_ID.match(snapshot_id):
            continue
        write_json_atomic(
            layout.gold / WITHDRAWN_DIR / f"{snapshot_id}.json",
            {"snapshot_id": snapshot_id, "withdrawn_at": _now(), "reason": reason},
        )
        shutil.rmtree(layout.gold / "snapshots" / snapshot_id, ignore_errors=True)
        done.append(snapshot_id)
    remaining = {k: v for k, v in marked.items() if k == current_id}
    if remaining:
        _private_json(path, remaining)
    else:
        path.unlink()
    return done
