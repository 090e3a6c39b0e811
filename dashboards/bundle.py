"""Read a dashboard bundle (committed assets or a Superset export) into comparable form.

An export from a running Superset differs from the committed files in ways that carry no
meaning: file names get numeric suffixes, numeric ids of that instance leak into
``params.datasource``, ``query_context`` and the layout's ``chartId``, the export timestamp
changes, and metrics/columns come in database order. :func:`normalize` strips exactly those,
so the drift test flags every other difference — someone edited the dashboard in the UI, or
the committed YAML no longer round-trips through Superset.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import yaml


def load_dir(root: Path) -> dict[str, dict[str, Any]]:
    """``{relative path: parsed YAML}`` of every ``*.yaml`` under ``root``."""
    return {
        p.relative_to(root).as_posix(): yaml.safe_load(p.read_text(encoding="utf-8"))
        for p in sorted(root.rglob("*.yaml"))
    }


def load_zip(data: bytes) -> dict[str, dict[str, Any]]:
    """Same as :func:`load_dir` for an export zip (its single top-level folder dropped)."""
    out: dict[str, dict[str, Any]] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            if name.endswith(".yaml"):
                rel = name.split("/", 1)[1]
                out[rel] = yaml.safe_load(zf.read(name).decode("utf-8"))
    return out


def _strip_datasource(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k != "datasource"}


def _normalize_query_context(raw: str | None) -> Any:
    if not raw:
        return raw
    qc = json.loads(raw)
    qc.pop("datasource", None)
    if isinstance(qc.get("form_data"), dict):
        qc["form_data"] = _strip_datasource(qc["form_data"])
    for query in qc.get("queries", []):
        query.pop("datasource", None)
    return qc


def normalize(files: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Key every object by ``<kind>:<uuid>`` and drop instance-specific values."""
    out: dict[str, dict[str, Any]] = {}
    for rel, doc in files.items():
        kind = rel.split("/", 1)[0] if "/" in rel else "metadata"
        doc = json.loads(json.dumps(doc))  # deep copy
        if kind == "metadata":
            doc.pop("timestamp", None)
            out["metadata"] = doc
            continue
        if kind == "databases":
            doc.pop("sqlalchemy_uri", None)  # templated in the assets, concrete in an export
        elif kind == "datasets":
            doc["metrics"] = sorted(doc.get("metrics") or [], key=lambda m: m["metric_name"])
            doc["columns"] = sorted(doc.get("columns") or [], key=lambda c: c["column_name"])
        elif kind == "charts":
            doc["params"] = _strip_datasource(doc.get("params") or {})
            doc["query_context"] = _normalize_query_context(doc.get("query_context"))
        elif kind == "dashboards":
            for node in (doc.get("position") or {}).values():
                if isinstance(node, dict) and node.get("type") == "CHART":
                    node.get("meta", {}).pop("chartId", None)
        out[f"{kind}:{doc['uuid']}"] = doc
    return out
