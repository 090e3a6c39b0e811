"""The data protection officer's re-identification: works, and every call is audited."""

from __future__ import annotations

import json
import sqlite3

import pandas as pd

from tests.support.pipeline import PipelineRun


def _a_child(run: PipelineRun) -> tuple[str, str, str]:
    bronze = pd.concat(
        pd.read_parquet(p)
        for p in (run.lake / "bronze" / "child_registry" / "children").glob("*.parquet")
    )
    row = bronze.iloc[0]
    con = sqlite3.connect(run.home / "sources" / "child_registry.db")
    (name,) = con.execute(
        "select full_name from children where child_id = ?", (row["child_id"],)
    ).fetchone()
    con.close()
    return row["child_id"], row["full_name"], name


def test_reidentify_reveals_the_original_and_audits_it(pipeline_run: PipelineRun) -> None:
    _, token, clear_name = _a_child(pipeline_run)
    assert token.startswith("nm_") and token != clear_name
    proc = pipeline_run.dpo("vault", "reveal", token, "--reason", "court order 12/2026")
    # The vault keeps the first spelling it saw of a normalised value: the registry drop may
    # have delivered the same name in capitals before the child registry did.
    assert clear_name.casefold() in proc.stdout.casefold()
    log = pipeline_run.lake / "restricted" / "vault" / "reidentification_audit.jsonl"
    records = [json.loads(line) for line in log.read_text().splitlines()]
    last = records[-1]
    assert last["actor"].startswith("Test DPO (dpo key ") and last["token"] == token
    assert last["outcome"] == "revealed" and last["reason"] == "court order 12/2026"
    assert clear_name.casefold() not in log.read_text().casefold()
    assert pipeline_run.merajut("audit", "verify", "--log", "vault").returncode == 0


def test_reidentify_without_a_reason_is_refused_and_audited(pipeline_run: PipelineRun) -> None:
    _, token, clear_name = _a_child(pipeline_run)
    proc = pipeline_run.dpo("vault", "reveal", token, "--reason", " ", check=False)
    assert proc.returncode != 0 and clear_name.casefold() not in proc.stdout.casefold()
    log = pipeline_run.lake / "restricted" / "vault" / "reidentification_audit.jsonl"
    assert json.loads(log.read_text().splitlines()[-1])["outcome"] == "denied"


def test_a_tampered_audit_log_is_detected(pipeline_run: PipelineRun) -> None:
    _, token, _ = _a_child(pipeline_run)
    pipeline_run.dpo("vault", "reveal", token, "--reason", "audit drill")
    log = pipeline_run.lake / "restricted" / "vault" / "reidentification_audit.jsonl"
    original = log.read_text()
    lines = original.splitlines()
    record = json.loads(lines[0])
    record["actor"] = "someone-else"
    log.write_text("\n".join([json.dumps(record), *lines[1:]]) + "\n")
    try:
        proc = pipeline_run.merajut("audit", "verify", "--log", "vault", check=False)
        assert proc.returncode == 1 and "broken" in proc.stdout
    finally:
        log.write_text(original)
    assert pipeline_run.merajut("audit", "verify", "--log", "vault").returncode == 0
