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
* The audit log is :class:`lakehouse.audit_log.HashChainedLog` (append-only JSONL
  with a SHA-256 hash chain, the same format as the API's request log). A hash
  chain cannot detect truncation of the *tail* on its own; anchor
  :meth:`TokenVault.audit_head` somewhere else (e.g. the run log) if that matters.
* Fail closed: if the audit record cannot be written, nothing is revealed.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from lakehouse.audit_log import AuditLogError, HashChainedLog

__all__ = ["TokenVault", "VaultIntegrityError"]

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


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def _touch_private(path: Path) -> None:
    """Create ``path`` with mode 0600 (or tighten an existing file to 0600)."""
    fd = os.open(path, os.O_CREAT | os.O_RDWR, _FILE_MODE)
    os.close(fd)
    os.chmod(path, _FILE_MODE)


def _aad(domain: str, token: str) -> bytes:
    return _AAD_LABEL + domain.encode() + b"\x00" + token.encode()


class TokenVault:
    """token -> AES-GCM-encrypted original, with audited reveal and erasure."""

    def __init__(self, path: Path | str, key: bytes, audit_log: Path | str) -> None:
        if not isinstance(key, bytes | bytearray) or len(key) != 32:
            raise ValueError("vault key must be exactly 32 bytes (AES-256)")
        self.path = Path(path)
        self.audit_path = Path(audit_log)
        self.audit = HashChainedLog(self.audit_path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.audit_path.parent.mkdir(parents=True, exist_ok=True)
        self._aead = AESGCM(bytes(key))
        _touch_private(self.path)
        try:
            _touch_private(self.audit_path)
        except OSError as exc:  # fail closed: a vault whose audit cannot be written won't open
            raise AuditLogError(f"cannot open the re-identification audit log: {exc}") from exc
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
        return self.audit.head()

    def _audit(self, actor: str, reason: str, token: str, domain: str | None, outcome: str) -> None:
        self.audit.append(
            {
                "actor": actor,
                "reason": reason,
                "token": token,
                "domain": domain,
                "outcome": outcome,
            }
        )
