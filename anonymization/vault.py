"""Encrypted token vault with an audited, hash-chained re-identification log.

Why a vault at all
------------------
Tokens are one-way for everyone without the key, but case workers sometimes
*must* get back to the real child (a safeguarding emergency, a court order, a
data-subject request). The vault is the only place where token -> original is
stored, and every look-up is written to an audit log *before* the plaintext is
returned, so re-identification is always attributable to a person and a reason.

Design choices
--------------
* AES-256-GCM per entry with a random 96-bit nonce. The domain and token are
  bound as associated data: a ciphertext copied onto another row (e.g. to make
  token A reveal child B) fails authentication instead of silently decrypting.
* SQLite file (one table) so the vault is a single file that can be backed up,
  access-controlled (created 0600) and erased entry by entry.
* The audit log is append-only JSONL with a SHA-256 hash chain: editing,
  deleting or re-ordering any line breaks verification from that line on.
  A hash chain cannot detect truncation of the *tail* on its own; anchor
  :meth:`TokenVault.audit_head` somewhere else (e.g. the run log) if that matters.
* Fail closed: if the audit record cannot be written, nothing is revealed.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "AUDIT_LOG_NAME",
    "AuditLogError",
    "TokenVault",
    "VaultIntegrityError",
    "verify_audit_log",
]

AUDIT_LOG_NAME = "reidentification_audit.jsonl"
GENESIS_HASH = "0" * 64
_NONCE_BYTES = 12
_AAD_LABEL = b"merajut-vault-v1\x00"
_FILE_MODE = 0o600

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    token TEXT PRIMARY KEY,
    domain TEXT NOT NULL,
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    created_at TEXT NOT NULL
)
"""


class VaultIntegrityError(Exception):
    """A stored ciphertext failed authentication (tampered or moved)."""


