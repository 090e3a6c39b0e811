"""Ingest one source table: extract → validate → pseudonymize → bronze + quarantine.

Nothing is written until the batch is pseudonymized: clear values exist only in this process's
memory, and the originals of tokens leave it only encrypted, into the vault.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from anonymization.redaction import Redactor
from anonymization.tokens import Tokenizer
from anonymization.vault import TokenVault
from ingestion.contracts import TableContract
from ingestion.extract import (
    DropFile,
    UnreadableDrop,
    extract_since,
    lookup_column,
    max_watermark,
    pending_drops,
    read_columns_where_in,
    read_drop,
)
from ingestion.lake import IngestionState, discard_uncommitted, known_keys
from ingestion.protect import KnownIdentifiers, protect_batch
from ingestion.validation import validate_batch
from lakehouse.files import write_parquet_atomic
from lakehouse.layout import LakeLayout


@dataclass
class IngestionContext:
    layout: LakeLayout
    contracts: Mapping[str, TableContract]
    source_urls: Mapping[str, str]
    drops_dir: Path
    tokenizer: Tokenizer
    redactor: Redactor
    vault: TokenVault
    as_of: datetime
    batch_id: str


@dataclass
class TableIngestReport:
    table: str
    extracted: int = 0
    loaded: int = 0
    quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    watermark: str | None = None
    #: Drop files rejected whole this run: {file, sha256, reason, detail}.
    rejected_drops: list[dict[str, str]] = field(default_factory=list)
    #: Batch files of a run that died before committing them, deleted before extracting.
    discarded: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def _source_url(ctx: IngestionContext, contract: TableContract) -> str:
    try:
        return ctx.source_urls[contract.source]
    except KeyError:
        raise KeyError(f"no source URL configured for service {contract.source!r}") from None


def _parent_keys(ctx: IngestionContext, contract: TableContract) -> dict[str, set[str]]:
    keys: dict[str, set[str]] = {}
    for col in contract.columns:
        if col.references:
            parent = ctx.contracts[f"{col.references[0]}.{col.references[1]}"]
            keys[parent.qualified_name] = known_keys(ctx.layout, parent)
    return keys


def _identifiers_by_subject(
    ctx: IngestionContext, subject_column: str, subject_ids: list[str]
) -> dict[str, dict[str, list[str]]]:
    """For each subject (child): every direct identifier the sources hold about them or their
    guardians, by token domain — what a case worker's note may mention."""
    found: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for contract in ctx.contracts.values():
        if contract.kind != "database" or not contract.tokenized_columns:
            continue
        has_subject = contract.primary_key == subject_column or any(
            c.name == subject_column for c in contract.columns
        )
        if not has_subject:
            continue
        columns = [c for c in contract.tokenized_columns if c.derived_from is None]
        frame = read_columns_where_in(
            _source_url(ctx, contract),
            contract.name,
            [subject_column, *(c.name for c in columns)],
            subject_column,
            subject_ids,
        )
        for row in frame.itertuples(index=False):
            subject = str(getattr(row, subject_column))
            for col in columns:
                value = getattr(row, col.name)
                if value is not None and not pd.isna(value) and str(value).strip():
                    assert col.token_domain is not None
                    found[subject][col.token_domain].append(str(value))
    return found


def _known_per_row(
    ctx: IngestionContext, contract: TableContract, frame: pd.DataFrame
) -> list[KnownIdentifiers] | None:
    subject = contract.redaction_subject
    if subject is None or frame.empty:
        return None
    via_keys = sorted({str(v) for v in frame[subject.via_key].dropna()})
    subject_of = lookup_column(
        _source_url(ctx, contract),
        subject.via_table,
        subject.via_key,
        subject.subject_column,
        via_keys,
    )
    identifiers = _identifiers_by_subject(
        ctx, subject.subject_column, sorted(set(subject_of.values()))
    )
    empty: dict[str, list[str]] = {}
    return [
        identifiers.get(subject_of.get(str(v), ""), empty) if v is not None else empty
        for v in frame[subject.via_key]
    ]


def _quarantine_frame(
    protected: pd.DataFrame, contract: TableContract, batch_id: str, now: datetime
) -> pd.DataFrame:
    content = [c.name for c in contract.columns if c.name in protected.columns]
    records = protected[content].astype(object).where(protected[content].notna(), None)
    source_row = (
        protected["_source_row"]
        if "_source_row" in protected
        else pd.Series([None] * len(protected))
    )
    return pd.DataFrame(
        {
            "source_table": contract.qualified_name,
            "batch_id": batch_id,
            "row_number": range(1, len(protected) + 1),
            "source_row": pd.array(source_row, dtype="UInt32"),
            "record_key": protected[contract.primary_key].map(
                lambda v: None if v is None else str(v)
            ),
            "reason": protected["_reason"],
            "reason_column": protected["_reason_column"],
            "detail": protected["_detail"],
            "record_json": [
                json.dumps(r, default=str, ensure_ascii=False) for r in records.to_dict("records")
            ],
            "quarantined_at": pd.Timestamp(now).tz_localize(None),
        }
    )


