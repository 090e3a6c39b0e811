"""``merajut vault reveal``: audited before anything is decrypted; no audit, no reveal."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from anonymization.vault import TokenVault
from lakehouse.layout import LakeLayout

RunCli = Callable[[list[str], dict[str, str]], tuple[int, str]]
KEY = "ab" * 32


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        "MERAJUT_HOME": str(tmp_path / "home"),
        "MERAJUT_LAKE_ROOT": str(tmp_path / "lake"),
        "MERAJUT_TOKEN_KEY": "cd" * 32,
        "MERAJUT_VAULT_KEY": KEY,
        "MERAJUT_RELEASE_KEY": "ef" * 32,
    }


def _vault(tmp_path: Path) -> LakeLayout:
    layout = LakeLayout(tmp_path / "lake")
    with TokenVault(layout.vault, bytes.fromhex(KEY), layout.vault_audit_log) as vault:
        vault.put_many("person_name", {"nm_0123": "Siti Aminah"})
    return layout


def test_reveal_is_audited(tmp_path: Path, run_cli: RunCli) -> None:
    layout = _vault(tmp_path)
    args = ["vault", "reveal", "nm_0123", "--actor", "dpo", "--reason", "court order 1/2026"]
    code, output = run_cli(args, _env(tmp_path))
    assert code == 0 and "Siti Aminah" in output
    assert '"outcome":"revealed"' in layout.vault_audit_log.read_text()
    code, output = run_cli(["audit", "verify", "--log", "vault"], _env(tmp_path))
    assert code == 0 and "1 records" in output


def test_an_unwritable_audit_log_refuses_the_reveal(tmp_path: Path, run_cli: RunCli) -> None:
    layout = _vault(tmp_path)
    layout.vault_audit_log.unlink()
    layout.vault_audit_log.mkdir()  # the log cannot be appended to
    args = ["vault", "reveal", "nm_0123", "--actor", "dpo", "--reason", "court order 1/2026"]
    code, output = run_cli(args, _env(tmp_path))
    assert code == 1 and "refused" in output and "Siti" not in output
