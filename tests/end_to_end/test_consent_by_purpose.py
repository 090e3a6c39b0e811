"""Consent by purpose on the real pipeline (issue #10, item 1): guardians revoke community
consent in the consent service; a community key's answers are the same until the next run, and
change with it; the other purposes' answers do not; the run's summary reports the children who
left the community population.

One extra ``merajut run`` on the session's pipeline (``pipeline_run``), shared by every test
here through a module fixture. The revocations are new consent records (the consent service
keeps versions; the latest wins), so the lake stays consistent for the other pipeline tests:
every source row is loaded or quarantined, and a further run adds nothing.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from lakehouse.populations import MEMBER_BYTES
from lakehouse.reference.audiences import ROLES
from lakehouse.reference.purposes import PURPOSES
from lakehouse.settings import ApiSettings, Settings
from metrics_api.keys import KeyStore
from metrics_api.main import create_app
from tests.metrics_api.catalogs import UNREACHED, write_catalog
from tests.support.pipeline import AS_OF, PipelineRun

PEPPER = "c3" * 32
#: Children whose guardians revoke their community consent.
REVOKED = 12
#: What each role asks, before and after: totals and breakdowns of the placement metrics.
QUESTIONS: list[tuple[str, str, dict[str, str]]] = [
    (role, metric, params)
    for role in ("community", "media", "researcher", "government")
    for metric in ("placements", "successful_placements", "placement_success_rate")
    for params in ({}, {"dimensions": "sex"}, {"dimensions": "year"})
] + [("community", "placements", {"dimensions": "province"})]


@dataclass
class Revocation:
    children: list[str]
    #: The revoked children's placements (each counted in the community cube before).
    placements: int
    before: list[Any]
    between: list[Any]
    after: list[Any]
    manifest_before: dict[str, Any]
    manifest_after: dict[str, Any]
    run_output: str


def _ask(client: TestClient, keys: dict[str, dict[str, str]]) -> list[Any]:
    out = []
    for role, metric, params in QUESTIONS:
        response = client.get(f"/v1/metrics/{metric}", params=params, headers=keys[role])
        assert response.status_code == 200, (role, metric, params, response.text)
        body = response.json()
        rows = [
            (r["dimensions"], r["value"], r["suppressed"], r.get("max_abs_error"))
            for r in body["rows"]
        ]
        out.append((body["snapshot_id"], rows))
    return out


def _revoke(run: PipelineRun, children: list[str]) -> None:
    """The guardians revoke: a newer record per child, granted then revoked on the reporting
    date (the consent service keeps each version; int_consents_resolved takes the latest)."""
    moment = f"{AS_OF} 09:00:00.000000"
    con = sqlite3.connect(run.home / "sources" / "consent.db")
    try:
        rows = []
        for n, child in enumerate(children):
            granted_at, guardian = con.execute(
                "select granted_at, granted_by_guardian_id from consents where child_id = ? "
                "and purpose = 'community' and granted = 1 order by updated_at desc limit 1",
                (child,),
            ).fetchone()
            rows.append(
                (f"CN-R{n:06d}", child, "community", 1, guardian, granted_at, moment, moment)
            )
        con.executemany("insert into consents values (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        con.commit()
    finally:
        con.close()


@pytest.fixture(scope="module")
def revocation(pipeline_run: PipelineRun, tmp_path_factory: pytest.TempPathFactory) -> Revocation:
    assert pipeline_run.returncode == 0, pipeline_run.stdout[-4000:]
    tmp = tmp_path_factory.mktemp("consent_api")
    # The packaged rules, with request limits no test reaches (what is checked is numbers).
    limits = {r: (None, None) if r == "admin" else (UNREACHED, UNREACHED) for r in ROLES}
    catalog = write_catalog(tmp / "catalog.yml", limits)
    settings = Settings(
        home=tmp / "home",
        lake_root=pipeline_run.lake,
        api=ApiSettings(key_pepper=PEPPER, audit_log=tmp / "audit.jsonl", catalog_path=catalog),
    )
    store = KeyStore(settings.api_key_store, settings.api_pepper())
    roles = ("community", "media", "researcher", "government")
    keys = {role: {"X-API-Key": store.create(f"consent {role}", role)[1]} for role in roles}
    client = TestClient(create_app(settings))
    # Children in the community population with placements (so community counts must move).
    placed = pipeline_run.warehouse_query(
        "select child_id, count() from intermediate.int_placements_joined_to_children "
        "where child_id in (select child_id from intermediate.int_purpose_populations "
        "where purpose = 'community') group by child_id order by child_id"
    )
    chosen = placed[:REVOKED]
    manifest_before = pipeline_run.manifest()
    before = _ask(client, keys)
    _revoke(pipeline_run, [child for child, _ in chosen])
    between = _ask(client, keys)
    run = pipeline_run.merajut("run")
    pipeline_run.approve()  # the session's run stays live: later tests copy it
    return Revocation(
        children=[child for child, _ in chosen],
        placements=sum(int(n) for _, n in chosen),
        before=before,
        between=between,
        after=_ask(client, keys),
        manifest_before=manifest_before,
        manifest_after=pipeline_run.manifest(),
        run_output=run.stdout,
    )


def _answers(revocation: Revocation, which: str, role: str) -> list[Any]:
    answers = getattr(revocation, which)
    return [rows for (r, _, _), (_, rows) in zip(QUESTIONS, answers, strict=True) if r == role]


def test_a_revocation_changes_nothing_before_the_next_run(revocation: Revocation) -> None:
    assert len(revocation.children) == REVOKED
    assert revocation.between == revocation.before
    assert {snapshot for snapshot, _ in revocation.between} == {
        revocation.manifest_before["snapshot_id"]
    }


def _mart(run: PipelineRun, manifest: dict[str, Any], name: str) -> pd.DataFrame:
    snapshot = run.lake / "gold" / "snapshots" / manifest["snapshot_id"]
    return pd.read_parquet(snapshot / manifest["marts"][name]["file"])


def test_community_answers_change_with_the_next_run_and_no_other_purposes(
    pipeline_run: PipelineRun, revocation: Revocation
) -> None:
    assert {snapshot for snapshot, _ in revocation.after} == {
        revocation.manifest_after["snapshot_id"]
    }
    assert revocation.manifest_after["snapshot_id"] != revocation.manifest_before["snapshot_id"]
    before = _answers(revocation, "before", "community")
    after = _answers(revocation, "after", "community")
    assert after != before
    # Placements by year: every shown count is the new community cube's, give or take the
    # perturbation its row states (a year may be hidden now: fewer children, smaller cells).
    cube = _mart(pipeline_run, revocation.manifest_after, "metrics_placements_cube_community")
    years = pd.to_datetime(cube["quarter_start"]).dt.year.astype(str)
    truth = cube.groupby(years)["placements"].sum()
    by_year = after[2]
    shown = [(d["year"], v, e) for d, v, hidden, e in by_year if not hidden]
    assert shown
    for year, value, error in shown:
        assert abs(value - int(truth[year])) <= error, (year, value, int(truth[year]))
    # Nobody revoked media or research consent, and the service population is everyone.
    for role in ("media", "researcher", "government"):
        assert _answers(revocation, "after", role) == _answers(revocation, "before", role), role


def test_the_community_cube_counts_only_children_with_community_consent_in_force(
    pipeline_run: PipelineRun, revocation: Revocation
) -> None:
    name = "metrics_placements_cube_community"
    before = _mart(pipeline_run, revocation.manifest_before, name)["placements"].sum()
    after = _mart(pipeline_run, revocation.manifest_after, name)["placements"].sum()
    assert before - after == revocation.placements
    everyone = _mart(pipeline_run, revocation.manifest_after, "metrics_placements_cube")
    assert (
        everyone["placements"].sum()
        == _mart(pipeline_run, revocation.manifest_before, "metrics_placements_cube")[
            "placements"
        ].sum()
    )
    # The same cube dbt builds from the warehouse: consent in force only.
    left = pipeline_run.warehouse_query(
        "select count() from intermediate.int_purpose_populations where purpose = 'community' "
        f"and child_id in ({', '.join(repr(c) for c in revocation.children)})"
    )
    assert left == [[0]]


def test_the_summary_reports_the_children_leaving_the_community_population(
    pipeline_run: PipelineRun, revocation: Revocation
) -> None:
    populations = revocation.manifest_after["populations"]
    previous = revocation.manifest_before["snapshot_id"]
    assert set(populations) == set(PURPOSES)
    community = populations["community"]
    assert (community["left"], community["joined"], community["compared_with"]) == (
        REVOKED,
        0,
        previous,
    )
    assert community["children"] == (
        revocation.manifest_before["populations"]["community"]["children"] - REVOKED
    )
    for purpose in ("research", "media", "service"):
        entry = populations[purpose]
        assert (entry["left"], entry["joined"]) == (0, 0), purpose
        assert entry["children"] == revocation.manifest_before["populations"][purpose]["children"]
    # The run's own summary, and `merajut summary` afterwards, say so.
    assert f"community {REVOKED}" in revocation.run_output
    summary = pipeline_run.merajut("summary").stdout
    assert "children_with_community_consent" in summary and f"community {REVOKED}" in summary


def test_population_members_are_kept_hashed_in_the_restricted_zone_only(
    pipeline_run: PipelineRun, revocation: Revocation
) -> None:
    folder = pipeline_run.lake / "restricted" / "populations"
    members = pd.read_parquet(folder / f"{revocation.manifest_after['snapshot_id']}.parquet")
    counts = members.groupby("purpose").size().to_dict()
    assert counts == {p: e["children"] for p, e in revocation.manifest_after["populations"].items()}
    assert {len(m) for m in members["member"]} == {MEMBER_BYTES}
    # No child id anywhere in gold: not in the manifests, not in a published file.
    child = revocation.children[0]
    for path in (pipeline_run.lake / "gold").rglob("*"):
        if path.is_file():
            assert child.encode() not in path.read_bytes(), path
    assert not any(child.encode() in p.read_bytes() for p in folder.glob("*.parquet"))


def test_every_published_output_names_its_purpose_and_population(
    pipeline_run: PipelineRun, revocation: Revocation
) -> None:
    manifest = revocation.manifest_after
    for name, entry in manifest["marts"].items():
        purpose = PURPOSES[entry["purpose"]]
        assert entry["population"] == purpose.population, name
        assert all(r == "metrics_api" or r in purpose.audiences for r in entry["audience"]), name
    checks = {c["name"]: c for c in manifest["checks"]}
    assert checks["purposes"]["passed"], checks["purposes"]["detail"]
    release_id = manifest["research_release"]
    release = json.loads(
        (pipeline_run.lake / "releases" / release_id / "manifest.json").read_text()
    )
    assert (release["purpose"], release["population"]) == (
        "research",
        "children_with_research_consent",
    )
    assert release["population_children"] == manifest["populations"]["research"]["children"]
    assert "consent" in release["legal_basis"] and release["rows"] <= release["population_children"]


def test_the_demo_run_recorded_populations_with_nothing_to_compare_with(
    pipeline_run: PipelineRun,
) -> None:
    first = sorted((pipeline_run.lake / "gold" / "snapshots").iterdir())[0]
    manifest = json.loads((first / "manifest.json").read_text())
    for entry in manifest["populations"].values():
        assert entry["children"] > 0
        assert entry["compared_with"] is None and entry["left"] is None
    assert manifest["populations"]["service"]["legal_basis"].endswith("not consent")
