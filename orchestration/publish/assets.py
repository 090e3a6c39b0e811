"""The publish step: gate every served mart and the research release, then make a candidate.

A snapshot that passed the gate is written to ``gold/snapshots/<id>/`` with its quality report
(validation rules and outliers) and a review that says it is a candidate (:mod:`lakehouse
.signoff`); ``CURRENT`` moves only when a data steward approves it, acknowledging each finding
(:mod:`orchestration.publish.signoff`, ``merajut publish approve``). In dev mode,
``MERAJUT_PUBLISH_APPROVAL=automatic`` makes the step approve its own candidate through the same
code path, recorded as the pipeline's act; production refuses that setting.

A snapshot that passed the gate but serves exactly what CURRENT serves (or the candidate
awaiting approval) is not published (:mod:`orchestration.publish.decision`): the run says
"nothing new since snapshot X", CURRENT and the ledger stay as they are. The retention policy
runs at the end of every publish step.

Every published output carries its purpose and population (dbt meta, lakehouse.reference
.purposes); the manifest records each purpose's population, with the children who left or
joined it since the live snapshot (lakehouse.populations keeps the hashed members)."""

import json
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pandas as pd

from anonymization.output_checks import check_pii_scan, check_small_cells
from dashboards.duckdb_catalog import refresh_catalog
from lakehouse import gold_tables
from lakehouse.checks import CheckOutcome, all_passed
from lakehouse.disclosure_ledger import ReleasedCells
from lakehouse.files import write_json_atomic
from lakehouse.gold_snapshot import (
    GoldSnapshots,
    MartOrigin,
    SnapshotError,
    SnapshotManifest,
    StagedSnapshot,
    new_snapshot_id,
    reject_snapshot,
    stage_snapshot,
)
from lakehouse.populations import PopulationMembers, member_key, members_digest
from lakehouse.reference.audiences import audience_thresholds
from lakehouse.reference.purposes import PURPOSES
from lakehouse.reference.release_tiers import TIERS
from lakehouse.research_release import Release, ResearchReleases
from lakehouse.settings import Settings
from lakehouse.signoff import SnapshotReviews, write_review
from lakehouse.snapshot_quality import check_snapshot_quality
from lakehouse.warehouse import session
from lakehouse.withdrawals import marked_snapshots, withdraw_marked_snapshots
from metrics_api.catalog import PACKAGED_CATALOG, Catalog, load_catalog
from metrics_api.protected import SnapshotProtection, protect_snapshot
from orchestration.core.assets import GOLD_SNAPSHOT, RESEARCH_RELEASE, WAREHOUSE_POOL
from orchestration.core.dbt import dbt_project
from orchestration.core.jobs import forced
from orchestration.core.publication import record_publish_step
from orchestration.core.resources import LakehouseResource
from orchestration.core.served import DbtModel, population_members, served_marts
from orchestration.publish.decision import PublishDecision, decide
from orchestration.publish.gate import check_dbt_build, check_purposes
from orchestration.publish.ledger import enter_earlier_snapshots
from orchestration.publish.populations import population_entries, read_members
from orchestration.publish.retention import apply_at_publish
from orchestration.publish.signoff import Approver, approve

#: Validation rules and outliers (lakehouse.snapshot_quality): not a gate check (the run goes
#: on); each finding is acknowledged by a data steward before CURRENT moves (lakehouse.signoff).
QUALITY_CHECK = "snapshot_quality"
GATE_CHECKS = (
    "dbt_build",
    "small_cells",
    "disclosure",
    "purposes",
    "pii_scan",
    "research_release",
)


def read_marts(client: Any, marts: list[DbtModel]) -> dict[str, pd.DataFrame]:
    # A total order, so the same data gives byte-identical snapshot files (and hashes).
    return {m.name: client.query_df(f"select * from {m.relation} order by all") for m in marts}


def small_cell_outcomes(
    marts: list[DbtModel], frames: dict[str, pd.DataFrame]
) -> list[CheckOutcome]:
    """The gate's own re-check of every mart that declares small-cell rules in its dbt meta,
    at the threshold of the audience it names."""
    thresholds = audience_thresholds()
    outcomes = []
    for mart in marts:
        rule = mart.meta.get("small_cells")
        if not rule:
            continue
        counts = list(rule["counts"])
        derived = {f"{counts[0]}-{c}": (counts[0], c) for c in counts[1:]}
        outcomes.append(
            check_small_cells(
                mart.name,
                frames[mart.name],
                dims=rule["dims"],
                counts=counts,
                hidden=rule["hidden"],
                threshold=thresholds[rule["audience"]],
                derived=derived,
            )
        )
    return outcomes


