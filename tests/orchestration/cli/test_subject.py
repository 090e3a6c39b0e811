"""``merajut subject``: every request needs a DPO key and a reason, and is audited, refusals
included; an unknown subject is an error that changes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from anonymization.tokens import Tokenizer
from anonymization.vault import TokenVault
from lakehouse.layout import LakeLayout
from lakehouse.subject_register import SubjectRegister
from tests.orchestration.cli.test_vault import KEY, _dpo_key, _env

RunCli = Callable[[list[str], dict[str, str]], tuple[int, str]]


def _records(tmp_path: Path) -> list[dict]:
    log = LakeLayout(tmp_path / "lake").vault_audit_log
    return [json.loads(line) for line in log.read_text().splitlines()]


def _known_subject(tmp_path: Path, child: str) -> str:
    """A child the vault holds (as ingestion would have stored them)."""
    ref = Tokenizer(bytes.fromhex("cd" * 32)).token("data_subject", child)
    assert ref is not None
    layout = LakeLayout(tmp_path / "lake")
    with TokenVault(layout.vault, bytes.fromhex(KEY), layout.vault_audit_log) as vault:
        vault.put_many("person_name", {"nm_1": "Ayu Lestari"}, {"nm_1": {ref}})
        vault.put_many("nik", {"nik_1": "3276015503150001"}, {"nik_1": {ref}})
    return ref


def test_requests_without_a_key_are_refused_and_audited(tmp_path: Path, run_cli: RunCli) -> None:
    for args in (
        ["subject", "erase", "CH-1", "--reason", "r"],
        ["subject", "restrict", "CH-1", "--reason", "r"],
        ["subject", "export", "CH-1", "--reason", "r"],
        ["subject", "status"],
    ):
        code, output = run_cli(args, _env(tmp_path))
        assert code == 2 and "MERAJUT_DPO_KEY" in output, args
        assert _records(tmp_path)[-1]["outcome"] == "refused_no_key"
    assert "CH-1" not in LakeLayout(tmp_path / "lake").vault_audit_log.read_text()


def test_an_unknown_subject_is_an_error(tmp_path: Path, run_cli: RunCli) -> None:
    env = _env(tmp_path, _dpo_key(tmp_path, run_cli))
    code, output = run_cli(["subject", "erase", "CH-404", "--reason", "typo"], env)
    assert code == 1 and "no data subject 'CH-404'" in output
    assert _records(tmp_path)[-1]["outcome"] == "unknown_subject"
    with SubjectRegister(LakeLayout(tmp_path / "lake").subject_register) as register:
        assert register.entries() == []


def test_a_reason_is_required(tmp_path: Path, run_cli: RunCli) -> None:
    _known_subject(tmp_path, "CH-1")
    env = _env(tmp_path, _dpo_key(tmp_path, run_cli))
    code, output = run_cli(["subject", "erase", "CH-1", "--reason", "  "], env)
    assert code == 2 and "--reason" in output


def test_erasure_shreds_now_and_a_second_is_a_no_op(tmp_path: Path, run_cli: RunCli) -> None:
    ref = _known_subject(tmp_path, "CH-1")
    env = _env(tmp_path, _dpo_key(tmp_path, run_cli))
    code, output = run_cli(["subject", "erase", "CH-1", "--reason", "UU PDP request 9"], env)
    assert code == 0 and "2 vault value(s) crypto-shredded" in output
    layout = LakeLayout(tmp_path / "lake")
    with TokenVault(layout.vault, bytes.fromhex(KEY), layout.vault_audit_log) as vault:
        assert not vault.has_subject(ref) and "nm_1" not in vault
    with SubjectRegister(layout.subject_register) as register:
        entry = register.get(ref)
    assert entry is not None and entry.status == "erased" and entry.pending
    assert entry.identifier_tokens == ("nik_1",) and entry.requested_by.startswith("Dewi Lestari")
    code, output = run_cli(["subject", "erase", "CH-1", "--reason", "again"], env)
    assert code == 0 and "already erased" in output and "pending the next" in output
    code, output = run_cli(["subject", "restrict", "CH-1", "--reason", "r"], env)
    assert code == 1 and "erased" in output
    code, output = run_cli(["subject", "export", "CH-1", "--reason", "r"], env)
    assert code == 1 and "erased" in output
    outcomes = [(r.get("action"), r["outcome"]) for r in _records(tmp_path)]
    assert ("erase", "requested") in outcomes and ("crypto_shred", "shredded") in outcomes
    assert ("erase", "no_op_already_erased") in outcomes
    code, output = run_cli(["subject", "status"], env)
    assert code == 0 and ref[:12] in output and "erased" in output and "CH-1" not in output


def test_restriction_and_its_lifting(tmp_path: Path, run_cli: RunCli) -> None:
    ref = _known_subject(tmp_path, "CH-2")
    env = _env(tmp_path, _dpo_key(tmp_path, run_cli))
    assert run_cli(["subject", "restrict", "CH-2", "--reason", "contested"], env)[0] == 0
    code, output = run_cli(["subject", "restrict", "CH-2", "--reason", "again"], env)
    assert code == 0 and "already restricted" in output
    with SubjectRegister(LakeLayout(tmp_path / "lake").subject_register) as register:
        entry = register.get(ref)
        assert entry is not None and entry.status == "restricted"
    code, output = run_cli(["subject", "unrestrict", "CH-2", "--reason", "confirmed"], env)
    assert code == 0 and "lifted" in output
    code, output = run_cli(["subject", "unrestrict", "CH-2", "--reason", "again"], env)
    assert code == 0 and "not restricted" in output
