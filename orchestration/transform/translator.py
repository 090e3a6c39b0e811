"""Asset keys and groups of dbt nodes, from dbt's own metadata.

Models are keyed by their ClickHouse database (the dbt schema) and name, grouped by the folder
under models/ (staging_<source>, intermediate, marts_<domain>). Sources are keyed by their
``meta.dagster.asset_key`` (the raw-load assets), so ingestion and dbt form one graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from orchestration.core.assets import dbt_model_key


class MerajutDbtTranslator(DagsterDbtTranslator):
    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] in ("model", "seed", "snapshot"):
            return dbt_model_key(dbt_resource_props["schema"], dbt_resource_props["name"])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        folders = fqn[1:-1]
        if not folders:
            return "dbt"
        if folders[0] in ("staging", "marts") and len(folders) > 1:
            return f"{folders[0]}_{folders[1]}"
        return str(folders[0])