def mart_origins(marts: list[DbtModel]) -> dict[str, MartOrigin]:
    """Each mart's warehouse relation, audience, purpose and the purpose's population (the
    population is the reference's, never a second copy in dbt meta)."""
    out = {}
    for m in marts:
        declared = PURPOSES.get(m.purpose or "")
        out[m.name] = MartOrigin(
            m.relation,
            m.unique_id,
            tuple(m.audience),
            m.purpose,
            declared.population if declared else None,
        )
    return out


def _dbt_build_summary(settings: Settings) -> dict[str, Any] | None:
    path = settings.layout.dbt_last_build
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _catalog(settings: Settings) -> Catalog:
    return load_catalog(settings.api.catalog_path or PACKAGED_CATALOG)


def protect(settings: Settings, frames: dict[str, pd.DataFrame]) -> SnapshotProtection:
    """The tables suppressed audiences are served, protected jointly and audited (the
    ``disclosure`` checks) from the marts about to be published, with the API's catalog, and
    against everything earlier snapshots released to the same audiences (the publish ledger)."""
    released = ReleasedCells(settings.layout.ledger)
    enter_earlier_snapshots(released, GoldSnapshots(settings.layout.gold))
    return protect_snapshot(_catalog(settings), frames, history=released.history)


def gate(
    settings: Settings,
    marts: list[DbtModel],
    frames: dict[str, pd.DataFrame],
    protection: SnapshotProtection,
) -> tuple[list[CheckOutcome], Release | None]:
    outcomes = [check_dbt_build(_dbt_build_summary(settings))]
    outcomes += small_cell_outcomes(marts, frames)
    outcomes += protection.outcomes
    origins = mart_origins(marts)
    outcomes.append(
        check_purposes(
            _catalog(settings),
            {**origins, **protection.origins(origins)},
            {name: purpose for name, (_, purpose) in protection.sources.items()},
        )
    )
    reader = ResearchReleases(settings.layout.releases)
    texts: dict[str, str] = {}
    missing, passed, details = [], True, []
    for tier in TIERS:
        latest = reader.latest(tier)
        if latest is None:
            missing.append(tier)
            continue
        passed &= latest.manifest.all_checks_passed
        details.append(f"{tier} {latest.id}: " + ", ".join(latest.manifest.checks_passed))
        for f in latest.path.glob("*.json"):
            texts[f"release/{tier}/{f.name}"] = f.read_text(encoding="utf-8")
    release = reader.latest("licensed")
    outcomes.append(
        CheckOutcome(
            "research_release",
            passed and not missing,
            "; ".join(details + [f"no {tier} release has been built" for tier in missing]),
            {"release_id": release.id} if release else {},
        )
    )
    outcomes.append(check_pii_scan({**frames, **protection.frames}, texts))
    return outcomes, release


