"""The bytes of a metric answer, JSON and CSV, from the answer's frame.

Why the rows are not pydantic models: a thousand-row answer (province x quarter x sex) cost
~12 ms to turn into ``MetricRow`` objects and dump them, five times the engine's own query, and
it is paid by every answer the cache has not seen. The envelope (one ``MetricResult`` with no
rows) still comes from the response model, so its fields, aliases and descriptions stay in one
place; the rows are written from the frame's columns with orjson in ``MetricRow``'s field order.
``tests/metrics_api/test_answer_bodies.py`` checks every kind of answer against the models
(parsed back with validation, equal to rows built by the models) and the schemathesis tests
check every response against the OpenAPI schema.
"""

from __future__ import annotations

import io
from typing import Any

import orjson
import pandas as pd

from lakehouse.reference.purposes import PURPOSES
from lakehouse.reference.regions import province_by_code
from metrics_api.api.routes.perturbation import perturbation_summary
from metrics_api.models import MetricResult, MetricRow, QueryFilters
from metrics_api.service import Caller, MetricAnswer

#: The envelope's last field: the rows are spliced in where its empty list is.
_EMPTY_ROWS = b'"rows":[]}'
#: MetricRow's fields in the order the model writes them.
_ROW_FIELDS = tuple(MetricRow.model_fields)


def province_names(answer: MetricAnswer) -> list[str | None] | None:
    """The province's name beside each row's BPS code (a reader should not need a code list),
    or None when the answer has no province breakdown."""
    geo = answer.metric.geography_dimension
    if geo is None or geo not in answer.dimensions:
        return None
    names = {code: province.name for code, province in province_by_code().items()}
    return [names.get(code) if code else None for code in answer.frame[geo].tolist()]


def json_body(answer: MetricAnswer, caller: Caller) -> bytes:
    envelope = MetricResult(
        metric=answer.metric.name,
        description=answer.metric.description.strip(),
        unit=answer.metric.unit,
        kind=answer.metric.kind,
        snapshot_id=answer.snapshot_id,
        snapshot_status="candidate" if answer.candidate else "approved",
        reporting_date=answer.reporting_date,
        role=caller.role,
        threshold=answer.rule.threshold,
        purpose=answer.rule.purpose,
        population=PURPOSES[answer.rule.purpose].population,
        dimensions=answer.dimensions,
        grain=answer.grain,
        filters=QueryFilters(
            date_from=answer.window.date_from if answer.window else None,
            date_to=answer.window.date_to if answer.window else None,
            province=answer.province,
        ),
        row_count=len(answer.frame),
        suppressed_cells=answer.suppressed_cells,
        suppression_note=(
            f"counts 1..{answer.rule.threshold - 1} are hidden, with complementary cells so "
            "no hidden count follows from the row and column totals"
            if answer.rule.threshold > 1
            else "no suppression for this role"
        ),
        perturbation=perturbation_summary() if answer.perturbed else None,
        rows=[],
    ).model_dump_json(by_alias=True)
    head = envelope.encode()
    if not head.endswith(_EMPTY_ROWS):  # the model's last field is its rows
        raise RuntimeError("MetricResult no longer ends with its rows")
    rows = orjson.dumps(answer_rows(answer), option=orjson.OPT_SERIALIZE_NUMPY)
    return head[: -len(_EMPTY_ROWS)] + b'"rows":' + rows + b"}"


def answer_rows(answer: MetricAnswer) -> list[dict[str, Any]]:
    """Each row as ``MetricRow`` dumps it: plain str / int / float / bool / None values, every
    field present, in the model's order."""
    frame = answer.frame
    n = len(frame)
    ratio = answer.metric.kind == "ratio"
    perturbed = answer.perturbed
    geo = answer.metric.geography_dimension
    names = province_names(answer)
    dims = answer.dimensions
    dim_values = [_plain(frame[d]) for d in dims]
    suppressed = [bool(v) for v in frame["suppressed"].tolist()]
    columns: dict[str, list[Any]] = {
        "value": _plain(frame["value"]),
        "numerator": _plain(frame["numerator"]) if ratio else [None] * n,
        "denominator": _plain(frame["denominator"]) if ratio else [None] * n,
        "suppressed": suppressed,
        "suppression_reason": _plain(frame["suppression_reason"]),
        "perturbed": [perturbed and not s for s in suppressed],
        "max_abs_error": _plain(frame["max_abs_error"]) if perturbed else [None] * n,
        "partial_period": (
            [bool(v) for v in frame["partial_period"].tolist()]
            if "partial_period" in frame.columns
            else [None] * n
        ),
    }
    if dims:
        dimensions = [
            dict(zip(dims, values, strict=True)) for values in zip(*dim_values, strict=True)
        ]
    else:
        dimensions = [{} for _ in range(n)]
    key = str(geo)
    labels = [{key: name} if name else None for name in names] if names else [None] * n
    # Whole columns zipped into rows: a dict per row built in C, in MetricRow's field order.
    fields = [columns[field] for field in _ROW_FIELDS[2:]]
    return [
        dict(zip(_ROW_FIELDS, row, strict=True))
        for row in zip(dimensions, labels, *fields, strict=True)
    ]


def _plain(column: pd.Series) -> list[Any]:
    """A column's values as JSON writes them: pandas NA, None and NaN as None (one vectorised
    pass, not a Python call per value); numpy scalars left in an object column are written by
    orjson's numpy support."""
    return column.to_numpy(dtype=object, na_value=None).tolist()


def csv_body(answer: MetricAnswer) -> bytes:
    table = answer.frame[[*answer.dimensions, *answer.value_columns, "suppressed"]].copy()
    table["suppression_reason"] = answer.frame["suppression_reason"]
    if answer.perturbed:
        # The same marks as the JSON: a CSV row read on its own still says it is perturbed.
        table["perturbed"] = ~answer.frame["suppressed"].astype(bool)
        table["max_abs_error"] = answer.frame["max_abs_error"]
    names = province_names(answer)
    if names is not None:  # last, so the dimension columns keep their places
        table[f"{answer.metric.geography_dimension}_name"] = pd.Series(
            names, index=answer.frame.index, dtype=object
        )
    if "partial_period" in answer.frame.columns:
        table["partial_period"] = answer.frame["partial_period"]
    for column in ("suppressed", "perturbed", "partial_period"):
        if column in table.columns:  # as JSON writes them, not Python's True/False
            table[column] = table[column].astype(bool).map({True: "true", False: "false"})
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode()
