"""Answers of this API as the disclosure auditor reads them.

The auditor (:mod:`anonymization.disclosure_audit`) knows nothing of HTTP or JSON; this is the
one place that turns an answer, as a reader received it, into the equations it gives away.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from anonymization.disclosure_audit import PublishedAnswer

__all__ = ["published_answer"]


def published_answer(
    body: dict[str, Any], counts: Mapping[str, str] | None = None
) -> PublishedAnswer:
    """A JSON answer of ``GET /v1/metrics/{name}``: its window, its province filter (a fixed
    dimension of every row) and its visible counts.

    Without ``counts`` each row gives its ``value``. With ``counts`` (answer field -> the name
    of the count it is, e.g. ``{"numerator": "successful", "denominator": "placements"}``) each
    field gives one row fixing ``count`` as well, so answers of several metrics over the same
    cells become one system."""
    window = body["filters"]
    fixed: dict[str, str] = {}
    if window.get("province"):
        fixed["province"] = window["province"]
    rows: list[tuple[Mapping[str, str], float | None]] = []
    for r in body["rows"]:
        cell = {**fixed, **r["dimensions"]}
        if counts is None:
            rows.append((cell, None if r["suppressed"] else r["value"]))
            continue
        for field, count in counts.items():
            rows.append(({**cell, "count": count}, None if r["suppressed"] else r[field]))
    return PublishedAnswer(
        rows=rows,
        date_from=date.fromisoformat(window["from"]) if window["from"] else None,
        date_to=date.fromisoformat(window["to"]) if window["to"] else None,
    )
