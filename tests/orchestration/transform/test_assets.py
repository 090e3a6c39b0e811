"""What the dbt step passes to dbt and what it keeps of dbt's results."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

from lakehouse.settings import Settings
from orchestration.transform.assets import dbt_build_args, summarize_run_results


def _result(unique_id: str, status: str) -> dict[str, str]:
    return {"unique_id": unique_id, "status": status}


def test_the_summary_counts_data_and_unit_tests_and_failed_models() -> None:
    run_results = {
        "metadata": {"invocation_id": "inv-1", "generated_at": "2026-11-01T00:00:00Z"},
        "results": [
            _result("model.merajut.a", "success"),
            _result("model.merajut.b", "error"),
            _result("model.merajut.c", "skipped"),
            _result("test.merajut.not_null_a", "pass"),
            _result("test.merajut.unique_b", "fail"),
            _result("unit_test.merajut.gov.suppresses", "fail"),
            _result("unit_test.merajut.gov.keeps", "pass"),
            _result("seed.merajut.bps_provinces", "success"),
        ],
    }
    summary = summarize_run_results(run_results)
    assert summary["invocation_id"] == "inv-1" and summary["finished"] is True
    assert summary["tests_run"] == 4
    assert summary["tests_failed"] == ["test.merajut.unique_b", "unit_test.merajut.gov.suppresses"]
    assert summary["models_built"] == 1
    assert summary["models_failed"] == ["model.merajut.b", "model.merajut.c"]


def test_build_args_for_the_embedded_warehouse(tmp_path: Path) -> None:
    settings = Settings(lake_root=tmp_path / "lake", as_of=date(2026, 11, 1))
    args = dbt_build_args(settings)
    assert args[:3] == ["build", "--target", "embedded"]
    assert json.loads(args[4]) == {
        "warehouse_path": str((tmp_path / "lake" / "warehouse" / "chdb").resolve()),
        "warehouse_lock": str((tmp_path / "lake" / "warehouse" / "chdb.lock").resolve()),
        "as_of": "2026-11-01",
    }


def test_build_args_for_a_server_carry_no_password() -> None:
    settings = Settings(warehouse="http://merajut@clickhouse:8123", warehouse_password="pw-123")
    args = dbt_build_args(settings)
    assert args[:3] == ["build", "--target", "clickhouse"]
    assert json.loads(args[4]) == {
        "clickhouse_host": "clickhouse",
        "clickhouse_port": "8123",
        "clickhouse_user": "merajut",
        "clickhouse_secure": "false",
        # Unpinned, the reporting date is still passed (today in UTC, as ingestion takes it):
        # the date a build's inputs record is the one its models are computed for.
        "as_of": settings.reporting_date.isoformat(),
    }
    assert "pw-123" not in " ".join(args)


def test_the_profile_reads_exactly_those_vars() -> None:
    from lakehouse.layout import DBT_PROJECT_DIR

    profile = (DBT_PROJECT_DIR / "profiles.yml").read_text()
    for var in (
        "warehouse_path",
        "clickhouse_host",
        "clickhouse_port",
        "clickhouse_user",
        "clickhouse_secure",
    ):
        assert f"var('{var}'" in profile, var
    # Nothing but the password comes from the environment (one per server target: the
    # single server and the cluster).
    env_vars = re.findall(r"env_var\('([A-Z_]+)'", profile)
    assert env_vars and set(env_vars) == {"MERAJUT_WAREHOUSE_PASSWORD"}, env_vars
