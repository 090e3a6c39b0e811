"""The data steward's credentials: who may approve (or reject) a gold snapshot for publication.

A snapshot that passed the publish gate is a *candidate* (:mod:`lakehouse.signoff`); only a
person holding a steward key moves ``CURRENT`` to it, after acknowledging every rule violation
and outlier one by one. Like the data protection officer's key (:mod:`lakehouse.dpo_keys`), a
steward key is created once (``merajut publish key create``), printed once, kept only as a
peppered hash, and taken from ``MERAJUT_STEWARD_KEY``; the approval record in the publication
log names the key's owner, never a name typed on the command line. Its pepper is derived from
the vault key under a label of its own, so a DPO key can never pass as a steward key.
"""

from __future__ import annotations

from dataclasses import dataclass

from lakehouse.key_store import KeyStoreError, PersonalKey, PersonalKeyStore

__all__ = ["STEWARD_ROLE", "KeyStoreError", "StewardKey", "StewardKeyStore"]

STEWARD_ROLE = "data-steward"


@dataclass(frozen=True)
class StewardKey(PersonalKey):
    """A data steward's key; its actor reads ``<name> (data-steward key <id>)``."""


class StewardKeyStore(PersonalKeyStore[StewardKey]):
    prefix = "stw"
    hash_label = b"merajut-steward-key-v1\x00"
    pepper_label = b"merajut-steward-key-pepper-v1"
    record_type = StewardKey
    what = "steward key"
    role = STEWARD_ROLE
