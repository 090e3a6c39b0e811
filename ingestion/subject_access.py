"""A subject access export: everything the lakehouse holds about one child, decrypted.

The rows come from the lake (bronze, quarantine, and the held files of a restricted subject),
found by the same links that erasure uses (:mod:`ingestion.subjects`), so an export and an
erasure can never disagree about what is the subject's. Tokens are replaced by the originals
the vault holds under the subject's own data key (a value the child shares with someone else
is held under each of their keys), including the tokens inside redacted case notes. The data
dictionary says, for every table and column exported, what it means and how sensitive it is,
so that the export can be read by the guardian it is given to (portability: JSON, one object
per table row, ISO dates).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from anonymization.vault import TokenVault
from ingestion.contracts import STAGING_DIR, ColumnContract, TableContract
from ingestion.lake import HELD_QUARANTINE_PREFIX, bronze_and_held_files, held_files
from ingestion.subjects import SubjectRules, lake_parent_subjects, quarantine_records
from lakehouse.layout import LakeLayout

__all__ = ["export_subject"]

_TOKEN_IN_TEXT = re.compile(r"\[(?P<domain>[a-z_]+):(?P<token>[a-z]+_[0-9a-f]{20})\]")


def _plain(value: Any) -> Any:
    if value is None or (not isinstance(value, list | dict | str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


def _detokenize(value: Any, originals: Mapping[str, str]) -> Any:
    if not isinstance(value, str):
        return value
    if value in originals:
        return originals[value]
    return _TOKEN_IN_TEXT.sub(lambda m: originals.get(m.group("token"), m.group(0)), value)


_DOMAIN_WORDS = {
    "person_name": "full name",
    "nik": "NIK (national identity number)",
    "phone": "phone number",
    "address": "address",
    "birth_date": "date of birth",
    "place": "place",
}


def _staging_descriptions(contract: TableContract) -> dict[str, str]:
    """Column descriptions of the table's staging model (same names for columns that are not
    identifiers), so the dictionary says what the analysts' documentation says."""
    path = STAGING_DIR / contract.source / f"stg_{contract.source}__{contract.name}.yml"
    if not path.exists():
        return {}
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {
        c["name"]: " ".join(str(c.get("description") or "").split())
        for model in doc.get("models", [])
        for c in model.get("columns", [])
        if c.get("description")
    }


def _describe(
    contract: TableContract, column: ColumnContract, staged: Mapping[str, str]
) -> str | None:
    if column.description:
        return column.description
    if column.token_domain is not None:
        what = _DOMAIN_WORDS.get(column.token_domain, column.token_domain.replace("_", " "))
        return (
            f"The {what} as the {contract.source.replace('_', ' ')} service holds it, restored "
            "from the encrypted vault for this export (the lake keeps only a keyed token of it)."
        )
    return staged.get(column.name)


def _dictionary(contract: TableContract) -> dict[str, Any]:
    staged = _staging_descriptions(contract)
    return {
        "description": " ".join(contract.description.split()),
        "columns": {
            c.name: {
                "type": c.data_type,
                "sensitivity": c.sensitivity,
                "description": _describe(contract, c, staged),
                **({"identifier_kind": c.token_domain} if c.token_domain else {}),
                **({"derived_from": c.derived_from} if c.derived_from else {}),
            }
            for c in contract.columns
            if c.sensitivity != "perturbation_key"
        },
    }


def export_subject(
    layout: LakeLayout,
    contracts: Mapping[str, TableContract],
    rules: SubjectRules,
    vault: TokenVault,
    *,
    subject_id: str,
    status: str,
    actor: str,
    reason: str,
) -> dict[str, Any]:
    """The export document (``rules.restricted`` names the one subject to find)."""
    (ref,) = rules.restricted
    originals = {
        token: value for _, token, value in vault.subject_entries(ref, actor=actor, reason=reason)
    }

    parent_subjects = lake_parent_subjects(layout, contracts, rules.links)
    records: dict[str, list[dict[str, Any]]] = {}
    quarantined: dict[str, list[dict[str, Any]]] = {}
    for name, contract in contracts.items():
        if name not in rules.links:
            continue
        hidden = {c.name for c in contract.columns if c.sensitivity == "perturbation_key"}
        for path in bronze_and_held_files(layout, contract):
            frame = pd.read_parquet(path)
            mine = rules.fates(name, frame, tokenized=True, parent_subjects=parent_subjects)
            for row in frame[(mine == "restricted").to_numpy()].to_dict("records"):
                records.setdefault(name, []).append(
                    {
                        k: _detokenize(_plain(v), originals)
                        for k, v in row.items()
                        if not k.startswith("_") and k not in hidden
                    }
                )
        quarantine_paths = [
            *layout.quarantine_files(contract),
            *(f for f in held_files(layout, contract) if f.stem.startswith(HELD_QUARANTINE_PREFIX)),
        ]
        for path in quarantine_paths:
            frame = pd.read_parquet(path)
            rows = quarantine_records(frame)
            mine = rules.fates(name, rows, tokenized=True, parent_subjects=parent_subjects)
            for (_, q), (_, record) in zip(
                frame[(mine == "restricted").to_numpy()].iterrows(),
                rows[(mine == "restricted").to_numpy()].iterrows(),
                strict=True,
            ):
                quarantined.setdefault(name, []).append(
                    {
                        "reason": q["reason"],
                        "detail": q["detail"],
                        "record": {
                            k: _detokenize(_plain(v), originals)
                            for k, v in record.items()
                            if k not in hidden
                        },
                    }
                )
    tables = sorted({*records, *quarantined})
    return {
        "subject": {"id": subject_id, "processing": status},
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "exported_by": actor,
        "reason": reason,
        "about": (
            "Everything the MerajutASA lakehouse holds about this child and their guardians: "
            "the records ingested from the platform's services, with every identifier "
            "restored from the encrypted vault, and records held back by a quality check "
            "(quarantined) with the reason. Published statistics count children only in "
            "aggregates; research releases hold a re-keyed record that cannot be linked back "
            "without the release key."
        ),
        "records": records,
        "quarantined_records": quarantined,
        "data_dictionary": {t: _dictionary(contracts[t]) for t in tables},
        "vault_values": len(originals),
    }


def write_export(document: Mapping[str, Any], path: Path) -> Path:
    """Write the export with mode 0600 (it holds clear identifiers)."""
    import os

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(document, fh, ensure_ascii=False, indent=2, default=str)
    os.chmod(path, 0o600)
    return path
