"""Which dbt models leave the warehouse, read from the dbt manifest's ``meta``.

``meta.served: true`` marks a mart the publish step copies into the gold snapshot (with its
``audience`` and ``purpose``: lakehouse.reference.purposes); ``meta.release_input: true`` marks
the restricted mart a research release is built from; ``meta.population_members: true`` the
model listing every purpose's population (who left or joined one is counted from it). Declaring
it in the model's YAML keeps the decision next to the SQL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from orchestration.core.assets import dbt_model_key

__all__ = ["DbtModel", "population_members", "release_inputs", "served_marts"]


@dataclass(frozen=True)
class DbtModel:
    name: str
    database: str
    unique_id: str
    meta: dict[str, Any]

    @property
    def asset_key(self) -> dg.AssetKey:
        return dbt_model_key(self.database, self.name)

    @property
    def relation(self) -> str:
        return f"{self.database}.{self.name}"

    @property
    def audience(self) -> list[str]:
        return list(self.meta.get("audience", []))

    @property
    def purpose(self) -> str | None:
        value = self.meta.get("purpose")
        return None if value is None else str(value)


def _models_marked(manifest_path: Path, flag: str) -> list[DbtModel]:
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    out = []
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model":
            continue
        meta = node.get("config", {}).get("meta") or node.get("meta") or {}
        if meta.get(flag):
            out.append(DbtModel(node["name"], node["schema"], node["unique_id"], dict(meta)))
    return sorted(out, key=lambda m: m.name)


def served_marts(manifest_path: Path) -> list[DbtModel]:
    return _models_marked(manifest_path, "served")


def release_inputs(manifest_path: Path) -> list[DbtModel]:
    return _models_marked(manifest_path, "release_input")


def population_members(manifest_path: Path) -> DbtModel:
    """The one model of (purpose, population, child_id) rows: every purpose's population."""
    (model,) = _models_marked(manifest_path, "population_members")
    return model
