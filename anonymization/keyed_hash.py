"""HMAC-SHA256 under one key: of one message, or of a whole column at once.

Why a column at once
--------------------
A token is one HMAC-SHA256 per distinct value, and ingestion tokenizes millions of values.
In Python each HMAC is a handful of method calls around OpenSSL (~3 µs on this project's
2-core machine), so a column of 10^6 distinct values costs seconds on one core whatever
the batching. The embedded ClickHouse engine (chDB, already the warehouse's engine) computes
``SHA256`` in C++ over whole columns on every core; HMAC is two of those over the RFC 2104
pads, ``SHA256(outer_pad || SHA256(inner_pad || message))``, the same bytes as
:func:`hmac.digest` (asserted in the tests). A column of at least :data:`COLUMN_FROM`
messages goes there, fewer stay in Python (a query's fixed cost is ~1 ms).

The key never enters query text: the pads travel as a one-row Arrow table read by chDB's
``Python()`` table function, like the messages, so no query log or error message can hold
them. chDB keeps one embedded engine per process, bound to one path: while this process has
the warehouse open (an embedded warehouse is a path), the column is hashed in Python instead,
with the same result.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

__all__ = ["COLUMN_FROM", "KeyedSha256"]

#: Columns of at least this many messages are hashed by the engine, fewer in Python.
COLUMN_FROM = 4096
_BLOCK = 64
_ENGINE_LOCK = threading.Lock()
_HMAC_SQL = (
    "SELECT row, concat(k.prefix, substring(lower(hex("
    "SHA256(concat(k.outer, SHA256(concat(k.inner, m.message)))))), 1, {chars})) AS token "
    "FROM Python(messages) AS m CROSS JOIN Python(key) AS k"
)


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

    def prefixed_hex(self, messages: Sequence[str], prefix: str, chars: int) -> list[str]:
        """``prefix + hexdigest(message)[:chars]`` of each message (UTF-8), in order."""
        if len(messages) >= COLUMN_FROM:
            hashed = self._in_engine(messages, prefix, chars)
            if hashed is not None:
                return hashed
        return [prefix + self.hexdigest(m.encode("utf-8"))[:chars] for m in messages]

    def _in_engine(self, texts: Sequence[str], prefix: str, chars: int) -> list[str] | None:
        """The column hashed by chDB; None when this process's engine is bound to a path."""
        import chdb

        if not 1 <= chars <= 64:
            raise ValueError("a SHA-256 digest has 64 hex characters")
        # chDB's Python() table function reads these two tables by name from this frame.
        messages = pa.table(  # noqa: F841
            {"row": pa.array(np.arange(len(texts), dtype=np.int64)), "message": pa.array(texts)}
        )
        key = pa.table(  # noqa: F841
            {
                "inner": pa.array([self._inner_pad], pa.binary()),
                "outer": pa.array([self._outer_pad], pa.binary()),
                "prefix": pa.array([prefix], pa.string()),
            }
        )
        try:
            with _ENGINE_LOCK:
                result = chdb.query(_HMAC_SQL.format(chars=int(chars)), "ArrowTable")
        except RuntimeError as error:
            if "EmbeddedServer already initialized" in str(error):
                return None  # the warehouse is open in this process: hash in Python
            raise
        if result.num_rows != len(texts):
            raise RuntimeError(f"chDB hashed {result.num_rows} of {len(texts)} messages")
        out = np.empty(len(texts), dtype=object)
        out[result.column("row").to_numpy()] = result.column("token").to_pylist()
        return list(out.tolist())
