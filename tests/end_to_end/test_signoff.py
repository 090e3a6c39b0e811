"""Sign-off before publication (issue #14 item 5), on a copy of the session's run.

Two defects are planted in the lake's marts, as a bad import would leave them: a province
whose placements drop to zero in its busiest quarter (the impact mart only) and a month of the
compliance mart imported twice. The publish step reports them as findings of a candidate and
leaves CURRENT where it is; no key but a data steward's approves it, and only with every
finding acknowledged by id; media and community keys cannot see the candidate, a government
key can preview it; the approval is in the publication log before the snapshot goes live; a
rejected or older snapshot cannot be approved; a run with nothing new makes no second candidate.
"""

from __future__ import annotations

import json
import re
import subprocess
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lakehouse.audit_log import HashChainedLog
from lakehouse.settings import ApiSettings, Settings
from metrics_api.keys import KeyStore
from metrics_api.main import create_app
from tests.support.api_fixtures import PEPPER
from tests.support.pipeline import MERAJUT, REPO, PipelineRun, copy_run

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

IMPACT = "marts.impact_placement_outcomes_by_province_quarter"
COMPLIANCE = "marts.compliance_consent_access_by_institution_month"
DOUBLED_MONTH = "2026-06-01"  # complete on the session's reporting date (2026-11-01)
STEWARD = "Siti Rahma"


@dataclass
class Story:
    run: PipelineRun
    live: str
    zero: tuple[str, str]  # (province, quarter) planted at zero
    candidate: str = ""
    shown: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)
    current_after_refusals: str = ""
    api: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)


