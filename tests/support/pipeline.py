"""A whole pipeline run at small scale, in subprocesses, and what tests ask of it.

The pipeline runs through the real ``merajut`` CLI in child processes: chDB lets a process
open one data path in its lifetime, so the test process itself never opens the warehouse; the
tests that look inside it do so in a child process too (``warehouse_query``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.common import isolated_env
from tests.support.leak_scan import IdentifierSet

REPO = Path(__file__).resolve().parents[2]
MERAJUT = str(Path(sys.executable).with_name("merajut"))
#: Seed, size, reporting date and keys of the session's run: those the behaviour-unchanged
#: fixture was recorded with, so that one run serves every end-to-end test.
GOLDEN = json.loads((REPO / "tests" / "fixtures" / "golden_outputs.json").read_text())
AS_OF = GOLDEN["as_of"]
SEED = GOLDEN["seed"]
CHILDREN = int(os.environ.get("MERAJUT_TEST_CHILDREN", str(GOLDEN["children"])))


@dataclass
class PipelineRun:
    home: Path
    lake: Path
    env: dict[str, str]
    stdout: str
    returncode: int

    def merajut(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [MERAJUT, *args], env=self.env, cwd=REPO, capture_output=True, text=True, timeout=1800
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"merajut {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def dpo(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``merajut`` with a data protection officer's key (created once per run)."""
        key = self.env.get("MERAJUT_DPO_KEY")
        if key is None:
            out = self.merajut("subject", "key", "create", "--name", "Test DPO").stdout
            match = re.search(r"dpo_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", out)
            assert match is not None, out
            key = self.env["MERAJUT_DPO_KEY"] = match.group(0)
        return self.merajut(*args, check=check)

    def approve(self) -> str:
        """Approve the candidate the last run made, as a data steward (see :func:`approve`)."""
        return approve(self.env)

    def current_snapshot(self) -> Path:
        snapshot_id = (self.lake / "gold" / "CURRENT").read_text().strip()
        return self.lake / "gold" / "snapshots" / snapshot_id

    def manifest(self) -> dict:
        return json.loads((self.current_snapshot() / "manifest.json").read_text())

    def warehouse_query(self, sql: str) -> list[list]:
        """Rows of ``sql`` against the embedded warehouse, from a child process."""
        code = (
            "import json,sys,clickhouse_connect;"
            f"c=clickhouse_connect.get_client(interface='chdb', path={str(self.lake / 'warehouse' / 'chdb')!r});"
            "print(json.dumps([list(r) for r in c.query(sys.argv[1]).result_rows], default=str));c.close()"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code, sql], capture_output=True, text=True, timeout=600
        )
        if proc.returncode != 0:
            raise AssertionError(proc.stderr[-2000:])
        return json.loads(proc.stdout.strip().splitlines()[-1])

    def source_identifiers(self) -> IdentifierSet:
        """Names, NIKs and phone numbers of children and guardians in the source databases."""
        found = IdentifierSet()
        con = sqlite3.connect(self.home / "sources" / "child_registry.db")
        try:
            for table in ("children", "guardians"):
                for name, nik in con.execute(f"select full_name, nik from {table}"):
                    if name:
                        found.add_name(name)
                    if nik:
                        found.add_number(nik)
            for (phone,) in con.execute("select phone from guardians"):
                if phone:
                    digits = re.sub(r"\D", "", phone)
                    local = "0" + digits[2:] if digits.startswith("62") else digits
                    found.add_number(local)
                    found.add_number("62" + local[1:])
        finally:
            con.close()
        return found

    def source_case_notes(self) -> list[str]:
        """Every case note as the case workers wrote it (before redaction)."""
        con = sqlite3.connect(self.home / "sources" / "case_management.db")
        try:
            return [text for (text,) in con.execute("select note_text from case_notes") if text]
        finally:
            con.close()

    def warehouse_dump(self, databases: tuple[str, ...]) -> dict[str, str]:
        """Every table (not view) of ``databases`` as text, read in one child process."""
        code = (
            "import json,sys,clickhouse_connect;"
            "c=clickhouse_connect.get_client(interface='chdb', path=sys.argv[1]);"
            "dbs=json.loads(sys.argv[2]);"
            "q=\"select database, name from system.tables where database in %(d)s and engine not like '%%View%%'\";"
            "tables=c.query(q, parameters={'d': dbs}).result_rows;"
            "out={f'{d}.{t}': c.query(f'select * from {d}.{t}').result_rows for d,t in tables};"
            "c.close();print(json.dumps({k: json.dumps(v, default=str, ensure_ascii=False) for k,v in out.items()}))"
        )
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                code,
                str(self.lake / "warehouse" / "chdb"),
                json.dumps(list(databases)),
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode != 0:
            raise AssertionError(proc.stderr[-2000:])
        return json.loads(proc.stdout.strip().splitlines()[-1])


STEWARD_KEY = re.compile(r"stw_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


def approve(env: dict[str, str]) -> str:
    """Approve the newest candidate awaiting approval as a data steward, through the real CLI
    (the one approval path there is): a steward key is created once per environment (kept in
    ``env`` as ``MERAJUT_STEWARD_KEY``), the candidate's findings are read with ``merajut
    publish show --json`` and each is acknowledged by its id. Returns the id now ``CURRENT``.

    Tests that run the pipeline and then read what it published call this after the run, as an
    operator would: a run alone moves ``CURRENT`` nowhere."""

    def merajut(*args: str) -> str:
        proc = subprocess.run(
            [MERAJUT, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=1800
        )
        if proc.returncode != 0:
            raise AssertionError(f"merajut {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc.stdout

    if "MERAJUT_STEWARD_KEY" not in env:
        created = STEWARD_KEY.search(merajut("publish", "key", "create", "--name", "Test Steward"))
        assert created is not None
        env["MERAJUT_STEWARD_KEY"] = created.group(0)
    waiting = [
        line.split("\t")[0]
        for line in merajut("publish", "candidates").splitlines()
        if line.endswith("\tawaiting approval")
    ]
    assert waiting, "no candidate awaits approval"
    shown = json.loads(merajut("publish", "show", waiting[0], "--json"))
    acknowledged = [a for f in shown["findings"] for a in ("--acknowledge", f["id"])]
    merajut("publish", "approve", waiting[0], *acknowledged)
    return waiting[0]


def copy_run(run: PipelineRun, tmp: Path) -> PipelineRun:
    """An independent copy of a finished run (home, lake, Dagster home), for tests that change
    what the run holds (erasure, restriction) without touching the session's run."""
    source = run.home.parent
    shutil.copytree(source, tmp, symlinks=True, dirs_exist_ok=True)
    env = {k: v.replace(str(source), str(tmp)) for k, v in run.env.items()}
    env.pop("MERAJUT_DPO_KEY", None)
    return PipelineRun(tmp / "home", tmp / "lake", env, run.stdout, run.returncode)


def pipeline_env(tmp: Path) -> dict[str, str]:
    """The benchmarks' isolated environment, plus what makes a test run reproducible."""
    env = isolated_env(tmp)
    env.update(
        # The same seed must give the same lake on every day CI runs.
        MERAJUT_AS_OF=AS_OF,
        # Fixed keys: the same tokens and release record ids in every run.
        **GOLDEN["keys"],
    )
    return env
