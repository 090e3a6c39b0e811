"""Incremental extraction from the operational service databases and external file drops.

Rows are read as the source stores them (no type coercion by the driver), because a malformed
value must reach validation and be quarantined with a reason rather than crash the extract.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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


@dataclass(frozen=True)
class Extract:
    """One run's read of a table: the rows changed after ``after`` up to ``upto``, inclusive.

    The upper bound is read first, so that the several queries of a chunked extract (the keys
    that occur twice, then the rows themselves) see the same rows even while the service keeps
    writing: a row written meanwhile has a later watermark and is read by the next run.
    ``upto`` None: the table has no such row (nothing to read)."""

    url: str
    contract: TableContract
    after: datetime | None
    upto: str | None
    #: How many rows there were when the bound was read.
    rows: int = 0

    def _where(self, quote: Callable[[str], str]) -> tuple[str, dict[str, object]]:
        assert self.contract.watermark is not None
        mark = quote(self.contract.watermark)
        params: dict[str, object] = {"upto": self.upto}
        where = f" where ({mark} is null or {mark} <= :upto)"
        if self.after is not None:
            where += f" and {mark} > :after"
            params["after"] = self.after.strftime(WATERMARK_FORMAT)
        return where, params

    def _key_as_text(self, engine: sa.Engine) -> str:
        text = _TEXT.get(engine.dialect.name, "varchar")
        return (
            f"cast({engine.dialect.identifier_preparer.quote(self.contract.primary_key)} as {text})"
        )

    def chunks(self, rows: int) -> Iterator[pd.DataFrame]:
        """The rows, oldest first, ``rows`` at a time: the driver's cursor is read in pieces
        (server-side where the dialect has one), so no more than one chunk is in memory."""
        if rows < 1:
            raise ValueError("a chunk holds at least one row")
        if self.upto is None:
            return
        engine = _engine(self.url)
        quote = engine.dialect.identifier_preparer.quote
        assert self.contract.watermark is not None
        cols = ", ".join(quote(c.name) for c in self.contract.extracted_columns)
        where, params = self._where(quote)
        sql = f"select {cols} from {quote(self.contract.name)}{where}"
        sql += f" order by {quote(self.contract.watermark)}"
        try:
            with engine.connect() as conn:
                result = conn.execution_options(stream_results=True).execute(sa.text(sql), params)
                names = list(result.keys())
                while batch := result.fetchmany(rows):
                    yield pd.DataFrame(batch, columns=names, dtype=object)
        finally:
            engine.dispose()

    def repeated_keys(self) -> list[str]:
        """Primary keys (as text) that more than one extracted row holds: the only rows whose
        duplicate verdict needs rows of other chunks. Counted by the source database, so this
        process never holds a key set of the table being read."""
        if self.upto is None:
            return []
        engine = _engine(self.url)
        quote = engine.dialect.identifier_preparer.quote
        key = self._key_as_text(engine)
        where, params = self._where(quote)
        sql = (
            f"select {key} from {quote(self.contract.name)}{where} "
            f"group by {key} having count(*) > 1"
        )
        try:
            with engine.connect() as conn:
                return [
                    str(k) if k is not None else _NULL_KEY
                    for (k,) in conn.execute(sa.text(sql), params)
                ]
        finally:
            engine.dispose()

    def rows_with_keys(self, keys: list[str]) -> pd.DataFrame:
        """Every extracted row whose primary key (as text) is one of ``keys``, oldest first."""
        columns = [c.name for c in self.contract.extracted_columns]
        if self.upto is None or not keys:
            return pd.DataFrame(columns=columns, dtype=object)
        engine = _engine(self.url)
        quote = engine.dialect.identifier_preparer.quote
        assert self.contract.watermark is not None
        key = self._key_as_text(engine)
        where, params = self._where(quote)
        cols = ", ".join(quote(c) for c in columns)
        frames = []
        with_null = _NULL_KEY in keys
        texts = [k for k in keys if k != _NULL_KEY]
        try:
            with engine.connect() as conn:
                for start in range(0, max(len(texts), 1), 5000):
                    piece = texts[start : start + 5000]
                    marks = ", ".join(f":k{i}" for i in range(len(piece)))
                    test = [f"{key} in ({marks})"] if piece else []
                    if with_null and start == 0:
                        test.append(f"{quote(self.contract.primary_key)} is null")
                    if not test:
                        continue
                    sql = (
                        f"select {cols} from {quote(self.contract.name)}{where} "
                        f"and ({' or '.join(test)})"
                    )
                    bound = params | {f"k{i}": k for i, k in enumerate(piece)}
                    result = conn.execute(sa.text(sql), bound)
                    frames.append(pd.DataFrame(result.fetchall(), columns=columns, dtype=object))
        finally:
            engine.dispose()
        if not frames:
            return pd.DataFrame(columns=columns, dtype=object)
        # Their order among themselves only decides which of two exact repeats is "first",
        # and exact repeats are alike: any order judges the same rows.
        return pd.concat(frames, ignore_index=True)


#: How a repeated null primary key is named among the text keys (no text key is this).
_NULL_KEY = "\x00null"
#: The text type of each dialect (others: varchar), for comparing keys as text whatever the
#: column's type.
_TEXT: dict[str, str] = {"sqlite": "text", "postgresql": "text", "mysql": "char"}


def open_extract(url: str, contract: TableContract, watermark: datetime | None) -> Extract:
    """The rows of ``contract`` changed after ``watermark`` (all rows when None), bounded above
    by the latest watermark the source holds now.

    Strictly-greater keeps a re-run from re-reading the rows it already has; the cost is that a
    row written later with exactly the watermark's timestamp would be missed, which the
    sources' microsecond ``updated_at`` makes negligible.
    """
    if contract.watermark is None:
        raise ValueError(f"{contract.qualified_name} declares no watermark column")
    engine = _engine(url)
    quote = engine.dialect.identifier_preparer.quote
    mark = quote(contract.watermark)
    sql = f"select max({mark}), count(*) from {quote(contract.name)}"
    params: dict[str, object] = {}
    if watermark is not None:
        sql += f" where {mark} > :after"
        params["after"] = watermark.strftime(WATERMARK_FORMAT)
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.text(sql), params).one()
    finally:
        engine.dispose()
    upto, count = row[0], int(row[1] or 0)
    if not count:
        return Extract(url, contract, watermark, None, 0)
    # Rows whose watermark is null are read on the first run only (as before): the bound is
    # then any string, and ``is null`` lets them through.
    return Extract(url, contract, watermark, str(upto) if upto is not None else "", count)


def extract_since(url: str, contract: TableContract, watermark: datetime | None) -> pd.DataFrame:
    """Every row changed after ``watermark``, oldest first, in one frame (small tables, tests)."""
    columns = [c.name for c in contract.extracted_columns]
    frames = list(open_extract(url, contract, watermark).chunks(1_000_000))
    if not frames:
        return pd.DataFrame(columns=columns, dtype=object)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


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
