"""Layout of the lake and the ingestion state kept in it.

Everything under the lake root is pseudonymized; the one exception is ``restricted/vault``,
which holds AES-GCM ciphertexts of originals and is the only place a re-identification can
start from.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ingestion.contracts import TableContract


@dataclass(frozen=True)
class LakeLayout:
    root: Path

    @property
    def bronze(self) -> Path:
        return self.root / "bronze"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    def state_file(self, contract: TableContract) -> Path:
        # One file per table: assets of different tables may run in parallel.
        return self.root / "_state" / "ingestion" / f"{contract.qualified_name}.json"

    @property
    def vault(self) -> Path:
        return self.root / "restricted" / "vault" / "vault.sqlite"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse" / "chdb"

    @property
    def gold(self) -> Path:
        return self.root / "gold"

    @property
    def releases(self) -> Path:
        return self.root / "releases"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    def bronze_dir(self, contract: TableContract) -> Path:
        return self.bronze / contract.source / contract.name

    def quarantine_dir(self, contract: TableContract) -> Path:
        return self.quarantine / contract.source / contract.name


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write-then-rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, indent=2, sort_keys=True, default=str)
        fh.write("\n")
    os.replace(tmp, path)


def write_parquet_atomic(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)


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


def bronze_files(layout: LakeLayout, contract: TableContract) -> list[Path]:
    return sorted(layout.bronze_dir(contract).glob("*.parquet"))


def known_keys(layout: LakeLayout, contract: TableContract) -> set[str]:
    """Primary keys already in bronze: the parents a new child row may reference."""
    files = bronze_files(layout, contract)
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
