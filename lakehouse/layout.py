"""Where everything lives: the lake's zones, the restricted home, and the code's own folders.

Everything under the lake root is pseudonymized; the one exception is ``restricted/``, which
holds the vault (AES-GCM ciphertexts of originals) and the audit logs, and is the only place a
re-identification can start from. The home (``.merajut``) holds what must never reach the lake:
clear-text source databases in dev, keys, API key hashes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

__all__ = [
    "DBT_PROJECT_DIR",
    "REPO_ROOT",
    "LakeLayout",
    "TableRef",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
#: The dbt project: models, seeds, and the source YAML that doubles as the ingestion contract.
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"


class TableRef(Protocol):
    """A source table as the layout needs it (a contract, or anything with these names)."""

    @property
    def source(self) -> str: ...

    @property
    def name(self) -> str: ...


@dataclass(frozen=True)
class LakeLayout:
    root: Path

    # -- zones ------------------------------------------------------------------------------
    @property
    def bronze(self) -> Path:
        return self.root / "bronze"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def gold(self) -> Path:
        return self.root / "gold"

    @property
    def releases(self) -> Path:
        return self.root / "releases"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def restricted(self) -> Path:
        return self.root / "restricted"

    @property
    def state(self) -> Path:
        """Pipeline bookkeeping: watermarks, the last dbt build's outcome."""
        return self.root / "_state"

    # -- files and folders in them ------------------------------------------------------------
    def bronze_dir(self, table: TableRef) -> Path:
        return self.bronze / table.source / table.name

    def quarantine_dir(self, table: TableRef) -> Path:
        return self.quarantine / table.source / table.name

    def bronze_file(self, table: TableRef, batch_id: str) -> Path:
        """One ingested batch of a table (the batch id is the file name: loads skip known ids)."""
        return self.bronze_dir(table) / f"{batch_id}.parquet"

    def quarantine_file(self, table: TableRef, batch_id: str) -> Path:
        return self.quarantine_dir(table) / f"{batch_id}.parquet"

    def bronze_files(self, table: TableRef) -> list[Path]:
        return sorted(self.bronze_dir(table).glob("*.parquet"))

    def quarantine_files(self, table: TableRef) -> list[Path]:
        return sorted(self.quarantine_dir(table).glob("*.parquet"))

    def ingestion_state(self, table: TableRef) -> Path:
        # One file per table: assets of different tables may run in parallel.
        return self.state / "ingestion" / f"{table.source}.{table.name}.json"

    def rejected_drops_dir(self, table: TableRef) -> Path:
        """Drop files that could not be read, as delivered (clear identifiers: restricted)."""
        return self.restricted / "rejected_drops" / table.source / table.name

    @property
    def dbt_last_build(self) -> Path:
        """The last dbt build's outcome, and the inputs it read (orchestration.transform)."""
        return self.state / "dbt_last_build.json"

    @property
    def dbt_last_step(self) -> Path:
        """Whether the last dbt step built, or found nothing to rebuild, and why."""
        return self.state / "dbt_last_step.json"

    def quality_report(self, snapshot_id: str) -> Path:
        """A published snapshot's validation rules and outliers (lakehouse.snapshot_quality),
        for whoever approves it; beside the snapshot, not in it (its files are its data)."""
        return self.reports / "quality" / f"{snapshot_id}.json"

    @property
    def last_release_step(self) -> Path:
        """What the last release step did per tier: built, unchanged, withheld."""
        return self.state / "release_last_step.json"

    @property
    def last_publish_step(self) -> Path:
        """What the last publish step did: published, or nothing new; what retention removed."""
        return self.state / "publish_last_step.json"

    @property
    def publication_log(self) -> Path:
        """Hash-chained log of every publish, unchanged run and retention removal."""
        return self.restricted / "publication" / "audit.jsonl"

    @property
    def vault(self) -> Path:
        return self.restricted / "vault" / "vault.sqlite"

    @property
    def vault_audit_log(self) -> Path:
        return self.restricted / "vault" / "reidentification_audit.jsonl"

    @property
    def subjects(self) -> Path:
        """Data-subject rights (lakehouse.subject_register): tombstones of erased children,
        restrictions, and the rows of restricted children held out of bronze."""
        return self.restricted / "subjects"

    @property
    def subject_register(self) -> Path:
        return self.subjects / "register.sqlite"

    def held_dir(self, table: TableRef) -> Path:
        """Rows of restricted subjects taken out of bronze (and quarantine) until lifted."""
        return self.subjects / "held" / table.source / table.name

    @property
    def release_members(self) -> Path:
        """Which subjects each research release holds (keyed refs), so that an erasure can
        withdraw exactly the releases that contain the subject."""
        return self.subjects / "release_members"

    @property
    def populations(self) -> Path:
        """Each purpose's population at each publish, as keyed member hashes
        (lakehouse.populations)."""
        return self.restricted / "populations"

    @property
    def ledger(self) -> Path:
        """What each audience was given (lakehouse.disclosure_ledger): restricted, like the
        audit logs it sits beside."""
        return self.restricted / "ledger"

    @property
    def served_ledger(self) -> Path:
        """The cells each role was served by the API (lakehouse.disclosure_ledger.ServedCells)."""
        return self.ledger / "served.sqlite"

    @property
    def api_audit_log(self) -> Path:
        return self.restricted / "metrics_api" / "audit.jsonl"

    @property
    def warehouse(self) -> Path:
        """The embedded warehouse's data path (chDB)."""
        return self.root / "warehouse" / "chdb"

    @property
    def superset_catalog(self) -> Path:
        """The DuckDB file of views Superset reads in embedded mode."""
        return self.gold / "superset.duckdb"
