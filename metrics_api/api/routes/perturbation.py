"""``/v1/perturbation``: the published perturbation table of community and media answers.

Publishing it costs nothing (the noise of a cell depends on its records' keys, which never leave
the lake) and lets a reader judge a perturbed count: how far it can be off, with what variance,
and that the same cell always carries the same noise.
"""

from __future__ import annotations

import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from anonymization.cell_key import (
    MAX_NOISE,
    METHOD,
    NOISE_PROBABILITIES,
    VARIANCE,
    perturbation_table,
)
from metrics_api.models import Perturbation

router = APIRouter(prefix="/v1/perturbation", tags=["perturbation"])

TABLE_PATH = "/v1/perturbation?format=csv"


def perturbation_summary() -> Perturbation:
    return Perturbation(
        method=METHOD,
        max_abs_noise_per_cell=MAX_NOISE,
        noise_variance_per_cell=VARIANCE,
        noise_mean=sum(d * p for d, p in NOISE_PROBABILITIES.items()),
        distribution={str(d): p for d, p in NOISE_PROBABILITIES.items()},
        table=TABLE_PATH,
        additive=False,
    )


@router.get(
    "",
    operation_id="perturbation_table",
    summary="How community and media counts are perturbed",
    response_model=Perturbation,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def perturbation(
    format: Annotated[
        Literal["json", "csv"],
        Query(description="json: the summary; csv: the whole table (pcv, ckey, pvalue)"),
    ] = "json",
) -> Any:
    """The summary, or the full table: row ``pcv`` (the true count; counts above 750 read row
    ``(count - 1) % 250 + 501``), column ``ckey`` (the cell key, 0..255: the sum of the cell's
    records' keys modulo 256), ``pvalue`` (the noise added). Zero is never perturbed. No data
    and no key: it needs no authentication."""
    if format == "json":
        return perturbation_summary()
    buffer = io.StringIO()
    perturbation_table().to_csv(buffer, index=False, lineterminator="\n")
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="perturbation_table.csv"'},
    )
