"""Ingestion's own state in the lake: watermarks, drop files seen, keys already in bronze.

The lake's layout and the atomic writers are the ground floor's (:mod:`lakehouse.layout`,
:mod:`lakehouse.files`); this module holds only what ingestion remembers between runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ingestion.contracts import TableContract
from lakehouse.files import write_json_atomic
from lakehouse.layout import LakeLayout


@dataclass
class IngestionState:
    """A table's extraction watermark, or the content hashes of its ingested drop files."""

    path: Path
    watermark_value: str | None
    drops: list[str]

    @classmethod
    def load(cls, path: Path) -> IngestionState:
        if path.exists():
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(path, data.get("watermark"), list(data.get("drops", [])))
        return cls(path, None, [])

    @property
    def watermark(self) -> datetime | None:
        return datetime.fromisoformat(self.watermark_value) if self.watermark_value else None

    def save(self) -> None:
        write_json_atomic(self.path, {"watermark": self.watermark_value, "drops": self.drops})


def known_keys(layout: LakeLayout, contract: TableContract) -> set[str]:
    """Primary keys already in bronze: the parents a new child row may reference."""
    files = layout.bronze_files(contract)
    if not files:
        return set()
    import duckdb

    con = duckdb.connect()
    try:
        rows = con.execute(
            f"select distinct {contract.primary_key}::varchar from read_parquet(?)",
            [[str(f) for f in files]],
        ).fetchall()
    finally:
        con.close()
    return {r[0] for r in rows if r[0] is not None}
