"""Source contracts, read from the dbt source YAML files.

The columns of every source table, their types, which ones are direct identifiers (and in which
token domain), which are free text, and which rules a row must satisfy are declared once, in
``dbt_project/models/staging/<source>/_<source>__sources.yml``. dbt uses the same files to
define its sources, so ingestion and the warehouse cannot drift apart on what a column is or
how sensitive it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from lakehouse.layout import DBT_PROJECT_DIR

DataType = Literal["string", "text", "int", "date", "datetime", "bool"]
Sensitivity = Literal[
    "none", "direct_identifier", "quasi_identifier", "sensitive", "free_text",
    # A record's cell-key perturbation key (anonymization.cell_key): never served to anyone.
    "perturbation_key",
]  # fmt: skip

STAGING_DIR = DBT_PROJECT_DIR / "models" / "staging"


class ContractError(ValueError):
    """A source YAML declares something ingestion cannot honour."""


@dataclass(frozen=True)
class ColumnContract:
    name: str
    data_type: DataType
    sensitivity: Sensitivity = "none"
    token_domain: str | None = None
    required: bool = False
    accepted_values: tuple[str, ...] | None = None
    pattern: str | None = None
    minimum: float | None = None
    nik: bool = False
    not_after_as_of: bool = False
    references: tuple[str, str, str] | None = None  # (source, table, column)
    derived_from: str | None = None
    derive: str | None = None
    description: str = ""

    @property
    def is_tokenized(self) -> bool:
        return self.sensitivity == "direct_identifier"


@dataclass(frozen=True)
class RedactionSubject:
    """How to find whose identifiers a free-text row may mention (note -> case -> child)."""

    via_table: str
    via_key: str
    subject_column: str


@dataclass(frozen=True)
class TableContract:
    source: str
    name: str
    identifier: str
    primary_key: str
    columns: tuple[ColumnContract, ...]
    asset_key: tuple[str, ...]
    kind: Literal["database", "file_drop"] = "database"
    watermark: str | None = None
    drop_glob: str | None = None
    redaction_subject: RedactionSubject | None = None
    description: str = ""
    _by_name: dict[str, ColumnContract] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name.update({c.name: c for c in self.columns})

    @property
    def qualified_name(self) -> str:
        return f"{self.source}.{self.name}"

    def column(self, name: str) -> ColumnContract:
        return self._by_name[name]

    @property
    def extracted_columns(self) -> list[ColumnContract]:
        """Columns read from the source (derived ones are computed at ingestion)."""
        return [c for c in self.columns if c.derived_from is None]

    @property
    def tokenized_columns(self) -> list[ColumnContract]:
        return [c for c in self.columns if c.is_tokenized]

    @property
    def free_text_columns(self) -> list[ColumnContract]:
        return [c for c in self.columns if c.sensitivity == "free_text"]


def _column(raw: dict[str, Any], where: str) -> ColumnContract:
    meta = raw.get("meta") or {}
    name = raw["name"]
    data_type = raw.get("data_type")
    if data_type not in ("string", "text", "int", "date", "datetime", "bool"):
        raise ContractError(f"{where}.{name}: unknown data_type {data_type!r}")
    sensitivity = meta.get("sensitivity", "none")
    if sensitivity == "direct_identifier" and not meta.get("token_domain"):
        raise ContractError(f"{where}.{name}: a direct identifier needs meta.token_domain")
    references = None
    if meta.get("references"):
        parts = str(meta["references"]).split(".")
        if len(parts) != 3:
            raise ContractError(f"{where}.{name}: references must be source.table.column")
        references = (parts[0], parts[1], parts[2])
    accepted = meta.get("accepted_values")
    return ColumnContract(
        name=name,
        data_type=data_type,
        sensitivity=sensitivity,
        token_domain=meta.get("token_domain"),
        required=bool(meta.get("required", False)),
        accepted_values=tuple(str(v) for v in accepted) if accepted is not None else None,
        pattern=meta.get("pattern"),
        minimum=meta.get("min"),
        nik=bool(meta.get("nik", False)),
        not_after_as_of=bool(meta.get("not_after_as_of", False)),
        references=references,
        derived_from=meta.get("derived_from"),
        derive=meta.get("derive"),
        description=" ".join(str(raw.get("description") or "").split()),
    )


def _tables_in(path: Path) -> Iterator[TableContract]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for source in doc.get("sources", []):
        smeta = source.get("meta") or {}
        kind = smeta.get("kind", "database")
        for table in source.get("tables", []):
            where = f"{source['name']}.{table['name']}"
            tmeta = table.get("meta") or {}
            asset_key = (tmeta.get("dagster") or {}).get("asset_key")
            if not asset_key:
                raise ContractError(f"{where}: meta.dagster.asset_key is required for lineage")
            if not tmeta.get("primary_key"):
                raise ContractError(f"{where}: meta.primary_key is required")
            subject = tmeta.get("redaction_subject")
            yield TableContract(
                source=source["name"],
                name=table["name"],
                identifier=table.get("identifier", f"{source['name']}__{table['name']}"),
                primary_key=tmeta["primary_key"],
                columns=tuple(_column(c, where) for c in table.get("columns", [])),
                asset_key=tuple(asset_key),
                kind=kind,
                watermark=tmeta.get("watermark"),
                drop_glob=smeta.get("drop_glob"),
                redaction_subject=RedactionSubject(**subject) if subject else None,
                description=table.get("description", ""),
            )


def load_contracts(staging_dir: Path = STAGING_DIR) -> dict[str, TableContract]:
    """All source tables keyed by ``source.table``, in a stable order."""
    contracts: dict[str, TableContract] = {}
    for path in sorted(staging_dir.glob("*/_*__sources.yml")):
        for contract in _tables_in(path):
            contracts[contract.qualified_name] = contract
    if not contracts:
        raise ContractError(f"no source contracts found under {staging_dir}")
    return contracts


def ingestion_order(contracts: dict[str, TableContract]) -> list[TableContract]:
    """Parents before children, so foreign keys can be checked against what is already in."""
    ordered: list[TableContract] = []
    seen: set[str] = set()

    def visit(name: str, stack: tuple[str, ...]) -> None:
        if name in seen:
            return
        if name in stack:
            raise ContractError(f"reference cycle: {' -> '.join((*stack, name))}")
        contract = contracts[name]
        for column in contract.columns:
            if column.references:
                parent = f"{column.references[0]}.{column.references[1]}"
                if parent not in contracts:
                    raise ContractError(f"{name}.{column.name} references unknown {parent}")
                if parent != name:
                    visit(parent, (*stack, name))
        seen.add(name)
        ordered.append(contract)

    for name in contracts:
        visit(name, ())
    return ordered
