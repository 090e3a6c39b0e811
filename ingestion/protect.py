"""Pseudonymization of a batch before it is written anywhere.

Every column the contract declares a direct identifier is replaced by its keyed token (and the
original goes to the encrypted vault); every free-text column is redacted with the identifiers
known for the row's subject; derived quasi-identifiers (birth year-month) are computed from the
clear value first, because after this step the clear value no longer exists outside memory.
A table whose records are counted in perturbed tables gets its permanent record key here too
(``derive: record_key``, :mod:`anonymization.cell_key`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from anonymization.cell_key import RECORD_KEY_DOMAIN, record_keys
from anonymization.redaction import Redactor
from anonymization.tokens import Tokenizer
from ingestion.contracts import TableContract

KnownIdentifiers = Mapping[str, Sequence[str]]


@dataclass
class ProtectedBatch:
    frame: pd.DataFrame
    vault_entries: dict[str, dict[str, str]] = field(
        default_factory=dict
    )  # domain -> token -> value


def _derive(frame: pd.DataFrame, contract: TableContract, tokenizer: Tokenizer) -> None:
    for col in contract.columns:
        if col.derived_from is None:
            continue
        if col.derive == "record_key":
            key = tokenizer.domain_key(RECORD_KEY_DOMAIN)
            ids = frame[col.derived_from].tolist()
            frame[col.name] = pd.array(record_keys(key, contract.qualified_name, ids), "Int64")
            continue
        source = pd.to_datetime(frame[col.derived_from], errors="coerce", format="mixed")
        if col.derive == "year_month":
            frame[col.name] = source.dt.strftime("%Y-%m").where(source.notna(), None)
        elif col.derive == "year":
            frame[col.name] = source.dt.year.astype("Int64")
        else:
            raise ValueError(f"{contract.qualified_name}.{col.name}: unknown derive {col.derive!r}")


def _as_text(series: pd.Series) -> pd.Series:
    """Identifier values as the text the tokenizer normalises (dates as ISO dates)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.dt.strftime("%Y-%m-%d").where(series.notna(), None)
    return series.map(lambda v: None if v is None or pd.isna(v) else str(v))


def protect_batch(
    frame: pd.DataFrame,
    contract: TableContract,
    tokenizer: Tokenizer,
    redactor: Redactor,
    known_per_row: Sequence[KnownIdentifiers] | None = None,
) -> ProtectedBatch:
    """Tokenize, redact and derive; returns the safe frame and the vault entries to store."""
    out = frame.copy()
    _derive(out, contract, tokenizer)
    vault: dict[str, dict[str, str]] = {}
    for col in contract.tokenized_columns:
        if col.name not in out.columns:
            continue
        assert col.token_domain is not None
        clear = _as_text(out[col.name])
        tokens = tokenizer.tokenize_series(col.token_domain, clear)
        entries = vault.setdefault(col.token_domain, {})
        for token, value in zip(tokens, clear, strict=True):
            if token is not None and value is not None:
                entries.setdefault(token, value)
        out[col.name] = tokens.astype(object).where(tokens.notna(), None)
    for col in contract.free_text_columns:
        if col.name not in out.columns:
            continue
        known = known_per_row if known_per_row is not None else [{}] * len(out)
        if len(known) != len(out):
            raise ValueError("known identifiers must be given for every row")
        out[col.name] = redactor.redact_series(out[col.name].reset_index(drop=True), known).values
    return ProtectedBatch(frame=out, vault_entries=vault)
