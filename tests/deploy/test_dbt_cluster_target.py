"""The dbt `cluster` target: its profile renders offline, and `dbt parse` with it changes the
table engine (ReplicatedMergeTree) and nothing else; the embedded target keeps MergeTree()."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from dbt.config.profile import Profile, read_profile
from dbt.config.renderer import ProfileRenderer

from lakehouse.layout import DBT_PROJECT_DIR
from orchestration.core.dbt import dbt_executable

REPLICATED = "ReplicatedMergeTree('/clickhouse/tables/{uuid}/all', '{replica}')"


def _credentials(target: str, variables: dict[str, Any]) -> Any:
    raw = read_profile(str(DBT_PROJECT_DIR))["merajut"]
    name, data = Profile.render_profile(raw, "merajut", target, ProfileRenderer(variables))
    return Profile._credentials_from_profile(dict(data), "merajut", name)


def test_the_cluster_target_renders_with_defaults_and_with_the_orchestrators_vars() -> None:
    default = _credentials("cluster", {})
    assert (default.host, default.port, default.cluster, default.secure) == (
        "clickhouse",
        8123,
        "merajut",
        False,
    )
    # As lakehouse.warehouse.WarehouseTarget.dbt_profile_vars passes them: strings.
    given = _credentials(
        "cluster",
        {"clickhouse_host": "ch.example", "clickhouse_secure": "true", "clickhouse_cluster": "c2"},
    )
    assert (given.host, given.cluster, given.secure) == ("ch.example", "c2", True)


@pytest.mark.parametrize("secure", ["false", "true"])
def test_the_server_target_accepts_secure_as_the_orchestrator_passes_it(secure: str) -> None:
    """`"false" | as_bool` failed to render; the orchestrator passes the string."""
    assert _credentials("clickhouse", {"clickhouse_secure": secure}).secure is (secure == "true")
    assert _credentials("clickhouse", {}).cluster is None


def _parse(target: str, tmp: Path) -> dict[str, Any]:
    out = tmp / target
    proc = subprocess.run(
        [
            str(dbt_executable()),
            "parse",
            "--quiet",
            "--no-partial-parse",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target",
            target,
            "--target-path",
            str(out),
            "--vars",
            json.dumps(
                {"warehouse_path": str(tmp / "chdb"), "warehouse_lock": str(tmp / "chdb.lock")}
            ),
        ],
        env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads((out / "manifest.json").read_text())


def test_dbt_parse_with_the_cluster_target_changes_only_the_engine(tmp_path: Path) -> None:
    """`dbt parse` does not connect, so both targets parse here without a server."""
    embedded = _parse("embedded", tmp_path)["nodes"]
    cluster = _parse("cluster", tmp_path)["nodes"]
    assert embedded.keys() == cluster.keys()
    tables = 0
    for uid, node in embedded.items():
        if node["resource_type"] not in ("model", "seed"):
            continue
        ours, theirs = node["config"], cluster[uid]["config"]
        assert ours.get("materialized") == theirs.get("materialized"), uid
        assert ours.get("schema") == theirs.get("schema"), uid
        if "engine" in ours:
            tables += 1
            assert ours["engine"] == "MergeTree()", uid
            assert theirs["engine"] == REPLICATED, uid
    assert tables > 10  # the marts and the seeds
