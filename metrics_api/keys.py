"""API keys: random secrets, stored only as peppered hashes, each mapped to a role and scope.

Why this design
---------------
* A key is ``mk_<id>_<secret>`` with 256 bits of randomness in the secret. The id is public
  (audit records and ``revoke`` use it); the secret is shown once, at creation.
* At rest only ``HMAC-SHA256(pepper, key)`` is kept. Keys are high-entropy, so a slow password
  hash (scrypt) would add latency to every request without adding security; the server-side
  pepper means a stolen key file alone does not allow offline checking of guessed keys.
* The store is one JSON file (mode 0600) under the restricted home, never in the lake's public
  zones; writes are atomic (write-then-rename) under a lock file, so the CLI can create or
  revoke keys while the server runs. The server re-reads the file when it changes, so a
  revocation takes effect on the next request.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lakehouse.files import write_json_atomic
from lakehouse.reference.audiences import NATIONAL_ONLY_AUDIENCES, ROLES
from lakehouse.reference.regions import PROVINCE_CODES

__all__ = ["ApiKey", "KeyStore", "KeyStoreError", "parse_key_id"]

_PREFIX = "mk"
_KEY = re.compile(r"^mk_(?P<id>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_-]{43})$")
_HASH_LABEL = b"merajut-api-key-v1\x00"


class KeyStoreError(ValueError):
    """A key cannot be created or changed as asked; the message says why."""


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    role: str
    province: str | None
    created_at: str
    revoked: bool
    revoked_at: str | None
    hash: str

    def public(self) -> dict[str, Any]:
        """Everything but the hash (what ``api-key list`` shows)."""
        out = asdict(self)
        out.pop("hash")
        return out


def parse_key_id(presented: str) -> str | None:
    match = _KEY.match(presented.strip())
    return match.group("id") if match else None


class KeyStore:
    def __init__(self, path: Path, pepper: bytes) -> None:
        if len(pepper) < 32:
            raise ValueError("the key pepper must be at least 32 bytes")
        self.path = path
        self._pepper = pepper
        self._lock = threading.Lock()
        self._cache: tuple[tuple[int, int, int], dict[str, ApiKey]] | None = None

    def __repr__(self) -> str:
        return f"KeyStore({str(self.path)!r}, pepper=<redacted>)"

    # -- hashing -------------------------------------------------------------
    def _hash(self, key: str) -> str:
        return hmac.new(self._pepper, _HASH_LABEL + key.encode(), hashlib.sha256).hexdigest()

    # -- reading -------------------------------------------------------------
    def _read(self) -> dict[str, ApiKey]:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return {}
        signature = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if self._cache is not None and self._cache[0] == signature:
                return self._cache[1]
        raw = json.loads(self.path.read_text(encoding="utf-8"))
        keys = {k["id"]: ApiKey(**k) for k in raw.get("keys", [])}
        with self._lock:
            self._cache = (signature, keys)
        return keys

    def list(self) -> list[ApiKey]:
        return sorted(self._read().values(), key=lambda k: (k.created_at, k.id))

    def get(self, key_id: str) -> ApiKey | None:
        return self._read().get(key_id)

    def authenticate(self, presented: str) -> ApiKey | None:
        """The key's record if ``presented`` is a known key (revoked or not), else None."""
        key_id = parse_key_id(presented)
        if key_id is None:
            return None
        record = self._read().get(key_id)
        if record is None:
            return None
        if not hmac.compare_digest(record.hash, self._hash(presented.strip())):
            return None
        return record

    # -- writing -------------------------------------------------------------
    @contextmanager
    def _locked(self) -> Iterator[dict[str, ApiKey]]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            keys = dict(self._read())
            yield keys
            payload = {"version": 1, "keys": [asdict(k) for k in keys.values()]}
            write_json_atomic(self.path, payload)  # mkstemp: the file is created 0600
            os.chmod(self.path, 0o600)
        finally:
            os.close(fd)

    def create(self, name: str, role: str, province: str | None = None) -> tuple[ApiKey, str]:
        """Create a key; returns (record, plaintext key). The plaintext is never stored."""
        name = name.strip()
        if not name or len(name) > 100:
            raise KeyStoreError("name must be 1..100 characters")
        if role not in ROLES:
            raise KeyStoreError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
        if province is not None:
            province = province.strip()
            if province not in PROVINCE_CODES:
                raise KeyStoreError(f"unknown province code {province!r} (two-digit BPS code)")
            if role in NATIONAL_ONLY_AUDIENCES:
                raise KeyStoreError(f"role {role} sees national statistics only; no province scope")
        with self._locked() as keys:
            key_id = secrets.token_hex(6)
            while key_id in keys:
                key_id = secrets.token_hex(6)
            plaintext = f"{_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
            record = ApiKey(
                id=key_id,
                name=name,
                role=role,
                province=province,
                created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                revoked=False,
                revoked_at=None,
                hash=self._hash(plaintext),
            )
            keys[key_id] = record
        return record, plaintext

    def revoke(self, key_id: str) -> ApiKey:
        with self._locked() as keys:
            record = keys.get(key_id)
            if record is None:
                raise KeyStoreError(f"no API key with id {key_id!r}")
            if not record.revoked:
                record = replace(
                    record, revoked=True, revoked_at=datetime.now(UTC).isoformat(timespec="seconds")
                )
                keys[key_id] = record
        return record
