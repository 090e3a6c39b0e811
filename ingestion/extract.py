"""Incremental extraction from the operational service databases and external file drops.

Rows are read as the source stores them (no type coercion by the driver), because a malformed
value must reach validation and be quarantined with a reason rather than crash the extract.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from ingestion.contracts import TableContract
from lakehouse.files import sha256_file

WATERMARK_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


@dataclass(frozen=True)
class DropFile:
    path: Path
    sha256: str


class UnreadableDrop(ValueError):
    """A drop file that cannot be read as its contract says; ``reason`` is a quarantine code.

    The detail never quotes the file's content (which holds clear identifiers): only what
    the parser says about where and why it failed."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


#: Why a whole drop file was rejected (file-level quarantine reasons; rows have their own).
DROP_REASONS = ("drop_not_utf8", "drop_empty", "drop_malformed", "drop_wrong_columns")


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(url)


def extract_since(url: str, contract: TableContract, watermark: datetime | None) -> pd.DataFrame:
    """Rows changed after ``watermark`` (all rows when None), oldest first.

    Strictly-greater keeps a re-run from re-reading the rows it already has; the cost is that a
    row written later with exactly the watermark's timestamp would be missed, which the
    sources' microsecond ``updated_at`` makes negligible.
    """
    if contract.watermark is None:
        raise ValueError(f"{contract.qualified_name} declares no watermark column")
    engine = _engine(url)
    quote = engine.dialect.identifier_preparer.quote
    cols = ", ".join(quote(c.name) for c in contract.extracted_columns)
    sql = f"select {cols} from {quote(contract.name)}"
    params: dict[str, object] = {}
    if watermark is not None:
        sql += f" where {quote(contract.watermark)} > :watermark"
        params["watermark"] = watermark.strftime(WATERMARK_FORMAT)
    sql += f" order by {quote(contract.watermark)}"
    try:
        with engine.connect() as conn:
            result = conn.execute(sa.text(sql), params)
            frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()), dtype=object)
    finally:
        engine.dispose()
    return frame


def max_watermark(frame: pd.DataFrame, contract: TableContract) -> datetime | None:
    if contract.watermark is None or frame.empty:
        return None
    values = pd.to_datetime(frame[contract.watermark], errors="coerce", format="mixed").dropna()
    return None if values.empty else values.max().to_pydatetime()


def lookup_column(
    url: str, table: str, key: str, value_column: str, keys: list[str]
) -> dict[str, str]:
    """``key -> value_column`` for the given keys (e.g. case_id -> child_id for notes)."""
    if not keys:
        return {}
    engine = _engine(url)
    try:
        meta_table = sa.table(table, sa.column(key), sa.column(value_column))
        out: dict[str, str] = {}
        with engine.connect() as conn:
            for start in range(0, len(keys), 5000):
                chunk = keys[start : start + 5000]
                rows = conn.execute(
                    sa.select(meta_table.c[key], meta_table.c[value_column]).where(
                        meta_table.c[key].in_(chunk)
                    )
                )
                out.update({str(k): str(v) for k, v in rows if v is not None})
        return out
    finally:
        engine.dispose()


def read_columns_where_in(
    url: str, table: str, columns: list[str], key: str, keys: list[str]
) -> pd.DataFrame:
    engine = _engine(url)
    try:
        t = sa.table(table, *(sa.column(c) for c in {*columns, key}))
        frames = []
        with engine.connect() as conn:
            for start in range(0, len(keys), 5000):
                chunk = keys[start : start + 5000]
                result = conn.execute(
                    sa.select(*(t.c[c] for c in columns)).where(t.c[key].in_(chunk))
                )
                frames.append(pd.DataFrame(result.fetchall(), columns=columns, dtype=object))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    finally:
        engine.dispose()


def pending_drops(drops_dir: Path, glob: str, processed: set[str]) -> list[DropFile]:
    """Drop files not ingested yet, by content hash (a re-delivered identical file is skipped)."""
    found = []
    for path in sorted(drops_dir.glob(glob)):
        digest = sha256_file(path)
        if digest not in processed:
            found.append(DropFile(path=path, sha256=digest))
    return found


def read_drop(drop: DropFile, contract: TableContract) -> pd.DataFrame:
    """A CSV drop as text. A file that is not UTF-8, empty, not parseable as CSV (an unterminated
    quote, a row with more fields than the header) or lacks a contract column is rejected whole
    with :class:`UnreadableDrop`; rows with missing or odd values go on to validation."""
    try:
        frame = pd.read_csv(drop.path, dtype=str, keep_default_na=False, encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableDrop("drop_not_utf8", f"not UTF-8 at byte {exc.start}") from exc
    except pd.errors.EmptyDataError as exc:
        raise UnreadableDrop("drop_empty", "the file is empty") from exc
    except pd.errors.ParserError as exc:
        raise UnreadableDrop("drop_malformed", f"not valid CSV ({exc})") from exc
    expected = [c.name for c in contract.extracted_columns]
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        # Only the contract's names: a file without a header has data in its first line.
        raise UnreadableDrop(
            "drop_wrong_columns", f"missing columns {missing}; expected {expected}"
        )
    frame = frame[expected].astype(object)
    frame = frame.where(frame != "", None)
    frame.insert(0, "_source_row", range(1, len(frame) + 1))
    return frame
