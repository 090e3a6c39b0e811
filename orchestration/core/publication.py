"""What the release and publish steps did, kept for the run summary and audited.

Each step writes what it did to a small state file (``lakehouse.layout``: the CLI's summary
and ``merajut summary`` read it) and appends one record per decision to the publication log, a
hash-chained log (``merajut audit verify --log publication``): every snapshot and release
published, every run that found nothing new and published nothing, every snapshot and release
the retention policy removed. None of it names a child.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lakehouse.audit_log import HashChainedLog
from lakehouse.files import write_json_atomic
from lakehouse.ids import timestamp_id
from lakehouse.layout import LakeLayout

__all__ = ["actor", "publication_log", "record_publish_step", "record_release_step"]


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
    """``outcome`` (published, unchanged), the snapshot, ``CURRENT`` and why."""
    write_json_atomic(layout.last_publish_step, {"run_id": run_id, "at": timestamp_id(), **step})
    publication_log(layout).append({"actor": actor(run_id), "action": "publish", **step})
