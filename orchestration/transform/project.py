"""The dbt project, defined once and cached."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from dagster_dbt import DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"


@cache
def dbt_project() -> DbtProject:
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    # Under `dagster dev` the manifest is (re)built from the project on load; elsewhere it is
    # built by `merajut` (or `dbt parse`) before the definitions are loaded.
    project.prepare_if_dev()
    return project
