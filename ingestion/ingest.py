"""Ingest one source table: extract → validate → pseudonymize → bronze + quarantine.

Nothing is written until the batch is pseudonymized: clear values exist only in this process's
memory, and the originals of tokens leave it only encrypted, into the vault.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from anonymization.keyed_hash import column_engine
from anonymization.redaction import Redactor
from anonymization.tokens import Tokenizer
from anonymization.vault import TokenVault
from ingestion.contracts import TableContract
from ingestion.extract import (
    DropFile,
    Extract,
    UnreadableDrop,
    lookup_column,
    max_watermark,
    open_extract,
    pending_drops,
    read_columns_where_in,
    read_drop,
)
from ingestion.lake import (
    HELD_QUARANTINE_PREFIX,
    IngestionState,
    discard_uncommitted,
    known_keys,
)
from ingestion.protect import KnownIdentifiers, ProtectedBatch, protect_batch
from ingestion.subjects import SUBJECT_COLUMN, SubjectRules
from ingestion.validation import Duplicates, RowChecks, RowCheckWorker, validate_batch
from lakehouse.files import ParquetStream, write_parquet_atomic
from lakehouse.layout import LakeLayout
from lakehouse.settings import DEFAULT_INGEST_CHUNK_ROWS


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
    #: Erased and restricted subjects (lakehouse.subject_register); None: nobody is.
    subjects: SubjectRules | None = None
    #: Rows read, validated, pseudonymized and written at a time (``MERAJUT_INGEST_CHUNK_ROWS``):
    #: what bounds this process's memory, whatever the size of the table.
    chunk_rows: int = DEFAULT_INGEST_CHUNK_ROWS
    #: The process that row-checks the next chunk while this one writes the last; None: all in
    #: this process (one core besides the redactor's workers).
    row_checker: RowCheckWorker | None = None


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
    #: Rows of erased subjects the source still holds: not written anywhere.
    skipped_erased: int = 0
    #: Rows of restricted subjects: kept in the restricted zone, out of bronze.
    held_restricted: int = 0

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
    protected: pd.DataFrame,
    contract: TableContract,
    batch_id: str,
    now: datetime,
    *,
    first_row: int = 1,
) -> pd.DataFrame:
    """Quarantine rows of one chunk; ``first_row``: the batch's number of the chunk's first."""
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
            "row_number": range(first_row, first_row + len(protected)),
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


def _subject_of_value(
    ctx: IngestionContext, contract: TableContract, frame: pd.DataFrame
) -> tuple[str, dict[str, str]] | None:
    """(column, value -> subject ref) for a table whose rows lead to a child by a platform id
    (the child id, or a key of a table that has it); None for other tables."""
    rules = ctx.subjects
    if rules is None or frame.empty:
        return None
    link = rules.links.get(contract.qualified_name)
    if link is None or link.identifier or link.column not in frame.columns:
        return None
    values = sorted({str(v) for v in frame[link.column].dropna()})
    if link.via is None:
        children = dict(zip(values, values, strict=True))
    else:
        parent = ctx.contracts[link.via]
        assert link.via_key is not None
        children = lookup_column(
            _source_url(ctx, parent), parent.name, link.via_key, SUBJECT_COLUMN, values
        )
    refs = rules.refs(pd.Series(list(children.values()), dtype=object))
    return link.column, dict(zip(children, refs, strict=True))


def _owners(
    ctx: IngestionContext,
    contract: TableContract,
    protected: ProtectedBatch,
    source: pd.DataFrame,
) -> dict[str, dict[str, set[str]]]:
    """domain -> token -> the subjects whose data key encrypts its original in the vault.

    A row's subjects: the child its platform id leads to (``source`` holds the clear ids), or,
    for a table without one (the registry's verifications), the subjects who hold its unique
    identifier. Worked out only for a batch that has vault entries at all."""
    owners: dict[str, dict[str, set[str]]] = {}
    frame = protected.frame
    if frame.empty or not protected.vault_entries:
        return owners
    subject_of = _subject_of_value(ctx, contract, source)
    if subject_of is not None:
        column, ref_of = subject_of
        row_owners = [
            {ref_of[str(v)]} if v is not None and str(v) in ref_of else set() for v in frame[column]
        ]
    else:
        rules = ctx.subjects
        link = rules.links.get(contract.qualified_name) if rules is not None else None
        if link is None or not link.identifier or link.column not in frame.columns:
            return owners
        holders = ctx.vault.owners_of(t for t in frame[link.column] if t is not None)
        row_owners = [holders.get(t, set()) for t in frame[link.column]]
    for col in contract.tokenized_columns:
        if col.name not in frame.columns or col.token_domain is None:
            continue
        by_token = owners.setdefault(col.token_domain, {})
        for token, refs in zip(frame[col.name], row_owners, strict=True):
            if token is not None and refs:
                by_token.setdefault(token, set()).update(refs)
    return owners


@dataclass
class _BatchFiles:
    """One batch's four output files of a table, each written chunk by chunk and published
    together (before the commit) only when the whole batch is through."""

    bronze: ParquetStream
    quarantine: ParquetStream
    held: ParquetStream
    held_quarantine: ParquetStream
    #: When the batch was extracted: one time for all of its rows.
    now: datetime

    @classmethod
    def of(cls, ctx: IngestionContext, contract: TableContract, batch_id: str) -> _BatchFiles:
        held = ctx.layout.held_dir(contract)
        return cls(
            bronze=ParquetStream(ctx.layout.bronze_file(contract, batch_id)),
            quarantine=ParquetStream(ctx.layout.quarantine_file(contract, batch_id)),
            held=ParquetStream(held / f"{batch_id}.parquet"),
            held_quarantine=ParquetStream(held / f"{HELD_QUARANTINE_PREFIX}{batch_id}.parquet"),
            now=datetime.now(UTC),
        )

    def streams(self) -> tuple[ParquetStream, ...]:
        return (self.bronze, self.quarantine, self.held, self.held_quarantine)

    def publish(self, report: TableIngestReport) -> None:
        for stream in self.streams():
            if stream.publish():
                report.files.append(str(stream.path))

    def discard(self) -> None:
        for stream in self.streams():
            stream.discard()


@dataclass
class _Judges:
    """Duplicate verdicts of one extract, for the rows kept and (apart, as they are written
    apart) the rows held for restricted subjects."""

    keep: Duplicates
    held: Duplicates


def _split_by_fate(
    ctx: IngestionContext, contract: TableContract, frame: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """(rows to ingest, rows of restricted subjects to hold, rows of erased subjects)."""
    rules = ctx.subjects
    if rules is None or not rules.active or frame.empty:
        return frame, frame.iloc[:0], 0
    fates = rules.fates(
        contract.qualified_name,
        frame,
        tokenized=False,
        parent_subjects=lambda table, key, keys: lookup_column(
            _source_url(ctx, ctx.contracts[table]),
            ctx.contracts[table].name,
            key,
            SUBJECT_COLUMN,
            keys,
        ),
    )
    held = frame[(fates == "restricted").to_numpy()].reset_index(drop=True)
    keep = frame[(fates == "keep").to_numpy()].reset_index(drop=True)
    return keep, held, int((fates == "erased").sum())


@dataclass
class _Chunk:
    """One chunk between its row checks (perhaps running in the worker) and its writing."""

    keep: pd.DataFrame
    held: pd.DataFrame
    keep_checks: Future[RowChecks] | None
    held_checks: Future[RowChecks] | None


def _start_chunk(
    ctx: IngestionContext,
    contract: TableContract,
    frame: pd.DataFrame,
    worker: RowCheckWorker | None,
    report: TableIngestReport,
) -> _Chunk:
    """Count the chunk, set aside the rows of erased and restricted subjects, and hand its row
    checks to the worker (when there is one)."""
    report.extracted += len(frame)
    keep, held, erased = _split_by_fate(ctx, contract, frame)
    report.skipped_erased += erased
    report.held_restricted += len(held)

    def checks(part: pd.DataFrame) -> Future[RowChecks] | None:
        if worker is None or part.empty:
            return None
        return worker.submit(part, contract, ctx.as_of)

    return _Chunk(keep, held, checks(keep), checks(held))


def _finish_chunk(
    ctx: IngestionContext,
    contract: TableContract,
    chunk: _Chunk,
    batch_id: str,
    files: _BatchFiles,
    judges: _Judges,
    parent_keys: Mapping[str, set[str]],
    report: TableIngestReport,
) -> None:
    if len(chunk.held):
        _write_chunk(
            ctx, contract, chunk.held, batch_id, files, judges.held, parent_keys, report,
            held=True, row_checks=chunk.held_checks.result() if chunk.held_checks else None,
        )  # fmt: skip
    _write_chunk(
        ctx, contract, chunk.keep, batch_id, files, judges.keep, parent_keys, report,
        held=False, row_checks=chunk.keep_checks.result() if chunk.keep_checks else None,
    )  # fmt: skip


def _write_chunk(
    ctx: IngestionContext,
    contract: TableContract,
    frame: pd.DataFrame,
    batch_id: str,
    files: _BatchFiles,
    duplicates: Duplicates,
    parent_keys: Mapping[str, set[str]],
    report: TableIngestReport,
    *,
    held: bool,
    row_checks: RowChecks | None = None,
) -> None:
    """Validate, pseudonymize and append one chunk: to bronze and quarantine, or (``held``:
    rows of restricted subjects) to the restricted zone's held files."""
    result = validate_batch(
        frame,
        contract,
        as_of=ctx.as_of,
        known_parent_keys=parent_keys,
        duplicates=duplicates,
        row_checks=row_checks,
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
    for protected, source in ((valid, result.valid), (bad, result.quarantined)):
        owners = _owners(ctx, contract, protected, source)
        for domain, mapping in protected.vault_entries.items():
            ctx.vault.put_many(domain, mapping, owners.get(domain))
    rows_out = files.held if held else files.bronze
    bad_out = files.held_quarantine if held else files.quarantine
    if len(valid.frame):
        bronze = valid.frame[[c.name for c in contract.columns]].copy()
        bronze["_batch_id"] = batch_id
        bronze["_extracted_at"] = pd.Timestamp(files.now).tz_localize(None)
        rows_out.write(bronze)
    if len(bad.frame):
        bad_out.write(
            _quarantine_frame(bad.frame, contract, batch_id, files.now, first_row=bad_out.rows + 1)
        )
    if held:
        return
    report.loaded += len(valid.frame)
    report.quarantined += len(bad.frame)
    counts = Counter(result.quarantined["_reason"]) if len(result.quarantined) else Counter()
    for reason, n in counts.items():
        report.reasons[reason] = report.reasons.get(reason, 0) + int(n)


def _ingest_batch(
    ctx: IngestionContext,
    contract: TableContract,
    chunks: Iterable[pd.DataFrame],
    batch_id: str,
    judges: _Judges,
    report: TableIngestReport,
    on_chunk: Callable[[pd.DataFrame], None] | None = None,
    *,
    chunked: bool = False,
) -> None:
    """Every chunk of one batch through validation and protection into the batch's files,
    published when the last chunk is written (the caller commits them). The parents' keys are
    read once: a batch's foreign keys are checked against what was in the lake before it.

    ``chunked`` (a batch of more than one chunk) with a worker in the context: chunk n+1 is
    read and row-checked in the worker while chunk n is pseudonymized and written here, so at
    most two chunks are in memory. Duplicates are judged here, in chunk order.
    """
    parent_keys = _parent_keys(ctx, contract)
    worker = ctx.row_checker if chunked else None
    if worker is not None:
        worker.start_table(contract, parent_keys)
    files = _BatchFiles.of(ctx, contract, batch_id)
    waiting: deque[_Chunk] = deque()
    try:
        for frame in chunks:
            waiting.append(_start_chunk(ctx, contract, frame, worker, report))
            if on_chunk is not None:
                on_chunk(frame)
            if worker is None or len(waiting) > 1:
                chunk = waiting.popleft()
                _finish_chunk(ctx, contract, chunk, batch_id, files, judges, parent_keys, report)
        while waiting:
            chunk = waiting.popleft()
            _finish_chunk(ctx, contract, chunk, batch_id, files, judges, parent_keys, report)
        files.publish(report)
    finally:
        for chunk in waiting:
            for future in (chunk.keep_checks, chunk.held_checks):
                if future is not None:
                    future.cancel()
        files.discard()


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
    _commit(state, batch_id, report)
    drop.path.unlink(missing_ok=True)  # after the commit: a crash before leaves it, skipped


def _commit(state: IngestionState, batch_id: str, report: TableIngestReport) -> None:
    assert state.batches is not None
    state.batches.append(batch_id)
    state.skipped_erased, state.held_restricted = report.skipped_erased, report.held_restricted
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
    state.skipped_erased = state.held_restricted = 0
    with column_engine():  # the table's token columns hashed by chDB, a column at once
        return _ingest_table(ctx, contract, state, report)


def _ingest_table(
    ctx: IngestionContext,
    contract: TableContract,
    state: IngestionState,
    report: TableIngestReport,
) -> TableIngestReport:
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
            _ingest_batch(
                ctx, contract, [frame], batch_id, _Judges(Duplicates(), Duplicates()), report
            )
            state.drops.append(drop.sha256)
            _commit(state, batch_id, report)
        return report
    watermark = state.watermark
    extract = open_extract(_source_url(ctx, contract), contract, watermark)
    if extract.upto is None:
        report.watermark = watermark.isoformat() if watermark else None
        state.save()  # keeps what discard_uncommitted adopted or deleted
        return report
    latest: list[datetime] = []  # the greatest watermark read so far

    def note_watermark(frame: pd.DataFrame) -> None:
        mark = max_watermark(frame, contract)
        if mark is not None and (not latest or mark > latest[0]):
            latest[:] = [mark]

    chunked = extract.rows > ctx.chunk_rows
    if chunked:
        chunks: Iterable[pd.DataFrame] = extract.chunks(ctx.chunk_rows)
        judges = _judges(ctx, contract, extract)
    else:  # one chunk, judged on its own: no need to ask the source for repeated keys
        chunks = [_whole(extract, ctx.chunk_rows)]
        judges = _Judges(Duplicates(), Duplicates())
    _ingest_batch(
        ctx,
        contract,
        chunks,
        ctx.batch_id,
        judges,
        report,
        on_chunk=note_watermark,
        chunked=chunked,
    )
    if report.extracted == 0:  # every row went between the bound and the read: none to commit
        report.watermark = watermark.isoformat() if watermark else None
        state.save()
        return report
    if latest:
        state.watermark_value = report.watermark = latest[0].isoformat()
    _commit(state, ctx.batch_id, report)
    return report


def _whole(extract: Extract, chunk_rows: int) -> pd.DataFrame:
    """An extract that fits one chunk, as one frame (a row with no watermark written since the
    count would make a second chunk: it joins the first, so duplicates are judged together)."""
    frames = list(extract.chunks(chunk_rows))
    if len(frames) == 1:
        return frames[0]
    columns = [c.name for c in extract.contract.extracted_columns]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def _judges(ctx: IngestionContext, contract: TableContract, extract: Extract) -> _Judges:
    """Duplicate verdicts for a chunked extract, prepared from the rows whose key repeats."""
    repeated = extract.repeated_keys()
    judges = _Judges(Duplicates(repeated), Duplicates(repeated))
    if repeated:
        rows = extract.rows_with_keys(repeated)
        keep, held, _ = _split_by_fate(ctx, contract, rows)
        parent_keys = _parent_keys(ctx, contract)
        for part, judge in ((keep, judges.keep), (held, judges.held)):
            judge.prepare(part, contract, as_of=ctx.as_of, known_parent_keys=parent_keys)
    return judges


def ingest_all(ctx: IngestionContext, order: Sequence[TableContract]) -> list[TableIngestReport]:
    return [ingest_table(ctx, contract) for contract in order]
