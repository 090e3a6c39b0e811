"""Token vault: encryption, binding, permissions, audited reveal, hash-chained log."""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import stat
import time
from pathlib import Path

import pytest

from anonymization.vault import TokenVault, VaultIntegrityError
from lakehouse.audit_log import AuditLogError, record_hash, verify_log

KEY = bytes(range(32))


@pytest.fixture()
def vault(tmp_path: Path) -> TokenVault:
    v = TokenVault(tmp_path / "vault" / "tokens.db", KEY, tmp_path / "vault" / "audit.jsonl")
    v.put_many("person_name", {"nm_aaa": "Budi Santoso", "nm_bbb": "Siti Aminah"})
    v.put_many("phone", {"ph_ccc": "081234567890"})
    return v


def _records(v: TokenVault) -> list[dict]:
    return [json.loads(line) for line in v.audit_path.read_text().splitlines()]


def test_round_trip_and_count(vault: TokenVault) -> None:
    assert vault.count() == 3
    assert vault.count("person_name") == 2
    assert vault.reveal("nm_aaa", actor="case-worker-7", reason="court order 12/2024") == (
        "Budi Santoso"
    )
    assert "nm_bbb" in vault and "nm_zzz" not in vault


def test_put_many_is_insert_or_ignore(vault: TokenVault) -> None:
    inserted = vault.put_many("person_name", {"nm_aaa": "SOMEONE ELSE", "nm_ddd": "Dewi"})
    assert inserted == 1
    assert vault.reveal("nm_aaa", actor="a", reason="r") == "Budi Santoso"


def test_plaintext_is_not_stored(vault: TokenVault) -> None:
    raw = vault.path.read_bytes()
    assert b"Budi Santoso" not in raw and b"081234567890" not in raw


