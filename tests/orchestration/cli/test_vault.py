"""``merajut vault reveal``: only with a DPO key, audited before anything is decrypted, with the
key's owner as the actor; no audit, no reveal; every refusal audited too."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from anonymization.vault import TokenVault
from lakehouse.layout import LakeLayout

RunCli = Callable[[list[str], dict[str, str]], tuple[int, str]]
KEY = "ab" * 32
REVEAL = ["vault", "reveal", "nm_0123", "--reason", "court order 1/2026"]


def _env(tmp_path: Path, dpo_key: str | None = None) -> dict[str, str]:
    env = {
        "MERAJUT_HOME": str(tmp_path / "home"),
        "MERAJUT_LAKE_ROOT": str(tmp_path / "lake"),
        "MERAJUT_TOKEN_KEY": "cd" * 32,
        "MERAJUT_VAULT_KEY": KEY,
        "MERAJUT_RELEASE_KEY": "ef" * 32,
    }
    if dpo_key is not None:
        env["MERAJUT_DPO_KEY"] = dpo_key
    return env


def _vault(tmp_path: Path) -> LakeLayout:
    layout = LakeLayout(tmp_path / "lake")
    with TokenVault(layout.vault, bytes.fromhex(KEY), layout.vault_audit_log) as vault:
        vault.put_many("person_name", {"nm_0123": "Siti Aminah"})
    return layout


def _dpo_key(tmp_path: Path, run_cli: RunCli, name: str = "Dewi Lestari") -> str:
    code, output = run_cli(["subject", "key", "create", "--name", name], _env(tmp_path))
    assert code == 0, output
    match = re.search(r"dpo_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", output)
    assert match is not None
    return match.group(0)


def _records(layout: LakeLayout) -> list[dict]:
    return [json.loads(line) for line in layout.vault_audit_log.read_text().splitlines()]


def test_reveal_is_audited_with_the_key_owner_as_actor(tmp_path: Path, run_cli: RunCli) -> None:
    layout = _vault(tmp_path)
    key = _dpo_key(tmp_path, run_cli)
    code, output = run_cli(REVEAL, _env(tmp_path, key))
    assert code == 0 and "Siti Aminah" in output
    last = _records(layout)[-1]
    assert last["outcome"] == "revealed" and last["actor"].startswith("Dewi Lestari (dpo key ")
    code, output = run_cli(["audit", "verify", "--log", "vault"], _env(tmp_path))
    assert code == 0 and "2 records" in output  # the key's creation, the reveal


def test_the_actor_cannot_be_typed_in(tmp_path: Path, run_cli: RunCli) -> None:
    _vault(tmp_path)
    key = _dpo_key(tmp_path, run_cli)
    code, _ = run_cli([*REVEAL, "--actor", "someone else"], _env(tmp_path, key))
    assert code == 2  # no such option: the actor is whoever holds the key


def test_reveal_without_a_key_is_refused_and_audited(tmp_path: Path, run_cli: RunCli) -> None:
    layout = _vault(tmp_path)
    code, output = run_cli(REVEAL, _env(tmp_path))
    assert code == 2 and "MERAJUT_DPO_KEY" in output and "Siti" not in output
    last = _records(layout)[-1]
    assert last["outcome"] == "refused_no_key" and last["action"] == "reveal"
    assert last["token"] == "nm_0123"


def test_a_wrong_or_revoked_key_is_refused_and_audited(tmp_path: Path, run_cli: RunCli) -> None:
    layout = _vault(tmp_path)
    key = _dpo_key(tmp_path, run_cli)
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    code, output = run_cli(REVEAL, _env(tmp_path, forged))
    assert code == 2 and "Siti" not in output
    assert _records(layout)[-1]["outcome"] == "refused_invalid_key"
    key_id = key.split("_")[1]
    assert run_cli(["subject", "key", "revoke", key_id], _env(tmp_path))[0] == 0
    code, output = run_cli(REVEAL, _env(tmp_path, key))
    assert code == 2 and "revoked" in output and "Siti" not in output
    last = _records(layout)[-1]
    assert last["outcome"] == "refused_revoked_key" and last["key_id"] == key_id


def test_an_api_key_is_not_a_dpo_key(tmp_path: Path, run_cli: RunCli) -> None:
    _vault(tmp_path)
    env = _env(tmp_path)
    code, output = run_cli(["api", "key", "create", "--name", "x", "--role", "admin"], env)
    api_key = re.search(r"mk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", output)
    assert code == 0 and api_key is not None
    code, output = run_cli(REVEAL, _env(tmp_path, api_key.group(0)))
    assert code == 2 and "Siti" not in output


def test_dpo_keys_are_stored_only_as_hashes(tmp_path: Path, run_cli: RunCli) -> None:
    key = _dpo_key(tmp_path, run_cli)
    store = tmp_path / "home" / "dpo" / "dpo_keys.json"
    assert key.split("_", 2)[2] not in store.read_text()
    assert store.stat().st_mode & 0o777 == 0o600
    code, output = run_cli(["subject", "key", "list"], _env(tmp_path))
    assert code == 0 and "Dewi Lestari" in output and key not in output


def test_production_creates_a_dpo_key_only_with_the_vault_key(
    tmp_path: Path, run_cli: RunCli
) -> None:
    env = {**_env(tmp_path), "MERAJUT_MODE": "production"}
    del env["MERAJUT_VAULT_KEY"]
    code, output = run_cli(["subject", "key", "create", "--name", "x"], env)
    assert code == 2 and "MERAJUT_VAULT_KEY" in output
    assert not (tmp_path / "home" / "dpo" / "dpo_keys.json").exists()


def test_an_unwritable_audit_log_refuses_the_reveal(tmp_path: Path, run_cli: RunCli) -> None:
    layout = _vault(tmp_path)
    key = _dpo_key(tmp_path, run_cli)
    layout.vault_audit_log.unlink()
    layout.vault_audit_log.mkdir()  # the log cannot be appended to
    code, output = run_cli(REVEAL, _env(tmp_path, key))
    assert code == 1 and "refused" in output and "Siti" not in output
