"""Source contracts: read from the dbt source YAML, the one place sensitivity is declared."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestion.contracts import ContractError, ingestion_order, load_contracts


def test_every_source_table_has_a_contract_with_lineage_and_key() -> None:
    contracts = load_contracts()
    assert len(contracts) == 10
    for contract in contracts.values():
        assert contract.asset_key == ("raw", contract.source, contract.name)
        assert contract.column(contract.primary_key)


def test_direct_identifiers_are_declared_with_a_token_domain() -> None:
    contracts = load_contracts()
    children = contracts["child_registry.children"]
    tokenized = {c.name: c.token_domain for c in children.tokenized_columns}
    assert tokenized == {
        "full_name": "person_name",
        "nik": "nik",
        "birth_date": "birth_date",
        "birthplace": "place",
        "address": "address",
    }
    guardians = contracts["child_registry.guardians"]
    assert {c.name for c in guardians.tokenized_columns} == {"full_name", "phone", "nik"}
    notes = contracts["case_management.case_notes"]
    assert [c.name for c in notes.free_text_columns] == ["note_text"]
    assert notes.redaction_subject is not None


def test_parents_are_ingested_before_children() -> None:
    order = [c.qualified_name for c in ingestion_order(load_contracts())]
    assert order.index("institutions.institutions") < order.index("child_registry.children")
    assert order.index("child_registry.children") < order.index("placements.placements")
    assert order.index("case_management.cases") < order.index("case_management.case_notes")


def test_a_direct_identifier_without_token_domain_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "x"
    folder.mkdir()
    (folder / "_x__sources.yml").write_text(
        """
version: 2
sources:
  - name: x
    tables:
      - name: t
        meta: {primary_key: id, dagster: {asset_key: [raw, x, t]}}
        columns:
          - {name: id, data_type: string}
          - {name: phone, data_type: string, meta: {sensitivity: direct_identifier}}
"""
    )
    with pytest.raises(ContractError, match="token_domain"):
        load_contracts(tmp_path)
