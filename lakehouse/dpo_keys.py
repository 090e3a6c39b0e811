"""The data protection officer's credentials: who may re-identify, erase, restrict or export.

Without them, whoever can run the CLI is "the data protection officer" and the audit log
records whatever name they type. A DPO key is created once (``merajut subject key create``),
printed once, and kept only as a peppered hash (:mod:`lakehouse.key_store`); every subject and
vault command takes it from ``MERAJUT_DPO_KEY``, and the actor in the audit log is the key's
owner, never a free-text option.

The pepper is derived from the vault key: a DPO key is worth exactly as much as the vault it
opens, so it cannot be created or checked where the vault key is absent (in production the
vault key comes only from the environment).
"""

from __future__ import annotations

from dataclasses import dataclass

from lakehouse.key_store import KeyStoreError, PersonalKey, PersonalKeyStore

__all__ = ["DPO_ROLE", "DpoKey", "DpoKeyStore", "KeyStoreError"]

DPO_ROLE = "dpo"


@dataclass(frozen=True)
class DpoKey(PersonalKey):
    """The data protection officer's key; its actor reads ``<name> (dpo key <id>)``."""


class DpoKeyStore(PersonalKeyStore[DpoKey]):
    prefix = "dpo"
    hash_label = b"merajut-dpo-key-v1\x00"
    pepper_label = b"merajut-dpo-key-pepper-v1"
    record_type = DpoKey
    what = "DPO key"
    role = DPO_ROLE
