"""Settings of the metrics API, from ``MERAJUT_API_*`` environment variables.

The lakehouse-wide values (mode, home, lake root) are not repeated here: they come from
``orchestration.core.config.Settings`` through :meth:`ApiSettings.from_lakehouse`, so the API
and the pipeline can never disagree about where the lake is. Only what is specific to the API
(the key pepper, where keys and the audit log live, the cache size) is read with the
``MERAJUT_API_`` prefix.

Nothing is read at import time: :func:`get_api_settings` is called by the app factory or the CLI.
"""

from __future__ import annotations

import os
import secrets
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingestion.lake import LakeLayout

if TYPE_CHECKING:
    from orchestration.core.config import Settings

__all__ = ["ApiConfigError", "ApiSettings", "get_api_settings"]

_PLACEHOLDERS = {"", "changeme", "change-me", "changethis", "secret", "placeholder", "xxx", "todo"}
_MIN_PEPPER_BYTES = 32
PACKAGED_CATALOG = Path(__file__).resolve().parents[1] / "catalog.yml"


class ApiConfigError(ValueError):
    """Settings the API cannot start with; the message names the variable to set."""


def _is_placeholder(value: str) -> bool:
    return value.strip().lower() in _PLACEHOLDERS


class ApiSettings(BaseSettings):
    """Everything the API needs; construct with :meth:`from_lakehouse` outside tests."""

    model_config = SettingsConfigDict(env_prefix="MERAJUT_API_", extra="ignore")

    mode: Literal["dev", "production"] = "dev"
    home: Path = Field(default=Path(".merajut"), description="Restricted local state")
    lake_root: Path = Path("lake")
    key_pepper: SecretStr | None = Field(
        default=None,
        description="Server-side secret mixed into API key hashes (64+ hex chars). "
        "Required outside dev; in dev a 0600 file under home is used.",
    )
    key_store: Path | None = Field(
        default=None, description="JSON key store; default <home>/api/api_keys.json"
    )
    audit_log: Path | None = Field(
        default=None,
        description="Hash-chained audit log; default <lake>/restricted/metrics_api/audit.jsonl",
    )
    catalog_path: Path = PACKAGED_CATALOG
    warehouse_url: str | None = Field(
        default=None,
        description=(
            "Server mode: ClickHouse URL (http(s)://user:password@host:port) whose gated gold "
            "tables are read instead of the snapshot's Parquet; chdb:///path for the embedded engine"
        ),
    )
    cache_entries: int = Field(default=512, ge=0, description="Query results kept in memory")

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> ApiSettings:
        pepper = self.key_pepper.get_secret_value() if self.key_pepper is not None else None
        if pepper is not None and _is_placeholder(pepper):
            message = "MERAJUT_API_KEY_PEPPER is a placeholder; set 64 random hex characters"
            if self.mode != "dev":
                raise ValueError(message)
            warnings.warn(message, stacklevel=2)
        if self.mode != "dev":
            if pepper is None:
                raise ValueError("production mode needs MERAJUT_API_KEY_PEPPER (64+ hex chars)")
            _decode_pepper(pepper)
        # Keys are secrets: refuse a key store inside the lake's public zones.
        lake = self.lake_root.resolve()
        store = self.resolved_key_store
        if store.is_relative_to(lake) and not store.is_relative_to(lake / "restricted"):
            raise ValueError(
                f"MERAJUT_API_KEY_STORE {store} is inside the lake but outside lake/restricted"
            )
        return self

    @classmethod
    def from_lakehouse(cls, settings: Settings, **overrides: object) -> ApiSettings:
        """API settings sharing mode, home and lake root with the pipeline's settings."""
        values: dict[str, object] = {
            "mode": settings.mode,
            "home": settings.home,
            "lake_root": settings.lake_root,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    @property
    def layout(self) -> LakeLayout:
        return LakeLayout(self.lake_root.resolve())

    @property
    def resolved_key_store(self) -> Path:
        return (self.key_store or self.home / "api" / "api_keys.json").resolve()

    @property
    def resolved_audit_log(self) -> Path:
        default = self.layout.root / "restricted" / "metrics_api" / "audit.jsonl"
        return (self.audit_log or default).resolve()

    def pepper(self) -> bytes:
        """The key-hash pepper: from the environment, or (dev only) a private file under home.

        Called by the app factory and the CLI, never at import; losing the dev file only
        invalidates dev keys, which is why dev may generate it.
        """
        if self.key_pepper is not None:
            return _decode_pepper(self.key_pepper.get_secret_value())
        if self.mode != "dev":  # the validator already refused this; keep the guard local
            raise ApiConfigError("production mode needs MERAJUT_API_KEY_PEPPER")
        path = self.home.resolve() / "api" / "pepper.hex"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(secrets.token_hex(_MIN_PEPPER_BYTES))
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise ApiConfigError(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
        return _decode_pepper(path.read_text(encoding="utf-8"))


def _decode_pepper(value: str) -> bytes:
    try:
        raw = bytes.fromhex(value.strip())
    except ValueError:
        raise ApiConfigError("MERAJUT_API_KEY_PEPPER must be hex") from None
    if len(raw) < _MIN_PEPPER_BYTES:
        raise ApiConfigError("MERAJUT_API_KEY_PEPPER must be at least 32 bytes (64 hex chars)")
    return raw


def get_api_settings() -> ApiSettings:
    """Read the pipeline's settings and the ``MERAJUT_API_*`` variables, now."""
    from orchestration.core.config import get_settings

    return ApiSettings.from_lakehouse(get_settings())