class AuditLogError(Exception):
    """The audit log cannot be appended to safely (corrupt tail, I/O error)."""


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def _canonical(record: Mapping[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _record_hash(record: Mapping[str, Any]) -> str:
    return hashlib.sha256(_canonical({k: v for k, v in record.items() if k != "hash"})).hexdigest()


def _touch_private(path: Path) -> None:
    """Create ``path`` with mode 0600 (or tighten an existing file to 0600)."""
    fd = os.open(path, os.O_CREAT | os.O_RDWR, _FILE_MODE)
    os.close(fd)
    os.chmod(path, _FILE_MODE)


def _aad(domain: str, token: str) -> bytes:
    return _AAD_LABEL + domain.encode() + b"\x00" + token.encode()


def _read_last_line(fd: int) -> bytes | None:
    """Last non-empty line of an open file, reading backwards in blocks."""
    end = os.lseek(fd, 0, os.SEEK_END)
    if end == 0:
        return None
    buf = b""
    pos = end
    while pos > 0:
        step = min(4096, pos)
        pos -= step
        os.lseek(fd, pos, os.SEEK_SET)
        buf = os.read(fd, step) + buf
        stripped = buf.rstrip(b"\n")
        if b"\n" in stripped:
            return stripped.rsplit(b"\n", 1)[1]
    stripped = buf.rstrip(b"\n")
    return stripped or None


class TokenVault:
    """token -> AES-GCM-encrypted original, with audited reveal and erasure."""

    def __init__(self, path: Path | str, key: bytes) -> None:
        if not isinstance(key, bytes | bytearray) or len(key) != 32:
            raise ValueError("vault key must be exactly 32 bytes (AES-256)")
        self.path = Path(path)
        self.audit_path = self.path.parent / AUDIT_LOG_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._aead = AESGCM(bytes(key))
        _touch_private(self.path)
        _touch_private(self.audit_path)
        self._conn = sqlite3.connect(self.path)
        with self._conn:
            self._conn.execute(_SCHEMA)

    def __repr__(self) -> str:
        return f"TokenVault({str(self.path)!r}, key=<redacted>)"

    # -- lifecycle ---------------------------------------------------------
    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> TokenVault:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- writing -----------------------------------------------------------
    def put_many(self, domain: str, mapping: Mapping[str, str]) -> int:
        """Store ``token -> original`` pairs; existing tokens are left unchanged.

        Returns the number of newly inserted entries. One transaction and
        ``executemany`` keep 10^5 entries in the low seconds.
        """
        if not domain:
            raise ValueError("domain must be non-empty")
        created = _utc_now()
        encrypt = self._aead.encrypt
        rows = []
        for token, original in mapping.items():
            if not token or original is None:
                continue
            nonce = os.urandom(_NONCE_BYTES)
            ciphertext = encrypt(nonce, str(original).encode("utf-8"), _aad(domain, token))
            rows.append((token, domain, nonce, ciphertext, created))
        before = self._conn.total_changes
        with self._conn:
            self._conn.executemany(
                "INSERT OR IGNORE INTO entries (token, domain, nonce, ciphertext, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                rows,
            )
        return self._conn.total_changes - before

    def count(self, domain: str | None = None) -> int:
        """Number of stored entries (optionally of one domain)."""
        if domain is None:
            row = self._conn.execute("SELECT COUNT(*) FROM entries").fetchone()
        else:
            row = self._conn.execute(
                "SELECT COUNT(*) FROM entries WHERE domain = ?", (domain,)
            ).fetchone()
        return int(row[0])

    def __contains__(self, token: object) -> bool:
        row = self._conn.execute("SELECT 1 FROM entries WHERE token = ?", (token,)).fetchone()
        return row is not None

    # -- audited operations --------------------------------------------------
    def reveal(self, token: str, *, actor: str, reason: str) -> str:
        """Return the original value of ``token``; audited *before* decryption.

        Raises ValueError (after logging a ``denied`` record) if actor or reason
        is empty, KeyError for unknown tokens and VaultIntegrityError if the
        ciphertext fails authentication.
        """
        row = self._conn.execute(
            "SELECT domain, nonce, ciphertext FROM entries WHERE token = ?", (token,)
        ).fetchone()
        if not (actor or "").strip() or not (reason or "").strip():
            domain_or_none = str(row[0]) if row else None
            self._audit(actor, reason, token, domain_or_none, "denied")
            raise ValueError("re-identification requires a non-empty actor and reason")
        if row is None:
            self._audit(actor, reason, token, None, "unknown_token")
            raise KeyError(f"unknown token {token!r}")
        domain, nonce, ciphertext = str(row[0]), bytes(row[1]), bytes(row[2])
        self._audit(actor, reason, token, domain, "revealed")
        try:
            plaintext = self._aead.decrypt(nonce, ciphertext, _aad(domain, token))
        except InvalidTag as exc:
            self._audit(actor, reason, token, domain, "integrity_error")
            raise VaultIntegrityError(f"entry for {token!r} failed authentication") from exc
        return plaintext.decode("utf-8")

    def erase(
        self,
        domain: str,
        token: str,
        *,
        actor: str = "erasure-request",
        reason: str = "data subject erasure request",
    ) -> bool:
        """Delete one entry (right to erasure). Audited; returns True if deleted.

        After erasure the token stays in the lakehouse but can never again be
        linked back to the person by anyone, including vault holders.
        """
        if not (actor or "").strip() or not (reason or "").strip():
            raise ValueError("erasure requires a non-empty actor and reason")
        exists = self._conn.execute(
            "SELECT 1 FROM entries WHERE token = ? AND domain = ?", (token, domain)
        ).fetchone()
        self._audit(actor, reason, token, domain, "erased" if exists else "unknown_token")
        if not exists:
            return False
        with self._conn:
            self._conn.execute(
                "DELETE FROM entries WHERE token = ? AND domain = ?", (token, domain)
            )
        return True

    def audit_head(self) -> tuple[int, str]:
        """(seq, hash) of the last audit record, for anchoring outside the vault."""
        return log_head(self.audit_path)

    def verify_audit_log(self) -> tuple[bool, str]:
        return verify_audit_log(self.audit_path)

    def _audit(self, actor: str, reason: str, token: str, domain: str | None, outcome: str) -> None:
        append_record(
            self.audit_path,
            {
                "actor": actor,
                "reason": reason,
                "token": token,
                "domain": domain,
                "outcome": outcome,
            },
        )


def log_head(path: Path) -> tuple[int, str]:
    """(seq, hash) of the last record of a hash-chained log (the genesis for none), so the
    head can be anchored outside the log: the chain alone cannot show a truncated tail."""
    if not path.exists():
        return 0, GENESIS_HASH
    fd = os.open(path, os.O_RDONLY)
    try:
        line = _read_last_line(fd)
    finally:
        os.close(fd)
    if line is None:
        return 0, GENESIS_HASH
    record = json.loads(line)
    return int(record["seq"]), str(record["hash"])


def append_record(path: Path, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Append one hash-chained record (``fields`` + seq, at, prev_hash, hash) to the log at
    ``path`` under an exclusive lock, fsync'd. The one writer of every audit log we keep (the
    vault's re-identifications, the metrics API's requests), so one verifier checks them all."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, _FILE_MODE)
    except OSError as exc:
        raise AuditLogError(f"cannot open audit log: {exc}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        last = _read_last_line(fd)
        if last is None:
            seq, prev_hash = 0, GENESIS_HASH
        else:
            try:
                prev = json.loads(last)
                seq, prev_hash = int(prev["seq"]), str(prev["hash"])
            except (ValueError, KeyError, TypeError) as exc:
                raise AuditLogError("audit log tail is corrupt; refusing to continue") from exc
        record: dict[str, Any] = {
            "seq": seq + 1,
            "at": _utc_now(),
            **fields,
            "prev_hash": prev_hash,
        }
        record["hash"] = _record_hash(record)
        os.write(fd, _canonical(record) + b"\n")
        os.fsync(fd)
    except OSError as exc:
        raise AuditLogError(f"cannot write audit log: {exc}") from exc
    finally:
        os.close(fd)  # closing releases the flock
    return record


def verify_audit_log(path: Path | str) -> tuple[bool, str]:
    """Check the whole hash chain; returns (ok, message naming the first bad line)."""
    path = Path(path)
    if not path.exists():
        return False, f"audit log {path} does not exist"
    prev_hash = GENESIS_HASH
    expected_seq = 1
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                record = json.loads(raw)
            except ValueError:
                return False, f"line {lineno}: not valid JSON"
            if not isinstance(record, dict) or "hash" not in record:
                return False, f"line {lineno}: not an audit record"
            if record.get("seq") != expected_seq:
                return False, f"line {lineno}: seq {record.get('seq')!r}, expected {expected_seq}"
            if record.get("prev_hash") != prev_hash:
                return False, f"line {lineno}: prev_hash does not match line {lineno - 1}"
            if _record_hash(record) != record["hash"]:
                return False, f"line {lineno}: record hash mismatch (edited)"
            prev_hash = record["hash"]
            expected_seq += 1
    return True, f"ok: {expected_seq - 1} records, head {prev_hash[:16]}"
