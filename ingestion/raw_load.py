"""Loading bronze batches into the warehouse ``raw`` schema, idempotently.

Each bronze file is one batch, and only batches the ingestion state has committed are loaded. A
batch already complete in the raw table is skipped, so a re-run never doubles rows; a batch a
killed load left incomplete is inserted again, whole. Tables are ReplacingMergeTree ordered by
the primary key (the quarantine by table, batch and row), so the rows inserted twice collapse
into one and a re-extracted *changed* row replaces its older version (staging reads with
``final``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from ingestion.contracts import ColumnContract, TableContract
from ingestion.lake import IngestionState, committed_files
from lakehouse.layout import LakeLayout

RAW_DATABASE = "raw"
QUARANTINE_TABLE = "ingestion__quarantine"

_CH_TYPES = {
    "string": "String",
    "text": "String",
    "int": "Int64",
    "date": "Date32",
    "datetime": "DateTime64(6)",
    "bool": "Bool",
}


def clickhouse_type(column: ColumnContract) -> str:
    base = "String" if column.is_tokenized else _CH_TYPES[column.data_type]
    return base if column.required and not column.is_tokenized else f"Nullable({base})"


def raw_table_ddl(contract: TableContract) -> str:
    cols = [f"`{c.name}` {clickhouse_type(c)}" for c in contract.columns]
    cols += ["`_batch_id` String", "`_loaded_at` DateTime64(3) DEFAULT now64(3)"]
    return (
        f"create table if not exists {RAW_DATABASE}.{contract.identifier} (\n  "
        + ",\n  ".join(cols)
        + f"\n) engine = ReplacingMergeTree(_loaded_at)\norder by (`{contract.primary_key}`)"
    )


QUARANTINE_DDL = f"""
create table if not exists {RAW_DATABASE}.{QUARANTINE_TABLE} (
  source_table String,
  batch_id String,
  row_number UInt32,
  source_row Nullable(UInt32),
  record_key Nullable(String),
  reason LowCardinality(String),
  reason_column Nullable(String),
  detail String,
  record_json String,
  quarantined_at DateTime64(3)
) engine = ReplacingMergeTree
partition by toYYYYMM(quarantined_at)
order by (source_table, batch_id, row_number)
"""


def _loaded_batches(client: Any, table: str) -> dict[str, int]:
    """Rows per batch id already in the raw table (before merges: every insert counts)."""
    rows = client.query(
        f"select _batch_id, count() from {RAW_DATABASE}.{table} group by _batch_id"
    ).result_rows
    return {r[0]: int(r[1]) for r in rows}


def _rows_in(path: Path) -> int:
    return int(pq.ParquetFile(path).metadata.num_rows)


def _committed(layout: LakeLayout, contract: TableContract, files: list[Path]) -> list[Path]:
    return committed_files(files, IngestionState.load(layout.ingestion_state(contract)))


def _insert(client: Any, table: str, frame: pd.DataFrame) -> None:
    if frame.empty:
        return
    client.insert_df(f"{RAW_DATABASE}.{table}", frame)


def _for_insert(frame: pd.DataFrame, contract: TableContract) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    for col in contract.columns:
        values = (
            frame[col.name] if col.name in frame.columns else pd.Series(None, index=frame.index)
        )
        if col.is_tokenized or col.data_type in ("string", "text"):
            out[col.name] = values.astype(object).where(values.notna(), None)
        elif col.data_type == "int":
            out[col.name] = pd.to_numeric(values).astype("Int64")
        elif col.data_type == "bool":
            out[col.name] = values.astype("boolean")
        else:
            out[col.name] = pd.to_datetime(values)
    out["_batch_id"] = frame["_batch_id"].astype(str)
    return out


def load_table(client: Any, layout: LakeLayout, contract: TableContract) -> int:
    """Load every bronze batch of ``contract`` not yet in the raw table; returns rows inserted."""
    client.command(f"create database if not exists {RAW_DATABASE}")
    client.command(raw_table_ddl(contract))
    done = _loaded_batches(client, contract.identifier)
    inserted = 0
    for path in _committed(layout, contract, layout.bronze_files(contract)):
        if done.get(path.stem, 0) >= _rows_in(path):
            continue
        frame = pd.read_parquet(path)
        _insert(client, contract.identifier, _for_insert(frame, contract))
        inserted += len(frame)
    return inserted


def load_quarantine(client: Any, layout: LakeLayout, contracts: Iterable[TableContract]) -> int:
    client.command(f"create database if not exists {RAW_DATABASE}")
    client.command(QUARANTINE_DDL)
    done = _loaded_batches_quarantine(client)
    inserted = 0
    for contract in contracts:
        for path in _committed(layout, contract, layout.quarantine_files(contract)):
            key = f"{contract.qualified_name}/{path.stem}"
            if done.get(key, 0) >= _rows_in(path):
                continue
            frame = pd.read_parquet(path)
            if frame.empty:
                continue
            _insert(client, QUARANTINE_TABLE, frame)
            inserted += len(frame)
    return inserted


def _loaded_batches_quarantine(client: Any) -> dict[str, int]:
    rows = client.query(
        f"select concat(source_table, '/', batch_id), count() "
        f"from {RAW_DATABASE}.{QUARANTINE_TABLE} group by 1"
    ).result_rows
    return {r[0]: int(r[1]) for r in rows}


def raw_row_count(client: Any, contract: TableContract) -> int:
    return int(
        client.query(f"select count() from {RAW_DATABASE}.{contract.identifier} final").result_rows[
            0
        ][0]
    )
