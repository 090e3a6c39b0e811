"""HMAC-SHA256 under one key: of one message, or of a whole column at once.

Why a column at once
--------------------
A token is one HMAC-SHA256 per distinct value, and ingestion tokenizes millions of values.
In Python each HMAC is a handful of method calls around OpenSSL (~0.8 µs on this project's
2-core machine when quiet). The embedded ClickHouse engine (chDB, already the warehouse's
engine) computes ``SHA256`` in C++ over a whole column (~0.3 µs per HMAC); HMAC is two of
those over the RFC 2104 pads, ``SHA256(outer_pad || SHA256(inner_pad || message))``, the same
bytes as :func:`hmac.digest` (asserted in the tests).

A query runs on one thread: a chunk's column is one stream, more threads only cost, and
ingestion's other core has the row checks. Opening chDB costs ~30 ms and a query on an open
connection ~2.5 ms, so columns are hashed there only inside :func:`column_engine` (ingestion
opens it per table) and only from :data:`COLUMN_FROM` messages; anywhere else, and for short
columns, in Python.

The key never enters query text: the pads travel as a one-row Arrow table read by chDB's
``Python()`` table function, like the messages, so no query log or error message can hold
them. chDB keeps one embedded engine per process, bound to one path: while the scope is open
this process cannot open the embedded warehouse, and while the warehouse is open the scope
hashes in Python (same result).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["COLUMN_FROM", "KeyedSha256", "column_engine"]

#: Columns of at least this many messages are hashed by the engine (inside
#: :func:`column_engine`), fewer in Python.
COLUMN_FROM = 4096
_BLOCK = 64
_HMAC_SQL = (
    "WITH (SELECT tuple(inner, outer, prefix) FROM Python(key)) AS pads "
    "SELECT row, concat(pads.3, substring(lower(hex("
    "SHA256(concat(pads.2, SHA256(concat(pads.1, message)))))), 1, {chars})) AS token "
    "FROM Python(messages) SETTINGS max_threads = 1"
)


class _Engine:
    """This process's chDB connection for hashing columns, while a scope holds it open."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.connection: Any = None
        self.scopes = 0


_ENGINE = _Engine()


@contextmanager
def column_engine() -> Iterator[bool]:
    """Columns hashed inside this scope go to chDB (one connection for the whole scope).
    Yields whether the engine is in use: not while this process holds the embedded
    warehouse open (then Python hashes, with the same result). Nestable."""
    import chdb

    with _ENGINE.lock:
        if _ENGINE.scopes == 0:
            try:
                _ENGINE.connection = chdb.connect(":memory:")
            except RuntimeError as error:
                if "EmbeddedServer already initialized" not in str(error):
                    raise
                _ENGINE.connection = None  # the warehouse is open here: Python hashes
        _ENGINE.scopes += 1
        in_use = _ENGINE.connection is not None
    try:
        yield in_use
    finally:
        with _ENGINE.lock:
            _ENGINE.scopes -= 1
            if _ENGINE.scopes == 0 and _ENGINE.connection is not None:
                _ENGINE.connection.close()
                _ENGINE.connection = None


class KeyedSha256:
    """HMAC-SHA256 with the key schedule done once (RFC 2104 inner and outer pads).

    ``hmac.digest`` re-derives the padded key on every call; copying two pre-keyed SHA-256
    states is ~2.5x faster for one message, and :meth:`prefixed_hex` hashes a column at once.
    """

    __slots__ = ("_inner", "_inner_pad", "_outer", "_outer_pad")

    def __init__(self, key: bytes) -> None:
        block = key if len(key) <= _BLOCK else hashlib.sha256(key).digest()
        block = block.ljust(_BLOCK, b"\0")
        self._inner_pad = bytes(b ^ 0x36 for b in block)
        self._outer_pad = bytes(b ^ 0x5C for b in block)
        self._inner = hashlib.sha256(self._inner_pad)
        self._outer = hashlib.sha256(self._outer_pad)

    def __repr__(self) -> str:  # never print key material
        return "KeyedSha256(<key redacted>)"

    def hexdigest(self, message: bytes) -> str:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()

    def prefixed_hex(self, messages: Sequence[str], prefix: str, chars: int) -> np.ndarray:
        """``prefix + hexdigest(message)[:chars]`` of each message (UTF-8), in order, as an
        object array of str."""
        if len(messages) >= COLUMN_FROM:
            hashed = self._in_engine(messages, prefix, chars)
            if hashed is not None:
                return hashed
        out = np.empty(len(messages), dtype=object)
        out[:] = [prefix + self.hexdigest(m.encode("utf-8"))[:chars] for m in messages]
        return out

    def _in_engine(self, texts: Sequence[str], prefix: str, chars: int) -> np.ndarray | None:
        """The column hashed by chDB; None outside :func:`column_engine` (or when the
        warehouse held the engine as the scope opened)."""
        if not 1 <= chars <= 64:
            raise ValueError("a SHA-256 digest has 64 hex characters")
        # chDB's Python() table function finds these two tables by name in this frame.
        messages = pa.table(  # noqa: F841
            {
                "row": pa.array(np.arange(len(texts), dtype=np.int64)),
                "message": pa.array(texts, type=pa.string()),
            }
        )
        key = pa.table(  # noqa: F841
            {
                "inner": pa.array([self._inner_pad], pa.binary()),
                "outer": pa.array([self._outer_pad], pa.binary()),
                "prefix": pa.array([prefix], pa.string()),
            }
        )
        with _ENGINE.lock:
            if _ENGINE.connection is None:
                return None
            result = _ENGINE.connection.query(_HMAC_SQL.format(chars=int(chars)), "ArrowTable")
        if result.num_rows != len(texts):
            raise RuntimeError(f"chDB hashed {result.num_rows} of {len(texts)} messages")
        rows = result.column("row").to_numpy()
        tokens = result.column("token").to_numpy(zero_copy_only=False)
        if np.array_equal(rows, np.arange(len(texts))):
            return tokens  # one thread, one stream: in order, as it always comes
        out = np.empty(len(texts), dtype=object)
        out[rows] = tokens
        return out
