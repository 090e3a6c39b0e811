"""Catalog files for the API tests: the packaged catalog with other request limits."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from lakehouse.settings import Settings
from metrics_api.catalog import PACKAGED_CATALOG

__all__ = ["UNREACHED", "with_catalog", "write_catalog"]

#: Far above what any test sends.
UNREACHED = 1_000_000


def write_catalog(
    path: Path, limits: dict[str, tuple[int | None, int | None]], retry_after: int = 3600
) -> Path:
    """The packaged catalog with ``limits`` (role -> (per minute, distinct per snapshot))."""
    raw: dict[str, Any] = copy.deepcopy(yaml.safe_load(PACKAGED_CATALOG.read_text("utf-8")))
    raw["limits"] = {
        "budget_retry_after_seconds": retry_after,
        "roles": {
            role: {"requests_per_minute": rpm, "distinct_queries_per_snapshot": distinct}
            for role, (rpm, distinct) in limits.items()
        },
    }
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def with_catalog(settings: Settings, catalog: Path) -> Settings:
    """``settings`` with the API reading ``catalog``."""
    return settings.model_copy(
        update={"api": settings.api.model_copy(update={"catalog_path": catalog})}
    )
