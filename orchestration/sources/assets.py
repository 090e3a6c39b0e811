"""One bronze asset per source table, built from the source contracts.

Each asset extracts the rows changed since its watermark (or the new drop files), validates
them, quarantines failures with a reason, pseudonymizes, and writes bronze Parquet. It depends
on the bronze assets of the tables it references, so parents are in bronze before a child's
foreign keys are checked against them.
"""

from datetime import UTC, datetime, time

import dagster as dg

from ingestion.contracts import TableContract, load_contracts
from ingestion.ingest import IngestionContext, ingest_table
from ingestion.subjects import rules_from_register
from lakehouse.ids import timestamp_id
from lakehouse.subject_register import SubjectRegister
from orchestration.core.assets import SUBJECT_REQUESTS, bronze_key
from orchestration.core.resources import LakehouseResource

DROPS_READABLE = "drops_readable"


def _build_bronze_asset(
    contract: TableContract, contracts: dict[str, TableContract]
) -> dg.AssetsDefinition:
    parents = sorted(
        {
            f"{c.references[0]}.{c.references[1]}"
            for c in contract.columns
            if c.references and f"{c.references[0]}.{c.references[1]}" != contract.qualified_name
        }
    )

    key = bronze_key(contract)
    drops = contract.kind == "file_drop"
    checks = [
        dg.AssetCheckSpec(
            DROPS_READABLE,
            asset=key,
            blocking=False,
            description="Every new drop file could be read; unreadable ones are moved to the "
            "restricted zone with their reason and never read again.",
        )
    ]

    @dg.asset(
        key=key,
        check_specs=checks if drops else None,
        group_name=f"source_{contract.source}",
        deps=[SUBJECT_REQUESTS, *(bronze_key(contracts[p]) for p in parents)],
        description=contract.description
        or f"Pseudonymized bronze batches of {contract.qualified_name}.",
        kinds={"parquet", "python"},
        tags={"layer": "bronze"},
        metadata={"contract": contract.qualified_name, "primary_key": contract.primary_key},
    )
    def bronze(
        context: dg.AssetExecutionContext, lakehouse: LakehouseResource
    ) -> dg.MaterializeResult:
        settings = lakehouse.settings
        with SubjectRegister(settings.layout.subject_register) as register:
            subjects = rules_from_register(register, lakehouse.tokenizer, lakehouse.contracts)
        ctx = IngestionContext(
            layout=settings.layout,
            contracts=lakehouse.contracts,
            source_urls=settings.resolved_source_urls,
            drops_dir=settings.resolved_drops_dir,
            tokenizer=lakehouse.tokenizer,
            redactor=lakehouse.redactor,
            vault=lakehouse.vault,
            # "Future" means after the reporting date: now, unless MERAJUT_AS_OF pins it.
            as_of=(
                datetime.combine(settings.as_of, time.max)
                if settings.as_of is not None
                else datetime.now(UTC).replace(tzinfo=None)
            ),
            batch_id=timestamp_id(),
            subjects=subjects,
            chunk_rows=settings.ingest_chunk_rows,
            row_checker=lakehouse.row_checker,
        )
        report = ingest_table(ctx, contract)
        context.log.info(
            f"{contract.qualified_name}: extracted {report.extracted}, loaded {report.loaded}, "
            f"quarantined {report.quarantined} {report.reasons}; rows of erased subjects "
            f"skipped {report.skipped_erased}, of restricted subjects held {report.held_restricted}"
        )
        if report.discarded:
            context.log.warning(
                f"{contract.qualified_name}: deleted {len(report.discarded)} batch file(s) "
                "of a run that died before committing them; their rows are extracted again"
            )
        rejected = [
            {k: r[k] for k in ("file", "sha256", "reason", "detail")} for r in report.rejected_drops
        ]
        return dg.MaterializeResult(
            metadata={
                "extracted": report.extracted,
                "loaded": report.loaded,
                "quarantined": report.quarantined,
                "quarantine_reasons": dg.MetadataValue.json(report.reasons),
                "skipped_erased_subjects": report.skipped_erased,
                "held_restricted_subjects": report.held_restricted,
                "watermark": report.watermark or "",
                "files": dg.MetadataValue.json(report.files),
                "discarded_uncommitted": dg.MetadataValue.json(report.discarded),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name=DROPS_READABLE,
                    passed=not rejected,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={"rejected": dg.MetadataValue.json(rejected)},
                )
            ]
            if drops
            else None,
        )

    return bronze


def build_bronze_assets() -> list[dg.AssetsDefinition]:
    contracts = load_contracts()
    return [_build_bronze_asset(c, contracts) for c in contracts.values()]
