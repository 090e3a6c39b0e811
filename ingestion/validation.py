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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from ingestion.contracts import ColumnContract, TableContract
from lakehouse.reference.nik import NIK_REGEX

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
) -> list[tuple[int, str, str]]:
    """Rows whose reference has no parent in the lake. A set lookup in pandas rather than a GX
    in-set expectation: GX copies its whole configuration (here, every parent key) for each
    metric it computes, which made this check quadratic in practice."""
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
        found += [(int(i), col.name, f"{col.name}: no such {parent}") for i in typed.index[orphan]]
    return found


def validate_batch(
    frame: pd.DataFrame,
    contract: TableContract,
    *,
    as_of: datetime,
    known_parent_keys: Mapping[str, set[str]],
) -> ValidationResult:
    """Split an extracted batch into rows to load and rows to quarantine (with reasons)."""
    frame = frame.reset_index(drop=True)
    failures: dict[int, list[tuple[str, str, str]]] = {}

    def fail(index: Any, reason: str, column: str, detail: str) -> None:
        failures.setdefault(int(index), []).append((reason, column, detail))

    typed = pd.DataFrame(index=frame.index)
    uncastable_cells: set[tuple[int, str]] = set()
    for col in contract.extracted_columns:
        if col.name not in frame.columns:
            raise ValueError(
                f"{contract.qualified_name}: extracted batch has no column {col.name!r}"
            )
        values, uncastable = _coerce(frame[col.name], col)
        typed[col.name] = values
        for idx in frame.index[uncastable]:
            fail(idx, "malformed_value", col.name, f"{col.name}: not a valid {col.data_type}")
            uncastable_cells.add((int(idx), col.name))

    checks = _expectations(contract, as_of)
    if checks and len(typed):
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
        for _, _, expectation in checks:
            suite.add_expectation(expectation)
        result = _Gx.batch(gx_frame).validate(suite, result_format={"result_format": "COMPLETE"})
        for (reason, column, expectation), res in zip(checks, result.results, strict=True):
            if res.success:
                continue
            for idx in res.result.get("unexpected_index_list") or []:
                if reason == "missing_required" and (int(idx), column) in uncastable_cells:
                    continue  # present but unreadable: already quarantined as malformed
                fail(idx, reason, column, f"{column}: {expectation.expectation_type}")

    for idx, column, detail in _orphans(typed, contract, known_parent_keys):
        fail(idx, "orphan_fk", column, detail)

    # Duplicates are judged among rows that are otherwise fine: an exact repeat of a row is a
    # duplicate; two different rows with one key are a conflict and neither is trusted.
    key = contract.primary_key
    clean_idx = [i for i in frame.index if i not in failures]
    clean = frame.loc[clean_idx]
    if len(clean):
        content = [c.name for c in contract.extracted_columns]
        as_text = clean[content].astype("string").fillna("\x00null")
        exact_repeat = as_text.duplicated(keep="first")
        for idx in clean.index[exact_repeat]:
            fail(idx, "duplicate_row", key, f"exact repeat of {key}={frame.at[idx, key]}")
        distinct = clean.loc[~exact_repeat]
        conflicting = distinct[key].duplicated(keep=False) & distinct[key].notna()
        for idx in distinct.index[conflicting]:
            fail(
                idx,
                "conflicting_duplicate",
                key,
                f"{key}={frame.at[idx, key]} has conflicting versions",
            )

    bad = sorted(failures)
    good_mask = ~typed.index.isin(bad)
    quarantined = frame.loc[bad].copy()
    reasons = []
    for idx in bad:
        ordered = sorted(failures[idx], key=lambda f: REASON_PRIORITY.index(f[0]))
        reasons.append((ordered[0][0], ordered[0][1], "; ".join(sorted({f[2] for f in ordered}))))
    quarantined["_reason"] = [r[0] for r in reasons]
    quarantined["_reason_column"] = [r[1] for r in reasons]
    quarantined["_detail"] = [r[2] for r in reasons]
    return ValidationResult(
        valid=typed.loc[good_mask].reset_index(drop=True),
        quarantined=quarantined.reset_index(drop=True),
        expectations_evaluated=len(checks),
    )
