"""What the lake holds now: rows ingested, quarantined and published per table, and each
purpose's population (with the children who left or joined it at the last publish)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from ingestion.contracts import TableContract, load_contracts
from ingestion.extract import DROP_REASONS
from ingestion.lake import IngestionState
from lakehouse.files import read_json_object
from lakehouse.gold_snapshot import GoldSnapshots, SnapshotError
from lakehouse.layout import LakeLayout
from lakehouse.reference.release_tiers import TIERS
from lakehouse.research_release import ResearchReleases
from lakehouse.signoff import SignoffError, SnapshotReviews


@dataclass
class LakeSummary:
    tables: list[dict[str, Any]] = field(default_factory=list)
    snapshot_id: str | None = None
    snapshot_path: Path | None = None
    published: dict[str, int] = field(default_factory=dict)
    checks_passed: list[str] = field(default_factory=list)
    release_path: Path | None = None
    privacy: dict[str, Any] = field(default_factory=dict)
    #: Drop files rejected whole (unreadable): table, reason, detail (names the file).
    rejected_drops: list[dict[str, str]] = field(default_factory=list)
    #: What the last run carried out of the DPO's requests (ingestion/subject_requests.py).
    subject_requests: dict[str, Any] = field(default_factory=dict)
    #: Purpose -> its population in the newest candidate awaiting approval (what the approver
    #: signs off), else in the CURRENT snapshot's manifest: population, children, joined, left,
    #: compared_with (the live snapshot it was made after), audiences, legal basis.
    populations: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The snapshot ``populations`` are of, and whether it is a candidate (not live yet).
    populations_of: str | None = None
    populations_of_candidate: bool = False
    #: The latest research release's purpose, population and its size at build time.
    release_population: dict[str, Any] = field(default_factory=dict)
    #: The latest release of each tier: id, rows, whether downloadable, k and l.
    tiers: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: What the last run's dbt, release and publish steps did: rebuilt or not, each tier built
    #: or unchanged, a snapshot published or nothing new (and why); what retention removed.
    last_run: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: CURRENT's sign-off (lakehouse.signoff: who approved it, when, the findings acknowledged;
    #: None for a snapshot published before sign-off) and the candidates awaiting approval.
    approval: dict[str, Any] | None = None
    awaiting_approval: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in self.__dict__.items()}


def _count(con: duckdb.DuckDBPyConnection, files: list[Path]) -> int:
    if not files:
        return 0
    row = con.execute("select count(*) from read_parquet(?)", [[str(f) for f in files]]).fetchone()
    return int(row[0]) if row else 0


def _reasons(con: duckdb.DuckDBPyConnection, files: list[Path]) -> dict[str, int]:
    if not files:
        return {}
    rows = con.execute(
        "select reason, count(*) from read_parquet(?) group by reason order by reason",
        [[str(f) for f in files]],
    ).fetchall()
    return {r[0]: int(r[1]) for r in rows}


def _rejected_drops(
    con: duckdb.DuckDBPyConnection, table: str, files: list[Path]
) -> list[dict[str, str]]:
    if not files:
        return []
    rows = con.execute(
        "select reason, detail from read_parquet(?) where list_contains(?, reason) "
        "order by batch_id",
        [[str(f) for f in files], list(DROP_REASONS)],
    ).fetchall()
    return [{"table": table, "reason": r[0], "detail": r[1]} for r in rows]


def _subject_counts(layout: LakeLayout, contract: TableContract) -> dict[str, int]:
    """Rows the last ingest of the table skipped (erased subjects) or held (restricted)."""
    state = IngestionState.load(layout.ingestion_state(contract))
    return {"skipped_erased": state.skipped_erased, "held_restricted": state.held_restricted}


def last_run(layout: LakeLayout) -> dict[str, dict[str, Any]]:
    """What the last run's steps recorded (``lakehouse.layout``'s step files), by step."""
    steps = {
        "dbt": layout.dbt_last_step,
        "release": layout.last_release_step,
        "publish": layout.last_publish_step,
    }
    found = {name: read_json_object(path) for name, path in steps.items()}
    return {name: value for name, value in found.items() if value is not None}


def _sign_off(layout: LakeLayout, out: LakeSummary, current: str | None) -> None:
    reviews = SnapshotReviews(layout)
    try:
        review = reviews.read(current) if current is not None else None
    except SignoffError:
        review = None
    if review is not None:
        out.approval = {
            "actor": review.actor,
            "at": review.decided_at,
            "acknowledged": len(review.acknowledged),
        }
    out.awaiting_approval = [
        {"snapshot_id": r.snapshot_id, "status": r.status, "findings": len(r.findings)}
        for r in reviews.awaiting(current)
    ]


def summarize(layout: LakeLayout) -> LakeSummary:
    out = LakeSummary()
    con = duckdb.connect()
    try:
        for contract in load_contracts().values():
            bronze = layout.bronze_files(contract)
            quarantine = layout.quarantine_files(contract)
            out.tables.append(
                {
                    "table": contract.qualified_name,
                    "ingested": _count(con, bronze),
                    "quarantined": _count(con, quarantine),
                    "reasons": _reasons(con, quarantine),
                    **_subject_counts(layout, contract),
                }
            )
            out.rejected_drops += _rejected_drops(con, contract.qualified_name, quarantine)
    finally:
        con.close()
    out.last_run = last_run(layout)
    requests = layout.state / "subject_requests.json"
    if requests.exists():
        out.subject_requests = json.loads(requests.read_text(encoding="utf-8"))
    gold = GoldSnapshots(layout.gold)
    snapshot = gold.open_current()
    _sign_off(layout, out, snapshot.id if snapshot is not None else None)
    if snapshot is not None:
        out.snapshot_id = snapshot.id
        out.snapshot_path = snapshot.path
        out.published = {name: entry.rows for name, entry in snapshot.manifest.marts.items()}
        out.checks_passed = list(snapshot.manifest.checks_passed)
    waiting = out.awaiting_approval[0]["snapshot_id"] if out.awaiting_approval else None
    try:
        shown = gold.open(waiting) if waiting is not None else snapshot
    except SnapshotError:
        waiting, shown = None, snapshot  # a broken candidate: `merajut publish show` says why
    if shown is not None:
        out.populations_of = shown.id
        out.populations_of_candidate = waiting is not None
        out.populations = {
            purpose: entry.model_dump() for purpose, entry in shown.manifest.populations.items()
        }
    releases = ResearchReleases(layout.releases)
    for tier in TIERS:
        latest = releases.latest(tier)
        if latest is not None:
            tier_report = releases.privacy_report(latest)
            out.tiers[tier] = {
                "release_id": latest.id,
                "rows": latest.manifest.rows,
                "downloadable": latest.manifest.downloadable,
                **{k: tier_report[k] for k in ("k", "l") if k in tier_report},
            }
    release = releases.latest("licensed")
    if release is not None:
        out.release_path = release.path
        report = releases.privacy_report(release)
        out.privacy = {
            k: report.get(k)
            for k in ("k", "l", "quasi_identifiers", "released_rows", "suppressed_rows")
        }
        out.release_population = {
            "purpose": release.manifest.purpose,
            "population": release.manifest.population,
            "children": release.manifest.population_children,
            "rows": release.manifest.rows,
        }
    return out