def build_publish_asset() -> dg.AssetsDefinition:
    marts = served_marts(dbt_project().manifest_path)
    populations = population_members(dbt_project().manifest_path)

    @dg.asset(
        key=GOLD_SNAPSHOT,
        deps=[m.asset_key for m in marts] + [populations.asset_key, RESEARCH_RELEASE],
        group_name="publish",
        pool=WAREHOUSE_POOL,
        kinds={"parquet"},
        description="Gold snapshot of every served mart: a candidate if every gate check passed; "
        "CURRENT moves when a data steward approves it (merajut publish approve).",
        check_specs=[
            *(dg.AssetCheckSpec(n, asset=GOLD_SNAPSHOT, blocking=True) for n in GATE_CHECKS),
            # Not blocking the run: a rule violation or an outlier needs a person to judge it,
            # and the sign-off makes one (each finding acknowledged before CURRENT moves).
            dg.AssetCheckSpec(QUALITY_CHECK, asset=GOLD_SNAPSHOT, blocking=False),
        ],
    )
    def gold_snapshot(
        context: dg.AssetExecutionContext, lakehouse: LakehouseResource
    ) -> Iterator[Any]:
        settings = lakehouse.settings
        snapshot_id = new_snapshot_id()
        relations = {m.name: m.relation for m in marts}
        # Read for the gate and copy into immutable gold tables in one session, so the data
        # checked is exactly the data server-mode readers will get.
        with session(settings.warehouse_target, purpose="publish") as client:
            frames = read_marts(client, marts)
            members = read_members(client, populations, member_key(settings.keys.token_key))
            gold_tables.stage_snapshot(client, snapshot_id, relations)
        # Who left or joined each purpose's population since the live snapshot.
        kept = PopulationMembers(settings.layout.populations)
        live = GoldSnapshots(settings.layout.gold).current_id()
        before = kept.read(live)
        population = population_entries(members, before, live)
        protection = protect(settings, frames)
        outcomes, release = gate(settings, marts, frames, protection)
        quality = check_snapshot_quality(frames, settings.reporting_date)
        yield dg.AssetCheckResult(
            check_name=QUALITY_CHECK,
            asset_key=GOLD_SNAPSHOT,
            passed=quality.findings == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "violations": len(quality.violations),
                "outliers": len(quality.outliers),
                "rules_checked": quality.rules_checked,
                "series_checked": quality.series_checked,
                "not_checked": dg.MetadataValue.json(quality.not_checked),
            },
        )
        for name in GATE_CHECKS:
            mine = [o for o in outcomes if o.name == name or o.name.startswith(f"{name}:")]
            yield dg.AssetCheckResult(
                check_name=name,
                asset_key=GOLD_SNAPSHOT,
                passed=bool(mine) and all(o.passed for o in mine),
                metadata={"detail": "; ".join(o.detail for o in mine) or "not evaluated"},
            )
        origins = mart_origins(marts)
        published = {**frames, **protection.frames}
        common: dict[str, Any] = {
            "research_release": release.id if release else None,
            "warehouse": settings.warehouse_target.describe(),
            "populations": population,
        }
        if not all_passed(outcomes):
            rejected = reject_snapshot(settings.layout.gold, snapshot_id, outcomes, **common)
            with session(settings.warehouse_target, purpose="publish") as client:
                gold_tables.drop_snapshot(client, snapshot_id, relations)
            raise dg.Failure(
                description=f"publish gate failed ({', '.join(rejected.failed_checks)}); CURRENT unchanged",
                metadata={"rejected_manifest": str(rejected.path)},
            )
        staged = stage_snapshot(
            settings.layout.gold,
            snapshot_id,
            published,
            {**origins, **protection.origins(origins)},
            outcomes,
            members_sha256=members_digest(members),
            reporting_date=settings.reporting_date,
            **common,
        )
        current = _current_manifest(settings)
        marked = marked_snapshots(settings.layout)
        pending = _pending_manifest(settings, live, marked)
        decision = decide(current, staged.manifest, marked, forced=forced(context), pending=pending)
        compared = pending or current
        if not decision.publish and compared is not None:
            yield from _nothing_new(context, settings, staged, compared, live, decision, relations)
            return
        # Entered before the candidate exists: a publish that fails after this leaves an entry
        # too many (harmless), never a released table the next publish does not know. A
        # candidate counts as released: reviewers may preview it.
        ReleasedCells(settings.layout.ledger).record(snapshot_id, protection.ledger)
        kept.write(snapshot_id, members)
        report = settings.layout.quality_report(snapshot_id)
        write_json_atomic(report, quality.to_dict())
        # The review goes in before the rename: the snapshot appears as a candidate or not at all.
        review = SnapshotReviews(settings.layout).candidate(snapshot_id, report)
        write_review(staged.path, review)
        with session(settings.warehouse_target, purpose="publish") as client:
            gold_tables.stage_frames(client, snapshot_id, protection.frames)
            result = staged.promote()
            # Marked snapshots that are not live go now (none is served; none may be approved);
            # the live one once an approved replacement is CURRENT.
            withdrawn = withdraw_marked_snapshots(settings.layout, live)
            gold_tables.drop_withdrawn(client, withdrawn)
            expired = _retention(context, settings, client)
        kept.prune(keep=[live])
        context.log.info(f"candidate snapshot {snapshot_id}: {decision.reason}")
        record_publish_step(
            settings.layout,
            context.run_id,
            {"outcome": "candidate", "snapshot_id": snapshot_id, "current": live,
             "reason": decision.reason, "content_sha256": result.manifest.content_sha256,
             "withdrawn": withdrawn, "expired": expired, "findings": review.findings,
             "quality": {"violations": len(quality.violations), "outliers": len(quality.outliers),
                         "report": str(report)}},
        )  # fmt: skip
        outcome = "candidate"
        if settings.publish_approval == "automatic":
            approval = approve(
                settings,
                snapshot_id,
                review.findings,
                Approver.pipeline(context.run_id),
                run_id=context.run_id,
                report=context.log.error,
            )
            outcome = "published"
            expired += approval.expired
            context.log.warning(
                f"snapshot {snapshot_id} approved by the pipeline itself "
                f"(MERAJUT_PUBLISH_APPROVAL=automatic, dev mode), {len(review.findings)} "
                "finding(s) acknowledged unread"
            )
        catalog = _superset_catalog(settings)
        yield dg.MaterializeResult(
            asset_key=GOLD_SNAPSHOT,
            metadata={
                "outcome": outcome,
                "reason": decision.reason,
                "snapshot_id": result.snapshot_id,
                "path": str(result.path),
                "findings": dg.MetadataValue.json(review.findings),
                "approve_with": f"merajut publish show {snapshot_id}",
                "superset_catalog": str(catalog or "none: nothing is live"),
                "snapshots_withdrawn": dg.MetadataValue.json(withdrawn),
                "expired_by_retention": dg.MetadataValue.json(expired),
                "rows": dg.MetadataValue.json({k: len(v) for k, v in published.items()}),
                "populations": dg.MetadataValue.json(
                    {k: v.model_dump() for k, v in result.manifest.populations.items()}
                ),
            },
            data_version=dg.DataVersion(str(result.manifest.content_sha256)[:16]),
        )

    return gold_snapshot


