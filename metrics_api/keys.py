"""API keys: random secrets stored only as peppered hashes, each mapped to a role and scope.

The storage, hashing and locking are :mod:`lakehouse.key_store`'s (shared with the data
protection officer's keys); what is the API's own is the scope: a role of
``lakehouse.reference.audiences`` and, for roles that may see provinces, one province.
"""

from __future__ import annotations

from dataclasses import dataclass

from lakehouse.key_store import HashedKeyStore, KeyStoreError, StoredKey, now_utc
from lakehouse.key_store import parse_key_id as _parse_key_id
from lakehouse.reference.audiences import NATIONAL_ONLY_AUDIENCES, ROLES
from lakehouse.reference.regions import PROVINCE_CODES

__all__ = ["ApiKey", "KeyStore", "KeyStoreError", "parse_key_id"]

_PREFIX = "mk"


@dataclass(frozen=True)
class ApiKey(StoredKey):
    province: str | None = None


def parse_key_id(presented: str) -> str | None:
    return _parse_key_id(presented, _PREFIX)


class KeyStore(HashedKeyStore[ApiKey]):
    prefix = _PREFIX
    hash_label = b"merajut-api-key-v1\x00"
    record_type = ApiKey
    what = "API key"

    def create(self, name: str, role: str, province: str | None = None) -> tuple[ApiKey, str]:
        """Create a key; returns (record, plaintext key). The plaintext is never stored."""
        name = self.checked_name(name)
        if role not in ROLES:
            raise KeyStoreError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
        if province is not None:
            province = province.strip()
            if province not in PROVINCE_CODES:
                raise KeyStoreError(f"unknown province code {province!r} (two-digit BPS code)")
            if role in NATIONAL_ONLY_AUDIENCES:
                raise KeyStoreError(f"role {role} sees national statistics only; no province scope")
        return self._add(
            lambda key_id, digest: ApiKey(
                id=key_id,
                name=name,
                role=role,
                province=province,
                created_at=now_utc(),
                revoked=False,
                revoked_at=None,
                hash=digest,
            )
        )
