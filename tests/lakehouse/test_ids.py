"""Ids are UTC timestamps: they sort in creation order as plain strings."""

from __future__ import annotations

import datetime as dt

import pytest

from lakehouse.ids import id_time, is_timestamp_id, timestamp_id


def test_format_and_order() -> None:
    early = timestamp_id(dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC))
    late = timestamp_id(dt.datetime(2026, 1, 2, 3, 4, 5, 7, tzinfo=dt.UTC))
    assert early == "20260102T030405000006Z" and early < late
    assert is_timestamp_id(timestamp_id()) and is_timestamp_id(early)
    for bad in ("", "2026", "20260102T030405Z", "../20260102T030405000006Z", early + "x"):
        assert not is_timestamp_id(bad), bad


def test_an_id_says_when_it_was_made() -> None:
    moment = dt.datetime(2026, 11, 1, 12, 30, 5, 123456, tzinfo=dt.UTC)
    assert id_time(timestamp_id(moment)) == moment
    assert id_time("research-" + timestamp_id(moment)) == moment
    with pytest.raises(ValueError, match="not a timestamp id"):
        id_time("research-latest")
