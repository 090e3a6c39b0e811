"""The service registry is exactly what the dbt source contracts declare as databases."""

from __future__ import annotations

from pathlib import Path

from ingestion.contracts import load_contracts
from lakehouse.reference.services import SERVICE_NAMES, sqlite_source_urls


def test_the_registry_matches_the_source_contracts() -> None:
    contracts = load_contracts().values()
    databases = {c.source for c in contracts if c.kind == "database"}
    assert set(SERVICE_NAMES) == databases
    assert len(SERVICE_NAMES) == len(set(SERVICE_NAMES))


def test_services_are_listed_parents_first() -> None:
    """A table may only reference a service listed before (or in) its own."""
    order = {name: i for i, name in enumerate(SERVICE_NAMES)}
    for contract in load_contracts().values():
        if contract.kind != "database":
            continue
        for column in contract.columns:
            if column.references and column.references[0] in order:
                assert order[column.references[0]] <= order[contract.source], (
                    contract.qualified_name,
                    column.name,
                )


def test_sqlite_urls_are_one_file_per_service(tmp_path: Path) -> None:
    urls = sqlite_source_urls(tmp_path / "sources")
    assert list(urls) == list(SERVICE_NAMES)
    assert urls["consent"] == f"sqlite:///{(tmp_path / 'sources' / 'consent.db').resolve()}"
