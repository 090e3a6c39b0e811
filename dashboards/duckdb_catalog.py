"""The DuckDB file Superset reads in embedded mode.

Superset cannot follow ``gold/CURRENT`` itself, and a snapshot is immutable once published,
so after every publish we rewrite ``gold/superset.duckdb``: one view per mart in schema
``gold`` over ``read_parquet('<absolute path in the CURRENT snapshot>')``. The file holds no
data, only view definitions, so rewriting it is cheap; it is written to a temp file and moved
into place with ``os.replace`` so a Superset worker opening it (read-only) sees either the old
catalog or the new one, never a half-written file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb

CATALOG_FILE = "superset.duckdb"
SCHEMA = "gold"
# Superset's users are stakeholders: only marts published for one of these audiences become
# views. Unsuppressed marts (the metrics cube, the admin-only impact mart) are never exposed.
DASHBOARD_AUDIENCES = frozenset({"government", "business", "community", "media"})


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def current_snapshot_dir(gold_dir: Path) -> Path:
    """The directory ``gold_dir/CURRENT`` points at (raises if nothing is published yet)."""
    pointer = gold_dir / "CURRENT"
    snapshot_id = pointer.read_text(encoding="utf-8").strip()
    if not snapshot_id:
        raise FileNotFoundError(f"{pointer} is empty: no snapshot published")
    return gold_dir / "snapshots" / snapshot_id


def refresh_catalog(gold_dir: Path) -> Path:
    """(Re)write ``gold_dir/superset.duckdb`` with one view per stakeholder-facing mart of the
    CURRENT snapshot.

    Paths are absolute because Superset's working directory is unrelated to the lake.
    Returns the catalog path; Superset's URI for it is
    ``duckdb:///<path>?access_mode=read_only`` (see :func:`superset_uri`).
    """
    gold_dir = Path(gold_dir).resolve()
    snapshot = current_snapshot_dir(gold_dir)
    manifest = json.loads((snapshot / "manifest.json").read_text(encoding="utf-8"))
    target = gold_dir / CATALOG_FILE
    tmp = gold_dir / f".{CATALOG_FILE}.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)
    try:
        con = duckdb.connect(str(tmp))
        try:
            con.execute(f"create schema {SCHEMA}")
            for name, meta in sorted(manifest["marts"].items()):
                if not DASHBOARD_AUDIENCES & set(meta.get("audience", [])):
                    continue
                parquet = (snapshot / meta["file"]).resolve()
                con.execute(
                    f"create view {SCHEMA}.{_quote_ident(name)} as "
                    f"select * from read_parquet({_quote_literal(str(parquet))})"
                )
            # Lets anyone inspecting the file (or a chart) tell which snapshot it serves.
            con.execute(
                f"create view {SCHEMA}._snapshot as select "
                f"{_quote_literal(snapshot.name)} as snapshot_id"
            )
            con.execute("checkpoint")
        finally:
            con.close()
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
    return target


def superset_uri(catalog: Path) -> str:
    """SQLAlchemy URI Superset uses to open ``catalog`` read-only (duckdb-engine)."""
    return f"duckdb:///{Path(catalog).resolve()}?access_mode=read_only"
