"""The dbt project, defined once and cached, and the dbt executable every invocation uses.

dbt always runs as the ``dbt`` next to this interpreter (the venv's), whatever ``PATH`` the
caller has, so ``.venv/bin/dagster dev`` works without an activated venv; this module passes that
executable explicitly instead of editing ``PATH``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from functools import cache
from pathlib import Path

from dagster_dbt import DbtProject
from dagster_dbt.dbt_project import using_dagster_dev

from lakehouse.files import copy_file_atomic
from lakehouse.layout import DBT_PROJECT_DIR
from lakehouse.locks import exclusive_lock

__all__ = ["DBT_PROJECT_DIR", "dbt_executable", "dbt_project", "parse_manifest"]


def dbt_executable() -> Path:
    return Path(sys.executable).with_name("dbt")


def parse_manifest(project_dir: Path = DBT_PROJECT_DIR) -> Path:
    """``dbt parse`` so the definitions can be built from the manifest (no warehouse needed).

    dbt writes its manifest in place, so a process reading ``target/manifest.json`` while
    another parsed could read half a file (two test processes did). Parses therefore run one
    at a time into ``target/parse/`` (its partial-parse state kept between them), and the
    manifest is put in place by one rename: a reader sees the old file or the new one."""
    target = project_dir / "target"
    target.mkdir(parents=True, exist_ok=True)
    private = target / "parse"
    manifest = target / "manifest.json"
    with exclusive_lock(
        target / "parse.lock",
        guards="dbt parse's own target directory",
        purpose="dbt parse",
        on_wait=lambda _: None,
    ):
        proc = subprocess.run(
            [
                str(dbt_executable()),
                "parse",
                "--quiet",
                "--project-dir",
                str(project_dir),
                "--profiles-dir",
                str(project_dir),
                "--target-path",
                str(private.resolve()),
            ],
            env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"dbt parse failed:\n{proc.stdout}\n{proc.stderr}")
        copy_file_atomic(private / "manifest.json", manifest)
    return manifest


@cache
def dbt_project() -> DbtProject:
    """Under ``dagster dev`` the manifest is rebuilt from the project when the definitions load
    (what ``DbtProject.prepare_if_dev`` does, but with the venv's dbt: dagster-dbt's preparer
    runs whichever ``dbt`` is first on ``PATH``). Elsewhere ``merajut`` builds it first."""
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    if using_dagster_dev():
        parse_manifest(Path(project.project_dir))
    return project
