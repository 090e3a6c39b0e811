"""The lake's layout: restricted things live in restricted/, tables in their zones."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lakehouse.layout import DBT_PROJECT_DIR, LakeLayout


@dataclass(frozen=True)
class Table:
    source: str
    name: str


def test_zones_and_files(tmp_path: Path) -> None:
    layout = LakeLayout(tmp_path)
    table = Table("child_registry", "children")
    assert layout.bronze_file(table, "b1") == tmp_path / "bronze/child_registry/children/b1.parquet"
    assert (
        layout.quarantine_file(table, "b1")
        == tmp_path / "quarantine/child_registry/children/b1.parquet"
    )
    assert (
        layout.ingestion_state(table) == tmp_path / "_state/ingestion/child_registry.children.json"
    )
    for secret in (layout.vault, layout.vault_audit_log, layout.api_audit_log):
        assert secret.is_relative_to(layout.restricted)
    for public in (layout.gold, layout.releases, layout.bronze, layout.superset_catalog):
        assert not public.is_relative_to(layout.restricted)
    assert layout.superset_catalog.parent == layout.gold


def test_bronze_files_are_sorted_batches(tmp_path: Path) -> None:
    layout = LakeLayout(tmp_path)
    table = Table("s", "t")
    assert layout.bronze_files(table) == []
    for batch in ("b2", "b1"):
        path = layout.bronze_file(table, batch)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    (layout.bronze_dir(table) / ".b3.parquet.tmp").write_bytes(b"")  # a write in progress
    assert [p.stem for p in layout.bronze_files(table)] == ["b1", "b2"]


def test_the_dbt_project_is_found() -> None:
    assert (DBT_PROJECT_DIR / "dbt_project.yml").exists()
