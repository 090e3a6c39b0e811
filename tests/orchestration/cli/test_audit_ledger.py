"""``merajut audit ledger``: what each role has been served, for the data protection officer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
from fastapi.testclient import TestClient

from lakehouse.settings import Settings

RunCli = Callable[[list[str], dict[str, str]], tuple[int, str]]
Auth = Callable[[str], dict[str, str]]


def test_the_ledger_lists_and_exports_what_a_role_was_served(
    client: TestClient, auth: Auth, settings: Settings, run_cli: RunCli, tmp_path: Path
) -> None:
    env = {"MERAJUT_HOME": str(settings.home), "MERAJUT_LAKE_ROOT": str(settings.lake_root)}
    code, output = run_cli(["audit", "ledger"], env)
    assert code == 0 and "nothing served" in output
    body = client.get(
        "/v1/metrics/placements", params={"dimensions": "sex,year"}, headers=auth("business")
    ).json()
    client.get("/v1/metrics/placements", params={"dimensions": "sex"}, headers=auth("media"))
    out = tmp_path / "served.csv"
    code, output = run_cli(["audit", "ledger", "--role", "business", "--csv", str(out)], env)
    assert code == 0, output
    assert "business" in output and "media" not in output
    cells = pd.read_csv(out, dtype={"period": str})
    assert len(cells) == len(body["rows"]) and set(cells["table"]) == {"sex|year"}
    # Each exported cell carries what the role was given: the same number as the answer.
    given = {(r["dimensions"]["sex"], r["dimensions"]["year"]): r["value"] for r in body["rows"]}
    for row in cells.to_dict("records"):
        value = given[(row["sex"], row["period"])]
        assert (pd.isna(row["placements"]) and value is None) or row["placements"] == value
