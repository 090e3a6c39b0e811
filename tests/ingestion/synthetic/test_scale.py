"""The fast paths of the generator change nothing: pinned content, any number of workers.

``generate_sources`` writes SQLite rows through ``sqlite3`` directly and, with ``workers`` > 1,
runs independent services in forked processes. The digests below were taken from the
generator before either existed (commit c10aad1, SQLAlchemy Core inserts, one process): a
change in any stored value, in row order, in the planted defects or the drop fails here.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from ingestion.synthetic import GeneratorConfig, generate_sources
from ingestion.synthetic.sink import column_converter
from lakehouse.reference.services import sqlite_source_urls

CONFIG = GeneratorConfig(children=300, seed=7)
#: Rows of every table in rowid order (``repr`` of each tuple), and the drop and manifest bytes.
PINNED = {
    "case_management.db": "db9932b0dc4d65f30675b5f294cc601b746c71fa4633198ce00992c7be1a65b5",
    "child_registry.db": "8bdb51632d3a39b2c48006a202b7bfbdcf590da5560247d7d79360e58ec523d8",
    "consent.db": "4cb4d977bb186e385044667e049f004c28e9d60da0c0c4a65c7517fafed30ca2",
    "institutions.db": "a7362f721a915c7725551a7e8e4adf45272dd9ca15895659927d214655469b21",
    "placements.db": "9ad1b841ee30866ba5d2704ebeee0daefb87b76cb7bd655a23914afaabe74193",
    "platform_audit.db": "de89df4604b9bae167fbaa5f4f6fae0a9647df1def4d7b1fd82ac29cafbd95da",
    "gov_registry_verification_20261101.csv": (
        "ca442eef660647361c66fb846cc703ec74cd9b839ebf10432124450b992bdf6b"
    ),
    "synthetic_manifest.json": "c0ac52422571d59c15d5e514eda3c32b8afa0f7e02483ab2df4e641051d3ba28",
}


def _content_digests(root: Path) -> dict[str, str]:
    """Per database, a digest of its rows; per drop file, of its bytes.

    Rows rather than file bytes: a SQLite file records the library version that wrote it.
    """
    digests: dict[str, str] = {}
    for db in sorted((root / "sources").glob("*.db")):
        digest = hashlib.sha256()
        with sqlite3.connect(db) as conn:
            tables = conn.execute(
                "select name from sqlite_master where type = 'table' order by name"
            )
            for (table,) in tables.fetchall():
                digest.update(table.encode())
                for row in conn.execute(f'select * from "{table}" order by rowid'):
                    digest.update(repr(row).encode())
        digests[db.name] = digest.hexdigest()
    for path in sorted((root / "drops").rglob("*")):
        if path.is_file():
            digests[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def _file_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("one")
    generate_sources(CONFIG, sqlite_source_urls(root / "sources"), root / "drops", workers=1)
    return root


def test_output_is_what_the_generator_wrote_before_it_was_made_fast(one_worker: Path) -> None:
    assert _content_digests(one_worker) == PINNED


def test_two_and_three_workers_write_the_same_bytes_as_one(
    one_worker: Path, tmp_path: Path
) -> None:
    expected = _file_bytes(one_worker)
    for workers in (2, 3):
        root = tmp_path / str(workers)
        generate_sources(
            CONFIG, sqlite_source_urls(root / "sources"), root / "drops", workers=workers
        )
        assert _file_bytes(root) == expected, workers


def test_a_failing_worker_fails_the_run_with_its_error(tmp_path: Path) -> None:
    urls = sqlite_source_urls(tmp_path / "sources")
    # A directory where the placements database should be: only that worker fails.
    (tmp_path / "sources" / "placements.db").mkdir(parents=True)
    with pytest.raises(RuntimeError, match="placements"):
        generate_sources(GeneratorConfig(children=50), urls, tmp_path / "drops", workers=2)


def test_a_failing_writer_of_the_first_services_fails_the_run(tmp_path: Path) -> None:
    """The child registry is generated in the parent, its database written by a writer
    process; the writer's error is what the run reports."""
    urls = sqlite_source_urls(tmp_path / "sources")
    (tmp_path / "sources" / "child_registry.db").mkdir(parents=True)
    with pytest.raises(RuntimeError, match="writing the child_registry database failed"):
        generate_sources(GeneratorConfig(children=50), urls, tmp_path / "drops", workers=2)


def test_stored_values_are_sqlalchemys(tmp_path: Path) -> None:
    """The converter stores what SQLAlchemy's SQLite binds store, fast path or not."""
    import datetime as dt

    dialect = sa.create_engine("sqlite://").dialect
    stamp = dt.datetime(2024, 5, 1, 8, 30, 0, 12)
    whole = dt.datetime(2024, 5, 1, 8, 30)  # str() drops zero microseconds; the format does not
    cases: list[tuple[sa.types.TypeEngine[object], list[object]]] = [
        (sa.DateTime(), [stamp, stamp]),
        (sa.DateTime(), [stamp, None, whole]),
        (sa.Date(), [dt.date(2024, 5, 1), None]),
        (sa.Date(), [dt.datetime(2024, 5, 1, 9)]),  # a timestamp in a date column: its date
        (sa.Boolean(), [True, False, None]),
        (sa.String(10), ["a", None]),
        (sa.Integer(), [1, None]),
    ]
    for type_, values in cases:
        process = type_._cached_bind_processor(dialect) or (lambda v: v)
        assert column_converter(type_, dialect)(list(values)) == [process(v) for v in values]
