"""Time windows that cover whole periods, so two answers can never be differenced into a part
of a period.

Yearly totals over windows that start one quarter apart differ by exactly one quarter: that
recovered hidden quarter cells from visible year cells. A window is therefore accepted only when
it is made of whole periods of the answer's grain: ``from`` is the first day of a period and
``to`` the first or the last day of a period (both mean "up to and including that period").
Anything else is refused with a message saying what is allowed, rather than silently widened,
so a caller never believes an answer covers dates it does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from metrics_api.errors import BadRequest

__all__ = [
    "GRAIN_MONTHS",
    "Window",
    "align_window",
    "coarsest",
    "finest",
    "parent_label",
    "period_start",
]

#: Months per period, which is also the order fine -> coarse.
GRAIN_MONTHS: dict[str, int] = {"month": 1, "quarter": 3, "year": 12}

_EXAMPLE = {
    "month": ("2025-04-01", "2025-04-01 or 2025-04-30"),
    "quarter": ("2025-04-01", "2025-04-01 or 2025-06-30"),
    "year": ("2025-01-01", "2025-01-01 or 2025-12-31"),
}


def finest(grains: tuple[str, ...] | list[str]) -> str:
    return min(grains, key=GRAIN_MONTHS.__getitem__)


def coarsest(grains: tuple[str, ...] | list[str]) -> str:
    return max(grains, key=GRAIN_MONTHS.__getitem__)


def _start_of(day: date, grain: str) -> date:
    months = GRAIN_MONTHS[grain]
    return date(day.year, (day.month - 1) // months * months + 1, 1)


def _next_start(start: date, grain: str) -> date:
    month0 = start.month - 1 + GRAIN_MONTHS[grain]
    return date(start.year + month0 // 12, month0 % 12 + 1, 1)


@dataclass(frozen=True)
class Window:
    """Whole periods of ``grain``: the first period's start and the last period's start, or
    None for an open end."""

    grain: str
    first: date | None
    last: date | None

    @property
    def date_from(self) -> date | None:
        return self.first

    @property
    def date_to(self) -> date | None:
        """The last day the window covers."""
        return None if self.last is None else _next_start(self.last, self.grain) - timedelta(1)

    def covers(self, start: date) -> bool:
        return (self.first is None or start >= self.first) and (
            self.last is None or start <= self.last
        )


def align_window(grain: str, date_from: date | None, date_to: date | None) -> Window:
    """The window as whole periods of ``grain``, or a 422 that says what is allowed."""
    allowed_from, allowed_to = _EXAMPLE[grain]
    why = f"time windows cover whole {grain}s"
    if date_from is not None and date_from != _start_of(date_from, grain):
        raise BadRequest(
            f"`from` ({date_from}) is not the first day of a {grain}: {why}, so `from` must be "
            f"the first day of a {grain} (e.g. {allowed_from})"
        )
    last: date | None = None
    if date_to is not None:
        last = _start_of(date_to, grain)
        if date_to not in (last, _next_start(last, grain) - timedelta(1)):
            raise BadRequest(
                f"`to` ({date_to}) is neither the first nor the last day of a {grain}: {why}, "
                f"so `to` names the last {grain} included (e.g. {allowed_to})"
            )
    if date_from is not None and last is not None and date_from > last:
        raise BadRequest(f"`from` ({date_from}) is after `to` ({date_to})")
    return Window(grain, date_from, last)


def period_start(label: str, grain: str) -> date:
    """The first day of a period label as the stores write it (``2024``, ``2024-Q2``,
    ``2024-05``)."""
    if grain == "year":
        return date(int(label), 1, 1)
    if grain == "quarter":
        year, quarter = label.split("-Q")
        return date(int(year), 3 * int(quarter) - 2, 1)
    if grain == "month":
        year, month = label.split("-")
        return date(int(year), int(month), 1)
    raise ValueError(f"unknown grain {grain!r}")


def parent_label(label: str, grain: str, coarser: str) -> str:
    """The label of the ``coarser`` period a ``grain`` period lies in (``2024-05`` -> ``2024-Q2``
    or ``2024``)."""
    start = period_start(label, grain)
    if coarser == "year":
        return f"{start.year}"
    if coarser == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    raise ValueError(f"{coarser!r} is not coarser than {grain!r}")
