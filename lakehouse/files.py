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

__all__ = [
    "fresh_staging_dir",
    "read_json_object",
    "sha256_file",
    "write_json_atomic",
    "write_parquet_atomic",
    "write_text_atomic",
]


@contextmanager
def _replacing(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path``, renamed onto it on success and removed on failure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    tmp = Path(name)
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


def write_text_atomic(path: Path, text: str) -> None:
    with _replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_parquet_atomic(frame: pd.DataFrame, path: Path) -> None:
    with _replacing(path) as tmp:
        frame.to_parquet(tmp, index=False)


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
