"""Which marts are served, read from the dbt manifest (``meta.served: true``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg


@dataclass(frozen=True)
class ServedMart:
    name: str
    database: str
    unique_id: str
    meta: dict[str, Any]

    @property
    def asset_key(self) -> dg.AssetKey:
        return dg.AssetKey([self.database, self.name])

    @property
    def relation(self) -> str:
        return f"{self.database}.{self.name}"


def _models(manifest_path: Path) -> list[dict[str, Any]]:
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    return [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]


def served_marts(manifest_path: Path) -> list[ServedMart]:
    out = []
    for node in _models(manifest_path):
        meta = node.get("config", {}).get("meta") or node.get("meta") or {}
        if meta.get("served"):
            out.append(ServedMart(node["name"], node["schema"], node["unique_id"], dict(meta)))
    return sorted(out, key=lambda m: m.name)


def release_inputs(manifest_path: Path) -> list[ServedMart]:
    out = []
    for node in _models(manifest_path):
        meta = node.get("config", {}).get("meta") or node.get("meta") or {}
        if meta.get("release_input"):
            out.append(ServedMart(node["name"], node["schema"], node["unique_id"], dict(meta)))
    return sorted(out, key=lambda m: m.name)
