"""``merajut api key ...``, ``merajut api serve`` (orchestration/cli/api.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lakehouse.settings import Settings
from metrics_api.main import create_app

RunCli = Callable[[list[str], dict[str, str]], tuple[int, str]]
KEY = re.compile(r"mk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    """The environment under which the CLI sees the same home, lake and pepper as the app."""
    assert settings.api.key_pepper is not None
    return {
        "MERAJUT_HOME": str(settings.home),
        "MERAJUT_LAKE_ROOT": str(settings.lake_root),
        "MERAJUT_API_KEY_PEPPER": settings.api.key_pepper.get_secret_value(),
    }


def test_create_list_revoke(env: dict[str, str], settings: Settings, run_cli: RunCli) -> None:
    code, output = run_cli(
        [
            "api",
            "key",
            "create",
            "--name",
            "Dinsos Jabar",
            "--role",
            "government",
            "--province",
            "32",
        ],
        env,
    )
    assert code == 0, output
    keys = KEY.findall(output)
    assert len(keys) == 1  # printed exactly once
    key = keys[0]
    key_id = key.split("_")[1]
    assert key not in settings.api_key_store.read_text()

    with TestClient(create_app(settings)) as client:
        response = client.get("/v1/metrics/placements", headers={"X-API-Key": key})
        assert response.status_code == 200 and response.json()["filters"]["province"] == "32"

        code, listed = run_cli(["api", "key", "list"], env)
        assert code == 0 and key_id in listed and "government" in listed and "active" in listed
        assert not KEY.search(listed) and key.split("_", 2)[2] not in listed  # the secret part

        code, output = run_cli(["api", "key", "revoke", key_id], env)
        assert code == 0, output
        assert client.get("/v1/metrics/placements", headers={"X-API-Key": key}).status_code == 401
        assert "revoked" in run_cli(["api", "key", "list"], env)[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "superuser"], "unknown role"),
        (["--role", "media", "--province", "32"], "national statistics only"),
        (["--role", "government", "--province", "00"], "unknown province"),
    ],
)
def test_create_refuses_bad_input(
    env: dict[str, str], run_cli: RunCli, args: list[str], message: str
) -> None:
    code, output = run_cli(["api", "key", "create", "--name", "x", *args], env)
    assert code == 2 and message in output
    assert not KEY.search(output)


def test_revoking_an_unknown_key_fails(env: dict[str, str], run_cli: RunCli) -> None:
    code, output = run_cli(["api", "key", "revoke", "000000000000"], env)
    assert code == 1 and "no API key" in output


def test_production_with_a_placeholder_pepper_refuses_to_start(
    env: dict[str, str], run_cli: RunCli
) -> None:
    # The API needs no pipeline key, and a placeholder pepper is refused before anything starts.
    production = {**env, "MERAJUT_MODE": "production", "MERAJUT_API_KEY_PEPPER": "changeme"}
    for args in (["api", "key", "list"], ["api", "serve"]):
        code, output = run_cli(args, production)
        assert code == 2 and "placeholder" in output


def test_serve_runs_uvicorn_with_the_app(
    env: dict[str, str], run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    code, output = run_cli(["api", "serve", "--host", "0.0.0.0", "--port", "8123"], env)
    assert code == 0, output
    ((application, kwargs),) = calls
    # No access log by default: the audit log has every request (who, what, status, rows).
    assert kwargs == {"host": "0.0.0.0", "port": 8123, "access_log": False}
    with TestClient(application) as client:
        assert client.get("/health").json()["status"] == "ok"
        assert client.get("/docs").status_code == 200
    code, output = run_cli(["api", "serve", "--access-log"], env)
    assert code == 0 and calls[-1][1]["access_log"] is True, output


def test_production_without_a_pepper_names_the_variable(
    env: dict[str, str], run_cli: RunCli
) -> None:
    production = {k: v for k, v in env.items() if k != "MERAJUT_API_KEY_PEPPER"}
    production["MERAJUT_MODE"] = "production"
    for args in (["api", "key", "list"], ["api", "serve"]):
        code, output = run_cli(args, production)
        assert code == 2 and "MERAJUT_API_KEY_PEPPER" in output, output