def _cli(run: PipelineRun, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``merajut`` with the run's environment, changed by ``env`` ('' removes a variable)."""
    merged = {k: v for k, v in {**run.env, **env}.items() if v != ""}
    return subprocess.run(
        [MERAJUT, *args], env=merged, cwd=REPO, capture_output=True, text=True, timeout=1800
    )


def _current(run: PipelineRun) -> str:
    return (run.lake / "gold" / "CURRENT").read_text().strip()


def _plant(run: PipelineRun) -> tuple[str, str]:
    """The defects, in the marts the publish step reads; returns the province at zero."""
    ((province, quarter, _),) = run.warehouse_query(
        f"select province_code, toString(quarter_start), placements from {IMPACT} "
        "where quarter_start <= '2026-07-01' order by placements desc, province_code limit 1"
    )
    run.warehouse_query(
        f"alter table {IMPACT} update placements = 0, ended_placements = 0, successful = 0, "
        f"success_rate = null where province_code = '{province}' and quarter_start = "
        f"'{quarter}' settings mutations_sync = 2"
    )
    run.warehouse_query(
        f"insert into {COMPLIANCE} select * from {COMPLIANCE} where month_start = '{DOUBLED_MONTH}'"
    )
    return province, quarter


def _ask_api(story: Story, tmp: Path) -> None:
    """Each role asks for the candidate (and government for CURRENT) through the API."""
    settings = Settings(
        home=tmp / "api_home",
        lake_root=story.run.lake,
        api=ApiSettings(key_pepper=PEPPER, audit_log=tmp / "api_audit.jsonl"),
    )
    store = KeyStore(settings.api_key_store, settings.api_pepper())
    with TestClient(create_app(settings)) as client:
        for role in ("media", "community", "government", "admin"):
            key = {"X-API-Key": store.create(f"sign-off {role}", role)[1]}
            response = client.get(
                "/v1/metrics/placements", params={"snapshot": story.candidate}, headers=key
            )
            story.api[role] = (response.status_code, response.json())
            if role == "government":
                live = client.get("/v1/metrics/placements", headers=key)
                story.api["government_current"] = (live.status_code, live.json())


@pytest.fixture(scope="module")
def story(pipeline_run: PipelineRun, tmp_path_factory: pytest.TempPathFactory) -> Story:
    assert pipeline_run.returncode == 0, pipeline_run.stdout[-4000:]
    tmp = tmp_path_factory.mktemp("signoff")
    run = copy_run(pipeline_run, tmp / "run")
    s = Story(run=run, live=_current(run), zero=_plant(run))
    o = s.outputs
    o["made"] = run.merajut("run", "--step", "publish")
    waiting = [
        line.split("\t")[0]
        for line in run.merajut("publish", "candidates").stdout.splitlines()
        if line.endswith("\tawaiting approval")
    ]
    assert len(waiting) == 1, o["made"].stdout[-3000:]
    s.candidate = waiting[0]
    s.shown = json.loads(run.merajut("publish", "show", s.candidate, "--json").stdout)
    o["again"] = run.merajut("run", "--step", "publish")
    ids = [f["id"] for f in s.shown["findings"]]
    approve = ["publish", "approve", s.candidate]
    o["no_key"] = _cli(run, *approve, MERAJUT_STEWARD_KEY="")
    run.dpo("subject", "status")  # creates the DPO's key
    o["dpo_key"] = _cli(run, *approve, MERAJUT_STEWARD_KEY=run.env["MERAJUT_DPO_KEY"])
    created = run.merajut("publish", "key", "create", "--name", STEWARD).stdout
    match = re.search(r"stw_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", created)
    assert match is not None, created
    run.env["MERAJUT_STEWARD_KEY"] = match.group(0)
    o["one_acknowledged"] = _cli(run, *approve, "--acknowledge", ids[0])
    every = [a for i in ids for a in ("--acknowledge", i)]
    o["unknown_acknowledged"] = _cli(run, *approve, *every, "--acknowledge", "rule:made_up")
    o["live"] = _cli(run, "publish", "approve", s.live)
    _ask_api(s, tmp)
    s.current_after_refusals = _current(run)
    o["approved"] = _cli(run, *approve, *every)
    o["verify"] = run.merajut("audit", "verify", "--log", "publication")
    o["summary"] = run.merajut("summary")
    o["forced"] = run.merajut("run", "--step", "publish", "--force")
    return s


def test_the_planted_defects_are_findings_of_a_candidate_and_current_stays(story: Story) -> None:
    made = story.outputs["made"].stdout
    assert f"candidate snapshot {story.candidate}" in made
    assert f"awaiting approval: {story.candidate}" in made
    assert story.current_after_refusals == story.live != story.candidate
    findings = {f["id"]: f for f in story.shown["findings"]}
    province, quarter = story.zero
    rule = findings["rule:cube_adds_up_to_impact"]
    place = rf"province_code {province}, quarter_start {quarter}: left [1-9][0-9]* vs right 0"
    assert re.fullmatch(place, rule["value"]), rule
    doubled = [i for i in findings if i.startswith("outlier:children_in_care_by_province:")]
    assert doubled and all(i.endswith(f":{DOUBLED_MONTH}") for i in doubled)
    shares = [i for i in findings if i.startswith("outlier:research_consent_coverage_bounds:")]
    assert shares and all(findings[i]["expected"] == "within [0.0, 1.0]" for i in shares)
    assert story.shown["status"] == "candidate" and story.shown["current"] == story.live


def test_a_run_with_nothing_new_makes_no_second_candidate(story: Story) -> None:
    again = story.outputs["again"].stdout
    assert f"nothing new since candidate {story.candidate} (awaiting approval)" in again


def test_only_a_steward_key_with_every_finding_acknowledged_approves(story: Story) -> None:
    o = story.outputs
    assert o["no_key"].returncode == 2 and "set MERAJUT_STEWARD_KEY" in o["no_key"].stdout
    assert o["dpo_key"].returncode == 2 and "not a valid steward key" in o["dpo_key"].stdout
    missing = len(story.shown["findings"]) - 1
    assert o["one_acknowledged"].returncode == 1
    assert f"{missing} of {missing + 1} finding(s) not acknowledged" in o["one_acknowledged"].stdout
    assert o["unknown_acknowledged"].returncode == 1
    assert "not a finding of snapshot" in o["unknown_acknowledged"].stdout
    assert "rule:made_up" in o["unknown_acknowledged"].stdout
    assert o["live"].returncode == 1 and "is CURRENT already" in o["live"].stdout
    assert o["approved"].returncode == 0, o["approved"].stdout + o["approved"].stderr
    assert f"CURRENT -> {story.candidate} (was {story.live})" in o["approved"].stdout
    assert _current(story.run) == story.candidate
    live = story.run.warehouse_query(
        "select snapshot_id from gold._current order by published_at desc limit 1"
    )
    assert live == [[story.candidate]]


def test_the_approval_is_in_the_audit_chain_before_current_moved(story: Story) -> None:
    assert "ok" in story.outputs["verify"].stdout
    records = HashChainedLog(
        story.run.lake / "restricted" / "publication" / "audit.jsonl"
    ).records()
    mine = [r for r in records if r.get("snapshot") == story.candidate]
    approvals = [r for r in mine if r["action"] == "approve_snapshot"]
    outcomes = [r["outcome"] for r in approvals]
    assert outcomes == ["refused_no_key", "refused_invalid_key", "refused", "refused", "approved"]
    approval = approvals[-1]
    assert re.fullmatch(rf"{STEWARD} \(data-steward key [0-9a-f]{{12}}\)", approval["actor"])
    assert approval["acknowledged"] == [f["id"] for f in story.shown["findings"]]
    assert approval["replaces"] == story.live
    (went_live,) = [
        r
        for r in records
        if r["action"] == "publish"
        and r["outcome"] == "published"
        and r["current"] == story.candidate
    ]
    assert approval["seq"] < went_live["seq"] and went_live["actor"] == approval["actor"]
    summary = story.outputs["summary"].stdout
    assert f"approved by:   {approval['actor']}" in summary


def test_media_and_community_get_403_for_the_candidate_a_government_key_previews_it(
    story: Story,
) -> None:
    for role in ("media", "community"):
        status, body = story.api[role]
        assert status == 403 and "approved snapshots only" in body["detail"], (role, body)
    for role in ("government", "admin"):
        status, body = story.api[role]
        assert status == 200, (role, body)
        assert body["snapshot_id"] == story.candidate and body["snapshot_status"] == "candidate"
    status, body = story.api["government_current"]
    assert status == 200 and body["snapshot_id"] == story.live  # asked before the approval
    assert body["snapshot_status"] == "approved"


def test_a_rejected_candidate_cannot_be_approved(story: Story) -> None:
    forced = story.outputs["forced"].stdout
    (made,) = re.findall(r"candidate snapshot (\d{8}T\d{12}Z)", forced)
    rejected = _cli(story.run, "publish", "reject", made, "--reason", "the doubled month again")
    assert rejected.returncode == 0, rejected.stdout
    again = _cli(story.run, "publish", "approve", made)
    assert again.returncode == 1 and "was rejected by Siti Rahma" in again.stdout
    assert _current(story.run) == story.candidate
    older = _cli(story.run, "publish", "approve", story.live)
    assert older.returncode == 1 and f"is older than CURRENT ({story.candidate})" in older.stdout


def test_dev_mode_automatic_approval_goes_through_the_same_path_and_says_so(
    pipeline_run: PipelineRun, tmp_path: Path
) -> None:
    """MERAJUT_PUBLISH_APPROVAL=automatic (dev only): the run approves its own candidate with
    every finding acknowledged, recorded as the pipeline's act, and its summary says who."""
    run = copy_run(pipeline_run, tmp_path / "run")
    before = _current(run)
    proc = _cli(run, "run", "--step", "publish", "--force", MERAJUT_PUBLISH_APPROVAL="automatic")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    after = _current(run)
    assert after != before
    assert f"published snapshot {after}: forced: published whatever the content (approved by " in proc.stdout  # fmt: skip
    records = HashChainedLog(run.lake / "restricted" / "publication" / "audit.jsonl").records()
    (approval,) = [r for r in records if r["action"] == "approve_snapshot"
                   and r["snapshot"] == after]  # fmt: skip
    assert "MERAJUT_PUBLISH_APPROVAL=automatic, dev mode" in approval["actor"]
    shown = json.loads(run.merajut("publish", "show", after, "--json").stdout)
    assert approval["acknowledged"] == [f["id"] for f in shown["findings"]]
    refused = _cli(run, "summary", MERAJUT_MODE="production", MERAJUT_PUBLISH_APPROVAL="automatic")  # fmt: skip
    assert refused.returncode != 0
    assert "MERAJUT_PUBLISH_APPROVAL=automatic is refused in production mode" in refused.stdout
