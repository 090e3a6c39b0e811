"""Credentials stored only as peppered hashes: the one store behind API keys and DPO keys.

Why this design
---------------
* A key is ``<prefix>_<id>_<secret>`` with 256 bits of randomness in the secret. The id is
  public (audit records and ``revoke`` use it); the secret is shown once, at creation.
* At rest only ``HMAC-SHA256(pepper, label + key)`` is kept. Keys are high-entropy, so a slow
  password hash (scrypt) would add latency to every check without adding security; the
  server-side pepper means a stolen key file alone does not allow offline checking of guessed
  keys. The label differs per kind of key, so an API key's hash can never match a DPO key's.
* The store is one JSON file (mode 0600) outside the lake's public zones; writes are atomic
  (write-then-rename) under a lock file, so a CLI can create or revoke keys while a server
  runs. Readers re-read the file when it changes, so a revocation takes effect on the next
  check.

A kind of key is a record dataclass (with at least the fields of :class:`StoredKey`) and a
store subclass that says how a record is created (:meth:`HashedKeyStore._new_record`).
"""

from __future__ import annotations

import fcntl
import functools
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
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

from lakehouse.files import write_json_atomic

__all__ = [
    "HashedKeyStore",
    "KeyRecord",
    "KeyStoreError",
    "PersonalKey",
    "PersonalKeyStore",
    "StoredKey",
    "parse_key_id",
]


class KeyStoreError(ValueError):
    """A key cannot be created or changed as asked; the message says why."""


class KeyRecord(Protocol):
    """What the store needs of a record."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def hash(self) -> str: ...

    @property
    def revoked(self) -> bool: ...


@dataclass(frozen=True)
class StoredKey:
    """The fields every kind of key has."""

    id: str
    name: str
    role: str
    created_at: str
    revoked: bool
    revoked_at: str | None
    hash: str

    def public(self) -> dict[str, Any]:
        """Everything but the hash (what a ``list`` command shows)."""
        out = asdict(self)
        out.pop("hash")
        return out


R = TypeVar("R", bound=StoredKey)


@functools.cache
def _pattern(prefix: str) -> re.Pattern[str]:
    """Compiled once per kind of key: every API request parses its key."""
    return re.compile(
        rf"^{re.escape(prefix)}_(?P<id>[0-9a-f]{{12}})_(?P<secret>[A-Za-z0-9_-]{{43}})$"
    )


def parse_key_id(presented: str, prefix: str) -> str | None:
    """The public id of a key of this prefix, or None if ``presented`` is not one."""
    match = _pattern(prefix).match(presented.strip())
    return match.group("id") if match else None


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class HashedKeyStore(Generic[R]):
    """One JSON file of key records of one kind (prefix, hash label, record type)."""

    prefix: ClassVar[str]
    hash_label: ClassVar[bytes]
    record_type: ClassVar[type[StoredKey]]
    what: ClassVar[str] = "key"

    def __init__(self, path: Path, pepper: bytes) -> None:
        if len(pepper) < 32:
            raise ValueError("the key pepper must be at least 32 bytes")
        self.path = path
        self._pepper = pepper
        self._lock = threading.Lock()
        self._cache: tuple[tuple[int, int, int], dict[str, R]] | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, pepper=<redacted>)"

    # -- hashing -------------------------------------------------------------
    def _hash(self, key: str) -> str:
        return hmac.new(self._pepper, self.hash_label + key.encode(), hashlib.sha256).hexdigest()

    def parse_id(self, presented: str) -> str | None:
        return parse_key_id(presented, self.prefix)

    # -- reading -------------------------------------------------------------
    def _read(self) -> dict[str, R]:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return {}
        signature = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if self._cache is not None and self._cache[0] == signature:
                return self._cache[1]
        raw = json.loads(self.path.read_text(encoding="utf-8"))
        keys: dict[str, R] = {k["id"]: self.record_type(**k) for k in raw.get("keys", [])}  # type: ignore[misc]
        with self._lock:
            self._cache = (signature, keys)
        return keys

    def list(self) -> list[R]:
        return sorted(self._read().values(), key=lambda k: (k.created_at, k.id))

    def get(self, key_id: str) -> R | None:
        return self._read().get(key_id)

    def authenticate(self, presented: str) -> R | None:
        """The key's record if ``presented`` is a known key (revoked or not), else None."""
        key_id = self.parse_id(presented)
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
    def _locked(self) -> Iterator[dict[str, R]]:
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

    @staticmethod
    def checked_name(name: str) -> str:
        name = name.strip()
        if not name or len(name) > 100:
            raise KeyStoreError("name must be 1..100 characters")
        return name

    def _add(self, make: Any) -> tuple[R, str]:
        """Add ``make(id, hash)``'s record under a fresh id; returns (record, plaintext key).
        The plaintext is never stored."""
        with self._locked() as keys:
            key_id = secrets.token_hex(6)
            while key_id in keys:
                key_id = secrets.token_hex(6)
            plaintext = f"{self.prefix}_{key_id}_{secrets.token_urlsafe(32)}"
            record: R = make(key_id, self._hash(plaintext))
            keys[key_id] = record
        return record, plaintext

    def revoke(self, key_id: str) -> R:
        with self._locked() as keys:
            record = keys.get(key_id)
            if record is None:
                raise KeyStoreError(f"no {self.what} with id {key_id!r}")
            if not record.revoked:
                record = replace(record, revoked=True, revoked_at=now_utc())
                keys[key_id] = record
        return record


# -- keys of one person in one role (the DPO, a data steward) -------------------------------------


@dataclass(frozen=True)
class PersonalKey(StoredKey):
    """A key held by one named person acting in one role: the audit logs name them by it."""

    @property
    def actor(self) -> str:
        """How an audit record names the holder: owner and key id (names need not be unique)."""
        return f"{self.name} ({self.role} key {self.id})"


P = TypeVar("P", bound=PersonalKey)


class PersonalKeyStore(HashedKeyStore[P]):
    """The keys of one role: created once per person, never given a role or scope at creation.

    The pepper is derived from the vault key (:meth:`for_vault`): such a key is worth what the
    lake it acts on is worth, so it cannot be created or checked where the vault key is absent
    (in production the vault key comes only from the environment). Each role has its own label,
    so one role's key never passes as another's."""

    role: ClassVar[str]
    pepper_label: ClassVar[bytes]

    @classmethod
    def for_vault(cls, path: Path, vault_key: bytes) -> Self:
        return cls(path, hmac.new(vault_key, cls.pepper_label, hashlib.sha256).digest())

    def create(self, name: str) -> tuple[P, str]:
        """Create a key of this store's role; returns (record, plaintext key), the plaintext
        once."""
        name = self.checked_name(name)
        return self._add(
            lambda key_id, digest: self.record_type(
                id=key_id,
                name=name,
                role=self.role,
                created_at=now_utc(),
                revoked=False,
                revoked_at=None,
                hash=digest,
            )
        )
