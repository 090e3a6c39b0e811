"""Settings of the lakehouse, from ``MERAJUT_*`` environment variables.

Read once, explicitly (``get_settings()``), never at import time. In ``dev`` mode the HMAC and
vault keys come from a local key file created with mode 0600 on first use; in ``production``
mode they must be given in the environment and startup fails naming the missing variable.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingestion.lake import LakeLayout
from ingestion.warehouse import WarehouseTarget

SERVICES = (
    "institutions",
    "child_registry",
    "case_management",
    "placements",
    "consent",
    "platform_audit",
)
KEY_NAMES = ("token_key", "vault_key", "release_key")
_PLACEHOLDERS = {"", "changeme", "change-me", "secret", "placeholder", "xxx", "todo"}


class ConfigError(RuntimeError):
    """Settings that cannot be used; the message says which variable to set."""


@dataclass(frozen=True)
class Keys:
    token_key: bytes  # HMAC-SHA256 master key; per-domain keys are derived from it
    vault_key: bytes  # AES-256-GCM key of the token vault
    release_key: bytes  # master key for per-release re-tokenization


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MERAJUT_", extra="ignore")

    mode: Literal["dev", "production"] = "dev"
    home: Path = Field(
        default=Path(".merajut"), description="Restricted local state: sources, keys"
    )
    lake_root: Path = Path("lake")
    warehouse: str = Field(
        default="embedded",
        description="'embedded' (chDB in the lake) or http(s)://user:pw@host:port",
    )
    source_urls: dict[str, str] = Field(
        default_factory=dict, description="service -> SQLAlchemy URL (JSON)"
    )
    drops_dir: Path | None = None
    key_file: Path | None = None
    token_key: str | None = None
    vault_key: str | None = None
    release_key: str | None = None
    dbt_target: str | None = None
    as_of: date | None = Field(
        default=None,
        description="Reporting date (ages, synthetic data); today when unset. Pinned by tests "
        "so that the same seed gives the same lake on every day.",
    )

    @field_validator("warehouse")
    @classmethod
    def _warehouse_kind(cls, value: str) -> str:
        if value != "embedded" and not value.startswith(("http://", "https://")):
            raise ValueError("MERAJUT_WAREHOUSE must be 'embedded' or an http(s):// ClickHouse URL")
        return value

    @property
    def layout(self) -> LakeLayout:
        return LakeLayout(self.lake_root.resolve())

    @property
    def warehouse_target(self) -> WarehouseTarget:
        if self.warehouse == "embedded":
            return WarehouseTarget(path=self.layout.warehouse)
        return WarehouseTarget(url=self.warehouse)

    @property
    def resolved_dbt_target(self) -> str:
        return self.dbt_target or ("embedded" if self.warehouse == "embedded" else "clickhouse")

    @property
    def sources_dir(self) -> Path:
        return self.home.resolve() / "sources"

    @property
    def resolved_drops_dir(self) -> Path:
        return (self.drops_dir or self.home / "drops").resolve()

    @property
    def resolved_source_urls(self) -> dict[str, str]:
        """Configured URLs, defaulting each service to a SQLite file under ``home``."""
        urls = {s: f"sqlite:///{self.sources_dir / f'{s}.db'}" for s in SERVICES}
        urls.update(self.source_urls)
        return urls

    @property
    def resolved_key_file(self) -> Path:
        return (self.key_file or self.home / "keys.json").resolve()

    @cached_property
    def keys(self) -> Keys:
        return load_keys(self)

    @property
    def reporting_date(self) -> date:
        return self.as_of or datetime.now(UTC).date()

    def dbt_env(self) -> dict[str, str]:
        """Environment for the dbt subprocess (profiles.yml reads these)."""
        env = {"MERAJUT_DBT_TARGET": self.resolved_dbt_target}
        if self.warehouse == "embedded":
            env["MERAJUT_WAREHOUSE_PATH"] = str(self.layout.warehouse)
        else:
            from urllib.parse import urlparse

            url = urlparse(self.warehouse)
            env.update(
                MERAJUT_CLICKHOUSE_HOST=url.hostname or "localhost",
                MERAJUT_CLICKHOUSE_PORT=str(url.port or 8123),
                MERAJUT_CLICKHOUSE_USER=url.username or "default",
                MERAJUT_CLICKHOUSE_PASSWORD=url.password or "",
                MERAJUT_CLICKHOUSE_SECURE="true" if url.scheme == "https" else "false",
            )
        return env


def _decode_key(name: str, value: str) -> bytes:
    if value.strip().lower() in _PLACEHOLDERS:
        raise ConfigError(f"MERAJUT_{name.upper()} is a placeholder; set a real 32-byte hex key")
    try:
        raw = bytes.fromhex(value.strip())
    except ValueError:
        raise ConfigError(f"MERAJUT_{name.upper()} must be hex (64 hex characters)") from None
    if len(raw) < 32:
        raise ConfigError(f"MERAJUT_{name.upper()} must be at least 32 bytes (64 hex characters)")
    return raw


def _dev_key_file(path: Path) -> dict[str, str]:
    """Read, or create with mode 0600, the dev key file. Never used in production."""
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise ConfigError(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
        data: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        missing = [k for k in KEY_NAMES if k not in data]
        if not missing:
            return data
    else:
        data = {}
    for name in KEY_NAMES:
        data.setdefault(name, secrets.token_hex(32))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    os.chmod(path, 0o600)
    return data


def load_keys(settings: Settings) -> Keys:
    given = {name: getattr(settings, name) for name in KEY_NAMES}
    if settings.mode == "production":
        missing = [f"MERAJUT_{n.upper()}" for n, v in given.items() if not v]
        if missing:
            raise ConfigError(
                "production mode needs its keys from the environment; missing: "
                + ", ".join(missing)
            )
        return Keys(**{n: _decode_key(n, v) for n, v in given.items() if v is not None})
    file_keys = _dev_key_file(settings.resolved_key_file)
    return Keys(**{n: _decode_key(n, given[n] or file_keys[n]) for n in KEY_NAMES})


def get_settings() -> Settings:
    settings = Settings()
    if settings.mode == "production":
        settings.keys  # noqa: B018 - fail at startup, not at first use
    return settings
