"""Writing files so that a reader never sees half of one, and hashing them.

Every published file (bronze batches, gold snapshots, research releases, state, key stores) is
written to a temporary name in the same directory and renamed into place: ``os.replace`` is
atomic on POSIX, so a crash leaves either the old file or the new one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "ParquetStream",
    "copy_file_atomic",
    "fresh_staging_dir",
    "read_json_object",
    "sha256_file",
    "write_json_atomic",
    "write_parquet_atomic",
    "write_text_atomic",
]


def _temp_beside(path: Path) -> Path:
    """A new empty hidden file in ``path``'s folder (created if need be), to rename onto it:
    a rename within one file system is atomic."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    return Path(name)


@contextmanager
def _replacing(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path``, renamed onto it on success and removed on failure."""
    tmp = _temp_beside(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_json_object(path: Path) -> dict[str, Any] | None:
    """A JSON object written by :func:`write_json_atomic`, or None when the file is missing,
    unreadable or not an object: state files are rebuilt or ignored, never a crash."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def write_json_atomic(path: Path, payload: Any) -> None:
    """JSON with sorted keys and a trailing newline (stable bytes for the same payload)."""
    text = json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n"
    write_text_atomic(path, text)


def copy_file_atomic(source: Path, path: Path) -> None:
    """``source``'s bytes at ``path``, put in place by one rename."""
    with _replacing(path) as tmp:
        shutil.copyfile(source, tmp)


def write_text_atomic(path: Path, text: str) -> None:
    with _replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_parquet_atomic(frame: pd.DataFrame, path: Path) -> None:
    with _replacing(path) as tmp:
        frame.to_parquet(tmp, index=False)


class ParquetStream:
    """One Parquet file written a frame at a time, published only when it is complete.

    For batches too large to hold whole: each :meth:`write` appends the frame as a row group
    of a temporary file beside ``path``; :meth:`publish` renames it into place, as
    :func:`write_parquet_atomic` does for a whole frame, so a reader (or the next run, after a
    crash) never sees part of one. No file at all when nothing was written, as for an empty
    frame. The schema is the first frame's, with columns that were null there (object columns
    with no value yet) read as strings, the only values such columns hold; every later frame is
    cast to it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        self._tmp: Path | None = None
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None

    def write(self, frame: pd.DataFrame) -> None:
        if frame.empty:
            return
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._writer is None:
            fields = [
                f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in table.schema
            ]
            self._schema = pa.schema(fields, metadata=table.schema.metadata)
            self._tmp = _temp_beside(self.path)
            self._writer = pq.ParquetWriter(self._tmp, self._schema, compression="snappy")
        assert self._schema is not None
        self._writer.write_table(table.cast(self._schema))
        self.rows += len(frame)

    def publish(self) -> bool:
        """Close and rename into place; False (and no file) when no row was written."""
        if self._writer is None:
            return False
        self._writer.close()
        self._writer = None
        assert self._tmp is not None
        os.replace(self._tmp, self.path)
        self._tmp = None
        return True

    def discard(self) -> None:
        """Drop what was written (a batch that failed); safe to call after :meth:`publish`."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fresh_staging_dir(parent: Path, item_id: str) -> Path:
    """An empty ``parent/.staging-<id>``, after removing staging left by a killed writer.

    Called with the pipeline lock held, so no other writer is staging meanwhile; readers never
    look at names that start with a dot."""
    parent.mkdir(parents=True, exist_ok=True)
    for stale in parent.glob(".staging-*"):
        shutil.rmtree(stale, ignore_errors=True)
    staging = parent / f".staging-{item_id}"
    staging.mkdir()
    return staging
