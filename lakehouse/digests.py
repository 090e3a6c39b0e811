"""Content digests: how a run tells that what it would build or publish is what it already has.

A run whose inputs did not change must not publish a new gold snapshot or research release
(nothing new would be in it, and every copy is one more place a child's data lives). Ids,
creation times, release tokens and row order differ from run to run, so "the same" is decided
on content: a sha256 over a canonical form of what matters, and nothing else.

Digests of data about children (a release's input frame) are keyed (HMAC-SHA256): a digest is
stored in a manifest that researchers read, and an unkeyed hash of a small table could be
confirmed by whoever guesses the table.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["files_digest", "frame_digest", "json_digest"]

#: Folder and file names a tree digest never reads: build output, caches, editor files.
SKIPPED_NAMES = frozenset({"__pycache__", "target", "logs", "dbt_packages"})


def json_digest(value: Any) -> str:
    """sha256 of ``value`` as canonical JSON (sorted keys, no whitespace)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _files(root: Path) -> Iterable[Path]:
    if root.is_file():
        yield root
        return
    for path in sorted(root.iterdir()):
        skipped = path.name in SKIPPED_NAMES or path.name.startswith(".")
        if skipped or path.name.endswith((".pyc", ".egg-info")):
            continue
        if path.is_dir():
            yield from _files(path)
        elif path.is_file():
            yield path


def files_digest(paths: Iterable[Path], relative_to: Path) -> str:
    """sha256 over the name (relative to ``relative_to``) and bytes of every file under
    ``paths``, in name order: code and reference data as a run reads them."""
    digest = hashlib.sha256()
    for root in paths:
        for path in _files(root):
            digest.update(path.relative_to(relative_to).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def frame_digest(frame: pd.DataFrame, key: bytes) -> str:
    """HMAC-SHA256 (under ``key``) of a frame's columns, dtypes and rows, whatever their order:
    two reads of the same table in different row orders give the same digest."""
    rows = pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)
    mac = hmac.new(key, digestmod=hashlib.sha256)
    mac.update(json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode())
    mac.update(np.sort(rows).tobytes())
    return mac.hexdigest()
