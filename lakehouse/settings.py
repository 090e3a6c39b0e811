"""Settings of the lakehouse: one tree, read from ``MERAJUT_*`` environment variables.

Read once, explicitly (:func:`get_settings`), never at import time, so the Dagster code location
and the API app load with no environment and tests build as many settings as they like.

The tree: the lakehouse-wide values (mode, where the home, the lake and the warehouse are, the
pipeline's keys) at the top, the metrics API's own values in the nested ``api`` section
(``MERAJUT_API_*``), the Superset provisioning's in ``superset`` (``MERAJUT_SUPERSET_*``) and
how long published copies are kept in ``retention`` (``MERAJUT_RETENTION_*``).
No part can therefore disagree with another about where the lake is.

Secrets (:mod:`lakehouse.secrets`): a given secret is checked when the settings are built
(placeholders and short keys are refused in every mode); a missing one is taken from the dev
key file in ``dev`` mode and refused, naming the variable, in ``production`` when the process
that needs it asks for it (``settings.keys`` for the pipeline, ``settings.api_pepper()`` for
the API). Each process thus refuses to start without exactly the secrets it uses: the API
container holds no pipeline key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from lakehouse.layout import LakeLayout
from lakehouse.reference.services import sqlite_source_urls
from lakehouse.secrets import ConfigError, decode_hex_secret, dev_secrets, env_name
from lakehouse.warehouse import EMBEDDED, WarehouseTarget, check_warehouse_setting

if TYPE_CHECKING:
    from lakehouse.retention import RetentionPolicy

__all__ = [
    "ApiSettings",
    "ConfigError",
    "Keys",
    "Mode",
    "PublishApproval",
    "RetentionSettings",
    "Settings",
    "SupersetSettings",
    "get_settings",
]

Mode = Literal["dev", "production"]
#: Who approves a snapshot before it goes live (lakehouse.signoff): production allows only a
#: data steward.
PublishApproval = Literal["steward", "automatic"]
PIPELINE_KEYS = ("token_key", "vault_key", "release_key")
#: Source rows ingested at a time. A chunk of 100,000 rows of the widest table is a few hundred
#: MB in flight (clear, typed and protected copies); it is also large enough for case notes to
#: be redacted by the worker processes (``anonymization.redaction.PARALLEL_MIN_NOTES``).
DEFAULT_INGEST_CHUNK_ROWS = 100_000


@dataclass(frozen=True)
class Keys:
    """The pipeline's keys, as bytes."""

    token_key: bytes  # HMAC-SHA256 master key; per-domain keys are derived from it
    vault_key: bytes  # AES-256-GCM key of the token vault
    release_key: bytes  # master key for per-release re-tokenization

    def __repr__(self) -> str:  # never print key material
        return "Keys(<redacted>)"


def _check_secret(name: str, value: SecretStr | None) -> SecretStr | None:
    if value is not None:
        decode_hex_secret(name, value.get_secret_value())  # raises ConfigError (a ValueError)
    return value


class ApiSettings(BaseSettings):
    """The metrics API's section (``MERAJUT_API_*``)."""

    model_config = SettingsConfigDict(env_prefix="MERAJUT_API_", extra="ignore")

    key_pepper: SecretStr | None = Field(
        default=None,
        description="Server-side secret mixed into API key hashes (64+ hex characters); "
        "from the dev key file when unset in dev, required in production.",
    )
    key_store: Path | None = Field(
        default=None, description="JSON store of key hashes; default <home>/api/api_keys.json"
    )
    audit_log: Path | None = Field(
        default=None,
        description="Hash-chained request log; default <lake>/restricted/metrics_api/audit.jsonl",
    )
    catalog_path: Path | None = Field(
        default=None, description="Metric catalog YAML; default the one packaged with the API"
    )
    cache_entries: int = Field(default=512, ge=0, description="Answers kept in memory")
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Server processes of `merajut api serve` (about one per core). The audit "
        "chain, the distinct-query budgets and the disclosure ledger are shared files; answer "
        "caches and the requests-per-minute windows are per process, so with N workers a key "
        "may get up to N times its per-minute limit",
    )
    ledger: bool = Field(
        default=True,
        description="Record the cells each role is served (restricted/ledger/served.sqlite) and "
        "refuse answers from a snapshot not audited together with the cells a role already "
        "holds; off only to measure what it costs (bench.api), never in production",
    )
    gold_source: Literal["auto", "lake", "warehouse"] = Field(
        default="auto",
        description="Where the API reads gold: 'lake' (the CURRENT snapshot's Parquet), "
        "'warehouse' (the gated gold tables in the warehouse), or 'auto' (the lake with the "
        "embedded warehouse, whose path the pipeline holds; the warehouse with a server)",
    )

    @field_validator("key_pepper")
    @classmethod
    def _pepper(cls, value: SecretStr | None) -> SecretStr | None:
        return _check_secret("api_key_pepper", value)


