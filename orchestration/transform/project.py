"""The dbt project, defined once and cached."""

from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path

from dagster_dbt import DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"


def _venv_on_path() -> None:
    """dagster-dbt's own preparer runs plain ``dbt``; make it the one next to this Python even
    when the virtualenv is not activated (e.g. ``.venv/bin/dagster dev``)."""
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


@cache
def dbt_project() -> DbtProject:
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    # Under `dagster dev` the manifest is (re)built from the project on load; elsewhere it is
    # built by `merajut` (or `dbt parse`) before the definitions are loaded.
    _venv_on_path()
    project.prepare_if_dev()
    return project
