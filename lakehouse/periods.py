"""Reporting periods (year, quarter, month) by their first day: where each one ends."""

from __future__ import annotations

from datetime import date, timedelta

__all__ = ["period_end"]

_MONTHS = {"year": 12, "quarter": 3, "month": 1}


def period_end(start: date, grain: str) -> date:
    """The last day of the ``grain`` period that starts on ``start``."""
    try:
        months = _MONTHS[grain]
    except KeyError:
        raise ValueError(f"unknown grain {grain!r}") from None
    year, month = divmod(start.month - 1 + months, 12)
    return date(start.year + year, month + 1, 1) - timedelta(days=1)
