"""Row-level validation of an extracted batch against its source contract.

Great Expectations evaluates the declarative column rules (required, accepted values, patterns,
ranges, NIK structure) and reports *which rows* failed; we turn that into one quarantine reason
per row. Type coercion is done in pandas first because it decides what the expectations can even
look at; foreign keys (a set lookup against the parents already in the lake) and duplicates are
checked in pandas too. A row fails with the first reason in
``REASON_PRIORITY``; all of its failures are kept in ``detail``.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import weakref
from collections.abc import Collection, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from ingestion.contracts import ColumnContract, TableContract
from lakehouse.reference.nik import NIK_REGEX
from lakehouse.worker_processes import exit_with_parent

REASON_PRIORITY = (
    "missing_required",
    "malformed_value",
    "invalid_nik",
    "future_date",
    "orphan_fk",
    "duplicate_row",
    "conflicting_duplicate",
)


@dataclass
class ValidationResult:
    valid: pd.DataFrame
    quarantined: pd.DataFrame  # the failing rows plus reason, reason_column, detail
    expectations_evaluated: int


def _coerce(series: pd.Series, column: ColumnContract) -> tuple[pd.Series, pd.Series]:
    """Cast to the declared type; returns (typed values, mask of present-but-uncastable)."""
    present = series.notna() & (series.astype("string").str.strip() != "")
    if column.data_type == "date":
        typed = pd.to_datetime(series, errors="coerce", format="mixed").dt.normalize()
    elif column.data_type == "datetime":
        typed = pd.to_datetime(series, errors="coerce", format="mixed")
    elif column.data_type == "int":
        typed = pd.to_numeric(series, errors="coerce").astype("Int64")
    elif column.data_type == "bool":
        lowered = series.astype("string").str.strip().str.lower()
        mapping = {"1": True, "true": True, "t": True, "0": False, "false": False, "f": False}
        typed = lowered.map(mapping).astype("boolean")
    else:
        typed = series.astype("string").where(present, None)
    failed = present & typed.isna()
    return typed.where(present, None) if column.data_type in ("string", "text") else typed, failed


class _Gx:
    """One ephemeral Great Expectations context for the process, created on first use."""

    _context: Any = None

    @classmethod
    def context(cls) -> Any:
        import great_expectations as gx

        if cls._context is None:
            from great_expectations.data_context.types.base import ProgressBarsConfig

            logging.getLogger("great_expectations").setLevel(logging.WARNING)
            cls._context = gx.get_context(mode="ephemeral")
            # Per-batch progress bars would flood the run logs.
            cls._context.variables.progress_bars = ProgressBarsConfig(
                globally=False, metric_calculations=False
            )
            source = cls._context.data_sources.add_pandas("ingestion")
            asset = source.add_dataframe_asset("batch")
            asset.add_batch_definition_whole_dataframe("whole")
        return cls._context

    @classmethod
    def batch(cls, frame: pd.DataFrame) -> Any:
        definition = (
            cls.context()
            .data_sources.get("ingestion")
            .get_asset("batch")
            .get_batch_definition("whole")
        )
        return definition.get_batch(batch_parameters={"dataframe": frame})


def _expectations(contract: TableContract, as_of: datetime) -> list[tuple[str, str, Any]]:
    import great_expectations as gx

    exp = gx.expectations
    out: list[tuple[str, str, Any]] = []
    for col in contract.extracted_columns:
        if col.required:
            out.append(
                ("missing_required", col.name, exp.ExpectColumnValuesToNotBeNull(column=col.name))
            )
        if col.accepted_values is not None:
            out.append(
                (
                    "malformed_value",
                    col.name,
                    exp.ExpectColumnValuesToBeInSet(
                        column=col.name, value_set=list(col.accepted_values)
                    ),
                )
            )
        if col.pattern:
            out.append(
                (
                    "malformed_value",
                    col.name,
                    exp.ExpectColumnValuesToMatchRegex(column=col.name, regex=col.pattern),
                )
            )
        if col.minimum is not None:
            out.append(
                (
                    "malformed_value",
                    col.name,
                    exp.ExpectColumnValuesToBeBetween(column=col.name, min_value=col.minimum),
                )
            )
        if col.nik:
            out.append(
                (
                    "invalid_nik",
                    col.name,
                    exp.ExpectColumnValuesToMatchRegex(column=col.name, regex=NIK_REGEX),
                )
            )
        if col.not_after_as_of and col.data_type in ("date", "datetime"):
            out.append(
                (
                    "future_date",
                    col.name,
                    exp.ExpectColumnValuesToBeBetween(
                        column=col.name, max_value=pd.Timestamp(as_of)
                    ),
                )
            )
    return out


def _orphans(
    typed: pd.DataFrame, contract: TableContract, known_parent_keys: Mapping[str, set[str]]
) -> list[tuple[str, str, np.ndarray]]:
    """(column, detail, mask) of rows whose reference has no parent in the lake. A set lookup
    in pandas rather than a GX in-set expectation: GX copies its whole configuration (here,
    every parent key) for each metric it computes, which made this check quadratic."""
    found = []
    for col in contract.extracted_columns:
        if not col.references:
            continue
        parent = f"{col.references[0]}.{col.references[1]}"
        keys = known_parent_keys.get(parent)
        if keys is None:
            raise ValueError(
                f"{contract.qualified_name}.{col.name}: parent keys of {parent} not given"
            )
        values = typed[col.name]
        orphan = values.notna() & ~values.astype("string").isin(keys)
        found.append((col.name, f"{col.name}: no such {parent}", orphan.to_numpy(dtype=bool)))
    return found


#: A failed rule over a batch: (reason, column, detail, rows that fail it).
_Check = tuple[str, str, str, np.ndarray]


def _row_checks(
    frame: pd.DataFrame,
    contract: TableContract,
    as_of: datetime,
    known_parent_keys: Mapping[str, set[str]],
) -> tuple[pd.DataFrame, list[_Check], int]:
    """The typed batch and every rule that looks at one row at a time (all but duplicates), in
    the order their failures were always recorded (which breaks ties of priority)."""
    n = len(frame)
    checks: list[_Check] = []
    typed = pd.DataFrame(index=frame.index)
    uncastable: dict[str, np.ndarray] = {}
    for col in contract.extracted_columns:
        if col.name not in frame.columns:
            raise ValueError(
                f"{contract.qualified_name}: extracted batch has no column {col.name!r}"
            )
        values, failed = _coerce(frame[col.name], col)
        typed[col.name] = values
        uncastable[col.name] = failed.to_numpy(dtype=bool)
        detail = f"{col.name}: not a valid {col.data_type}"
        checks.append(("malformed_value", col.name, detail, uncastable[col.name]))

    expectations = _expectations(contract, as_of)
    if expectations and n:
        import great_expectations as gx

        # String views for regex rules; typed values for ranges.
        gx_frame = typed.copy()
        for col in contract.extracted_columns:
            if col.data_type in ("string", "text"):
                gx_frame[col.name] = (
                    typed[col.name].astype(object).where(typed[col.name].notna(), None)
                )
        _Gx.context()  # a suite needs a current context to attach to
        suite = gx.ExpectationSuite(name=f"contract_{contract.identifier}")
        for _, _, expectation in expectations:
            suite.add_expectation(expectation)
        result = _Gx.batch(gx_frame).validate(suite, result_format={"result_format": "COMPLETE"})
        for (reason, column, expectation), res in zip(expectations, result.results, strict=True):
            if res.success:
                continue
            mask = np.zeros(n, dtype=bool)
            mask[np.asarray(res.result.get("unexpected_index_list") or [], dtype=np.int64)] = True
            if reason == "missing_required":
                mask &= ~uncastable[column]  # present but unreadable: already malformed
            checks.append((reason, column, f"{column}: {expectation.expectation_type}", mask))

    for column, detail, mask in _orphans(typed, contract, known_parent_keys):
        checks.append(("orphan_fk", column, detail, mask))
    return typed, checks, len(expectations)


def _content(frame: pd.DataFrame, contract: TableContract) -> pd.DataFrame:
    """Rows as text, nulls marked: what "an exact repeat" compares."""
    content = [c.name for c in contract.extracted_columns]
    return frame[content].astype("string").fillna(NULL_TEXT)


def _joined(as_text: pd.DataFrame) -> pd.Series:
    """Each row's text as one string (columns separated by a control character no value holds
    in a way that could make two different rows equal: every column is present in each)."""
    first, *rest = (as_text[c] for c in as_text.columns)
    return first.str.cat(list(rest), sep="\x1f") if rest else first


#: A null value (and a null key) as text.
NULL_TEXT = "\x00null"


class Duplicates:
    """Duplicate verdicts for one extract, however many chunks it is read in.

    Duplicates are judged among rows that are otherwise fine: an exact repeat of an earlier
    row is a ``duplicate_row``; two different rows with one key are a conflict, and neither is
    trusted (``conflicting_duplicate``). Only rows whose key occurs more than once in the whole
    extract can be either, and the source counts those keys (``repeated``) before the first
    chunk is read; the conflicting versions are found from those rows alone
    (:meth:`prepare`). What is kept across chunks is therefore proportional to the rows with
    repeated keys, not to the table: the texts of the repeated rows seen so far.

    ``repeated`` None: each batch given to :func:`validate_batch` is a whole extract (a drop
    file, a test), judged on its own.
    """

    def __init__(self, repeated: Collection[str] | None = None) -> None:
        self.repeated = None if repeated is None else set(repeated)
        self._conflicting: set[str] = set()
        self._seen: set[str] = set()

    def prepare(
        self,
        rows: pd.DataFrame,
        contract: TableContract,
        *,
        as_of: datetime,
        known_parent_keys: Mapping[str, set[str]],
    ) -> None:
        """Learn the conflicting versions from every extracted row with a repeated key."""
        if rows.empty:
            return
        rows = rows.reset_index(drop=True)
        _, checks, _ = _row_checks(rows, contract, as_of, known_parent_keys)
        self._learn(rows, contract, _any_failure(checks, len(rows)))

    def _learn(self, rows: pd.DataFrame, contract: TableContract, failed: np.ndarray) -> None:
        clean = rows.loc[~failed]
        if clean.empty:
            return
        joined = _joined(_content(clean, contract))
        distinct = ~joined.duplicated(keep="first")
        key = clean.loc[distinct.to_numpy(), contract.primary_key]
        conflicting = (key.duplicated(keep=False) & key.notna()).to_numpy()
        self._conflicting.update(joined[distinct][conflicting].tolist())

    def judge(
        self, frame: pd.DataFrame, contract: TableContract, failed: np.ndarray
    ) -> list[_Check]:
        """The duplicate checks of one chunk (rows already failing are not judged)."""
        n = len(frame)
        repeat = np.zeros(n, dtype=bool)
        conflict = np.zeros(n, dtype=bool)
        if n == 0:
            return []
        if self.repeated is None:
            self._learn(frame, contract, failed)
        candidates = ~failed
        key_text = frame[contract.primary_key].astype("string").fillna(NULL_TEXT)
        if self.repeated is not None:
            candidates &= key_text.isin(self.repeated).to_numpy(dtype=bool)
        if candidates.any():
            rows = frame.loc[candidates]
            joined = _joined(_content(rows, contract))
            seen = joined.isin(self._seen) | joined.duplicated(keep="first")
            positions = np.flatnonzero(candidates)
            repeat[positions] = seen.to_numpy(dtype=bool)
            conflict[positions] = (~seen & joined.isin(self._conflicting)).to_numpy(dtype=bool)
            self._seen.update(joined.tolist())
        if self.repeated is None:  # a whole extract: nothing of it is needed again
            self._seen.clear()
            self._conflicting.clear()
        key = contract.primary_key
        shown = frame[key].astype(str)
        return [
            ("duplicate_row", key, "exact repeat of " + key + "=" + shown, repeat),
            (
                "conflicting_duplicate",
                key,
                key + "=" + shown + " has conflicting versions",
                conflict,
            ),
        ]


def _any_failure(checks: list[tuple[str, str, Any, np.ndarray]], n: int) -> np.ndarray:
    failed = np.zeros(n, dtype=bool)
    for *_, mask in checks:
        failed |= mask
    return failed


@dataclass
class RowChecks:
    """What the rules that look at one row at a time found in a batch: the part of validation
    that needs no other batch, and so can run in another process (:class:`RowCheckWorker`)."""

    typed: pd.DataFrame
    checks: list[_Check]
    evaluated: int


def check_rows(
    frame: pd.DataFrame,
    contract: TableContract,
    *,
    as_of: datetime,
    known_parent_keys: Mapping[str, set[str]],
) -> RowChecks:
    """Coercion, the contract's expectations and foreign keys over one batch."""
    typed, checks, evaluated = _row_checks(
        frame.reset_index(drop=True), contract, as_of, known_parent_keys
    )
    return RowChecks(typed, checks, evaluated)


