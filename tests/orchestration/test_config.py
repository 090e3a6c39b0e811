"""Keys: a 0600 key file in dev; production refuses to start without them and says which."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from orchestration.core.config import ConfigError, Settings, get_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("MERAJUT_"):
            monkeypatch.delenv(name)


def test_dev_mode_creates_a_private_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MERAJUT_HOME", str(tmp_path))
    settings = get_settings()
    keys = settings.keys
    path = tmp_path / "keys.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(keys.token_key) == 32 and keys.token_key != keys.vault_key
    # Stable across processes: the second read returns the same keys.
    assert Settings().keys == keys


def test_dev_mode_refuses_a_key_file_others_can_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MERAJUT_HOME", str(tmp_path))
    get_settings().keys  # noqa: B018
    (tmp_path / "keys.json").chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        Settings().keys  # noqa: B018


def test_production_refuses_to_start_without_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MERAJUT_MODE", "production")
    monkeypatch.setenv("MERAJUT_TOKEN_KEY", "ab" * 32)
    with pytest.raises(ConfigError) as err:
        get_settings()
    assert "MERAJUT_VAULT_KEY" in str(err.value) and "MERAJUT_RELEASE_KEY" in str(err.value)
    assert "MERAJUT_TOKEN_KEY" not in str(err.value)


def test_production_refuses_placeholder_and_short_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MERAJUT_MODE", "production")
    monkeypatch.setenv("MERAJUT_TOKEN_KEY", "changeme")
    monkeypatch.setenv("MERAJUT_VAULT_KEY", "ab" * 32)
    monkeypatch.setenv("MERAJUT_RELEASE_KEY", "ab" * 8)
    with pytest.raises(ConfigError, match="placeholder"):
        get_settings()
    monkeypatch.setenv("MERAJUT_TOKEN_KEY", "cd" * 32)
    with pytest.raises(ConfigError, match="at least 32 bytes"):
        get_settings()


def test_production_with_keys_never_writes_a_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MERAJUT_MODE", "production")
    monkeypatch.setenv("MERAJUT_HOME", str(tmp_path))
    for name in ("TOKEN", "VAULT", "RELEASE"):
        monkeypatch.setenv(f"MERAJUT_{name}_KEY", name.encode().hex().ljust(64, "0"))
    get_settings()
    assert not (tmp_path / "keys.json").exists()


def test_warehouse_must_be_embedded_or_a_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MERAJUT_WAREHOUSE", "clickhouse-somewhere")
    with pytest.raises(ValueError, match="embedded"):
        Settings()
    monkeypatch.setenv("MERAJUT_WAREHOUSE", "http://u:p@localhost:8123")
    assert Settings().resolved_dbt_target == "clickhouse"
