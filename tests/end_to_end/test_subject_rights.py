"""Erasure and restriction end to end, on a copy of the session's run, as a data protection
officer would do them: erase child A (guardians, cases, notes, placements) and restrict child B,
run the pipeline, and look for A everywhere with the verify command and with a scan of our own;
then the sources send A's rows again and B's restriction is lifted, and the next run neither
brings A back nor keeps B out."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from anonymization.tokens import Tokenizer
from anonymization.vault import TokenVault
from tests.support.pipeline import PipelineRun, copy_run

SOURCES = ("child_registry", "case_management", "placements", "consent", "platform_audit")
#: Tables keyed by child id, and the child-keyed rows' own key.
BY_CHILD = {
    ("child_registry", "children"): "child_id",
    ("child_registry", "guardians"): "guardian_id",
    ("case_management", "cases"): "case_id",
    ("placements", "placements"): "placement_id",
    ("consent", "consents"): "consent_id",
    ("platform_audit", "access_log"): "event_id",
}


def _source(run: PipelineRun, service: str) -> sqlite3.Connection:
    return sqlite3.connect(run.home / "sources" / f"{service}.db")


def _pick_children(run: PipelineRun) -> tuple[str, str]:
    """A: guardians, cases with notes, placements, a name nobody else has. B: placements."""
    con = _source(run, "case_management")
    con.execute(f"attach '{run.home / 'sources' / 'placements.db'}' as p")
    con.execute(f"attach '{run.home / 'sources' / 'child_registry.db'}' as r")
    rows = con.execute(
        "select c.child_id from cases c join case_notes n on n.case_id = c.case_id "
        "join p.placements pl on pl.child_id = c.child_id "
        "join r.guardians g on g.child_id = c.child_id "
        "join r.children ch on ch.child_id = c.child_id "
        "where (select count(*) from r.children o where o.full_name = ch.full_name) = 1 "
        "group by c.child_id order by count(distinct n.note_id) desc, c.child_id limit 2"
    ).fetchall()
    con.close()
    return rows[0][0], rows[1][0]


@dataclass
class Needles:
    exact: set[str] = field(default_factory=set)
    inside: set[str] = field(default_factory=set)


def _needles(run: PipelineRun, child: str) -> Needles:
    """A's ids, record keys, and identifiers nobody else holds (clear and as tokens)."""
    tokenizer = Tokenizer(bytes.fromhex(run.env["MERAJUT_TOKEN_KEY"]))
    out = Needles(exact={child})
    reg = _source(run, "child_registry")
    for table, cols in (
        ("children", ("full_name", "nik")),
        ("guardians", ("full_name", "nik", "phone")),
    ):
        for col in cols:
            for (value,) in reg.execute(f"select {col} from {table} where child_id = ?", (child,)):
                if not value:
                    continue
                (holders,) = reg.execute(
                    f"select count(distinct child_id) from {table} where {col} = ?", (value,)
                ).fetchone()
                if holders > 1:
                    continue
                domain = {"full_name": "person_name", "nik": "nik", "phone": "phone"}[col]
                token = tokenizer.token(domain, value)
                assert token is not None
                out.exact |= {token, value}
                out.inside |= {token, value}
    for (guardian,) in reg.execute(
        "select guardian_id from guardians where child_id = ?", (child,)
    ):
        out.exact.add(guardian)
    reg.close()
    for (service, table), key in BY_CHILD.items():
        con = _source(run, service)
        out.exact |= {
            r[0] for r in con.execute(f"select {key} from {table} where child_id = ?", (child,))
        }
        con.close()
    con = _source(run, "case_management")
    out.exact |= {
        r[0]
        for r in con.execute(
            "select note_id from case_notes where case_id in (select case_id from cases where "
            "child_id = ?) union select history_id from case_status_history where case_id in "
            "(select case_id from cases where child_id = ?)",
            (child, child),
        )
    }
    con.close()
    return out


def _bronze(run: PipelineRun) -> dict[str, pd.DataFrame]:
    out = {}
    for folder in sorted((run.lake / "bronze").glob("*/*")):
        files = sorted(folder.glob("*.parquet"))
        if files:
            out[f"{folder.parent.name}.{folder.name}"] = pd.concat(
                (pd.read_parquet(f) for f in files), ignore_index=True
            )
    return out


