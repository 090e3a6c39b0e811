"""Where a data subject still is: every zone searched for their ids, tokens and clear values.

The needles come from the operational sources (the system of record, which keeps the child
after the lakehouse erased them): the child's id and the keys of every row that is theirs
(guardians, cases, notes, placements, consents, access events), each direct identifier's clear
value and its token. A value another person also holds (a common name, a shared birth date, a
guardian of two siblings) is not a needle: finding it says nothing about this subject, and
erasing one child must not erase the other's data.

The haystacks: every Parquet file of the lake (bronze, quarantine, held rows, gold snapshots,
research releases, whose record ids are the child id re-keyed per release), every JSON and CSV
file of the lake, every table of the warehouse (raw and every dbt model), the vault, and any
SQLite database named (Superset's metadata, the API's served-cells ledger). The register and
the audit logs are not searched: they keep the subject's keyed reference on purpose, as the
record that the request was made and carried out.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa

from anonymization.tokens import Tokenizer, normalize, retokenize
from ingestion.contracts import TableContract
from ingestion.extract import read_columns_where_in
from ingestion.subjects import SubjectLink, subject_links

__all__ = ["Finding", "Needles", "scan_lake", "scan_sqlite", "scan_warehouse", "subject_needles"]

#: Free text longer than this is searched for contained needles, not only equal ones.
_TEXT_LENGTH = 40


@dataclass
class Needles:
    """What identifies one subject: value -> what it is (e.g. ``child id``, ``token of nik``)."""

    subject_id: str
    exact: dict[str, str] = field(default_factory=dict)
    #: Needles that can sit inside free text or a file (tokens, clear names and numbers).
    contained: dict[str, str] = field(default_factory=dict)
    #: Values of this subject other people hold too (not searched), by kind.
    shared: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    def add(self, value: str, kind: str, *, contained: bool) -> None:
        self.exact[value] = kind
        if contained:
            self.contained[value] = kind

    def release_ids(self, release_key_of: Mapping[str, bytes]) -> dict[str, str]:
        """The subject's record id in each research release (release id -> record id)."""
        return {rid: retokenize(self.subject_id, key) for rid, key in release_key_of.items()}


@dataclass(frozen=True)
class Finding:
    zone: str
    location: str
    kind: str
    count: int


def _rows_of(
    urls: Mapping[str, str],
    contracts: Mapping[str, TableContract],
    links: Mapping[str, SubjectLink],
    subject_id: str,
) -> dict[str, pd.DataFrame]:
    """Every source row that is the subject's, per table (database sources only)."""
    rows: dict[str, pd.DataFrame] = {}
    ordered = sorted(links.values(), key=lambda link: link.via is not None)
    for link in ordered:
        contract = contracts[link.table]
        if contract.kind != "database" or link.identifier or contract.source not in urls:
            continue
        columns = [c.name for c in contract.columns if c.derived_from is None]
        if link.via is None:
            keys = [subject_id]
        else:
            parent = rows.get(link.via)
            if parent is None or parent.empty or link.via_key is None:
                continue
            keys = sorted(parent[link.via_key].astype(str))
        rows[link.table] = read_columns_where_in(
            urls[contract.source], contract.name, columns, link.column, keys
        )
    return rows


def _held_by_others(
    conn: sa.Connection, contract: TableContract, column: str, value: str, own: int
) -> bool:
    query = sa.text(f'select count(*) from "{contract.name}" where "{column}" = :v')
    return int(conn.execute(query, {"v": value}).scalar() or 0) > own