def validate_batch(
    frame: pd.DataFrame,
    contract: TableContract,
    *,
    as_of: datetime,
    known_parent_keys: Mapping[str, set[str]],
    duplicates: Duplicates | None = None,
    row_checks: RowChecks | None = None,
) -> ValidationResult:
    """Split an extracted batch into rows to load and rows to quarantine (with reasons).

    A row fails with the first reason in ``REASON_PRIORITY`` (ties: the order the rules were
    checked in); ``detail`` lists all of its failures. Everything is done per rule over whole
    columns; nothing loops over rows in Python. ``duplicates`` carries duplicate verdicts
    across the chunks of one extract (none: the batch is the whole extract); ``row_checks``:
    what :func:`check_rows` found in this batch already (in a worker process).
    """
    frame = frame.reset_index(drop=True)
    n = len(frame)
    if row_checks is None:
        row_checks = check_rows(frame, contract, as_of=as_of, known_parent_keys=known_parent_keys)
    typed, evaluated = row_checks.typed, row_checks.evaluated
    checks = list(row_checks.checks)
    failed = _any_failure(checks, n)
    judge = duplicates if duplicates is not None else Duplicates()
    checks += judge.judge(frame, contract, failed)
    failed = _any_failure(checks, n)

    reason = np.full(n, None, dtype=object)
    reason_column = np.full(n, None, dtype=object)
    ranked = sorted(range(len(checks)), key=lambda i: REASON_PRIORITY.index(checks[i][0]))
    for i in ranked:
        name, column, _, mask = checks[i]
        first = mask & (reason == None)  # noqa: E711 (elementwise)
        reason[first] = name
        reason_column[first] = column
    detail = _details(checks, failed)

    bad = np.flatnonzero(failed)
    quarantined = frame.iloc[bad].copy()
    quarantined["_reason"] = reason[bad]
    quarantined["_reason_column"] = reason_column[bad]
    quarantined["_detail"] = detail
    return ValidationResult(
        valid=typed.loc[~failed].reset_index(drop=True),
        quarantined=quarantined.reset_index(drop=True),
        expectations_evaluated=evaluated,
    )


