"""Ids of what the lake produces: bronze batches, gold snapshots, research releases.

All are UTC timestamps to the microsecond, so they sort in creation order as plain strings (the
newest release is the last name) and a reader can tell when something was made from its name.
The format and the patterns that validate ids before they touch the file system live here, once.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

__all__ = [
    "ID_TIME_FORMAT",
    "TIMESTAMP_ID",
    "id_time",
    "is_timestamp_id",
    "timestamp_id",
    "utc_now",
]

ID_TIME_FORMAT = "%Y%m%dT%H%M%S%fZ"
#: Regular expression (no anchors) of :func:`timestamp_id`'s output.
TIMESTAMP_ID = r"[0-9]{8}T[0-9]{12}Z"
_TIMESTAMP_ID = re.compile(rf"^{TIMESTAMP_ID}$")


def utc_now() -> datetime:
    """The clock every id is taken from (the one place a test may pin it)."""
    return datetime.now(UTC)


def timestamp_id(now: datetime | None = None) -> str:
    return (now or utc_now()).strftime(ID_TIME_FORMAT)


def is_timestamp_id(value: str) -> bool:
    return bool(_TIMESTAMP_ID.match(value))


def id_time(value: str) -> datetime:
    """When an id was made: the UTC timestamp at its end (``research-<ts>`` ids too)."""
    stamp = value[-len("20260101T000000000000Z") :]
    if not is_timestamp_id(stamp):
        raise ValueError(f"not a timestamp id: {value!r}")
    return datetime.strptime(stamp, ID_TIME_FORMAT).replace(tzinfo=UTC)