def subject_needles(
    urls: Mapping[str, str],
    contracts: Mapping[str, TableContract],
    tokenizer: Tokenizer,
    subject_id: str,
) -> Needles:
    """The subject's needles, read from the operational sources."""
    links = subject_links(contracts)
    needles = Needles(subject_id)
    needles.add(subject_id, "child id", contained=False)
    with ExitStack() as stack:
        connections: dict[str, sa.Connection] = {}

        def connection(url: str) -> sa.Connection:
            if url not in connections:
                engine = sa.create_engine(url)
                stack.callback(engine.dispose)
                connections[url] = stack.enter_context(engine.connect())
            return connections[url]

        for table, frame in _rows_of(urls, contracts, links, subject_id).items():
            contract = contracts[table]
            needles.rows[table] = len(frame)
            for key in frame[contract.primary_key].dropna().astype(str):
                needles.add(key, f"key of {table}", contained=False)
            for col in contract.tokenized_columns:
                if col.name not in frame.columns or col.token_domain is None:
                    continue
                values = frame[col.name].dropna()
                if pd.api.types.is_datetime64_any_dtype(values):
                    values = values.dt.strftime("%Y-%m-%d")
                conn = connection(urls[contract.source])
                for value, own in values.astype(str).value_counts().items():
                    kind = f"{col.token_domain} ({table}.{col.name})"
                    if _held_by_others(conn, contract, col.name, str(value), int(own)):
                        needles.shared[kind] = needles.shared.get(kind, 0) + 1
                        continue
                    token = tokenizer.token(col.token_domain, value)
                    if token is not None:
                        needles.add(token, f"token of {kind}", contained=True)
                    clear = str(value).strip()
                    if len(clear) >= 6 and normalize(col.token_domain, clear):
                        needles.add(clear, f"clear {kind}", contained=True)
    return needles


# -- lake files -------------------------------------------------------------------------------------

Counter_ = dict[str, int]


def _string_columns(table: pa.Table) -> Iterator[tuple[str, pa.ChunkedArray]]:
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            yield name, column
        elif pa.types.is_dictionary(column.type):
            yield name, column.cast(pa.string())


@dataclass(frozen=True)
class _Haystack:
    """What every file is searched for, built once per scan: value -> what it is, the same
    values as an Arrow set, and one boundary-aware pattern per value for text files."""

    kinds: dict[str, str]
    contained: dict[str, str]
    exact: pa.Array
    patterns: list[tuple[re.Pattern[str], str]]

    @classmethod
    def of(cls, needles: Needles, extra: Mapping[str, str]) -> _Haystack:
        kinds = {**extra, **needles.exact}  # a subject's own value names itself first
        return cls(
            kinds,
            needles.contained,
            pa.array(sorted(kinds), type=pa.string()),
            [(re.compile(rf"(?<![\w-]){re.escape(v)}(?![\w-])"), k) for v, k in kinds.items()],
        )


def _scan_parquet(path: Path, hay: _Haystack) -> Counter_:
    found: Counter_ = {}
    table = pq.read_table(path)
    for _name, column in _string_columns(table):
        hits = pc.is_in(column, value_set=hay.exact)
        if pc.any(hits).as_py():
            for value in pc.filter(column, hits).to_pylist():
                kind = hay.kinds[value]
                found[kind] = found.get(kind, 0) + 1
        lengths = pc.utf8_length(column)
        if (pc.max(lengths).as_py() or 0) <= _TEXT_LENGTH:
            continue
        for value, kind in hay.contained.items():
            inside = pc.and_(pc.match_substring(column, value), pc.invert(hits))
            count = pc.sum(inside).as_py() or 0
            if count:
                found[f"{kind}, inside text"] = found.get(f"{kind}, inside text", 0) + int(count)
    return found


def _scan_text(path: Path, hay: _Haystack) -> Counter_:
    text = path.read_text(encoding="utf-8", errors="replace")
    found: Counter_ = {}
    for pattern, kind in hay.patterns:
        count = len(pattern.findall(text))
        if count:
            found[kind] = found.get(kind, 0) + count
    return found


