"""Append-only, hash-chained audit log of the API's data-returning requests.

The chain format is the token vault's (``anonymization/vault.py``): one canonical JSON record
per line with ``seq``, ``prev_hash`` and ``hash`` = sha256 of the record without ``hash``.
Reusing it means one verifier (:func:`anonymization.vault.verify_audit_log`) checks both logs,
and a reviewer learns the format once. Editing, deleting or re-ordering a line breaks the chain
from that line on; truncating the tail is only detectable against an anchored head
(:meth:`ApiAuditLog.head`).

Writing fails closed: if the record cannot be appended the request gets a 503 and no data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# The vault keeps these helpers private; importing them (rather than copying) keeps the two
# logs byte-compatible with the one verifier.
from anonymization.vault import (
    AuditLogError,
    append_record,
    log_head,
    verify_audit_log,
)

__all__ = ["ApiAuditLog", "AuditLogError", "verify_audit_chain"]

_RESERVED = {"seq", "at", "prev_hash", "hash"}


class ApiAuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __repr__(self) -> str:
        return f"ApiAuditLog({str(self.path)!r})"

    def append(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Append one record (``event`` + seq, at, prev_hash, hash) under an exclusive lock."""
        clash = _RESERVED & set(event)
        if clash:
            raise ValueError(f"audit events may not set {sorted(clash)}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise AuditLogError(f"cannot open audit log: {exc}") from exc
        return append_record(self.path, json.loads(json.dumps(dict(event), default=str)))

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the last record, to anchor outside the log."""
        return log_head(self.path)

    def records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]


def verify_audit_chain(path: Path) -> tuple[bool, str]:
    """(ok, message naming the first bad line) — the vault's verifier, same chain format."""
    return verify_audit_log(path)