def _details(checks: list[tuple[str, str, Any, np.ndarray]], failed: np.ndarray) -> list[str]:
    """Per failing row, its distinct failure details, sorted and joined by "; ".

    A rule's detail is one text for the whole batch (or, for duplicates, one per row): rows are
    grouped by the set of rules they fail, and each group's text is made once."""
    bad = np.flatnonzero(failed)
    if not len(bad):
        return []
    pattern = np.zeros((len(bad), len(checks)), dtype=bool)
    for j, (*_, mask) in enumerate(checks):
        pattern[:, j] = mask[bad]
    groups, inverse = np.unique(np.packbits(pattern, axis=1), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    out = np.empty(len(bad), dtype=object)
    for g in range(len(groups)):
        members = np.flatnonzero(inverse == g)
        failing = np.flatnonzero(pattern[members[0]])
        fixed = [checks[j][2] for j in failing if isinstance(checks[j][2], str)]
        per_row = [checks[j][2] for j in failing if not isinstance(checks[j][2], str)]
        if not per_row:
            out[members] = "; ".join(sorted(set(fixed)))
            continue
        rows = bad[members]
        texts = [series.to_numpy()[rows] for series in per_row]
        out[members] = ["; ".join(sorted({*fixed, *row})) for row in zip(*texts, strict=True)]
    return out.tolist()


_worker_parents: dict[str, Mapping[str, set[str]]] = {}


def _worker_set_parents(table: str, keys: Mapping[str, set[str]]) -> None:
    _worker_parents.clear()  # one table at a time: the last table's keys are not kept
    _worker_parents[table] = keys


def _worker_check_rows(frame: pd.DataFrame, contract: TableContract, as_of: datetime) -> RowChecks:
    keys = _worker_parents[contract.qualified_name]
    return check_rows(frame, contract, as_of=as_of, known_parent_keys=keys)


class RowCheckWorker:
    """A process that runs :func:`check_rows` on the next chunk while this one pseudonymizes
    and writes the last: the second core's share of ingestion (case notes' redaction has its
    own workers). It holds no key: only clear rows of one chunk and the parents' keys go to it.

    Started on first use and kept for later tables (Great Expectations is imported once);
    it is a fork-server child, so no copy of a threaded caller is made.
    """

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._table: str | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([__name__])
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=context,
                initializer=exit_with_parent,
                initargs=(os.getpid(),),
            )
            weakref.finalize(self, self._pool.shutdown, wait=False, cancel_futures=True)
        return self._pool

    def start_table(
        self, contract: TableContract, known_parent_keys: Mapping[str, set[str]]
    ) -> None:
        """Hand the worker the parents' keys of the table whose chunks come next (once)."""
        self._executor().submit(
            _worker_set_parents, contract.qualified_name, dict(known_parent_keys)
        ).result()
        self._table = contract.qualified_name

    def submit(
        self, frame: pd.DataFrame, contract: TableContract, as_of: datetime
    ) -> Future[RowChecks]:
        if self._table != contract.qualified_name:
            raise RuntimeError(f"start_table({contract.qualified_name}) first")
        return self._executor().submit(_worker_check_rows, frame, contract, as_of)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