class SupersetSettings(BaseSettings):
    """How Superset reaches gold (``MERAJUT_SUPERSET_*``), for the provisioning command."""

    model_config = SettingsConfigDict(env_prefix="MERAJUT_SUPERSET_", extra="ignore")

    db_uri: str | None = Field(
        default=None,
        description="SQLAlchemy URI of the gold database in Superset; default the embedded "
        "DuckDB catalog of the lake (clickhousedb://... with a server)",
    )
    db_password: SecretStr | None = Field(
        default=None, description="Password of that connection (none for the DuckDB catalog)"
    )


class RetentionSettings(BaseSettings):
    """How long published copies are kept (``MERAJUT_RETENTION_*``; lakehouse.retention).

    ``CURRENT``, the snapshot it replaced, every candidate awaiting approval, the latest release
    of each tier and every downloadable release are kept whatever these say. Ages are in days; a max age of ``none``
    removes the upper bound."""

    model_config = SettingsConfigDict(
        env_prefix="MERAJUT_RETENTION_", extra="ignore", env_parse_none_str="none"
    )

    snapshots_keep: int = Field(
        default=10, ge=1, description="Gold snapshots kept however old (the newest)"
    )
    snapshots_min_age_days: int = Field(
        default=7, ge=0, description="No snapshot is removed before it is this old"
    )
    snapshots_max_age_days: int | None = Field(
        default=180,
        ge=1,
        description="No snapshot but CURRENT and the one before it is kept longer: how long a "
        "child whose consent was withdrawn can still be counted in an old snapshot",
    )
    enclave_keep: int = Field(
        default=3, ge=1, description="Enclave extracts (never downloadable) kept per tier"
    )
    enclave_min_age_days: int = Field(
        default=30, ge=0, description="No enclave extract is removed before it is this old"
    )
    enclave_max_age_days: int | None = Field(
        default=180,
        ge=1,
        description="No enclave extract but the latest is kept longer (record-level data of "
        "children whose consent may have been withdrawn since)",
    )
    at_publish: bool = Field(
        default=True, description="Apply the policy at the end of every publish step"
    )

    @model_validator(mode="after")
    def _ages_ordered(self) -> RetentionSettings:
        for kind in ("snapshots", "enclave"):
            low, high = getattr(self, f"{kind}_min_age_days"), getattr(self, f"{kind}_max_age_days")
            if high is not None and high < low:
                raise ValueError(
                    f"MERAJUT_RETENTION_{kind.upper()}_MAX_AGE_DAYS ({high}) is below "
                    f"MERAJUT_RETENTION_{kind.upper()}_MIN_AGE_DAYS ({low})"
                )
        return self

    def policy(self) -> RetentionPolicy:
        from lakehouse.retention import RetentionPolicy, RetentionRule  # pandas: only when asked

        def days(value: int | None) -> timedelta | None:
            return None if value is None else timedelta(days=value)

        return RetentionPolicy(
            snapshots=RetentionRule(
                self.snapshots_keep,
                timedelta(days=self.snapshots_min_age_days),
                days(self.snapshots_max_age_days),
            ),
            enclave=RetentionRule(
                self.enclave_keep,
                timedelta(days=self.enclave_min_age_days),
                days(self.enclave_max_age_days),
            ),
        )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MERAJUT_", extra="ignore", populate_by_name=True)

    mode: Mode = "dev"
    home: Path = Field(
        default=Path(".merajut"), description="Restricted local state: sources (dev), keys"
    )
    lake_root: Path = Path("lake")
    warehouse: str = Field(
        default=EMBEDDED,
        description="'embedded' (chDB in the lake) or http(s)://user@host:port of a ClickHouse "
        "server (its password in MERAJUT_WAREHOUSE_PASSWORD)",
    )
    warehouse_password: SecretStr | None = None
    source_urls: dict[str, str] = Field(
        default_factory=dict, description="service -> SQLAlchemy URL (JSON)"
    )
    drops_dir: Path | None = None
    key_file: Path | None = Field(
        default=None, description="dev key file; default <home>/keys.json (never in production)"
    )
    token_key: SecretStr | None = None
    vault_key: SecretStr | None = None
    release_key: SecretStr | None = None
    dpo_key: SecretStr | None = Field(
        default=None,
        description="The data protection officer's key (`merajut subject key create`), for "
        "every `merajut subject` and `merajut vault` command",
    )
    steward_key: SecretStr | None = Field(
        default=None,
        description="A data steward's key (`merajut publish key create`), for `merajut publish "
        "approve` and `reject`: only a steward moves CURRENT to a candidate snapshot",
    )
    publish_approval: PublishApproval = Field(
        default="steward",
        description="Who approves a gated snapshot before CURRENT moves to it: 'steward' (a "
        "data steward, acknowledging each rule violation and outlier) or, in dev mode only, "
        "'automatic' (the pipeline approves its own candidate, says so and records it as its "
        "own act). Production refuses 'automatic'",
    )
    as_of: date | None = Field(
        default=None,
        description="Reporting date (ages, 'future' dates, synthetic data); today when unset. "
        "Pinned by tests so that the same seed gives the same lake on every day.",
    )
    ingest_chunk_rows: int = Field(
        default=DEFAULT_INGEST_CHUNK_ROWS,
        ge=1,
        description="Source rows ingested at a time: bounds the memory of the ingest step "
        "whatever the size of a table (outputs are the same for every value)",
    )
    dagster_home_dir: Path | None = Field(default=None, validation_alias="DAGSTER_HOME")
    api: ApiSettings = Field(default_factory=ApiSettings)
    superset: SupersetSettings = Field(default_factory=SupersetSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)

    @field_validator("warehouse")
    @classmethod
    def _warehouse(cls, value: str) -> str:
        return check_warehouse_setting(value)

    @field_validator("token_key", "vault_key", "release_key")
    @classmethod
    def _key(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        return _check_secret(str(info.field_name), value)

    @model_validator(mode="after")
    def _steward_approval_in_production(self) -> Settings:
        if self.mode == "production" and self.publish_approval != "steward":
            raise ValueError(
                "MERAJUT_PUBLISH_APPROVAL=automatic is refused in production mode: every "
                "snapshot is approved by a data steward (`merajut publish approve`)"
            )
        return self

    @model_validator(mode="after")
    def _key_store_outside_public_zones(self) -> Settings:
        lake = self.lake_root.resolve()
        store = self.api_key_store
        if store.is_relative_to(lake) and not store.is_relative_to(lake / "restricted"):
            raise ValueError(
                f"MERAJUT_API_KEY_STORE {store} is inside the lake but outside lake/restricted"
            )
        return self

    # -- where things are -------------------------------------------------------------------
    @property
    def layout(self) -> LakeLayout:
        return LakeLayout(self.lake_root.resolve())

    @property
    def warehouse_target(self) -> WarehouseTarget:
        password = self.warehouse_password.get_secret_value() if self.warehouse_password else ""
        return WarehouseTarget.from_setting(self.warehouse, self.layout.warehouse, password)

    @property
    def sources_dir(self) -> Path:
        """SQLite source databases of the dev/demo setup (clear PII: the operational side)."""
        return self.home.resolve() / "sources"

    @property
    def resolved_drops_dir(self) -> Path:
        return (self.drops_dir or self.home / "drops").resolve()

    @property
    def resolved_source_urls(self) -> dict[str, str]:
        """Configured URLs, defaulting each service to a SQLite file under ``home``."""
        urls = sqlite_source_urls(self.sources_dir)
        urls.update(self.source_urls)
        return urls

    @property
    def resolved_key_file(self) -> Path:
        return (self.key_file or self.home / "keys.json").resolve()

    @property
    def pipeline_lock(self) -> Path:
        """Held by the one pipeline run of this home at a time (``lakehouse.locks``). In the home,
        not the lake: ``merajut demo`` deletes the lake while holding it."""
        return self.home.resolve() / "locks" / "pipeline.lock"

    @property
    def dagster_home(self) -> Path:
        """Dagster's own ``DAGSTER_HOME`` when set (what ``dagster dev`` reads), else a folder
        of the restricted home."""
        return (self.dagster_home_dir or self.home / "dagster_home").resolve()

    @property
    def api_key_store(self) -> Path:
        return (self.api.key_store or self.home / "api" / "api_keys.json").resolve()

    @property
    def dpo_key_store(self) -> Path:
        """Hashes of the data protection officer's keys (restricted home, like API keys)."""
        return self.home.resolve() / "dpo" / "dpo_keys.json"

    @property
    def steward_key_store(self) -> Path:
        """Hashes of the data stewards' keys (restricted home, beside the DPO's)."""
        return self.home.resolve() / "steward" / "steward_keys.json"

    @property
    def api_audit_log(self) -> Path:
        return (self.api.audit_log or self.layout.api_audit_log).resolve()

    @property
    def api_reads_warehouse(self) -> bool:
        """Whether the API reads the gated gold tables in the warehouse (else the lake's)."""
        if self.api.gold_source == "auto":
            return not self.warehouse_target.embedded
        return self.api.gold_source == "warehouse"

    @property
    def reporting_date(self) -> date:
        return self.as_of or datetime.now(UTC).date()

    # -- secrets ------------------------------------------------------------------------------
    def _secrets(self, given: dict[str, SecretStr | None]) -> dict[str, bytes]:
        if self.mode == "production":
            missing = [env_name(n) for n, v in given.items() if v is None]
            if missing:
                raise ConfigError(
                    "production mode needs its secrets from the environment; missing: "
                    + ", ".join(missing)
                )
            file_values: dict[str, str] = {}
        elif all(v is not None for v in given.values()):
            file_values = {}
        else:
            file_values = dev_secrets(self.resolved_key_file)
        return {
            name: decode_hex_secret(
                name, value.get_secret_value() if value is not None else file_values[name]
            )
            for name, value in given.items()
        }

    @cached_property
    def keys(self) -> Keys:
        """The pipeline's keys (token, vault, release)."""
        return Keys(**self._secrets({n: getattr(self, n) for n in PIPELINE_KEYS}))

    def api_pepper(self) -> bytes:
        """The API key-hash pepper. Losing the dev file only invalidates dev keys."""
        return self._secrets({"api_key_pepper": self.api.key_pepper})["api_key_pepper"]


def get_settings() -> Settings:
    """Read the ``MERAJUT_*`` environment now."""
    return Settings()
