"""Loading bronze into the warehouse ``raw`` schema (one asset per source table).

All raw tables load in one step, holding the warehouse once: the embedded engine is opened by
one step at a time (pool ``warehouse``), and opening it once beats opening it per table.
"""

import dagster as dg

from ingestion.contracts import load_contracts
from ingestion.raw_load import load_quarantine, load_table, raw_row_count
from lakehouse.warehouse import session
from orchestration.core.assets import WAREHOUSE_POOL, bronze_key, raw_key
from orchestration.core.resources import LakehouseResource


def build_raw_load_asset() -> dg.AssetsDefinition:
    contracts = load_contracts()
    specs = [
        dg.AssetSpec(
            key=raw_key(c),
            deps=[bronze_key(c)],
            group_name="warehouse_raw",
            description=f"raw.{c.identifier} in the warehouse (ReplacingMergeTree by {c.primary_key}).",
            kinds={"clickhouse"},
            skippable=True,
        )
        for c in contracts.values()
    ]

    @dg.multi_asset(specs=specs, name="load_raw", pool=WAREHOUSE_POOL, can_subset=True)
    def load_raw(context: dg.AssetExecutionContext, lakehouse: LakehouseResource):
        selected = set(context.selected_asset_keys)
        with session(lakehouse.settings.warehouse_target, purpose="load bronze → raw") as client:
            quarantined = load_quarantine(client, lakehouse.settings.layout, contracts.values())
            context.log.info(f"quarantine rows loaded: {quarantined}")
            for contract in contracts.values():
                if raw_key(contract) not in selected:
                    continue
                inserted = load_table(client, lakehouse.settings.layout, contract)
                total = raw_row_count(client, contract)
                yield dg.MaterializeResult(
                    asset_key=raw_key(contract),
                    metadata={
                        "inserted": inserted,
                        "rows": total,
                        "table": f"raw.{contract.identifier}",
                    },
                )

    return load_raw
