"""Ingestion's own state in the lake: watermarks, drop files seen, committed batches, keys.

The lake's layout and the atomic writers are the ground floor's (:mod:`lakehouse.layout`,
:mod:`lakehouse.files`); this module holds only what ingestion remembers between runs.

Saving the state is the commit point of a batch: a table's bronze and quarantine files are
written first, then the state that names their batch id (with the new watermark, or the drop's
hash) is replaced atomically. A batch file whose id the state does not name was left by a run
that died before its commit; the next run deletes it and extracts the same rows again, so a
crash can neither lose rows nor ingest them twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ingestion.contracts import TableContract
from lakehouse.files import write_json_atomic
from lakehouse.layout import LakeLayout


@dataclass
class IngestionState:
    """A table's extraction watermark, the content hashes of the drop files it has read (or
    rejected), and the batches it has committed."""

    path: Path
    watermark_value: str | None = None
    drops: list[str] = field(default_factory=list)
    #: Batch ids whose files are complete. None: a state written before batches were recorded,
    #: whose files on disk are all adopted as committed.
    batches: list[str] | None = field(default_factory=list)
    #: Hashes of drop files that could not be read and were moved to the restricted zone.
    rejected_drops: list[str] = field(default_factory=list)
    #: Rows of erased subjects skipped, and of restricted subjects held, by the last run.
    skipped_erased: int = 0
    held_restricted: int = 0

    @classmethod
    def load(cls, path: Path) -> IngestionState:
        if not path.exists():
            return cls(path)
        data = json.loads(path.read_text(encoding="utf-8"))
        batches = data.get("batches")
        return cls(
            path,
            data.get("watermark"),
            list(data.get("drops", [])),
            list(batches) if batches is not None else None,
            list(data.get("rejected_drops", [])),
            int(data.get("skipped_erased", 0)),
            int(data.get("held_restricted", 0)),
        )

    @property
    def watermark(self) -> datetime | None:
        return datetime.fromisoformat(self.watermark_value) if self.watermark_value else None

    def save(self) -> None:
        write_json_atomic(
            self.path,
            {
                "watermark": self.watermark_value,
                "drops": self.drops,
                "batches": self.batches if self.batches is not None else [],
                "rejected_drops": self.rejected_drops,
                "skipped_erased": self.skipped_erased,
                "held_restricted": self.held_restricted,
            },
        )


def discard_uncommitted(
    layout: LakeLayout, contract: TableContract, state: IngestionState
) -> list[Path]:
    """Delete the table's batch files that no committed state names (left by a run that died
    before its commit); returns them. Call it with the pipeline lock held: no other run is
    writing this table's batches."""
    files = [*layout.bronze_files(contract), *layout.quarantine_files(contract)]
    if state.batches is None:  # adopt what an older lake holds
        state.batches = sorted({f.stem for f in files})
        return []
    committed = set(state.batches)
    orphans = [f for f in files if f.stem not in committed]
    orphans += [f for f in held_files(layout, contract) if held_batch_id(f) not in committed]
    for path in orphans:
        path.unlink()
    return orphans


HELD_QUARANTINE_PREFIX = "quarantine-"


def held_files(layout: LakeLayout, contract: TableContract) -> list[Path]:
    """Files of restricted subjects' rows held out of bronze (valid rows and quarantined)."""
    return sorted(layout.held_dir(contract).glob("*.parquet"))


def bronze_and_held_files(layout: LakeLayout, contract: TableContract) -> list[Path]:
    """Every ingested valid row's file: bronze, and the held rows of restricted subjects."""
    held = [
        f for f in held_files(layout, contract) if not f.stem.startswith(HELD_QUARANTINE_PREFIX)
    ]
    return [*layout.bronze_files(contract), *held]


def held_batch_id(path: Path) -> str:
    return path.stem.removeprefix(HELD_QUARANTINE_PREFIX)


def known_keys(layout: LakeLayout, contract: TableContract) -> set[str]:
    """Primary keys already ingested (bronze, and rows held for restricted subjects): the
    parents a new child row may reference."""
    files = bronze_and_held_files(layout, contract)
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


def committed_files(files: list[Path], state: IngestionState) -> list[Path]:
    """The batch files a committed state names (all of them for an older state)."""
    if state.batches is None:
        return files
    committed = set(state.batches)
    return [f for f in files if f.stem in committed]