def scan_lake(
    root: Path, needles: Needles, release_ids: Mapping[str, str], skip: Iterable[Path] = ()
) -> list[Finding]:
    """Every Parquet, JSON and CSV file under ``root`` (the warehouse's own files, the vault and
    the audit logs excepted: they are searched by their own means or keep only references)."""
    skipped = [p.resolve() for p in skip]
    hay = _Haystack.of(
        needles, {record: f"record id in {rid}" for rid, record in release_ids.items()}
    )
    findings = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or any(path.resolve().is_relative_to(s) for s in skipped):
            continue
        suffix = path.suffix.lower()
        if suffix == ".parquet":
            found = _scan_parquet(path, hay)
        elif suffix in (".json", ".csv", ".jsonl"):
            found = _scan_text(path, hay)
        else:
            continue
        findings += [
            Finding(_zone(root, path), str(path.relative_to(root)), kind, n)
            for kind, n in sorted(found.items())
        ]
    return findings


def _zone(root: Path, path: Path) -> str:
    parts = path.relative_to(root).parts
    if parts[0] == "restricted" and len(parts) > 1:
        return f"restricted/{parts[1]}"
    return parts[0]


# -- the warehouse -----------------------------------------------------------------------------------


def _sql_list(values: Iterable[str]) -> str:
    return ", ".join("'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'" for v in values)


def scan_warehouse(client: Any, needles: Needles, release_ids: Mapping[str, str]) -> list[Finding]:
    """Every String column of every table (not view) of the warehouse's own databases."""
    columns = client.query(
        "select c.database, c.table, c.name, c.type from system.columns c "
        "join system.tables t on t.database = c.database and t.name = c.table "
        "where c.database not in ('system', 'INFORMATION_SCHEMA', 'information_schema') "
        "and t.engine not in ('View', 'MaterializedView') and c.type like '%String%'"
    ).result_rows
    exact = {**needles.exact, **{r: f"record id in {rid}" for rid, r in release_ids.items()}}
    by_table: dict[tuple[str, str], list[str]] = {}
    for database, table, name, kind in columns:
        if "Array" in kind or "Map" in kind:
            continue
        by_table.setdefault((database, table), []).append(name)
    listed = _sql_list(sorted(exact))
    contained = sorted(needles.contained)
    findings = []
    for (database, table), names in sorted(by_table.items()):
        parts = [f"countIf(toString(`{n}`) in ({listed}))" for n in names]
        if contained:
            search = f"[{_sql_list(contained)}]"
            parts += [
                f"countIf(multiSearchAny(toString(`{n}`), {search}) "
                f"and toString(`{n}`) not in ({listed}))"
                for n in names
            ]
        row = client.query(f"select {', '.join(parts)} from `{database}`.`{table}`").result_rows[0]
        equal, inside = row[: len(names)], row[len(names) :]
        for name, count in zip(names, equal, strict=True):
            if count:
                findings.append(
                    Finding("warehouse", f"{database}.{table}.{name}", "equal value", int(count))
                )
        for name, count in zip(names, inside, strict=False):
            if count:
                findings.append(
                    Finding("warehouse", f"{database}.{table}.{name}", "inside text", int(count))
                )
    return findings


# -- SQLite databases (the vault, Superset's metadata, the API's ledger) ------------------------------


def scan_sqlite(path: Path, needles: Needles, zone: str) -> list[Finding]:
    """Every text column of every table of a SQLite file, for equal and contained needles."""
    if not path.is_file():
        return []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    findings = []
    try:
        tables = [r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")]
        for table in tables:
            columns = [r[1] for r in conn.execute(f'pragma table_info("{table}")')]
            for column in columns:
                for value, kind in needles.exact.items():
                    test = 'instr("{c}", ?) > 0' if value in needles.contained else '"{c}" = ?'
                    count = conn.execute(
                        f'select count(*) from "{table}" where typeof("{column}") = \'text\' '
                        f"and {test.format(c=column)}",
                        (value,),
                    ).fetchone()[0]
                    if count:
                        findings.append(
                            Finding(zone, f"{path.name}:{table}.{column}", kind, int(count))
                        )
    finally:
        conn.close()
    return findings
