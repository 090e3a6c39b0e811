"""Carrying out the data protection officer's requests before anything is ingested.

The register (``lakehouse.subject_register``) holds what ``merajut subject erase|restrict|
unrestrict`` asked for; this asset does it, first in every run (every bronze asset depends on
it), so the same run ingests, builds and publishes without the subject:

1. research releases that hold an erased or restricted subject are withdrawn at once;
2. their rows leave bronze, quarantine and the held files (``ingestion.subject_requests``);
   the rows of a lifted restriction come back as a new batch;
3. the vault shreds an erased subject's data key (again: the CLI did it when asked, but a run
   that was ingesting at that moment may have stored new entries) and deletes their values
   that no other subject holds;
4. their rows leave the warehouse's raw tables; the dbt build of the same run rebuilds every
   model from raw;
5. every snapshot published so far is marked for withdrawal once this run's snapshot is live;
6. each request is recorded as carried out, in the register and the audit chain.
"""

import dagster as dg

from ingestion.subject_requests import remove_raw_rows, return_lifted, scrub_lake
from ingestion.subjects import SubjectRules, subject_links
from lakehouse.files import write_json_atomic
from lakehouse.ids import timestamp_id
from lakehouse.subject_register import SubjectRegister
from lakehouse.warehouse import session
from lakehouse.withdrawals import (
    mark_snapshots_for_withdrawal,
    releases_holding,
    withdraw_release,
)
from orchestration.core.assets import SUBJECT_REQUESTS, WAREHOUSE_POOL
from orchestration.core.resources import LakehouseResource

ACTOR = "merajut pipeline"


def build_subject_requests_asset() -> dg.AssetsDefinition:
    @dg.asset(
        key=SUBJECT_REQUESTS,
        group_name="data_subjects",
        pool=WAREHOUSE_POOL,
        kinds={"python", "clickhouse"},
        tags={"layer": "restricted"},
        description="Erasures, restrictions and lifted restrictions the data protection officer "
        "requested, carried out in every zone before this run ingests anything.",
    )
    def subject_requests(
        context: dg.AssetExecutionContext, lakehouse: LakehouseResource
    ) -> dg.MaterializeResult:
        settings = lakehouse.settings
        layout = settings.layout
        run = f"{ACTOR} (run {context.run_id[:8]})"
        with SubjectRegister(layout.subject_register) as register:
            pending = register.pending()
            summary: dict[str, object] = {"carried_out_at": timestamp_id(), "requests": 0}
            if not pending:
                write_json_atomic(layout.state / "subject_requests.json", summary)
                return dg.MaterializeResult(metadata={"pending": 0})
            links = subject_links(lakehouse.contracts)
            tokenizer = lakehouse.tokenizer
            leaving_rules = SubjectRules.of(
                tokenizer, links, pending, erased=("erased",), restricted=("restricted",)
            )
            lifted_rules = SubjectRules.of(
                tokenizer, links, pending, erased=(), restricted=("lifted",)
            )
            erased, restricted = leaving_rules.erased, leaving_rules.restricted
            withdrawn = [
                withdraw_release(
                    layout, release_id, "held a subject whose data was erased or restricted"
                )
                for release_id in releases_holding(layout, erased | restricted)
            ]
            scrub = scrub_lake(layout, lakehouse.contracts, leaving_rules)
            returned = return_lifted(
                layout, lakehouse.contracts, lifted_rules, batch_id=f"{timestamp_id()}-lifted"
            )
            vault = lakehouse.vault
            for ref in sorted(erased):
                vault.shred_subject(ref, actor=run, reason="carrying out an erasure request")
            orphaned = scrub.orphaned_tokens - set(vault.owners_of(scrub.orphaned_tokens))
            vault.delete_unowned(orphaned, actor=run, reason="carrying out an erasure request")
            with session(settings.warehouse_target, purpose="carry out subject requests") as client:
                raw_removed = remove_raw_rows(client, lakehouse.contracts.values(), scrub)
            snapshots = (
                mark_snapshots_for_withdrawal(
                    layout, "counted a subject whose data was erased or restricted"
                )
                if erased or restricted
                else []
            )
            for entry in pending:
                vault.audit.append(
                    {
                        "actor": run,
                        "action": f"carry_out_{entry.status}",
                        "subject": entry.subject_ref,
                        "requested_by": entry.requested_by,
                        "outcome": "carried_out",
                    }
                )
            for record in withdrawn:
                vault.audit.append(
                    {"actor": run, "action": "withdraw_release", "release": record.stem,
                     "outcome": "withdrawn"}
                )  # fmt: skip
            register.mark_applied(e.subject_ref for e in pending)
        summary = {
            "carried_out_at": summary["carried_out_at"],
            "requests": len(pending),
            "erased": len(erased),
            "restricted": len(restricted),
            "lifted": len(lifted_rules.restricted),
            **scrub.to_dict(),
            "returned_rows": dict(returned),
            "raw_rows_removed": raw_removed,
            "vault_entries_of_no_subject_deleted": len(orphaned),
            "releases_withdrawn": [p.stem for p in withdrawn],
            "snapshots_to_withdraw_after_publish": snapshots,
        }
        write_json_atomic(layout.state / "subject_requests.json", summary)
        context.log.info(f"data-subject requests carried out: {summary}")
        return dg.MaterializeResult(metadata={"carried_out": dg.MetadataValue.json(summary)})

    return subject_requests