def _current_manifest(settings: Settings) -> SnapshotManifest | None:
    """The live snapshot's manifest; None when there is none or it cannot be read (a new
    snapshot is then published: nothing can be shown to equal it)."""
    try:
        snapshot = GoldSnapshots(settings.layout.gold).open_current()
    except SnapshotError:
        return None
    return None if snapshot is None else snapshot.manifest


def _pending_manifest(
    settings: Settings, live: str | None, marked: list[str]
) -> SnapshotManifest | None:
    """The newest candidate awaiting approval that no erasure or restriction has marked (a
    marked one is withdrawn by this publish), or None."""
    gold = GoldSnapshots(settings.layout.gold)
    for review in SnapshotReviews(settings.layout).awaiting(live):
        if review.snapshot_id in marked:
            continue
        try:
            return gold.open(review.snapshot_id).manifest
        except SnapshotError:
            continue
    return None


def _superset_catalog(settings: Settings) -> str | None:
    """Re-point Superset's catalog (embedded mode) at CURRENT, as it is now: a candidate is not
    live, but the catalog may be behind a CURRENT moved since it was written. None while
    nothing is live (the first candidate awaits approval)."""
    if GoldSnapshots(settings.layout.gold).current_id() is None:
        return None
    return str(refresh_catalog(settings.layout))


def _retention(context: dg.AssetExecutionContext, settings: Settings, client: Any) -> list[str]:
    """The retention policy at the end of a publish (:func:`apply_at_publish`)."""
    removed = apply_at_publish(settings, client, context.run_id, context.log.error)
    if removed:
        context.log.info(f"retention removed {', '.join(removed)}")
    return removed


def _nothing_new(
    context: dg.AssetExecutionContext,
    settings: Settings,
    staged: StagedSnapshot,
    compared: SnapshotManifest,
    live: str | None,
    decision: PublishDecision,
    relations: dict[str, str],
) -> Iterator[Any]:
    """The staged snapshot serves what CURRENT (or the candidate awaiting approval,
    ``compared``) serves: discard it (files, gold tables) and leave everything published as it
    is; the retention policy still runs."""
    staged.discard()
    with session(settings.warehouse_target, purpose="publish") as client:
        gold_tables.drop_snapshot(client, staged.snapshot_id, relations)
        expired = _retention(context, settings, client)
    context.log.info(decision.reason)
    record_publish_step(
        settings.layout,
        context.run_id,
        {"outcome": "unchanged", "snapshot_id": None, "current": live,
         "compared_with": compared.snapshot_id, "reason": decision.reason,
         "content_sha256": compared.content_sha256, "withdrawn": [], "expired": expired},
    )  # fmt: skip
    catalog = _superset_catalog(settings)
    yield dg.MaterializeResult(
        asset_key=GOLD_SNAPSHOT,
        metadata={
            "outcome": "unchanged",
            "reason": decision.reason,
            "snapshot_id": compared.snapshot_id,
            "superset_catalog": str(catalog or "none: nothing is live"),
            "expired_by_retention": dg.MetadataValue.json(expired),
        },
        data_version=dg.DataVersion(str(compared.content_sha256)[:16]),
    )
