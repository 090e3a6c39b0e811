"""One settings tree: where things are, and which secrets each process refuses to start without.

Keys: a 0600 key file in dev; production takes them only from the environment and refuses,
naming the variable, when the process that needs one asks for it. Placeholders are refused in
every mode.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from lakehouse.secrets import ConfigError
from lakehouse.settings import ApiSettings, Settings, get_settings
from lakehouse.warehouse import WarehouseTarget


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("MERAJUT_") or name == "DAGSTER_HOME":
            monkeypatch.delenv(name)


def test_dev_mode_creates_a_private_key_file_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MERAJUT_HOME", str(tmp_path))
    settings = get_settings()
    keys = settings.keys
    path = tmp_path / "keys.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(keys.token_key) == 32 and keys.token_key != keys.vault_key
    # Stable across processes: a second read returns the same keys, and the API's pepper
    # lives in the same file.
    assert Settings().keys == keys
    assert Settings().api_pepper() == settings.api_pepper()
    assert len(settings.api_pepper()) == 32 and settings.api_pepper() != keys.token_key
    assert repr(keys) == "Keys(<redacted>)"


def test_dev_mode_refuses_a_key_file_others_can_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MERAJUT_HOME", str(tmp_path))
    get_settings().keys  # noqa: B018
    (tmp_path / "keys.json").chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        Settings().keys  # noqa: B018
    with pytest.raises(ConfigError, match="chmod 600"):
        Settings().api_pepper()


def test_production_refuses_to_start_without_keys_and_names_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MERAJUT_MODE", "production")
    monkeypatch.setenv("MERAJUT_HOME", str(tmp_path))
    monkeypatch.setenv("MERAJUT_TOKEN_KEY", "ab" * 32)
    settings = get_settings()
    with pytest.raises(ConfigError) as err:
        settings.keys  # noqa: B018
    assert "MERAJUT_VAULT_KEY" in str(err.value) and "MERAJUT_RELEASE_KEY" in str(err.value)
    assert "MERAJUT_TOKEN_KEY" not in str(err.value)
    with pytest.raises(ConfigError, match="MERAJUT_API_KEY_PEPPER"):
        settings.api_pepper()
    assert not (tmp_path / "keys.json").exists()


def test_each_process_needs_only_its_own_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """The API container holds the pepper and no pipeline key; the pipeline no pepper."""
    monkeypatch.setenv("MERAJUT_MODE", "production")
    monkeypatch.setenv("MERAJUT_API_KEY_PEPPER", "cd" * 32)
    assert get_settings().api_pepper() == bytes.fromhex("cd" * 32)
    for name in ("TOKEN", "VAULT", "RELEASE"):
        monkeypatch.setenv(f"MERAJUT_{name}_KEY", name.encode().hex().ljust(64, "0"))
    monkeypatch.delenv("MERAJUT_API_KEY_PEPPER")
    assert get_settings().keys.release_key == b"RELEASE".ljust(32, b"\0")


@pytest.mark.parametrize(
    "placeholder", ["changeme", "change-me", "CHANGETHIS", "secret", "replace-with-64-hex-chars"]
)
@pytest.mark.parametrize("variable", ["MERAJUT_TOKEN_KEY", "MERAJUT_API_KEY_PEPPER"])
@pytest.mark.parametrize("mode", ["dev", "production"])
def test_placeholders_are_refused_in_every_mode(
    monkeypatch: pytest.MonkeyPatch, placeholder: str, variable: str, mode: str
) -> None:
    monkeypatch.setenv("MERAJUT_MODE", mode)
    monkeypatch.setenv(variable, placeholder)
    with pytest.raises(ValidationError, match=f"{variable} is a placeholder"):
        get_settings()


def test_short_and_non_hex_keys_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MERAJUT_RELEASE_KEY", "ab" * 8)
    with pytest.raises(ValidationError, match="MERAJUT_RELEASE_KEY must be at least 32 bytes"):
        get_settings()
    monkeypatch.setenv("MERAJUT_RELEASE_KEY", "zz" * 32)
    with pytest.raises(ValidationError, match="MERAJUT_RELEASE_KEY must be hex"):
        get_settings()


def test_the_api_section_reads_its_own_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MERAJUT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MERAJUT_LAKE_ROOT", str(tmp_path / "lake"))
    monkeypatch.setenv("MERAJUT_API_KEY_PEPPER", "cd" * 32)
    monkeypatch.setenv("MERAJUT_API_CACHE_ENTRIES", "7")
    settings = get_settings()
    assert settings.lake_root == tmp_path / "lake" and settings.api.cache_entries == 7
    assert settings.api_pepper() == bytes.fromhex("cd" * 32)
    assert settings.api_key_store == (tmp_path / "home" / "api" / "api_keys.json").resolve()
    assert (
        settings.api_audit_log
        == (tmp_path / "lake" / "restricted" / "metrics_api" / "audit.jsonl").resolve()
    )


def test_a_key_store_in_the_public_lake_is_refused(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    with pytest.raises(ValidationError, match="outside lake/restricted"):
        Settings(lake_root=lake, api=ApiSettings(key_store=lake / "gold" / "keys.json"))
    Settings(lake_root=lake, api=ApiSettings(key_store=lake / "restricted" / "keys.json"))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("clickhouse-somewhere", "embedded"),
        ("chdb:///var/lake", "embedded"),
        ("ftp://host:21", "embedded"),
        ("http://u:p@localhost:8123", "MERAJUT_WAREHOUSE_PASSWORD"),
    ],
)
def test_the_warehouse_is_embedded_or_a_server_url_without_password(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("MERAJUT_WAREHOUSE", value)
    with pytest.raises(ValidationError, match=message):
        Settings()


def test_warehouse_targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    embedded = Settings(lake_root=tmp_path / "lake").warehouse_target
    assert embedded == WarehouseTarget(path=(tmp_path / "lake" / "warehouse" / "chdb").resolve())
    assert embedded.dbt_target() == "embedded"
    monkeypatch.setenv("MERAJUT_WAREHOUSE", "https://merajut@clickhouse.internal")
    monkeypatch.setenv("MERAJUT_WAREHOUSE_PASSWORD", "s3cret-pass")
    server = get_settings().warehouse_target
    assert (server.scheme, server.host, server.port, server.username) == (
        "https",
        "clickhouse.internal",
        8443,
        "merajut",
    )
    assert server.password == "s3cret-pass" and "s3cret" not in repr(server)
    assert server.dbt_target() == "clickhouse"
    assert server.dbt_profile_vars() == {
        "clickhouse_host": "clickhouse.internal",
        "clickhouse_port": "8443",
        "clickhouse_user": "merajut",
        "clickhouse_secure": "true",
    }
    assert "s3cret" not in server.describe()


def test_the_api_reads_the_lake_with_the_embedded_warehouse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().api_reads_warehouse is False
    assert Settings(api=ApiSettings(gold_source="warehouse")).api_reads_warehouse is True
    monkeypatch.setenv("MERAJUT_WAREHOUSE", "http://merajut@clickhouse:8123")
    assert Settings().api_reads_warehouse is True
    assert Settings(api=ApiSettings(gold_source="lake")).api_reads_warehouse is False


def test_dagster_home_follows_dagsters_own_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MERAJUT_HOME", str(tmp_path / "home"))
    assert get_settings().dagster_home == (tmp_path / "home" / "dagster_home").resolve()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dh"))
    assert get_settings().dagster_home == (tmp_path / "dh").resolve()


def test_source_urls_default_to_sqlite_files_under_home(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, source_urls={"consent": "postgresql+psycopg://db/consent"})
    urls = settings.resolved_source_urls
    assert urls["consent"] == "postgresql+psycopg://db/consent"
    assert urls["institutions"] == f"sqlite:///{tmp_path.resolve() / 'sources' / 'institutions.db'}"


def test_the_retention_section_reads_its_own_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = get_settings().retention
    assert (defaults.snapshots_keep, defaults.snapshots_min_age_days) == (10, 7)
    assert defaults.snapshots_max_age_days == 180 and defaults.at_publish
    monkeypatch.setenv("MERAJUT_RETENTION_SNAPSHOTS_KEEP", "3")
    monkeypatch.setenv("MERAJUT_RETENTION_SNAPSHOTS_MAX_AGE_DAYS", "none")
    monkeypatch.setenv("MERAJUT_RETENTION_ENCLAVE_MIN_AGE_DAYS", "0")
    policy = get_settings().retention.policy()
    assert policy.snapshots.keep == 3 and policy.snapshots.max_age is None
    assert policy.enclave.min_age.days == 0 and policy.enclave.max_age is not None
    # Keeping nothing, or a max age under the min age, is a configuration error.
    monkeypatch.setenv("MERAJUT_RETENTION_SNAPSHOTS_KEEP", "0")
    with pytest.raises(ValidationError):
        get_settings()
    monkeypatch.setenv("MERAJUT_RETENTION_SNAPSHOTS_KEEP", "3")
    monkeypatch.setenv("MERAJUT_RETENTION_SNAPSHOTS_MAX_AGE_DAYS", "3")
    with pytest.raises(ValidationError, match="MAX_AGE_DAYS \\(3\\) is below"):
        get_settings()


def test_automatic_approval_is_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    """Who approves a snapshot is a data steward by default; production refuses to start with
    the dev-only automatic approval, naming the variable."""
    assert Settings().publish_approval == "steward"
    monkeypatch.setenv("MERAJUT_PUBLISH_APPROVAL", "automatic")
    assert get_settings().publish_approval == "automatic"  # dev mode: allowed, and recorded
    monkeypatch.setenv("MERAJUT_MODE", "production")
    with pytest.raises(ValidationError, match="MERAJUT_PUBLISH_APPROVAL=automatic is refused"):
        get_settings()
    monkeypatch.setenv("MERAJUT_PUBLISH_APPROVAL", "whenever")
    with pytest.raises(ValidationError):
        get_settings()
