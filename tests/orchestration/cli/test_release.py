"""``merajut release list | cite | withdraw``: the catalog from the command line; a withdrawal
needs the DPO key, is recorded in the publication log first, deletes the records and keeps the
entry; every refusal is audited."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from lakehouse.audit_log import HashChainedLog
from lakehouse.layout import LakeLayout
from orchestration.release.build import build_release
from tests.support.api_fixtures import make_release_source

RunCli = Callable[[list[str], dict[str, str]], tuple[int, str]]
REASON = "a class of three children found after publication"


def _env(tmp_path: Path, dpo_key: str | None = None) -> dict[str, str]:
    env = {
        "MERAJUT_HOME": str(tmp_path / "home"),
        "MERAJUT_LAKE_ROOT": str(tmp_path / "lake"),
        "MERAJUT_TOKEN_KEY": "cd" * 32,
        "MERAJUT_VAULT_KEY": "ab" * 32,
        "MERAJUT_RELEASE_KEY": "ef" * 32,
    }
    if dpo_key is not None:
        env["MERAJUT_DPO_KEY"] = dpo_key
    return env


def _release(tmp_path: Path) -> str:
    built = build_release(make_release_source(5), tmp_path / "lake" / "releases", b"r" * 32)
    assert built.path is not None
    return built.manifest.release_id


def _dpo_key(tmp_path: Path, run_cli: RunCli) -> str:
    code, output = run_cli(["subject", "key", "create", "--name", "Dewi Lestari"], _env(tmp_path))
    assert code == 0, output
    match = re.search(r"dpo_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", output)
    assert match is not None
    return match.group(0)


def test_list_and_cite(tmp_path: Path, run_cli: RunCli) -> None:
    release_id = _release(tmp_path)
    code, output = run_cli(["release", "list"], _env(tmp_path))
    assert code == 0 and release_id in output and "available" in output
    code, output = run_cli(["release", "cite", release_id, "--style", "ris"], _env(tmp_path))
    assert code == 0 and output.startswith("TY  - DATA") and "ID  - merajutasa:research/" in output
    code, output = run_cli(["release", "cite", release_id, "--style", "mla"], _env(tmp_path))
    assert code == 2
    code, output = run_cli(["release", "cite", "research-20000101T000000000000Z"], _env(tmp_path))
    assert code == 1 and "no published release" in output


def test_withdrawal_needs_the_dpo_key_and_keeps_the_entry(tmp_path: Path, run_cli: RunCli) -> None:
    release_id = _release(tmp_path)
    layout = LakeLayout(tmp_path / "lake")
    withdraw = ["release", "withdraw", release_id, "--reason", REASON]

    code, output = run_cli(withdraw, _env(tmp_path))
    assert code == 2 and "MERAJUT_DPO_KEY" in output
    assert (layout.releases / release_id / "data.csv").exists()
    refusal = HashChainedLog(layout.vault_audit_log).records()[-1]
    assert (refusal["action"], refusal["outcome"]) == ("withdraw_release", "refused_no_key")

    key = _dpo_key(tmp_path, run_cli)
    code, output = run_cli(withdraw, _env(tmp_path, key))
    assert code == 0 and "merajutasa:research/licensed/" in output, output
    assert not (layout.releases / release_id).exists()
    record = json.loads((layout.releases / "withdrawn" / f"{release_id}.json").read_text())
    assert record["reason"] == REASON and record["actor"].startswith("Dewi Lestari (dpo key ")
    assert record["release"]["tier"] == "licensed" and record["release"]["rows"] > 0
    (logged,) = [
        r for r in HashChainedLog(layout.publication_log).records()
        if r["action"] == "withdraw_release"
    ]  # fmt: skip
    assert logged["release"] == release_id and logged["reason"] == REASON
    assert logged["actor"] == record["actor"]

    code, output = run_cli(["release", "list"], _env(tmp_path))
    assert code == 0 and release_id in output and "withdrawn" in output
    code, output = run_cli(["release", "cite", release_id], _env(tmp_path))
    assert code == 0 and "Withdrawn." in output
    code, output = run_cli(withdraw, _env(tmp_path, key))
    assert code == 0 and "already withdrawn" in output
