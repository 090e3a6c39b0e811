"""``merajut publish candidates | show | approve | reject | key``: a candidate's findings are
listed with their ids; only a data steward's key may approve or reject (refusals audited with
no name typed by anyone); every finding must be acknowledged; a rejected, unknown or older
snapshot cannot be approved, and none of these refusals moves CURRENT.

The approval that moves CURRENT opens the warehouse; it runs on a real pipeline's lake in
tests/end_to_end/test_signoff.py (the pytest process may open only its own chDB path)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from lakehouse.audit_log import HashChainedLog
from lakehouse.layout import LakeLayout
from lakehouse.signoff import SnapshotReviews
from tests.support.api_fixtures import SNAPSHOT_ID, PublishGold, make_cube

RunCli = Callable[[list[str], dict[str, str]], tuple[int, str]]
CANDIDATE = "20250201T000000000000Z"
STEWARD_KEY = re.compile(r"stw_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


def _env(root: Path, **extra: str) -> dict[str, str]:
    return {
        "MERAJUT_HOME": str(root / "home"),
        "MERAJUT_LAKE_ROOT": str(root / "lake"),
        "MERAJUT_TOKEN_KEY": "cd" * 32,
        "MERAJUT_VAULT_KEY": "ab" * 32,
        "MERAJUT_RELEASE_KEY": "ef" * 32,
        **extra,
    }


def _key(root: Path, run_cli: RunCli, command: str, name: str) -> str:
    code, out = run_cli([*command.split(), "key", "create", "--name", name], _env(root))
    assert code == 0, out
    found = re.search(r"(stw|dpo)_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", out)
    assert found is not None, out
    return found.group(0)


def _current(lake: Path) -> str:
    return (lake / "gold" / "CURRENT").read_text().strip()


def _log(lake: Path) -> list[dict]:
    return HashChainedLog(LakeLayout(lake).publication_log).records()


def test_candidates_and_show_list_each_finding_with_its_id(
    lake: Path, candidate: PublishGold, compliance: pd.DataFrame, run_cli: RunCli
) -> None:
    candidate(CANDIDATE, make_cube(seed=9), compliance)
    root = lake.parent
    code, out = run_cli(["publish", "candidates"], _env(root))
    assert code == 0, out
    assert f"CURRENT: {SNAPSHOT_ID}" in out
    assert f"{CANDIDATE}\tcandidate\t" in out and "awaiting approval" in out
    code, out = run_cli(["publish", "show", CANDIDATE, "--json"], _env(root))
    assert code == 0, out
    shown = json.loads(out)
    assert shown["status"] == "candidate" and shown["current"] == SNAPSHOT_ID
    review = SnapshotReviews(LakeLayout(lake)).read(CANDIDATE)
    assert review is not None and [f["id"] for f in shown["findings"]] == review.findings
    code, text = run_cli(["publish", "show", CANDIDATE], _env(root))
    assert code == 0 and f"approve with: merajut publish approve {CANDIDATE}" in text
    for finding in shown["findings"]:
        assert finding["id"] in text and finding["expected"] in text
    code, out = run_cli(["publish", "show", "20990101T000000000000Z"], _env(root))
    assert code == 1 and "no snapshot 20990101T000000000000Z on disk" in out
    code, out = run_cli(["publish", "show", SNAPSHOT_ID], _env(root))
    assert code == 1 and "published before sign-off" in out
    code, out = run_cli(["publish", "show", "../CURRENT"], _env(root))
    assert code == 1 and "not a snapshot id" in out


def test_only_a_steward_key_may_approve_and_refusals_are_audited(
    lake: Path, candidate: PublishGold, compliance: pd.DataFrame, run_cli: RunCli
) -> None:
    candidate(CANDIDATE, make_cube(seed=9), compliance)
    root = lake.parent
    approve = ["publish", "approve", CANDIDATE]
    code, out = run_cli(approve, _env(root))
    assert code == 2 and "set MERAJUT_STEWARD_KEY" in out
    dpo = _key(root, run_cli, "subject", "Dewi Lestari")  # the DPO is not a steward
    code, out = run_cli(approve, _env(root, MERAJUT_STEWARD_KEY=dpo))
    assert code == 2 and "is not a valid steward key" in out
    steward = _key(root, run_cli, "publish", "Siti Rahma")
    assert STEWARD_KEY.fullmatch(steward)
    code, out = run_cli(["publish", "key", "list"], _env(root))
    assert code == 0 and "Siti Rahma" in out and steward not in out
    key_id = steward.split("_")[1]
    code, out = run_cli(["publish", "key", "revoke", key_id], _env(root))
    assert code == 0
    code, out = run_cli(approve, _env(root, MERAJUT_STEWARD_KEY=steward))
    assert code == 2 and f"steward key {key_id} has been revoked" in out
    assert _current(lake) == SNAPSHOT_ID
    refusals = [r for r in _log(lake) if r["action"] == "approve_snapshot"]
    assert [r["outcome"] for r in refusals] == [
        "refused_no_key",
        "refused_invalid_key",
        "refused_revoked_key",
    ]
    assert {r["actor"] for r in refusals} == {"(no valid steward key)"}
    created = [r for r in _log(lake) if r["action"] == "steward_key_created"]
    assert created and created[0]["actor"] == f"Siti Rahma (data-steward key {key_id})"


def test_every_finding_must_be_acknowledged_by_its_id(
    lake: Path, candidate: PublishGold, compliance: pd.DataFrame, run_cli: RunCli
) -> None:
    candidate(CANDIDATE, make_cube(seed=9), compliance)
    root = lake.parent
    steward = _key(root, run_cli, "publish", "Siti Rahma")
    env = _env(root, MERAJUT_STEWARD_KEY=steward)
    review = SnapshotReviews(LakeLayout(lake)).read(CANDIDATE)
    assert review is not None and len(review.findings) >= 2, "the fixture has findings"
    first, *rest = review.findings
    code, out = run_cli(["publish", "approve", CANDIDATE, "--acknowledge", first], env)
    assert code == 1 and f"{len(rest)} of {len(review.findings)} finding(s) not acknowledged" in out
    assert all(r in out for r in rest)
    acks = [a for f in review.findings for a in ("--acknowledge", f)]
    code, out = run_cli(["publish", "approve", CANDIDATE, *acks, "--acknowledge", "rule:nope"], env)
    assert code == 1 and "not a finding of snapshot" in out and "rule:nope" in out
    assert _current(lake) == SNAPSHOT_ID
    refused = [r for r in _log(lake) if r.get("outcome") == "refused"]
    assert len(refused) == 2 and refused[0]["actor"].startswith("Siti Rahma (data-steward key")
    assert SnapshotReviews(LakeLayout(lake)).status(CANDIDATE) == "candidate"


def test_a_rejected_unknown_or_older_snapshot_cannot_be_approved(
    lake: Path, candidate: PublishGold, compliance: pd.DataFrame, run_cli: RunCli
) -> None:
    older = "20241201T000000000000Z"  # made before CURRENT, never approved
    candidate(older, make_cube(seed=8), compliance)
    candidate(CANDIDATE, make_cube(seed=9), compliance)
    root = lake.parent
    env = _env(root, MERAJUT_STEWARD_KEY=_key(root, run_cli, "publish", "Siti Rahma"))
    code, out = run_cli(["publish", "approve", older], env)
    assert code == 1 and f"is older than CURRENT ({SNAPSHOT_ID})" in out
    code, out = run_cli(["publish", "approve", "20990101T000000000000Z"], env)
    assert code == 1 and "no snapshot 20990101T000000000000Z on disk" in out
    code, out = run_cli(["publish", "approve", SNAPSHOT_ID], env)
    assert code == 1 and "published before sign-off" in out
    code, out = run_cli(["publish", "reject", CANDIDATE, "--reason", "  "], env)
    assert code == 1 and "needs a reason" in out
    code, out = run_cli(["publish", "reject", CANDIDATE, "--reason", "province 35 at zero"], env)
    assert code == 0 and "CURRENT unchanged" in out
    code, out = run_cli(["publish", "approve", CANDIDATE], env)
    assert code == 1 and "was rejected by Siti Rahma" in out and "province 35 at zero" in out
    code, out = run_cli(["publish", "reject", CANDIDATE, "--reason", "again"], env)
    assert code == 1 and "was rejected" in out
    assert _current(lake) == SNAPSHOT_ID
    (rejected,) = [r for r in _log(lake) if r["action"] == "reject_snapshot" and r["outcome"] == "rejected"]  # fmt: skip
    assert rejected["snapshot"] == CANDIDATE and rejected["reason"] == "province 35 at zero"
    code, out = run_cli(["publish", "candidates", "--all"], env)
    assert f"{CANDIDATE}\trejected\t" in out and f"{older}\tcandidate\t" in out
    assert "cannot be approved" in out
