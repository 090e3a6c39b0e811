"""The production compose file: every service healthy-gated, no secret without a value."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from compose_spec import ComposeSpecification, PyCompose, Service

REPO = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_every_service_has_a_healthcheck_and_waits_for_healthy_dependencies() -> None:
    services = _compose()["services"]
    assert {
        "clickhouse",
        "postgres",
        "code-location",
        "dagster-webserver",
        "dagster-daemon",
        "metrics-api",
        "superset",
        "superset-provision",
    } <= set(services)
    for name, service in services.items():
        if name != "superset-provision":  # a one-shot job: it exits, it is never "healthy"
            assert "healthcheck" in service, name
        for dep, condition in (service.get("depends_on") or {}).items():
            assert dep in services, (name, dep)
            assert condition == {"condition": "service_healthy"}, (name, dep)


def test_required_secrets_fail_fast_and_none_is_committed() -> None:
    text = (REPO / "docker-compose.yml").read_text()
    for secret in (
        "MERAJUT_TOKEN_KEY",
        "MERAJUT_VAULT_KEY",
        "MERAJUT_RELEASE_KEY",
        "POSTGRES_PASSWORD",
        "CLICKHOUSE_PASSWORD",
        "MERAJUT_API_KEY_PEPPER",
        "SUPERSET_SECRET_KEY",
        "SUPERSET_ADMIN_PASSWORD",
    ):
        assert re.search(r"\$\{" + secret + r":\?[^}]+\}", text), secret
    example = (REPO / ".env.example").read_text()
    for line in example.splitlines():
        if "KEY=" in line or "PASSWORD=" in line or "PEPPER=" in line:
            assert "replace" in line, line
    env = _compose()["x-lakehouse-env"]
    assert env["MERAJUT_MODE"] == "production"


def test_dagster_instance_uses_postgres_and_a_warehouse_pool_of_one() -> None:
    instance = yaml.safe_load((REPO / "deploy" / "dagster.yaml").read_text())
    assert "postgres" in instance["storage"]
    assert instance["concurrency"]["pools"]["default_limit"] == 1


def _known_keys(model: type) -> set[str]:
    return {f.alias or name for name, f in model.model_fields.items()}


def test_validates_against_the_compose_specification() -> None:
    text = (REPO / "docker-compose.yml").read_text()
    doc = yaml.safe_load(text)
    ComposeSpecification.model_validate(doc)
    PyCompose.from_yaml(text).to_spec()  # the Rust (compose-go compatible) parser agrees
    # The models accept unknown keys; a misspelt key (`helthcheck`) must not pass silently.
    allowed = _known_keys(Service)
    for name, service in doc["services"].items():
        unknown = set(service) - allowed
        assert not unknown, (name, unknown)
    assert not set(doc) - (
        _known_keys(ComposeSpecification) | {k for k in doc if k.startswith("x-")}
    )


def test_a_misspelt_service_key_is_caught() -> None:
    assert "helthcheck" not in _known_keys(Service)
    assert {"healthcheck", "depends_on", "environment"} <= _known_keys(Service)


def _settings_variables() -> set[str]:
    """Every environment variable the settings tree reads (one name per setting)."""
    from lakehouse.settings import ApiSettings, Settings, SupersetSettings

    names = set()
    for model, prefix in (
        (Settings, "MERAJUT_"),
        (ApiSettings, "MERAJUT_API_"),
        (SupersetSettings, "MERAJUT_SUPERSET_"),
    ):
        for name, field in model.model_fields.items():
            if name in ("api", "superset"):
                continue
            names.add(field.validation_alias or f"{prefix}{name.upper()}")
    return names


def test_every_merajut_variable_of_the_stack_is_a_setting() -> None:
    """A misspelt or retired variable (MERAJUT_API_WAREHOUSE_URL) would be silently ignored."""
    known = _settings_variables()
    files = [REPO / "docker-compose.yml", REPO / ".env.example", REPO / "Dockerfile"]
    used = {m for f in files for m in re.findall(r"\bMERAJUT_[A-Z_]+\b", f.read_text())}
    assert used and used <= known, sorted(used - known)
