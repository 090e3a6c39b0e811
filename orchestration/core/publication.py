"""What the release and publish steps did, kept for the run summary and audited.

Each step writes what it did to a small state file (``lakehouse.layout``: the CLI's summary
and ``merajut summary`` read it) and appends one record per decision to the publication log, a
hash-chained log (``merajut audit verify --log publication``): every candidate snapshot and
release published, every run that found nothing new and published nothing, every approval and
rejection of a candidate (by the data steward's key owner, with each finding acknowledged) and
the candidate going live, every snapshot and release the retention policy removed. None of it
names a child.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lakehouse.audit_log import HashChainedLog
from lakehouse.files import read_json_object, write_json_atomic
from lakehouse.ids import timestamp_id
from lakehouse.layout import LakeLayout

__all__ = [
    "actor",
    "publication_log",
    "record_go_live",
    "record_publish_step",
    "record_release_step",
]


def actor(run_id: str | None) -> str:
    return f"merajut pipeline (run {run_id[:8]})" if run_id else "merajut retention"


def publication_log(layout: LakeLayout) -> HashChainedLog:
    return HashChainedLog(layout.publication_log)


def record_release_step(
    layout: LakeLayout, run_id: str, tiers: Mapping[str, Mapping[str, Any]]
) -> None:
    """Per tier: ``outcome`` (built, unchanged, withheld, failed) and ``release_id``."""
    write_json_atomic(
        layout.last_release_step, {"run_id": run_id, "at": timestamp_id(), "tiers": dict(tiers)}
    )
    log = publication_log(layout)
    for tier, step in tiers.items():
        log.append({"actor": actor(run_id), "action": "release", "tier": tier, **step})


def record_publish_step(layout: LakeLayout, run_id: str, step: Mapping[str, Any]) -> None:
    """``outcome`` (candidate, unchanged; published when the run approved its own candidate),
    the snapshot, ``CURRENT`` and why."""
    write_json_atomic(layout.last_publish_step, {"run_id": run_id, "at": timestamp_id(), **step})
    publication_log(layout).append({"actor": actor(run_id), "action": "publish", **step})


def record_go_live(layout: LakeLayout, approver: str, step: Mapping[str, Any]) -> None:
    """An approved candidate is ``CURRENT`` now: a ``publish`` record (outcome ``published``)
    by whoever approved it, and, when the last publish step made this candidate, that step's
    file says so too (the run summary then shows it live, not waiting)."""
    publication_log(layout).append({"actor": approver, "action": "publish", **step})
    last = read_json_object(layout.last_publish_step)
    if last is not None and last.get("snapshot_id") == step.get("snapshot_id"):
        write_json_atomic(layout.last_publish_step, {**last, **step, "approved_by": approver})