def _process_batch(
    ctx: IngestionContext,
    contract: TableContract,
    frame: pd.DataFrame,
    batch_id: str,
    report: TableIngestReport,
) -> None:
    now = datetime.now(UTC)
    result = validate_batch(
        frame, contract, as_of=ctx.as_of, known_parent_keys=_parent_keys(ctx, contract)
    )
    valid = protect_batch(
        result.valid,
        contract,
        ctx.tokenizer,
        ctx.redactor,
        _known_per_row(ctx, contract, result.valid),
    )
    bad = protect_batch(
        result.quarantined,
        contract,
        ctx.tokenizer,
        ctx.redactor,
        _known_per_row(ctx, contract, result.quarantined),
    )
    # Vault first: a token in the lake must always be resolvable by the audited reveal command.
    for entries in (valid.vault_entries, bad.vault_entries):
        for domain, mapping in entries.items():
            ctx.vault.put_many(domain, mapping)
    if len(valid.frame):
        bronze = valid.frame[[c.name for c in contract.columns]].copy()
        bronze["_batch_id"] = batch_id
        bronze["_extracted_at"] = pd.Timestamp(now).tz_localize(None)
        path = ctx.layout.bronze_file(contract, batch_id)
        write_parquet_atomic(bronze, path)
        report.files.append(str(path))
    if len(bad.frame):
        path = ctx.layout.quarantine_file(contract, batch_id)
        write_parquet_atomic(_quarantine_frame(bad.frame, contract, batch_id, now), path)
        report.files.append(str(path))
    report.extracted += len(frame)
    report.loaded += len(valid.frame)
    report.quarantined += len(bad.frame)
    counts = Counter(result.quarantined["_reason"]) if len(result.quarantined) else Counter()
    for reason, n in counts.items():
        report.reasons[reason] = report.reasons.get(reason, 0) + int(n)


def _reject_drop(
    ctx: IngestionContext,
    contract: TableContract,
    drop: DropFile,
    error: UnreadableDrop,
    batch_id: str,
    state: IngestionState,
    report: TableIngestReport,
) -> None:
    """Move an unreadable drop to the restricted zone (it holds clear identifiers), record a
    file-level quarantine row with its reason and sha256, and commit: it is never read again."""
    now = datetime.now(UTC)
    target = ctx.layout.rejected_drops_dir(contract) / f"{drop.sha256[:16]}-{drop.path.name}"
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(drop.path, tmp)
    os.chmod(tmp, 0o600)
    os.replace(tmp, target)
    record = {"file": drop.path.name, "sha256": drop.sha256, "bytes": drop.path.stat().st_size}
    row = pd.DataFrame(
        {
            "source_table": [contract.qualified_name],
            "batch_id": [batch_id],
            "row_number": pd.array([0], dtype="UInt32"),
            "source_row": pd.array([None], dtype="UInt32"),
            "record_key": [None],
            "reason": [error.reason],
            "reason_column": [None],
            "detail": [f"{drop.path.name}: {error.detail}"],
            "record_json": [json.dumps(record)],
            "quarantined_at": [pd.Timestamp(now).tz_localize(None)],
        }
    )
    path = ctx.layout.quarantine_file(contract, batch_id)
    write_parquet_atomic(row, path)
    report.files.append(str(path))
    report.quarantined += 1
    report.reasons[error.reason] = report.reasons.get(error.reason, 0) + 1
    report.rejected_drops.append(
        {"file": drop.path.name, "sha256": drop.sha256, "reason": error.reason,
         "detail": error.detail, "kept_at": str(target)}
    )  # fmt: skip
    state.drops.append(drop.sha256)
    state.rejected_drops.append(drop.sha256)
    _commit(state, batch_id)
    drop.path.unlink(missing_ok=True)  # after the commit: a crash before leaves it, skipped


def _commit(state: IngestionState, batch_id: str) -> None:
    assert state.batches is not None
    state.batches.append(batch_id)
    state.save()


def _finish_moves(ctx: IngestionContext, contract: TableContract, state: IngestionState) -> None:
    """Remove originals of rejected drops a crash left between the commit and the unlink."""
    rejected = set(state.rejected_drops)
    if not rejected or not ctx.drops_dir.exists():
        return
    assert contract.drop_glob is not None
    for drop in pending_drops(ctx.drops_dir, contract.drop_glob, set()):
        if drop.sha256 in rejected:
            drop.path.unlink(missing_ok=True)


def ingest_table(ctx: IngestionContext, contract: TableContract) -> TableIngestReport:
    report = TableIngestReport(table=contract.qualified_name)
    state = IngestionState.load(ctx.layout.ingestion_state(contract))
    report.discarded = [str(p) for p in discard_uncommitted(ctx.layout, contract, state)]
    if contract.kind == "file_drop":
        assert contract.drop_glob is not None
        _finish_moves(ctx, contract, state)
        for drop in pending_drops(ctx.drops_dir, contract.drop_glob, set(state.drops)):
            batch_id = f"{ctx.batch_id}-{drop.path.stem}"
            try:
                frame = read_drop(drop, contract)
            except UnreadableDrop as error:
                _reject_drop(ctx, contract, drop, error, batch_id, state, report)
                continue
            _process_batch(ctx, contract, frame, batch_id, report)
            state.drops.append(drop.sha256)
            _commit(state, batch_id)
        return report
    watermark = state.watermark
    frame = extract_since(_source_url(ctx, contract), contract, watermark)
    if frame.empty:
        report.watermark = watermark.isoformat() if watermark else None
        state.save()  # keeps what discard_uncommitted adopted or deleted
        return report
    _process_batch(ctx, contract, frame, ctx.batch_id, report)
    new_mark = max_watermark(frame, contract)
    if new_mark is not None:
        state.watermark_value = new_mark.isoformat()
        report.watermark = new_mark.isoformat()
    _commit(state, ctx.batch_id)
    return report


def ingest_all(ctx: IngestionContext, order: Sequence[TableContract]) -> list[TableIngestReport]:
    return [ingest_table(ctx, contract) for contract in order]
