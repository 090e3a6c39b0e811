"""Matching the generator's planted defects against what ingestion quarantined."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pandas as pd

from ingestion.contracts import TableContract

DEFECT_CODES = {
    "duplicate_row",
    "malformed_value",
    "invalid_nik",
    "future_date",
    "orphan_fk",
    "missing_required",
}


def _keys(contract: TableContract, quarantine: pd.DataFrame) -> pd.Series:
    """A drop's rows are identified by their line in the file, a table's by their key."""
    if contract.kind == "file_drop":
        return quarantine["source_row"].astype("Int64").astype(str)
    return quarantine["record_key"].astype(str)


def defect_mismatches(
    defects: Iterable[Mapping[str, Any]],
    contracts: Iterable[TableContract],
    quarantine_of: Callable[[TableContract], pd.DataFrame],
) -> tuple[list[Any], list[Any]]:
    """(planted defects not quarantined with their reason, quarantined rows nobody planted)."""
    contracts = list(contracts)
    by_table = {c.name: c for c in contracts}
    by_table["gov_registry_verification"] = next(c for c in contracts if c.kind == "file_drop")
    frames = {c.qualified_name: quarantine_of(c) for c in contracts}
    missing = []
    planted = set()
    for defect in defects:
        contract = by_table[defect["table"]]
        planted.add((contract.qualified_name, str(defect["key"])))
        quarantine = frames[contract.qualified_name]
        if quarantine.empty:
            missing.append((defect, []))
            continue
        hit = quarantine[_keys(contract, quarantine) == str(defect["key"])]
        if not (hit["reason"] == defect["defect"]).any():
            missing.append((defect, sorted(set(hit["reason"]))))
    extra = []
    for contract in contracts:
        quarantine = frames[contract.qualified_name]
        if quarantine.empty:
            continue
        extra += [
            (contract.qualified_name, key)
            for key in sorted(set(_keys(contract, quarantine)))
            if (contract.qualified_name, key) not in planted
        ]
    return missing, extra