def _lake_hits(lake: Path, needles: Needles) -> list[str]:
    """Our own scan: every Parquet file's text columns (equal values, and values inside long
    text), every JSON/CSV file's text; the warehouse's files and the vault are not text."""
    hits = []
    for path in sorted(lake.rglob("*")):
        if not path.is_file() or "warehouse" in path.relative_to(lake).parts[:1]:
            continue
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            for col in frame.columns:
                values = frame[col].dropna()
                if values.empty or not isinstance(values.iloc[0], str):
                    continue
                if values.isin(needles.exact).any():
                    hits.append(f"{path}:{col}")
                long = values[values.str.len() > 40]
                if any(long.str.contains(n, regex=False).any() for n in needles.inside):
                    hits.append(f"{path}:{col} (in text)")
        elif path.suffix in (".json", ".csv", ".jsonl") and "vault" not in path.parts:
            text = path.read_text(encoding="utf-8", errors="replace")
            if any(re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", text) for n in needles.exact):
                hits.append(str(path))
    return hits


def _warehouse_hits(run: PipelineRun, needles: Needles) -> list[str]:
    dump = run.warehouse_dump(
        ("raw", "staging", "intermediate", "marts", "restricted", "gold", "reference")
    )
    return [
        table
        for table, text in dump.items()
        if any(re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", text) for n in needles.exact)
    ]


def _cube_placements(run: PipelineRun) -> int:
    frame = pd.read_parquet(run.current_snapshot() / "metrics_placements_cube.parquet")
    return int(frame["placements"].sum())


def _bump(run: PipelineRun, child: str) -> None:
    """The sources send the child's rows again: every one of them updated just after the
    table's watermark, so the next incremental extract reads them."""

    def stamp(service: str, table: str) -> str:
        state = run.lake / "_state" / "ingestion" / f"{service}.{table}.json"
        mark = datetime.fromisoformat(json.loads(state.read_text())["watermark"])
        return (mark + timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S.%f")

    for (service, table), _ in BY_CHILD.items():
        with _source(run, service) as con:
            con.execute(
                f"update {table} set updated_at = ? where child_id = ?",
                (stamp(service, table), child),
            )
    with _source(run, "case_management") as con:
        for table in ("case_notes", "case_status_history"):
            con.execute(
                f"update {table} set updated_at = ? where case_id in "
                "(select case_id from cases where child_id = ?)",
                (stamp("case_management", table), child),
            )


@dataclass
class Story:
    run: PipelineRun
    a: str
    b: str
    needles_a: Needles
    needles_b: Needles
    before: dict[str, pd.DataFrame]
    cube_before: int
    a_placements: int
    first_snapshot: str
    first_releases: list[str]
    a_tokens: list[tuple[str, str]]
    vault_backup: Path
    outputs: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="module")
def story(pipeline_run: PipelineRun, tmp_path_factory: pytest.TempPathFactory) -> Story:
    run = copy_run(pipeline_run, tmp_path_factory.mktemp("subject_rights"))
    a, b = _pick_children(run)
    bronze = _bronze(run)
    children = bronze["child_registry.children"]
    a_row = children[children["child_id"] == a].iloc[0]
    with _source(run, "placements") as con:
        (a_placements,) = con.execute(
            "select count(*) from placements where child_id = ?", (a,)
        ).fetchone()
    backup = run.home.parent / "vault-backup.sqlite"
    shutil.copyfile(run.lake / "restricted" / "vault" / "vault.sqlite", backup)
    s = Story(
        run=run,
        a=a,
        b=b,
        needles_a=_needles(run, a),
        needles_b=_needles(run, b),
        before=bronze,
        cube_before=_cube_placements(run),
        a_placements=int(a_placements),
        first_snapshot=run.current_snapshot().name,
        first_releases=sorted(p.name for p in (run.lake / "releases").glob("research-*")),
        a_tokens=[("person_name", str(a_row["full_name"])), ("nik", str(a_row["nik"]))],
        vault_backup=backup,
    )
    o = s.outputs
    o["erase"] = run.dpo("subject", "erase", a, "--reason", "UU PDP erasure request 12/2026")
    o["erase_again"] = run.dpo("subject", "erase", a, "--reason", "duplicate request", check=False)
    o["erase_unknown"] = run.dpo("subject", "erase", "CH-9999999", "--reason", "typo", check=False)
    o["restrict"] = run.dpo("subject", "restrict", b, "--reason", "accuracy contested 3/2026")
    o["reveal_after_erase"] = run.dpo(
        "vault", "reveal", s.a_tokens[0][1], "--reason", "after erasure", check=False
    )
    o["run1"] = run.merajut("run")
    o["approved1"] = run.approve()
    o["verify_a"] = run.dpo("subject", "verify", a, check=False)
    o["verify_b"] = run.dpo("subject", "verify", b, check=False)
    o["export_b"] = run.dpo("subject", "export", b, "--reason", "access request 5/2026",
                            "--out", str(run.home.parent / "export-b.json"))  # fmt: skip
    o["export_a"] = run.dpo("subject", "export", a, "--reason", "after erasure", check=False)
    o["lake_hits_a"] = _lake_hits(run.lake, s.needles_a)
    o["warehouse_hits_a"] = _warehouse_hits(run, s.needles_a)
    o["lake_hits_b"] = _lake_hits(run.lake, s.needles_b)
    o["warehouse_hits_b"] = _warehouse_hits(run, s.needles_b)
    o["after1"] = _bronze(run)
    o["cube_after1"] = _cube_placements(run)
    o["snapshots_after1"] = sorted(p.name for p in (run.lake / "gold" / "snapshots").iterdir())
    o["releases_after1"] = sorted(p.name for p in (run.lake / "releases").glob("research-*"))
    # The sources send A's rows again; B's restriction is lifted.
    _bump(run, a)
    o["unrestrict"] = run.dpo("subject", "unrestrict", b, "--reason", "accuracy confirmed")
    o["run2"] = run.merajut("run")
    o["approved2"] = run.approve()
    o["verify_a2"] = run.dpo("subject", "verify", a, check=False)
    o["lake_hits_a2"] = _lake_hits(run.lake, s.needles_a)
    o["warehouse_hits_a2"] = _warehouse_hits(run, s.needles_a)
    o["after2"] = _bronze(run)
    o["audit"] = run.merajut("audit", "verify", "--log", "vault", check=False)
    return s


def test_an_erasure_is_tombstoned_once_and_an_unknown_subject_is_an_error(story: Story) -> None:
    o = story.outputs
    assert "erased" in o["erase"].stdout and "crypto-shredded" in o["erase"].stdout
    assert o["erase_again"].returncode == 0 and "no-op" in o["erase_again"].stdout
    assert "already erased" in o["erase_again"].stdout
    assert o["erase_unknown"].returncode == 1 and "no data subject" in o["erase_unknown"].stdout


def test_the_vault_cannot_reveal_the_erased_child_even_from_a_backup(story: Story) -> None:
    o = story.outputs
    assert o["reveal_after_erase"].returncode == 1
    lake = story.run.lake / "restricted" / "vault"
    restored = story.run.home.parent / "restored" / "vault.sqlite"
    restored.parent.mkdir(exist_ok=True)
    shutil.copyfile(story.vault_backup, restored)  # entries from before the erasure
    shutil.copyfile(lake / "vault_keys.sqlite", restored.with_name("vault_keys.sqlite"))
    key = bytes.fromhex(story.run.env["MERAJUT_VAULT_KEY"])
    with TokenVault(restored, key, restored.with_name("audit.jsonl")) as vault:
        for _, token in story.a_tokens:
            with pytest.raises(KeyError):
                vault.reveal(token, actor="test", reason="restored backup")


def test_the_erased_child_is_nowhere_after_the_next_run(story: Story) -> None:
    o = story.outputs
    assert o["verify_a"].returncode == 0, o["verify_a"].stdout
    assert "clean" in o["verify_a"].stdout
    assert o["lake_hits_a"] == [] and o["warehouse_hits_a"] == []
    assert o["export_a"].returncode == 1 and "erased" in o["export_a"].stdout


def test_earlier_snapshots_and_releases_are_withdrawn(story: Story) -> None:
    o = story.outputs
    lake = story.run.lake
    # The run after the requests made a candidate (the withdrawals waiting for a new snapshot
    # force it, whatever its content) and built new releases; the live snapshot was withdrawn
    # once the candidate was approved and CURRENT.
    assert "candidate snapshot" in o["run1"].stdout and "to withdraw" in o["run1"].stdout
    assert o["snapshots_after1"][-1] == o["approved1"]
    assert story.first_snapshot not in o["snapshots_after1"]
    assert (lake / "gold" / "withdrawn" / f"{story.first_snapshot}.json").exists()
    assert not set(story.first_releases) & set(o["releases_after1"]) and o["releases_after1"]
    for release in story.first_releases:
        assert (lake / "releases" / "withdrawn" / f"{release}.json").exists()


def test_other_childrens_rows_are_unchanged_and_only_aggregates_move(story: Story) -> None:
    o = story.outputs
    gone = story.needles_a.exact | story.needles_b.exact
    for table, before in story.before.items():
        after = o["after1"][table]
        theirs = before.astype(str).isin(gone).any(axis=1)
        expected = before[~theirs.to_numpy()].astype(str)
        order = list(before.columns[:2])
        pd.testing.assert_frame_equal(
            after.astype(str).sort_values(order).reset_index(drop=True),
            expected.sort_values(order).reset_index(drop=True),
            obj=table,
        )
    b_placements = (story.before["placements.placements"]["child_id"] == story.b).sum()
    assert o["cube_after1"] == story.cube_before - story.a_placements - b_placements


def test_a_restricted_child_is_held_out_of_every_output_and_can_still_be_exported(
    story: Story,
) -> None:
    o = story.outputs
    assert o["verify_b"].returncode == 0, o["verify_b"].stdout
    assert "is restricted and no output holds them" in o["verify_b"].stdout
    assert o["lake_hits_b"] and all("restricted/subjects/held" in h for h in o["lake_hits_b"])
    assert o["warehouse_hits_b"] == []
    document = json.loads((story.run.home.parent / "export-b.json").read_text())
    assert document["subject"] == {"id": story.b, "processing": "restricted"}
    names = [r["full_name"] for r in document["records"]["child_registry.children"]]
    assert names and not names[0].startswith("nm_")  # decrypted
    assert (
        document["data_dictionary"]["child_registry.children"]["columns"]["nik"]["sensitivity"]
        == "direct_identifier"
    )


def test_the_sources_sending_the_erased_child_again_do_not_bring_them_back(story: Story) -> None:
    o = story.outputs
    assert "of erased subjects" in o["run2"].stdout
    assert o["verify_a2"].returncode == 0 and "clean" in o["verify_a2"].stdout
    assert o["lake_hits_a2"] == [] and o["warehouse_hits_a2"] == []


def test_a_lifted_restriction_brings_the_child_back(story: Story) -> None:
    after = story.outputs["after2"]
    children = after["child_registry.children"]
    assert (children["child_id"] == story.b).any()
    assert (after["placements.placements"]["child_id"] == story.b).any()
    assert "1 lifted" in story.outputs["run2"].stdout


def test_every_step_is_in_the_audit_chain(story: Story) -> None:
    assert story.outputs["audit"].returncode == 0
    log = story.run.lake / "restricted" / "vault" / "reidentification_audit.jsonl"
    records = [json.loads(line) for line in log.read_text().splitlines()]
    actions = {(r.get("action"), r["outcome"]) for r in records}
    assert {("erase", "requested"), ("erase", "no_op_already_erased"), ("erase", "unknown_subject"),
            ("crypto_shred", "shredded"), ("carry_out_erased", "carried_out"),
            ("restrict", "requested"), ("unrestrict", "requested"), ("export", "exported"),
            ("verify", "clean"), ("withdraw_release", "withdrawn")} <= actions  # fmt: skip
    assert story.a not in log.read_text()  # only the keyed reference
