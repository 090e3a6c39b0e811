"""Answers of this API as the disclosure auditor reads them.

The auditor (:mod:`anonymization.disclosure_audit`) knows nothing of HTTP or JSON; this is the
one place that turns an answer, as a reader received it, into the equations it gives away.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from anonymization.disclosure_audit import PublishedAnswer

__all__ = ["published_answer"]


def published_answer(body: dict[str, Any]) -> PublishedAnswer:
    """A JSON answer of ``GET /v1/metrics/{name}``: its window and its visible counts."""
    window = body["filters"]
    return PublishedAnswer(
        rows=[(r["dimensions"], None if r["suppressed"] else r["value"]) for r in body["rows"]],
        date_from=date.fromisoformat(window["from"]) if window["from"] else None,
        date_to=date.fromisoformat(window["to"]) if window["to"] else None,
    )
