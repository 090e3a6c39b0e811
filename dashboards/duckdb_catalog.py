"""The DuckDB file Superset reads in embedded mode.

Superset cannot follow ``gold/CURRENT`` itself, and a snapshot is immutable once published, so
after every publish we rewrite ``gold/superset.duckdb``: one view per stakeholder-facing mart in
schema ``gold`` over ``read_parquet('<absolute path in the CURRENT snapshot>')``. The snapshot is
opened through the gold reader, so only a published snapshot whose files match their manifest is
ever exposed. The file holds no data, only view definitions, so rewriting it is cheap; it is
written to a temp file and moved into place with ``os.replace`` so a Superset worker opening it
(read-only) sees either the old catalog or the new one, never a half-written file.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from lakehouse.gold_snapshot import GoldSnapshots, SnapshotError
from lakehouse.layout import LakeLayout
from lakehouse.reference.audiences import STAKEHOLDER_AUDIENCES

SCHEMA = "gold"


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def refresh_catalog(layout: LakeLayout) -> Path:
    """(Re)write the Superset catalog with one view per stakeholder-facing mart of the CURRENT
    snapshot (marts published for the admin or the API alone are never exposed).

    Paths are absolute because Superset's working directory is unrelated to the lake. Returns
    the catalog path; Superset's URI for it is :func:`superset_uri`.
    """
    gold = GoldSnapshots(layout.gold.resolve())
    snapshot = gold.open_current()
    if snapshot is None:
        raise SnapshotError(f"{layout.gold}/CURRENT: no snapshot published")
    target = layout.superset_catalog.resolve()
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        con = duckdb.connect(str(tmp))
        try:
            con.execute(f"create schema {SCHEMA}")
            for name, entry in sorted(snapshot.manifest.marts.items()):
                if not STAKEHOLDER_AUDIENCES & set(entry.audience):
                    continue
                parquet = gold.mart_file(snapshot, name).resolve()
                con.execute(
                    f"create view {SCHEMA}.{_quote_ident(name)} as "
                    f"select * from read_parquet({_quote_literal(str(parquet))})"
                )
            # Lets anyone inspecting the file (or a chart) tell which snapshot it serves.
            con.execute(
                f"create view {SCHEMA}._snapshot as select "
                f"{_quote_literal(snapshot.id)} as snapshot_id"
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
