"""Carrying out the data protection officer's requests in the lake and the warehouse's raw schema.

Run at the start of a pipeline run, before anything is ingested, for the requests the register
holds as pending:

* **erased** subjects: their rows are removed from every bronze, quarantine and held file (each
  affected file rewritten atomically, the old one replaced), from the warehouse's raw tables
  (each affected table copied without them and the old one dropped at once, so no part file
  keeps them), and their values that no other subject holds are deleted from the vault;
* **restricted** subjects: their rows move from bronze and quarantine into the restricted
  zone's held files and out of the raw tables;
* **lifted** restrictions: the held rows come back into bronze as a new committed batch (the
  raw load then loads them like any batch).

The dbt models, the research release and the gold snapshot are rebuilt from raw by the same run,
so everything derived from the subject goes with their raw rows. The parents' keys are read
before any file is rewritten: a case note finds its child through its case, whose row may be
among those removed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ingestion.contracts import TableContract
from ingestion.lake import (
    HELD_QUARANTINE_PREFIX,
    IngestionState,
    held_files,
)
from ingestion.raw_load import QUARANTINE_TABLE, RAW_DATABASE
from ingestion.subjects import (
    UNIQUE_IDENTIFIER_DOMAINS,
    SubjectRules,
    lake_parent_subjects,
    quarantine_records,
)
from lakehouse.files import write_parquet_atomic
from lakehouse.layout import LakeLayout

__all__ = ["LakeScrub", "remove_raw_rows", "return_lifted", "scrub_lake"]


@dataclass
class LakeScrub:
    """What one run removed (erased), moved out (restricted) or brought back (lifted)."""

    erased_rows: Counter[str] = field(default_factory=Counter)
    held_rows: Counter[str] = field(default_factory=Counter)
    returned_rows: Counter[str] = field(default_factory=Counter)
    files_rewritten: list[str] = field(default_factory=list)
    #: raw table identifier -> primary keys to take out of it.
    raw_keys: dict[str, set[str]] = field(default_factory=dict)
    #: (source table, batch id, row number) of quarantine rows to take out of raw.
    quarantine_rows: set[tuple[str, str, int]] = field(default_factory=set)
    #: Tokens in the erased rows that no kept row holds (their vault copies of no subject go).
    orphaned_tokens: set[str] = field(default_factory=set)
    #: Unreadable drop files (kept as delivered, clear text) that held an erased subject's NIK.
    rejected_drops_removed: list[str] = field(default_factory=list)

    def split(
        self, table: str, path: Path, frame: pd.DataFrame, fates: pd.Series, held: Path
    ) -> None:
        """Rewrite ``path`` with the rows kept, the restricted ones appended to ``held``."""
        restricted = (fates == "restricted").to_numpy()
        if restricted.any():
            _append_held(held, frame[restricted])
        write_parquet_atomic(frame[(fates == "keep").to_numpy()].reset_index(drop=True), path)
        self.files_rewritten.append(str(path))
        self.erased_rows[table] += int((fates == "erased").sum())
        self.held_rows[table] += int(restricted.sum())

    def to_dict(self) -> dict[str, Any]:
        return {
            "erased_rows": dict(self.erased_rows),
            "held_rows": dict(self.held_rows),
            "returned_rows": dict(self.returned_rows),
            "files_rewritten": len(self.files_rewritten),
            "rejected_drops_removed": len(self.rejected_drops_removed),
        }


def _tokenized(contract: TableContract) -> list[str]:
    return [c.name for c in contract.tokenized_columns]


def _held_subject_rows(path: Path, frame: pd.DataFrame) -> pd.DataFrame:
    """The rows whose subject a held file's row is: the records of a held quarantine file, the
    rows themselves otherwise."""
    return quarantine_records(frame) if path.stem.startswith(HELD_QUARANTINE_PREFIX) else frame


def _append_held(path: Path, rows: pd.DataFrame) -> None:
    if path.exists():
        rows = pd.concat([pd.read_parquet(path), rows], ignore_index=True)
    write_parquet_atomic(rows.reset_index(drop=True), path)


def scrub_lake(
    layout: LakeLayout,
    contracts: Mapping[str, TableContract],
    rules: SubjectRules,
) -> LakeScrub:
    """Remove erased subjects' rows and move restricted subjects' rows out of bronze and
    quarantine (and erased subjects' rows out of the held files)."""
    out = LakeScrub()
    if not rules.active:
        return out

    parent_subjects = lake_parent_subjects(layout, contracts, rules.links)

    erased_tokens: set[str] = set()
    kept_token_frames: list[pd.Series] = []
    for name, contract in contracts.items():
        if name not in rules.links:
            continue
        tokenized = _tokenized(contract)
        for path in layout.bronze_files(contract):
            frame = pd.read_parquet(path)
            fates = rules.fates(name, frame, tokenized=True, parent_subjects=parent_subjects)
            keep = (fates == "keep").to_numpy()
            if keep.all():
                kept_token_frames += [frame[c].dropna() for c in tokenized]
                continue
            erased = (fates == "erased").to_numpy()
            for col in tokenized:
                erased_tokens.update(frame.loc[erased, col].dropna())
                kept_token_frames.append(frame.loc[keep, col].dropna())
            removed = frame.loc[~keep, contract.primary_key].dropna().astype(str)
            out.raw_keys.setdefault(contract.identifier, set()).update(removed)
            out.split(name, path, frame, fates, layout.held_dir(contract) / path.name)
        for path in layout.quarantine_files(contract):
            frame = pd.read_parquet(path)
            records = quarantine_records(frame)
            fates = rules.fates(name, records, tokenized=True, parent_subjects=parent_subjects)
            keep = (fates == "keep").to_numpy()
            if keep.all():
                continue
            erased = (fates == "erased").to_numpy()
            for col in tokenized:
                if col in records.columns:
                    erased_tokens.update(records.loc[erased, col].dropna())
            out.quarantine_rows.update(
                (str(r.source_table), str(r.batch_id), int(r.row_number))
                for r in frame.loc[~keep].itertuples(index=False)
            )
            held = layout.held_dir(contract) / f"{HELD_QUARANTINE_PREFIX}{path.name}"
            out.split(name, path, frame, fates, held)
        _scrub_held(layout, contract, rules, parent_subjects, out, erased_tokens)
    kept = (
        set(pd.concat(kept_token_frames, ignore_index=True).unique())
        if kept_token_frames
        else set()
    )
    out.orphaned_tokens = erased_tokens - kept
    out.rejected_drops_removed = _remove_rejected_drops(layout, rules)
    return out


_NIK_CANDIDATE = re.compile(rb"(?<!\d)\d{16}(?!\d)")


def _remove_rejected_drops(layout: LakeLayout, rules: SubjectRules) -> list[str]:
    """Delete the unreadable drop files kept as delivered (``restricted/rejected_drops``) that
    hold an erased subject's NIK: they are clear text, and nothing can be read out of them
    row by row. Their quarantine rows (file name, sha256, reason) stay."""
    if not rules.erased_identifiers:
        return []
    removed = []
    for path in sorted((layout.restricted / "rejected_drops").rglob("*")):
        if not path.is_file():
            continue
        numbers = {m.decode() for m in _NIK_CANDIDATE.findall(path.read_bytes())}
        tokens = {rules.tokenizer.token(UNIQUE_IDENTIFIER_DOMAINS[0], n) for n in numbers}
        if tokens & rules.erased_identifiers:
            path.unlink()
            removed.append(str(path))
    return removed


def _scrub_held(
    layout: LakeLayout,
    contract: TableContract,
    rules: SubjectRules,
    parent_subjects: Any,
    out: LakeScrub,
    erased_tokens: set[str],
) -> None:
    """Erase from the held files the rows of subjects who were restricted, then erased."""
    erasing = SubjectRules(
        rules.tokenizer,
        erased=rules.erased,
        erased_identifiers=rules.erased_identifiers,
        links=rules.links,
    )
    for path in held_files(layout, contract):
        frame = pd.read_parquet(path)
        subject_rows = _held_subject_rows(path, frame)
        fates = erasing.fates(
            contract.qualified_name, subject_rows, tokenized=True, parent_subjects=parent_subjects
        )
        erased = (fates == "erased").to_numpy()
        if not erased.any():
            continue
        for col in _tokenized(contract):
            if col in subject_rows.columns:
                erased_tokens.update(subject_rows.loc[erased, col].dropna())
        if erased.all():
            path.unlink()
        else:
            write_parquet_atomic(frame[~erased].reset_index(drop=True), path)
        out.files_rewritten.append(str(path))
        out.erased_rows[contract.qualified_name] += int(erased.sum())


def return_lifted(
    layout: LakeLayout,
    contracts: Mapping[str, TableContract],
    rules: SubjectRules,
    batch_id: str,
) -> Counter[str]:
    """Bring the held rows of subjects whose restriction is lifted (``rules.restricted`` names
    them here) back into bronze and quarantine as batch ``batch_id``, committed per table."""
    returned: Counter[str] = Counter()
    if not rules.restricted and not rules.restricted_identifiers:
        return returned

    parent_subjects = lake_parent_subjects(layout, contracts, rules.links)
    for name, contract in contracts.items():
        if name not in rules.links:
            continue
        back: list[pd.DataFrame] = []
        back_quarantine: list[pd.DataFrame] = []
        rewrites: list[tuple[Path, pd.DataFrame | None]] = []
        for path in held_files(layout, contract):
            frame = pd.read_parquet(path)
            quarantine = path.stem.startswith(HELD_QUARANTINE_PREFIX)
            subject_rows = _held_subject_rows(path, frame)
            fates = rules.fates(name, subject_rows, tokenized=True, parent_subjects=parent_subjects)
            lifted = (fates == "restricted").to_numpy()
            if not lifted.any():
                continue
            (back_quarantine if quarantine else back).append(frame[lifted])
            rewrites.append((path, None if lifted.all() else frame[~lifted].reset_index(drop=True)))
        if not back and not back_quarantine:
            continue
        state = IngestionState.load(layout.ingestion_state(contract))
        if back:
            rows = pd.concat(back, ignore_index=True)
            rows["_batch_id"] = batch_id
            write_parquet_atomic(rows, layout.bronze_file(contract, batch_id))
            returned[name] += len(rows)
        if back_quarantine:
            rows = pd.concat(back_quarantine, ignore_index=True)
            write_parquet_atomic(rows, layout.quarantine_file(contract, batch_id))
            returned[name] += len(rows)
        if state.batches is not None:
            state.batches.append(batch_id)
        state.save()  # the commit point: the returned rows are now a batch like any other
        for path, rest in rewrites:
            if rest is None:
                path.unlink()
            else:
                write_parquet_atomic(rest, path)
    return returned


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _table_exists(client: Any, table: str) -> bool:
    rows = client.query(
        f"select count() from system.tables where database = '{RAW_DATABASE}' and name = {_literal(table)}"
    ).result_rows
    return bool(rows[0][0])


def _rewrite_without(client: Any, table: str, condition: str) -> int:
    """Copy ``table`` without the rows matching ``condition``, swap the copy in and drop the
    old table at once (SYNC): no part file of the old table is left on disk."""
    full = f"{RAW_DATABASE}.{table}"
    matching = int(client.query(f"select count() from {full} where {condition}").result_rows[0][0])
    if matching == 0:
        return 0
    scratch = f"{RAW_DATABASE}.`{table}__scrub`"
    client.command(f"drop table if exists {scratch} sync")
    client.command(f"create table {scratch} as {full}")
    client.command(f"insert into {scratch} select * from {full} where not ({condition})")
    client.command(f"exchange tables {full} and {scratch}")
    client.command(f"drop table {scratch} sync")
    return matching


def remove_raw_rows(
    client: Any, contracts: Iterable[TableContract], scrub: LakeScrub
) -> dict[str, int]:
    """Take the scrubbed rows out of the raw tables; returns rows removed per raw table."""
    removed: dict[str, int] = {}
    for contract in contracts:
        keys = scrub.raw_keys.get(contract.identifier)
        if not keys or not _table_exists(client, contract.identifier):
            continue
        listed = ", ".join(_literal(k) for k in sorted(keys))
        condition = f"toString(`{contract.primary_key}`) in ({listed})"
        removed[contract.identifier] = _rewrite_without(client, contract.identifier, condition)
    if scrub.quarantine_rows and _table_exists(client, QUARANTINE_TABLE):
        listed = ", ".join(
            f"({_literal(t)}, {_literal(b)}, {n})" for t, b, n in sorted(scrub.quarantine_rows)
        )
        condition = f"(source_table, batch_id, row_number) in ({listed})"
        removed[QUARANTINE_TABLE] = _rewrite_without(client, QUARANTINE_TABLE, condition)
    return removed
