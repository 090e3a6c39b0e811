"""The vault's per-subject data keys: crypto-shredding reaches every copy of the entries, a value
two subjects share survives one's erasure, and an old vault keeps working."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from anonymization.vault import TokenVault

KEY = bytes(range(32))


def _vault(tmp_path: Path, name: str = "vault.sqlite") -> TokenVault:
    return TokenVault(tmp_path / "vault" / name, KEY, tmp_path / "vault" / "audit.jsonl")


@pytest.fixture()
def vault(tmp_path: Path) -> TokenVault:
    v = _vault(tmp_path)
    # Two children; "Budi Santoso" is the name of a guardian of each (the same token).
    v.put_many(
        "person_name",
        {"nm_a": "Ayu Lestari", "nm_b": "Bayu Pratama", "nm_shared": "Budi Santoso"},
        {"nm_a": {"sub_a"}, "nm_b": {"sub_b"}, "nm_shared": {"sub_a", "sub_b"}},
    )
    v.put_many("nik", {"nik_a": "3276015503150001"}, {"nik_a": {"sub_a"}})
    return v


def test_a_subjects_values_are_encrypted_with_their_own_key(vault: TokenVault) -> None:
    assert vault.has_subject("sub_a") and vault.has_subject("sub_b")
    assert vault.reveal("nm_a", actor="dpo", reason="r") == "Ayu Lestari"
    assert vault.reveal("nm_shared", actor="dpo", reason="r") == "Budi Santoso"
    assert vault.count() == 5  # the shared name once per subject
    assert vault.owners_of(["nm_shared", "nm_a", "nm_x"]) == {
        "nm_shared": {"sub_a", "sub_b"},
        "nm_a": {"sub_a"},
    }
    raw = vault.path.read_bytes() + vault.key_ring_path.read_bytes()
    assert b"Ayu Lestari" not in raw and b"3276015503150001" not in raw


def test_shredding_reaches_every_backup_of_the_entries(vault: TokenVault, tmp_path: Path) -> None:
    backup = tmp_path / "backup.sqlite"
    shutil.copyfile(vault.path, backup)
    assert vault.shred_subject("sub_a", actor="dpo", reason="erasure 1/2026") == 3
    assert not vault.has_subject("sub_a")
    with pytest.raises(KeyError):
        vault.reveal("nm_a", actor="dpo", reason="r")
    # The other subject keeps the value they share.
    assert vault.reveal("nm_shared", actor="dpo", reason="r") == "Budi Santoso"
    assert vault.reveal("nm_b", actor="dpo", reason="r") == "Bayu Pratama"
    # A backup of the entries still holds sub_a's ciphertexts, but their key is gone for good.
    restored = tmp_path / "restored" / "vault.sqlite"
    restored.parent.mkdir()
    shutil.copyfile(backup, restored)
    shutil.copyfile(vault.key_ring_path, restored.with_name("vault_keys.sqlite"))
    old = TokenVault(restored, KEY, tmp_path / "restored" / "audit.jsonl")
    with sqlite3.connect(restored) as conn:
        (left,) = conn.execute(
            "select count(*) from entries where subject_ref = 'sub_a'"
        ).fetchone()
    assert left == 3
    with pytest.raises(KeyError):
        old.reveal("nm_a", actor="dpo", reason="restored backup")
    assert old.reveal("nm_b", actor="dpo", reason="restored backup") == "Bayu Pratama"


def test_shredding_is_audited_first(vault: TokenVault) -> None:
    vault.shred_subject("sub_a", actor="dpo-1", reason="erasure 1/2026")
    last = json.loads(vault.audit_path.read_text().splitlines()[-1])
    assert last["action"] == "crypto_shred" and last["subject"] == "sub_a"
    assert last["outcome"] == "shredded" and last["actor"] == "dpo-1"
    assert vault.shred_subject("sub_a", actor="dpo-1", reason="again") == 0
    assert json.loads(vault.audit_path.read_text().splitlines()[-1])["outcome"] == "unknown_subject"


def test_a_subject_entry_replaces_the_copy_of_no_subject(vault: TokenVault) -> None:
    # The registry drop delivered a NIK before the child registry did: no owner known yet.
    vault.put_many("nik", {"nik_c": "3276015503150003"})
    assert vault.owners_of(["nik_c"]) == {}
    vault.put_many("nik", {"nik_c": "3276015503150003"}, {"nik_c": {"sub_c"}})
    with sqlite3.connect(vault.path) as conn:
        rows = conn.execute("select subject_ref from entries where token = 'nik_c'").fetchall()
    assert rows == [("sub_c",)]  # no unshreddable copy left
    # ... and a later copy of no subject is not stored beside the subject's.
    vault.put_many("nik", {"nik_c": "3276015503150003"})
    assert vault.count("nik") == 2
    vault.shred_subject("sub_c", actor="dpo", reason="erasure")
    assert "nik_c" not in vault


def test_the_subjects_entries_are_exported_audited(vault: TokenVault) -> None:
    entries = vault.subject_entries("sub_a", actor="dpo", reason="access request 4/2026")
    assert sorted(v for _, _, v in entries) == ["3276015503150001", "Ayu Lestari", "Budi Santoso"]
    last = json.loads(vault.audit_path.read_text().splitlines()[-1])
    assert last["action"] == "export" and last["entries"] == 3 and "Ayu" not in json.dumps(last)
    with pytest.raises(ValueError):
        vault.subject_entries("sub_a", actor="dpo", reason=" ")


def test_a_first_version_vault_is_migrated_and_stays_readable(tmp_path: Path) -> None:
    path = tmp_path / "vault" / "vault.sqlite"
    path.parent.mkdir()
    # Write an entry the way the first version did (one row per token, no subject).
    v1 = _vault(tmp_path)
    v1.put_many("person_name", {"nm_old": "Siti Aminah"})
    v1.close()
    with sqlite3.connect(path) as conn:
        conn.execute("alter table entries rename to e")
        conn.execute(
            "create table entries (token text primary key, domain text not null, nonce blob not "
            "null, ciphertext blob not null, created_at text not null)"
        )
        conn.execute(
            "insert into entries select token, domain, nonce, ciphertext, created_at from e"
        )
        conn.execute("drop table e")
    migrated = _vault(tmp_path)
    assert migrated.reveal("nm_old", actor="dpo", reason="r") == "Siti Aminah"
    migrated.put_many("person_name", {"nm_old": "Siti Aminah"}, {"nm_old": {"sub_s"}})
    assert migrated.owners_of(["nm_old"]) == {"nm_old": {"sub_s"}}