def test_files_are_private(vault: TokenVault) -> None:
    assert stat.S_IMODE(os.stat(vault.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(vault.audit_path).st_mode) == 0o600
    assert vault.audit_path == vault.path.parent / "audit.jsonl"


def test_tampered_ciphertext_fails(vault: TokenVault) -> None:
    with sqlite3.connect(vault.path) as conn:
        (ct,) = conn.execute("SELECT ciphertext FROM entries WHERE token='nm_aaa'").fetchone()
        flipped = bytes([ct[0] ^ 1]) + ct[1:]
        conn.execute("UPDATE entries SET ciphertext=? WHERE token='nm_aaa'", (flipped,))
    with pytest.raises(VaultIntegrityError):
        vault.reveal("nm_aaa", actor="a", reason="r")
    assert _records(vault)[-1]["outcome"] == "integrity_error"


def test_ciphertext_cannot_be_moved_to_another_token(vault: TokenVault) -> None:
    with sqlite3.connect(vault.path) as conn:
        row = conn.execute("SELECT nonce, ciphertext FROM entries WHERE token='nm_bbb'").fetchone()
        conn.execute("UPDATE entries SET nonce=?, ciphertext=? WHERE token='nm_aaa'", row)
    with pytest.raises(VaultIntegrityError):
        vault.reveal("nm_aaa", actor="a", reason="r")


def test_wrong_key_cannot_decrypt(vault: TokenVault) -> None:
    other = TokenVault(vault.path, bytes(32), vault.audit_path)
    with pytest.raises(VaultIntegrityError):
        other.reveal("nm_aaa", actor="a", reason="r")


def test_reveal_requires_actor_and_reason(vault: TokenVault) -> None:
    for actor, reason in [("", "x"), ("someone", ""), ("  ", "x"), ("someone", "  ")]:
        with pytest.raises(ValueError):
            vault.reveal("nm_aaa", actor=actor, reason=reason)
    outcomes = [r["outcome"] for r in _records(vault)]
    assert outcomes == ["denied"] * 4


def test_unknown_token_is_audited(vault: TokenVault) -> None:
    with pytest.raises(KeyError):
        vault.reveal("nm_nope", actor="a", reason="r")
    record = _records(vault)[-1]
    assert record["outcome"] == "unknown_token" and record["domain"] is None


def test_audit_is_written_before_decryption(
    vault: TokenVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    decrypted: list[bool] = []
    real = vault._aead

    class SpyAead:
        def decrypt(self, nonce: bytes, data: bytes, aad: bytes) -> bytes:
            decrypted.append(True)
            return real.decrypt(nonce, data, aad)

    def broken_audit(*args: object, **kwargs: object) -> None:
        raise AuditLogError("disk full")

    monkeypatch.setattr(vault, "_aead", SpyAead())
    assert vault.reveal("nm_aaa", actor="a", reason="r") == "Budi Santoso"
    assert decrypted == [True]  # the spy sees decryptions
    decrypted.clear()
    monkeypatch.setattr(vault, "_audit", broken_audit)
    with pytest.raises(AuditLogError):
        vault.reveal("nm_aaa", actor="a", reason="r")
    assert decrypted == []


def test_audit_chain_verifies_and_detects_edits(vault: TokenVault) -> None:
    for i in range(5):
        vault.reveal("nm_aaa", actor=f"worker-{i}", reason="safeguarding visit")
    ok, message = verify_log(vault.audit_path)
    assert ok, message
    records = _records(vault)
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]
    assert records[0]["prev_hash"] == "0" * 64
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(records))
    assert vault.audit_head() == (5, records[-1]["hash"])
    assert {"seq", "at", "actor", "reason", "token", "domain", "outcome", "prev_hash", "hash"} == (
        set(records[0])
    )

    lines = vault.audit_path.read_text().splitlines()
    original = list(lines)
    lines[2] = lines[2].replace("worker-2", "worker-X")
    vault.audit_path.write_text("\n".join(lines) + "\n")
    ok, message = verify_log(vault.audit_path)
    assert not ok and message.startswith("line 3"), message

    # deleting a line breaks the chain at the next line
    vault.audit_path.write_text("\n".join(original[:1] + original[2:]) + "\n")
    ok, message = verify_log(vault.audit_path)
    assert not ok and message.startswith("line 2"), message

    # re-hashing an edited record is detected by the next record's prev_hash
    edited = json.loads(original[1])
    edited["reason"] = "nothing to see"
    edited["hash"] = record_hash(edited)
    forged = [original[0], json.dumps(edited), *original[2:]]
    vault.audit_path.write_text("\n".join(forged) + "\n")
    ok, message = verify_log(vault.audit_path)
    assert not ok and message.startswith("line 3"), message


def test_missing_log_does_not_verify(tmp_path: Path) -> None:
    ok, _ = verify_log(tmp_path / "nothing.jsonl")
    assert not ok


def test_erase(vault: TokenVault) -> None:
    assert vault.erase("person_name", "nm_aaa", actor="dpo", reason="erasure request #4")
    assert vault.count() == 2
    with pytest.raises(KeyError):
        vault.reveal("nm_aaa", actor="a", reason="r")
    assert not vault.erase("person_name", "nm_aaa")
    assert not vault.erase("phone", "nm_bbb")  # wrong domain: nothing deleted
    assert vault.count() == 2
    outcomes = [r["outcome"] for r in _records(vault)]
    assert outcomes == ["erased", "unknown_token", "unknown_token", "unknown_token"]
    assert verify_log(vault.audit_path)[0]


def test_key_must_be_32_bytes(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        TokenVault(tmp_path / "v.db", b"x" * 16, tmp_path / "audit.jsonl")


def test_put_many_is_fast(tmp_path: Path) -> None:
    with TokenVault(tmp_path / "big.db", KEY, tmp_path / "audit.jsonl") as v:
        mapping = {f"nm_{i:020x}": f"Nama Anak {i}" for i in range(100_000)}
        start = time.perf_counter()
        assert v.put_many("person_name", mapping) == 100_000
        elapsed = time.perf_counter() - start
        assert v.count() == 100_000
        assert v.reveal("nm_" + f"{77:020x}", actor="a", reason="r") == "Nama Anak 77"
    assert elapsed < 5.0, f"100k entries took {elapsed:.2f}s"
